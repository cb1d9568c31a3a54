import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SETTINGS } from '../src/config/schema.js';
import { CLIENT_COMMANDS, commandOptions } from '../src/cli/client-commands.js';
import { SERVE_FLAGS } from '../src/cli/serve.js';

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

/** Every `kagent-a2a …` invocation the README shows, in code blocks and inline code, comments cut off. */
function shownInvocations(): string[] {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
  const inline = [...readme.matchAll(/`(kagent-a2a [^`]+)`/g)].map((m) => m[1]!);
  return [...blocks, ...inline]
    .map((line) => line.replace(/\s#\s.*$/, '').trim())
    .filter((line) => line.startsWith('kagent-a2a '));
}

test('every CLI command the README shows is one the CLI knows, with options that command takes', () => {
  const shown = shownInvocations();
  assert.ok(shown.length >= 10, `found only ${shown.length} kagent-a2a commands in the README`);
  const problems: string[] = [];
  for (const line of shown) {
    const [, command, ...words] = line.split(/\s+/);
    const known = command === 'serve' ? [...SERVE_FLAGS] : command === 'help' ? [] : command === '--version' ? [] : commandOptions(command!);
    if (known === undefined) {
      problems.push(`"${line}": the CLI has no command ${command}`);
      continue;
    }
    for (const word of words) {
      const flag = /^\[?(--[a-z-]+)/.exec(word)?.[1];
      if (flag !== undefined && !known.includes(flag)) problems.push(`"${line}": ${command} takes no ${flag}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the README shows every client command the CLI has', () => {
  const shown = new Set(shownInvocations().map((line) => line.split(/\s+/)[1]));
  const missing = CLIENT_COMMANDS.filter((command) => !shown.has(command));
  assert.deepEqual(missing, [], `commands the README does not show: ${missing.join(', ')}`);
});
