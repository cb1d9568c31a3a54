import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { PATIENCE_MS } from '../support/patience.js';

// What a skill's author imports: 'kagent-a2a/skill' and 'kagent-a2a/testing'
// resolve through package.json `exports`, with their types, and the example
// skill's own tests pass through them as its author runs them.

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO_ROOT, 'examples', 'hello-skill');

interface PackageJson {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
}
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

describe('the Skill API as a package', () => {
  test('kagent-a2a/skill and kagent-a2a/testing are exported, each with its emitted types', () => {
    assert.equal(pkg.name, 'kagent-a2a');
    for (const entry of ['./skill', './testing']) {
      const target = pkg.exports[entry];
      assert.ok(typeof target === 'object', `package.json exports ${entry}`);
      assert.ok(existsSync(join(REPO_ROOT, target.default)), `${target.default} is built`);
      assert.ok(existsSync(join(REPO_ROOT, target.types)), `${target.types} is emitted`);
    }
  });

  test('the package resolves its own exports by name (the self-reference the example uses)', async () => {
    const testing = (await import('kagent-a2a/testing' as string)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(testing), ['SkillHarness']);
    const skill = (await import('kagent-a2a/skill' as string)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(skill), [], 'kagent-a2a/skill holds types only');
  });

  test("the hello-skill example's own tests pass, run with node --test as its author runs them", async () => {
    // Without the variable that makes a nested runner report to this one instead of printing TAP.
    const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=tap', 'hello-skill.test.mjs'], { cwd: EXAMPLE, env, timeout: PATIENCE_MS }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^# pass 4$/m);
    assert.match(run.stdout, /^# fail 0$/m);
    assert.doesNotMatch(run.stderr, /Warning/);
  });
});
