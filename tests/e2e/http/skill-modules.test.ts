import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Skill } from '../../../src/skills/api.js';
import { SkillHarness } from '../../../src/testing/index.js';
import { cli } from '../../cli/run.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';
import { ok } from './helpers.js';

// Skills of one's own, the way an operator adds them: ES modules in a
// directory the repository knows nothing of, named in SKILL_MODULES, loaded
// by a real service process and served over HTTP.

const HELLO = fileURLToPath(new URL('../../../../examples/hello-skill/hello-skill.mjs', import.meta.url));

const GREETER = `
const greeter = {
  descriptor: { id: 'greeter', name: 'Greeter', description: 'Answers with a greeting artifact.', tags: ['module'] },
  async execute(ctx) {
    await ctx.working('looking up a greeting');
    ctx.log.warn('greeting someone', { mood: 'cheerful' });
    await ctx.artifact({ artifactId: 'greeting', parts: [{ kind: 'text', text: 'good day' }] }, { lastChunk: true });
    await ctx.complete();
  },
};
const crasher = {
  descriptor: { id: 'crasher', name: 'Crasher', description: 'Throws while it runs.', tags: ['module'] },
  async execute() {
    throw new Error('the crasher crashed');
  },
};
export default [greeter, crasher];
`;

describe('SKILL_MODULES: skills from modules of ones own', () => {
  let dir: string;
  let greeterPath: string;
  let service: ServiceProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-skill-modules-e2e-'));
    greeterPath = join(dir, 'greeter.mjs');
    writeFileSync(greeterPath, GREETER);
    service = await startService(join(dir, 'data'), { SKILL_MODULES: `${greeterPath},${HELLO}`, DEFAULT_SKILL: 'greeter' });
  });

  after(async () => {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the modules' skills are on the agent card, after the built-in ones", async () => {
    const card = (await (await fetch(`${service.url}/.well-known/agent-card.json`)).json()) as { skills: { id: string; tags: string[] }[] };
    const ids = card.skills.map((skill) => skill.id);
    assert.deepEqual(ids.slice(-4), ['greeter', 'crasher', 'hello', 'help'], ids.join(', '));
    assert.deepEqual(card.skills.find((skill) => skill.id === 'greeter')?.tags, ['module']);
  });

  test("a message naming a module's skill runs it to completion over JSON-RPC", async () => {
    const { task } = ok(await rpc(service.url, 'SendMessage', { message: textMessage('hi', { metadata: { skill: 'greeter' } }) }));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(task.artifacts[0].parts, [{ text: 'good day' }]);
    assert.equal(task.metadata.skill, 'greeter');
    // Its log line reaches the agent's log, tagged with the skill and the task.
    await waitFor('the skill\'s log line', () => service.output().split('\n').some((line) => line.includes('greeting someone') && line.includes(`"taskId":"${task.id}"`)));
    const line = JSON.parse(service.output().split('\n').find((l) => l.includes(`"taskId":"${task.id}"`) && l.includes('greeting someone'))!) as Record<string, unknown>;
    assert.equal(line.skill, 'greeter');
    assert.equal(line.mood, 'cheerful');
  });

  test('DEFAULT_SKILL may name a module\'s skill: a message naming none goes to it', async () => {
    const { task } = ok(await rpc(service.url, 'SendMessage', { message: textMessage('anyone there?') }));
    assert.equal(task.metadata.skill, 'greeter');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('the example skill greets, and asks for a name on the same task', async () => {
    const greeted = ok(await rpc(service.url, 'SendMessage', { message: textMessage('Ada', { metadata: { skill: 'hello' } }) })).task;
    assert.equal(greeted.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(greeted.artifacts[0].parts, [{ text: 'Hello, Ada!' }]);
    const asked = ok(await rpc(service.url, 'SendMessage', { message: textMessage(' ', { metadata: { skill: 'hello' } }) })).task;
    assert.equal(asked.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const answered = ok(await rpc(service.url, 'SendMessage', { message: textMessage('Grace', { taskId: asked.id, contextId: asked.contextId }) })).task;
    assert.equal(answered.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(answered.artifacts[0].parts, [{ text: 'Hello, Grace!' }]);
  });

  test('a module skill that throws fails its task with the reason, and the agent goes on serving', async () => {
    const { task } = ok(await rpc(service.url, 'SendMessage', { message: textMessage('boom', { metadata: { skill: 'crasher' } }) }));
    assert.equal(task.status.state, 'TASK_STATE_FAILED');
    assert.match(JSON.stringify(task.status.message.parts), /skill crasher failed: the crasher crashed/);
    const again = ok(await rpc(service.url, 'SendMessage', { message: textMessage('hi', { metadata: { skill: 'greeter' } }) })).task;
    assert.equal(again.status.state, 'TASK_STATE_COMPLETED');
  });

  test('the same module file, tested in-process with the published harness', async () => {
    const skills = ((await import(pathToFileURL(greeterPath).href)) as { default: Skill[] }).default;
    const harness = await SkillHarness.start(skills);
    try {
      const done = harness.task(await harness.send('hi'));
      assert.equal(done.status.state, 'completed');
      assert.deepEqual(done.artifacts?.[0]?.parts, [{ kind: 'text', text: 'good day' }]);
      const failed = harness.task(await harness.send('boom', { metadata: { skill: 'crasher' } }));
      assert.equal(failed.status.state, 'failed');
    } finally {
      await harness.close();
    }
  });
});

describe('SKILL_MODULES: a module that cannot be used stops the start, naming it', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-skill-modules-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function refusedStart(modules: string[], expected: RegExp): Promise<void> {
    const run = await cli(['serve'], { SKILL_MODULES: modules.join(','), DATA_DIR: join(dir, 'data'), PORT: '0', HOST: '127.0.0.1' });
    assert.equal(run.code, 2, `exit ${run.code}: ${run.stderr}`);
    assert.match(run.stderr, expected);
  }
  const module = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const quoted = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('a default export of the wrong shape', async () => {
    const path = module('wrong-shape.mjs', `export default { descriptor: { id: 'x', name: 'x', description: 'd', tags: [] }, run() {} };\n`);
    await refusedStart([path], new RegExp(`invalid setting SKILL_MODULES \\(from ${quoted(path)}\\): default export skill "x": execute must be a function`));
  });

  test('a module that throws on import', async () => {
    const path = module('throws.mjs', `throw new Error('configured wrongly');\n`);
    await refusedStart([path], new RegExp(`SKILL_MODULES \\(from ${quoted(path)}\\): the module could not be loaded: configured wrongly`));
  });

  test("a skill id of a built-in skill, and one id in two modules", async () => {
    const echo = module('echo.mjs', `export default { descriptor: { id: 'echo', name: 'Echo', description: 'mine', tags: [] }, async execute() {} };\n`);
    await refusedStart([echo], new RegExp(`SKILL_MODULES \\(from ${quoted(echo)}\\): skill id "echo" is already taken by a built-in skill`));
    const first = module('first.mjs', `export default { descriptor: { id: 'twin', name: 'Twin', description: 'one', tags: [] }, async execute() {} };\n`);
    const second = module('second.mjs', `export default { descriptor: { id: 'twin', name: 'Twin', description: 'two', tags: [] }, async execute() {} };\n`);
    await refusedStart([first, second], new RegExp(`SKILL_MODULES \\(from ${quoted(second)}\\): skill id "twin" is already taken by the skill of ${quoted(first)}`));
  });

  test('a file that does not exist', async () => {
    const path = join(dir, 'missing.mjs');
    await refusedStart([path], new RegExp(`SKILL_MODULES \\(from ${quoted(path)}\\): the module could not be loaded`));
  });
});
