import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SETTINGS } from '../src/config/schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README documents every setting', () => {
  const missing = Object.keys(SETTINGS).filter((name) => !readme.includes(`\`${name}\``));
  assert.deepEqual(missing, [], `settings missing from README.md: ${missing.join(', ')}`);
});

test('the README opens with the two commands that set everything up', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(firstBlock, /^npm ci && npm start\b/m);
  assert.match(firstBlock, /^npm test\b/m);
});
