// Finishes pkg/edgesaga.d.ts: makes executeTransaction generic over the context type, and
// replaces the `any`s wasm-bindgen writes for raw wasm exports with `unknown`, so the public
// types hold no `any`. Fails loudly when wasm-bindgen's output no longer has the expected shape.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../pkg/edgesaga.d.ts', import.meta.url);
let dts = readFileSync(path, 'utf8');

const plain = 'executeTransaction(definition: TransactionDefinition, options?: TransactionOptions | null): Promise<TransactionResult>;';
const generic =
  'executeTransaction<C extends object = Record<string, unknown>>(definition: TransactionDefinition<C>, options?: TransactionOptions<C> | null): Promise<TransactionResult<C>>;';
if (!dts.includes(plain)) throw new Error(`postbuild: executeTransaction signature not found in ${path.pathname}`);
dts = dts.replace(plain, generic);
dts = dts.replace(/\bany\b/g, (m, offset) => {
  const lineStart = dts.lastIndexOf('\n', offset) + 1;
  return /^\s*(\*|\/\/)/.test(dts.slice(lineStart, offset)) ? m : 'unknown';
});
const leftover = dts.split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l) && /\bany\b/.test(l));
if (leftover.length) throw new Error(`postbuild: 'any' left in the public types:\n${leftover.join('\n')}`);
writeFileSync(path, dts);
