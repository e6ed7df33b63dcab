// A 10-step transaction of no-op async steps through edgesaga's JS API, against a hand-written
// JS async loop with try/catch and reverse compensation, in the same process and run.
// Reports steps/s for each and the ratio (goal: edgesaga ≤ 2× the hand-written loop's time).
import { readFileSync } from 'node:fs';
import { initSync, TransactionCoordinator } from '../pkg/edgesaga.js';

initSync({ module: readFileSync(new URL('../pkg/edgesaga_bg.wasm', import.meta.url)) });

const STEPS = 10;
const noop = async () => undefined;
const steps = Array.from({ length: STEPS }, (_, i) => ({ name: `step_${i}`, execute: noop, compensate: noop }));
const definition = { name: 'bench', steps };

/** The baseline a developer would write by hand. */
async function handWritten(context) {
  const ctx = { ...context, results: {} };
  const done = [];
  try {
    for (const step of steps) {
      const info = { transactionId: 'tx', step: step.name, attempt: 1, idempotencyKey: `tx:${step.name}` };
      ctx.results[step.name] = await step.execute(ctx, info);
      done.push(step);
    }
    return { success: true, status: 'committed', context: ctx };
  } catch (error) {
    for (const step of done.reverse()) {
      try {
        await step.compensate(ctx, { transactionId: 'tx', step: step.name, attempt: 1 });
      } catch {
        return { success: false, status: 'compensation_failed', error };
      }
    }
    return { success: false, status: 'compensated', error };
  }
}

const coordinator = new TransactionCoordinator();
const viaEdgesaga = (context) => coordinator.executeTransaction(definition, { context, transactionId: 'tx' });

async function measure(run, transactions) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < transactions; i++) {
    const result = await run({ i });
    if (result.status !== 'committed') throw new Error(`bench transaction ${i}: ${result.status}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 20000);
// Warm up both (JIT, wasm tier-up), then alternate rounds so neither gets a quieter machine.
await measure(handWritten, 2000);
await measure(viaEdgesaga, 2000);
const rounds = { hand: [], edge: [] };
for (let r = 0; r < 5; r++) {
  rounds.hand.push(await measure(handWritten, TRANSACTIONS));
  rounds.edge.push(await measure(viaEdgesaga, TRANSACTIONS));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const hand = median(rounds.hand);
const edge = median(rounds.edge);
const rate = (secs) => Math.round((TRANSACTIONS * STEPS) / secs).toLocaleString('en-US');
console.log(`saga: ${TRANSACTIONS} transactions x ${STEPS} no-op async steps, median of 5 rounds`);
console.log(`  hand-written loop  ${rate(hand).padStart(12)} steps/s  (${((hand / TRANSACTIONS) * 1e6).toFixed(1)} µs/transaction)`);
console.log(`  edgesaga           ${rate(edge).padStart(12)} steps/s  (${((edge / TRANSACTIONS) * 1e6).toFixed(1)} µs/transaction)`);
console.log(`  ratio edgesaga / hand-written: ${(edge / hand).toFixed(2)}x  (goal <= 2x)`);
