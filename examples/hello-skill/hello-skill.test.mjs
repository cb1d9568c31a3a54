// The skill's own tests, with the harness kagent-a2a publishes: the real task
// service and a real SQLite store, no HTTP. Run with `node --test`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SkillHarness } from 'kagent-a2a/testing';
import hello from './hello-skill.mjs';

/** @type {SkillHarness} */
let harness;
before(async () => {
  harness = await SkillHarness.start(hello);
});
after(() => harness.close());

test('greets the name it is sent', async () => {
  const task = harness.task(await harness.send('Ada'));
  assert.equal(task.status.state, 'completed');
  assert.deepEqual(task.artifacts?.[0]?.parts, [{ kind: 'text', text: 'Hello, Ada!' }]);
  // What it wrote to ctx.log: in the agent, a line of its log tagged with the skill and the task.
  assert.deepEqual(
    harness.logs.filter((line) => line.taskId === task.id).map((line) => [line.level, line.message, line.fields]),
    [['info', 'greeting', { nameLength: 3 }]],
  );
});

test('asks for a name, then greets the one sent on the same task', async () => {
  const asked = harness.task(await harness.send(''));
  assert.equal(asked.status.state, 'input-required');
  const answered = harness.task(await harness.send('Grace', { taskId: asked.id, contextId: asked.contextId }));
  assert.equal(answered.id, asked.id);
  assert.equal(answered.status.state, 'completed');
  assert.equal(answered.artifacts?.[0]?.parts[0]?.kind === 'text' && answered.artifacts[0].parts[0].text, 'Hello, Grace!');
});

test('streams its progress: a working update naming whom it greets, the greeting, the end', async () => {
  const items = await harness.stream('Linus');
  assert.equal(items[0]?.kind, 'task');
  const said = items.flatMap((item) => (item.kind === 'status-update' && item.status.message ? item.status.message.parts : []));
  assert.deepEqual(said, [{ kind: 'text', text: 'greeting Linus' }]);
  const artifact = items.findIndex((item) => item.kind === 'artifact-update');
  assert.ok(artifact > 0, 'the greeting streams as an artifact update');
  const last = items.at(-1);
  assert.equal(last?.kind === 'status-update' && last.status.state, 'completed');
  assert.ok(artifact < items.length - 1, 'the greeting comes before the end');
});

test('refuses a name too long to be one', async () => {
  const task = harness.task(await harness.send('x'.repeat(101)));
  assert.equal(task.status.state, 'rejected');
});
