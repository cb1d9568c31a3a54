import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { PATIENCE_MS } from './support/patience.js';

// `npm start` and `npm test` build first only when the sources changed. The
// script runs in a scratch project whose "build" only leaves a mark, with file
// times set explicitly (no waiting for the clock to move).

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'scripts', 'build-if-stale.mjs');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function project(build = "require('node:fs').writeFileSync('built', 'yes')"): string {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-stale-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, scripts: { build: `node -e "${build}"` } }));
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  const files: [string, number][] = [
    ['tsconfig.json', 0],
    ['src/cli/main.ts', 1],
    ['src/agent.ts', 1],
    ['dist/src/cli/main.js', 2],
    ['dist/src/agent.js', 2],
  ];
  for (const [file, second] of files) {
    writeFileSync(join(dir, file), '');
    utimesSync(join(dir, file), at(second), at(second));
  }
  return dir;
}

function run(dir: string, args: string[] = ['src']): Promise<{ code: number; stderr: string; built: boolean }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: dir, timeout: PATIENCE_MS }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stderr, built: existsSync(join(dir, 'built')) });
    });
  });
}

describe('build-if-stale', () => {
  test('up to date: no build', async () => {
    const result = await run(project());
    assert.deepEqual(result, { code: 0, stderr: '', built: false });
  });

  test('a source newer than its output: builds, naming it', async () => {
    const dir = project();
    utimesSync(join(dir, 'src/agent.ts'), at(3), at(3));
    const result = await run(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.built);
    assert.match(result.stderr, /src\/agent\.ts changed; building/);
    assert.equal(readFileSync(join(dir, 'built'), 'utf8'), 'yes');
  });

  test('a source never compiled: builds', async () => {
    const dir = project();
    writeFileSync(join(dir, 'src', 'new.ts'), '');
    utimesSync(join(dir, 'src/new.ts'), at(1), at(1));
    const result = await run(dir);
    assert.ok(result.built);
    assert.match(result.stderr, /dist\/src\/new\.js is missing/);
  });

  test('tsconfig.json changed since the build: builds', async () => {
    const dir = project();
    utimesSync(join(dir, 'tsconfig.json'), at(3), at(3));
    const result = await run(dir);
    assert.ok(result.built);
    assert.match(result.stderr, /tsconfig\.json changed/);
  });

  test('output of a source moved or deleted is removed, and nothing else is touched', async () => {
    const dir = project();
    mkdirSync(join(dir, 'dist', 'src', 'old'), { recursive: true });
    for (const file of ['dist/src/old/gone.js', 'dist/src/old/gone.d.ts', 'dist/src/old/gone.js.map', 'dist/src/README.txt']) writeFileSync(join(dir, file), '');
    const result = await run(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /removed 3 compiled files whose source is gone/);
    for (const file of ['gone.js', 'gone.d.ts', 'gone.js.map']) assert.ok(!existsSync(join(dir, 'dist/src/old', file)), file);
    assert.ok(existsSync(join(dir, 'dist/src/README.txt')), 'a file that is not compiled output stays');
    assert.ok(existsSync(join(dir, 'dist/src/agent.js')), 'output whose source is there stays');
    assert.ok(!result.built, 'removing orphans alone needs no build');
  });

  test('a failing build fails the script, so npm start and npm test do not go on with stale code', async () => {
    const dir = project('process.exit(3)');
    utimesSync(join(dir, 'src/cli/main.ts'), at(3), at(3));
    const result = await run(dir);
    assert.equal(result.code, 3);
  });

  describe('the console, built as one bundle', () => {
    /** A project with console sources and their bundle, the bundle written after them. */
    function withConsole(): string {
      const dir = project();
      mkdirSync(join(dir, 'console', 'src'), { recursive: true });
      mkdirSync(join(dir, 'dist', 'console', 'assets'), { recursive: true });
      const files: [string, number][] = [
        ['console/src/main.tsx', 1],
        ['console/src/style.css', 1],
        ['dist/console/assets/main-ABC.js', 2],
        ['dist/console/index.html', 2],
      ];
      for (const [file, second] of files) {
        writeFileSync(join(dir, file), '');
        utimesSync(join(dir, file), at(second), at(second));
      }
      return dir;
    }

    test('up to date: no build, and its hashed assets are not taken for orphans', async () => {
      const dir = withConsole();
      const result = await run(dir, ['src', 'console']);
      assert.deepEqual(result, { code: 0, stderr: '', built: false });
      assert.ok(existsSync(join(dir, 'dist/console/assets/main-ABC.js')));
    });

    test('a console file (not only TypeScript) newer than the bundle: builds', async () => {
      const dir = withConsole();
      utimesSync(join(dir, 'console/src/style.css'), at(3), at(3));
      const result = await run(dir, ['src', 'console']);
      assert.ok(result.built);
      assert.match(result.stderr, /console\/src\/style\.css changed; building/);
    });

    test('never bundled (a fresh clone): builds', async () => {
      const dir = withConsole();
      rmSync(join(dir, 'dist/console'), { recursive: true });
      const result = await run(dir, ['src', 'console']);
      assert.ok(result.built);
      assert.match(result.stderr, /dist\/console\/index\.html is missing/);
    });
  });

  test('npm start and npm test use it; the install still builds everything', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.prestart, 'node scripts/build-if-stale.mjs src console');
    assert.equal(scripts.pretest, 'node scripts/build-if-stale.mjs src console tests');
    assert.equal(scripts.prepare, 'npm run build');
  });
});
