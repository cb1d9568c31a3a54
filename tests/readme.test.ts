import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

test('every `npm run` command the README shows is a script of package.json', () => {
  const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const shown = [...readme.matchAll(/\bnpm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]!);
  // npm start and npm test are scripts too.
  for (const name of ['start', 'test']) if (new RegExp(`\\bnpm ${name}\\b`).test(readme)) shown.push(name);
  assert.ok(shown.length >= 3, `found ${shown.join(', ')}`);
  const missing = [...new Set(shown)].filter((name) => !(name in scripts));
  assert.deepEqual(missing, [], `README commands with no script in package.json: ${missing.join(', ')}`);
});

test('every file the README links to exists', () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
  assert.ok(links.includes('ARCHITECTURE.md'), 'the README links ARCHITECTURE.md');
  const missing = links.filter((target) => !existsSync(new URL(`../../${target}`, import.meta.url)));
  assert.deepEqual(missing, [], `README links to missing files: ${missing.join(', ')}`);
});

test('ARCHITECTURE.md names every folder of src/, and only those', () => {
  const architecture = readFileSync(new URL('../../ARCHITECTURE.md', import.meta.url), 'utf8');
  const named = [...architecture.matchAll(/^\| `([a-z-]+)\/` \|/gm)].map((m) => m[1]!).sort();
  const folders = readdirSync(new URL('../../src/', import.meta.url), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(named, folders);
});

test('the README has a "Running the tests" section naming what npm test needs', () => {
  const section = /## Running the tests\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  for (const needed of ['TEST_DATABASE_URL', 'kubectl', 'kustomize', 'C++', 'CI=true']) assert.ok(section.includes(needed), `the section does not mention ${needed}`);
});

test('LOG_LEVEL is marked live in the settings table, as the schema declares it', () => {
  assert.equal(SETTINGS.LOG_LEVEL.live, true);
  assert.match(readme, /^\| `LOG_LEVEL` \|.*\(live\) \|$/m);
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
