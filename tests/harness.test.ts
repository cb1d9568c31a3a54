import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { PATIENCE_MS } from './support/patience.js';
import { warningLines } from './support/process-warnings.js';
import { startService } from './support/service-process.js';

// The test run itself: a process warning anywhere fails it.

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUARD = fileURLToPath(new URL('./support/fail-on-warning.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-harness-'));
  dirs.push(dir);
  return dir;
}

function nodeTest(file: string): Promise<{ code: number; stdout: string }> {
  // Without the variable that makes a nested runner report to this one instead of printing TAP.
  const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--test', '--test-reporter=tap', '--import', GUARD, file], { env, timeout: PATIENCE_MS }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout });
    });
  });
}

describe('process warnings fail the run', () => {
  test('npm test loads the guard into every test process', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const match = /--import[= ](\S+)/.exec(scripts.test ?? '');
    assert.ok(match !== null, `the test script passes no --import: ${scripts.test}`);
    assert.equal(join(REPO_ROOT, match[1]!), GUARD);
    assert.ok(existsSync(GUARD));
  });

  test('a warning during a test fails that test, naming the warning', async () => {
    const dir = tempDir();
    const file = join(dir, 'warns.test.mjs');
    writeFileSync(
      file,
      [
        "import { test } from 'node:test';",
        "test('quiet', () => {});",
        "test('noisy', async () => { setTimeout(() => {}, 2 ** 31).unref(); await new Promise((r) => setTimeout(r, 20)); });",
      ].join('\n'),
    );
    const run = await nodeTest(file);
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stdout, /not ok \d+ - noisy/);
    assert.match(run.stdout, /process warning: TimeoutOverflowWarning/);
    assert.match(run.stdout, /^ok \d+ - quiet/m);
  });

  test('a file without warnings passes', async () => {
    const dir = tempDir();
    const file = join(dir, 'quiet.test.mjs');
    writeFileSync(file, "import { test } from 'node:test';\ntest('quiet', () => {});\n");
    const run = await nodeTest(file);
    assert.equal(run.code, 0, run.stdout);
  });

  test("a service process's warning on stderr fails the test that disposes of it", async () => {
    const dir = tempDir();
    const warn = join(dir, 'warn.mjs');
    writeFileSync(warn, "process.emitWarning('made up for the test', 'TestWarning');\n");
    const service = await startService(dir, { NODE_OPTIONS: `--import=${pathToFileURL(warn).href}` });
    await assert.rejects(service.dispose(), /wrote 1 process warning\(s\) to stderr:\n\(node:\d+\) TestWarning: made up for the test/);
  });

  test('warning lines are told apart from log lines that mention a warning', () => {
    const stderr = [
      '{"level":40,"msg":"Warning: peer unreachable"}',
      '(node:4242) TimeoutOverflowWarning: 2147483648 does not fit into a 32-bit signed integer.',
      'Timeout duration was set to 1.',
      '(node:4242) [DEP0005] DeprecationWarning: Buffer() is deprecated',
    ].join('\n');
    assert.deepEqual(warningLines(stderr), [
      '(node:4242) TimeoutOverflowWarning: 2147483648 does not fit into a 32-bit signed integer.',
      '(node:4242) [DEP0005] DeprecationWarning: Buffer() is deprecated',
    ]);
  });
});
