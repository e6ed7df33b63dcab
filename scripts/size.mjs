// Prints the package's shipped size: the .wasm and the JS glue, raw and gzipped (level 9).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const pkg = new URL('../pkg/', import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(wasm|js)$/.test(name)) files.push(path);
  }
})(pkg);
let raw = 0;
let gz = 0;
for (const f of files) {
  const bytes = readFileSync(f);
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`pkg/: ${files.length} files (.wasm + JS glue), ${kb(raw)} KiB raw, ${kb(gz)} KiB gzipped`);
export const sizes = { raw, gz };
