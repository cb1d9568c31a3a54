#!/usr/bin/env node
// Builds (npm run build) only when a TypeScript source under the given
// directories is newer than what it compiles to in dist/, or has not been
// compiled at all, or tsconfig.json changed since. `npm start` and `npm test`
// run it first, so neither waits for a full compile when nothing changed.
// Output whose source is gone (a file moved or deleted) is removed first:
// `npm test` runs every compiled test under dist/tests, and a stale copy of a
// moved test would run too.
//
// A bundled directory (the web console) is not compiled file by file: any of
// its files newer than the bundle's last output, or that output missing,
// means a build.
//
//   node scripts/build-if-stale.mjs src console tests
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: build-if-stale.mjs DIR... (source directories compiled into dist/)');
  process.exit(2);
}

/** Directories built as one bundle, and the file their build writes last. */
const BUNDLES = { console: join('dist', 'console', 'index.html') };

/** Compiled files under dist/<dir> whose TypeScript source no longer exists (a bundle's build clears its own). */
function* orphans(dir) {
  if (dir in BUNDLES) return;
  const out = join('dist', dir);
  if (!existsSync(out)) return;
  for (const path of walk(out)) {
    const base = relative('dist', path).replace(/(\.d\.ts|\.js\.map|\.d\.ts\.map|\.js)$/, '');
    if (base === relative('dist', path)) continue;
    if (!existsSync(`${base}.ts`)) yield path;
  }
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Why a bundled directory needs building, or undefined. */
function bundleStaleness(dir, output) {
  const built = mtime(output);
  if (built === undefined) return `${output} is missing`;
  for (const path of walk(dir)) if (built < mtime(path)) return `${path} changed`;
  return undefined;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The first reason to build, or undefined when dist/ is up to date. */
function staleness() {
  const config = mtime('tsconfig.json') ?? 0;
  for (const dir of dirs) {
    if (dir in BUNDLES) {
      const reason = bundleStaleness(dir, BUNDLES[dir]);
      if (reason !== undefined) return reason;
      continue;
    }
    for (const source of sources(dir)) {
      const output = join('dist', relative('.', source).replace(/\.ts$/, '.js'));
      const built = mtime(output);
      if (built === undefined) return `${output} is missing`;
      if (built < mtime(source)) return `${source} changed`;
      if (built < config) return 'tsconfig.json changed';
    }
  }
  return undefined;
}

let removed = 0;
for (const dir of dirs) {
  for (const path of orphans(dir)) {
    rmSync(path);
    removed++;
  }
}
if (removed > 0) console.error(`build-if-stale: removed ${removed} compiled files whose source is gone`);

const reason = staleness();
if (reason !== undefined) {
  console.error(`build-if-stale: ${reason}; building`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['run', '--silent', 'build'], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
