// The README's quickstart is run as written (from the repo root, where a newcomer pastes it),
// so the documentation cannot drift from the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const root = new URL('../../', import.meta.url);

test('the README quickstart runs and prints what it promises', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const code = readme.match(/## Quickstart\n\n```js\n([\s\S]*?)```/)?.[1];
  assert.ok(code, 'README has a ```js block under ## Quickstart');
  const file = new URL('.readme-quickstart.mjs', root);
  writeFileSync(file, code);
  try {
    const out = execFileSync(process.execPath, [file.pathname], { encoding: 'utf8' });
    assert.match(out, /^compensated$/m);
    assert.match(out, /^StepFailedError$/m);
    assert.match(out, /compensation\.succeeded reserve_inventory/);
    assert.match(out, /'reserve_inventory', 'succeeded', 'compensated'/);
  } finally {
    rmSync(file, { force: true });
  }
});
