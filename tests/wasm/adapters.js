// The JS adapters exercised as users call them: each export receives a TransactionCoordinator
// created in Rust, runs scenarios through the public API and throws on the first mismatch.

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
function eq(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A step that records its calls in `log` and behaves per `spec`. */
function step(log, name, spec = {}) {
  let calls = 0;
  return {
    name,
    execute: (ctx, info) => {
      calls += 1;
      log.push(`${name}:${info.attempt}`);
      if (spec.check) spec.check(ctx, info);
      if (spec.transient && calls <= spec.transient) return Promise.reject(new Error(`transient ${calls}`));
      if ('throwSync' in spec) throw spec.throwSync;
      if ('reject' in spec) return Promise.reject(spec.reject);
      if (spec.hang) {
        return new Promise((_, reject) => {
          info.signal.addEventListener('abort', () => {
            log.push(`${name}:aborted:${info.signal.reason.name}`);
            reject(info.signal.reason);
          });
        });
      }
      if (spec.sync) return spec.value ?? name;
      return sleep(spec.delayMs ?? 0).then(() => spec.value ?? `${name}-result`);
    },
    compensate: spec.noCompensate ? undefined : async (ctx, info) => {
      log.push(`undo:${name}:${info.attempt}`);
      if (spec.undoFails && info.attempt <= spec.undoFails) throw new Error(`undo ${name} failed`);
    },
    ...(spec.def ?? {}),
  };
}

export async function syncAndAsyncSteps(coordinator) {
  const log = [];
  const seen = [];
  const result = await coordinator.executeTransaction(
    {
      name: 'mixed',
      steps: [
        step(log, 'a', { sync: true, value: { id: 1 }, check: (ctx, info) => seen.push(info) }),
        step(log, 'b', { value: { id: 2 }, check: (ctx) => assert(ctx.results.a.id === 1, 'b sees a in ctx.results') }),
        { name: 'c', execute: (ctx) => ({ then: (resolve) => resolve(ctx.orderId) }) }, // a thenable
      ],
    },
    { context: { orderId: 'o-1' }, transactionId: 'tx-1' },
  );
  eq(result.status, 'committed', 'status');
  eq(result.success, true, 'success');
  eq(result.result, 'o-1', 'result is the last step result');
  eq(result.context.results, { a: { id: 1 }, b: { id: 2 }, c: 'o-1' }, 'ctx.results');
  eq(result.context.orderId, 'o-1', 'context copied');
  eq(log, ['a:1', 'b:1'], 'order');
  eq(result.steps.map((s) => [s.name, s.status, s.attempts, s.compensation]), [['a', 'succeeded', 1, null], ['b', 'succeeded', 1, null], ['c', 'succeeded', 1, null]], 'report');
  const info = seen[0];
  eq([info.transactionId, info.step, info.attempt, info.idempotencyKey], ['tx-1', 'a', 1, 'tx-1:a'], 'info');
  assert(info.signal instanceof AbortSignal && !info.signal.aborted, 'info.signal is a live AbortSignal');
  assert(result.steps.every((s) => s.startedAt <= s.endedAt), 'timestamps ordered');
  return true;
}

export async function thrownNonErrors(coordinator) {
  const thrown = ['a string', undefined, null, 42, { code: 'E_PLAIN' }, Object.freeze({ message: 'frozen' }), Symbol('sym')];
  for (const value of thrown) {
    for (const mode of ['throwSync', 'reject']) {
      const log = [];
      const result = await coordinator.executeTransaction({
        steps: [step(log, 'first'), step(log, 'second', { [mode]: value }), step(log, 'never')],
      });
      const label = `${mode} ${String(typeof value === 'symbol' ? value.toString() : JSON.stringify(value))}`;
      eq(result.status, 'compensated', `${label}: status`);
      eq(result.error.name, 'StepFailedError', `${label}: error name`);
      assert(result.error instanceof Error, `${label}: a real Error`);
      assert(Object.is(result.error.cause, value), `${label}: cause is the thrown value`);
      eq(result.error.step, 'second', `${label}: error.step`);
      assert(result.error.message.includes('second'), `${label}: message names the step: ${result.error.message}`);
      eq(log, ['first:1', 'second:1', 'undo:first:1'], `${label}: forward then reverse`);
      eq(result.steps[2].status, 'pending', `${label}: later step never ran`);
      assert(result.steps[1].error === result.error, `${label}: the step's error is the transaction's`);
    }
  }
  return true;
}

export async function retriesAndNonRetryable(coordinator) {
  const log = [];
  const retry = { maxAttempts: 3, initialDelayMs: 1, backoff: 'constant' };
  let result = await coordinator.executeTransaction({ steps: [step(log, 'flaky', { transient: 2, def: { retry } })] });
  eq([result.status, result.steps[0].attempts], ['committed', 3], 'two transient failures then success');
  eq(log, ['flaky:1', 'flaky:2', 'flaky:3'], 'attempts numbered');
  const declined = Object.assign(new Error('card declined'), { retryable: false });
  log.length = 0;
  result = await coordinator.executeTransaction({ steps: [step(log, 'pay', { reject: declined, def: { retry } })] });
  eq([result.status, result.steps[0].attempts], ['compensated', 1], 'retryable: false is not retried');
  const named = Object.assign(new Error('bad input'), { name: 'ValidationError' });
  result = await coordinator.executeTransaction({
    steps: [step(log, 'v', { reject: named, def: { retry: { ...retry, nonRetryable: ['ValidationError'] } } })],
  });
  eq(result.steps[0].attempts, 1, 'nonRetryable names are not retried');
  return true;
}

export async function timeoutsWithRealTimers(coordinator) {
  const log = [];
  const started = Date.now();
  const result = await coordinator.executeTransaction({
    steps: [
      step(log, 'reserve'),
      step(log, 'slow', { hang: true, def: { timeoutMs: 30, retry: { maxAttempts: 2, initialDelayMs: 5 }, compensateOnFailure: true } }),
    ],
  });
  const elapsed = Date.now() - started;
  eq(result.status, 'compensated', 'status');
  eq(result.error.name, 'TimeoutError', 'error name');
  eq(result.steps[1].attempts, 2, 'each attempt timed out');
  eq(log, ['reserve:1', 'slow:1', 'slow:aborted:TimeoutError', 'slow:2', 'slow:aborted:TimeoutError', 'undo:slow:1', 'undo:reserve:1'],
    'signal aborted with TimeoutError, then compensateOnFailure step and earlier step undone in reverse');
  assert(elapsed >= 60, `two 30 ms timeouts took ${elapsed} ms`);

  log.length = 0;
  const whole = await coordinator.executeTransaction({
    timeoutMs: 40,
    steps: [step(log, 'one'), step(log, 'stuck', { hang: true })],
  });
  eq([whole.status, whole.error.name, whole.error.step], ['compensated', 'TimeoutError', 'stuck'], 'transaction timeout');
  eq(log, ['one:1', 'stuck:1', 'stuck:aborted:TimeoutError', 'undo:one:1'], 'transaction deadline aborts the attempt');
  return true;
}

export async function abortSignalCancels(coordinator) {
  const log = [];
  const controller = new AbortController();
  const pending = coordinator.executeTransaction(
    { steps: [step(log, 'reserve'), step(log, 'charge', { hang: true }), step(log, 'ship')] },
    { signal: controller.signal },
  );
  await sleep(20);
  controller.abort();
  const result = await pending;
  eq([result.status, result.error.name], ['compensated', 'AbortError'], 'cancelled');
  eq(log, ['reserve:1', 'charge:1', 'charge:aborted:AbortError', 'undo:reserve:1'], 'in-flight step aborted, completed compensated');

  log.length = 0;
  const already = new AbortController();
  already.abort();
  const none = await coordinator.executeTransaction({ steps: [step(log, 'x')] }, { signal: already.signal });
  eq([none.status, none.error.name, log.length], ['compensated', 'AbortError', 0], 'an aborted signal runs nothing');
  return true;
}

export async function invalidDefinitionsRunNothing(coordinator) {
  let ran = 0;
  const ok = () => { ran += 1; };
  const cases = [
    [{ steps: [] }, 'steps'],
    [{}, 'steps'],
    [null, 'definition'],
    [{ steps: [{ name: 'a' }] }, 'steps[0].execute'],
    [{ steps: [{ name: 'a', execute: 'nope' }] }, 'steps[0].execute'],
    [{ steps: [{ name: 'a', execute: ok }, { name: 'a', execute: ok }] }, 'steps[1].name'],
    [{ steps: [{ execute: ok }] }, 'steps[0].name'],
    [{ steps: [{ name: 'a', execute: ok, retry: { maxAttempts: -1 } }] }, 'steps[0].retry.maxAttempts'],
    [{ steps: [{ name: 'a', execute: ok, retry: { maxAttempts: 2.5 } }] }, 'steps[0].retry.maxAttempts'],
    [{ steps: [{ name: 'a', execute: ok, retry: { maxAttempts: '3' } }] }, 'steps[0].retry.maxAttempts'],
    [{ steps: [{ name: 'a', execute: ok, retry: { backoff: 'fibonacci' } }] }, 'steps[0].retry.backoff'],
    [{ steps: [{ name: 'a', execute: ok, compensate: 5 }] }, 'steps[0].compensate'],
    [{ steps: [{ name: 'a', execute: ok }], onCompensationFailure: 'explode' }, 'onCompensationFailure'],
    [{ steps: [{ name: 'a', execute: ok, requiresVersionCheck: true }] }, 'steps[0].expectedVersion'],
  ];
  for (const [def, field] of cases) {
    let error;
    try {
      await coordinator.executeTransaction(def);
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error, `${JSON.stringify(def)} rejected`);
    eq([error.name, error.field], ['DefinitionError', field], `${JSON.stringify(def)}`);
    assert(error.message.includes(field), `message names ${field}: ${error.message}`);
  }
  eq(ran, 0, 'nothing ran');
  let bad;
  try { await coordinator.executeTransaction({ steps: [{ name: 'a', execute: ok }] }, { signal: 'x' }); } catch (e) { bad = e; }
  eq([bad?.name, bad?.field, ran], ['TypeError', 'options.signal', 0], 'bad options rejected before running');
  return true;
}

export async function versionCheckAndCompensationFailures(coordinator) {
  const log = [];
  let result = await coordinator.executeTransaction({
    steps: [step(log, 'reserve'), step(log, 'charge', { value: { version: 6 }, def: { requiresVersionCheck: true, expectedVersion: 7 } })],
  });
  eq([result.status, result.error.name], ['compensated', 'OptimisticLockError'], 'version mismatch');
  eq(log, ['reserve:1', 'charge:1', 'undo:charge:1', 'undo:reserve:1'], 'the mismatched step did run, so it is undone too');

  log.length = 0;
  const fast = { compensationRetry: { maxAttempts: 2, initialDelayMs: 1 } };
  result = await coordinator.executeTransaction({
    steps: [step(log, 'a'), step(log, 'b', { undoFails: 9, def: fast }), step(log, 'c', { reject: new Error('boom') })],
  });
  eq(result.status, 'compensation_failed', 'continue: status');
  eq(result.success, false, 'never success');
  eq([result.error.name, result.error.steps, result.error.cause.name], ['CompensationFailedError', ['b'], 'StepFailedError'], 'error names the step');
  eq(result.steps.map((s) => s.compensation?.status ?? null), ['compensated', 'failed', null], 'per-step compensation');
  eq(log, ['a:1', 'b:1', 'c:1', 'undo:b:1', 'undo:b:2', 'undo:a:1'], 'continue goes on to a');

  log.length = 0;
  result = await coordinator.executeTransaction({
    onCompensationFailure: 'halt',
    steps: [step(log, 'a'), step(log, 'b', { undoFails: 9, def: fast }), step(log, 'c', { reject: new Error('boom') })],
  });
  eq(result.steps.map((s) => s.compensation?.status ?? null), ['skipped', 'failed', null], 'halt skips a');
  eq(result.error.steps, ['b', 'a'], 'both named, in compensation order');
  eq(log, ['a:1', 'b:1', 'c:1', 'undo:b:1', 'undo:b:2'], 'halt stops');
  return true;
}

export async function eventsAndInternalChannel(coordinator) {
  const Coordinator = coordinator.constructor;
  const journal = [];
  const all = [];
  const named = [];
  const c = new Coordinator({
    onEvent: (e) => all.push(e.type),
    journal: { append: async (id, record) => { journal.push([id, record.kind, record.step ?? null]); } },
  });
  c.on('*', (e) => named.push(`*:${e.type}`));
  c.on('step.started', () => { throw new Error('a broken listener'); });
  const onceSeen = [];
  c.once('step.succeeded', (e) => onceSeen.push(e.step));
  eq(c.listenerCount('step.started'), 1, 'listenerCount');
  eq(c.eventNames(), ['*', 'step.started', 'step.succeeded'], 'eventNames');
  const log = [];
  const result = await c.executeTransaction({ steps: [step(log, 'a'), step(log, 'b', { reject: 'no' })] }, { transactionId: 't-ev' });
  eq(result.status, 'compensated', 'a throwing listener does not break the transaction');
  eq(all, ['transaction.started', 'step.started', 'step.succeeded', 'progress', 'step.started', 'step.failed',
    'compensation.started', 'compensation.succeeded', 'transaction.compensated'], 'lifecycle order');
  eq(onceSeen, ['a'], 'once fires once');
  assert(named.every((n) => !n.includes('checkpoint') && !n.includes('finished')), 'no internal record reaches a public listener');
  eq(named.length, all.length, "'*' sees every public event and nothing else");
  eq(journal.map((r) => r[1]), ['transaction.started', 'step.started', 'step.succeeded', 'step.started', 'step.failed',
    'compensation.started', 'compensation.succeeded', 'transaction.finished'], 'the journal gets every checkpoint');
  assert(journal.every((r) => r[0] === 't-ev'), 'journal records carry the transaction id');
  const before = journal.length;
  assert(c.emit('step.started', { type: 'step.started' }) === true, 'public emit reaches public listeners');
  eq(journal.length, before, 'a public emit never reaches the journal');
  let unknown;
  try { c.on('step.start', () => {}); } catch (e) { unknown = e; }
  assert(unknown?.message.includes('step.start'), 'unknown event names are rejected');
  c.removeAllListeners();
  eq(c.eventNames(), [], 'removeAllListeners');
  return true;
}
