import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Skill, SkillContext } from '../../src/skills/api.js';
import { SkillHarness } from '../../src/testing/index.js';
import { deferred } from '../support/wait.js';
import { waitFor } from '../support/wait.js';

// The harness as a skill's author gets it from 'kagent-a2a/testing': only its
// public surface, no hand on the service beneath.

const shout: Skill = {
  descriptor: { id: 'shout', name: 'Shout', description: 'Upper-cases its text, in two chunks.', tags: ['test'] },
  async execute(ctx) {
    const text = ctx.message.parts.flatMap((part) => (part.kind === 'text' ? [part.text.toUpperCase()] : [])).join(' ');
    await ctx.working('shouting');
    ctx.log.info('shouting', { length: text.length });
    const half = Math.ceil(text.length / 2);
    await ctx.artifact({ artifactId: 'loud', parts: [{ kind: 'text', text: text.slice(0, half) }] });
    await ctx.artifact({ artifactId: 'loud', parts: [{ kind: 'text', text: text.slice(half) }] }, { append: true, lastChunk: true });
  },
};

const sawAbort = deferred<void>();
const patient: Skill = {
  descriptor: { id: 'patient', name: 'Patient', description: 'Works until canceled.', tags: ['test'] },
  async execute(ctx: SkillContext) {
    await ctx.working('waiting for a cancel');
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    sawAbort.resolve();
  },
};

describe('SkillHarness (kagent-a2a/testing)', () => {
  let harness: SkillHarness;
  before(async () => {
    harness = await SkillHarness.start([shout, patient]);
  });
  after(() => harness.close());

  test('send runs the first skill by default and returns the ended task, artifacts joined', async () => {
    const task = harness.task(await harness.send('hello there'));
    assert.equal(task.status.state, 'completed');
    assert.deepEqual(task.artifacts?.[0]?.parts, [
      { kind: 'text', text: 'HELLO ' },
      { kind: 'text', text: 'THERE' },
    ]);
    assert.deepEqual(await harness.getTask(task.id), task);
    assert.deepEqual(
      harness.logs.filter((line) => line.taskId === task.id),
      [{ level: 'info', message: 'shouting', fields: { length: 11 }, skill: 'shout', taskId: task.id }],
    );
  });

  test('stream gives every event in order, ending with the final status', async () => {
    const items = await harness.stream('abc');
    const kinds = items.map((item) => (item.kind === 'status-update' ? item.status.state : item.kind));
    assert.equal(kinds[0], 'task');
    assert.deepEqual(kinds.slice(-3), ['artifact-update', 'artifact-update', 'completed']);
  });

  test('cancel stops a running skill through its signal', async () => {
    const started = harness.task(await harness.start('wait', { metadata: { skill: 'patient' } }));
    await waitFor('the task to work', async () => (await harness.getTask(started.id)).status.state === 'working');
    const canceled = await harness.cancel(started.id);
    assert.equal(canceled.status.state, 'canceled');
    await sawAbort.promise;
    assert.equal((await harness.getTask(started.id)).status.state, 'canceled');
  });

  test('listTasks finds the tasks it ran, by state', async () => {
    const page = await harness.listTasks({ state: 'canceled' });
    assert.equal(page.tasks.length, 1);
    assert.equal(page.tasks[0]!.metadata?.skill, 'patient');
  });

  test('a message naming a skill the harness does not run is refused as the agent refuses it', async () => {
    await assert.rejects(harness.send('x', { metadata: { skill: 'nope' } }), { name: 'UnknownSkillError' });
  });

  test('task() on a direct reply says what came back instead', () => {
    assert.throws(() => harness.task({ kind: 'message', message: harness.message('hi') }), /expected a task, got a direct message/);
  });
});

describe('SkillHarness refuses what the service would refuse', () => {
  test('a skill of the wrong shape, with what is wrong', async () => {
    const broken = { descriptor: { id: 'broken', name: 'Broken', description: 'd', tags: [] } } as unknown as Skill;
    await assert.rejects(SkillHarness.start(broken), /skill \[0\] skill "broken": execute must be a function/);
  });

  test('no skills at all', async () => {
    await assert.rejects(SkillHarness.start([]), /no skills given/);
  });

  test('two skills with one id', async () => {
    await assert.rejects(SkillHarness.start([shout, shout]), /"shout" registered twice/);
  });
});
