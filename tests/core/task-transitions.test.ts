import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidStateTransitionError, UnsupportedOperationError } from '../../src/model/errors.js';
import { ANONYMOUS as ANON } from '../../src/model/model.js';
import type { TaskState } from '../../src/model/model.js';
import type { Skill, SkillContext } from '../../src/skills/skill.js';
import { PATIENCE_MS } from '../support/patience.js';
import { SkillHarness, userMessage } from '../support/skill-harness.js';

// Every state change the task service makes goes through the lifecycle: a
// skill that asks for a move the lifecycle forbids (it reports after its task
// ended) gets the typed error, and the task keeps its state.

/** What a skill's late call did: resolved, or the error it was refused with. */
type Outcome = { ok: true } | { ok: false; error: unknown };

/** A skill that runs `first`, then tries `then` and hands the outcome to the test. */
function twoSteps(id: string, first: (ctx: SkillContext) => Promise<void>, then: (ctx: SkillContext) => Promise<void>) {
  let report!: (outcome: Outcome) => void;
  const observed = new Promise<Outcome>((resolve) => (report = resolve));
  const skill: Skill = {
    descriptor: { id, name: id, description: 'reports after its first move', tags: [], inputModes: ['text/plain'] },
    async execute(ctx) {
      await first(ctx);
      try {
        await then(ctx);
        report({ ok: true });
      } catch (error) {
        report({ ok: false, error });
      }
    },
  };
  return { skill, observed: () => within(observed) };
}

async function within<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nothing observed within ${PATIENCE_MS} ms`)), PATIENCE_MS)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function assertRefusedMove(outcome: Outcome, taskId: string, from: TaskState, to: TaskState): void {
  assert.equal(outcome.ok, false, 'the late call was refused');
  const { error } = outcome as { ok: false; error: unknown };
  assert.ok(error instanceof InvalidStateTransitionError, `got ${String(error)}`);
  assert.deepEqual(error.details, { taskId, from, to });
}

describe('task service: state changes follow the lifecycle', () => {
  const workedAfterCompleting = twoSteps('done-then-working', (ctx) => ctx.complete('done'), (ctx) => ctx.working('still here'));
  const completedTwice = twoSteps('done-twice', (ctx) => ctx.complete('done'), (ctx) => ctx.complete('done again'));
  const workedAfterAsking = twoSteps('asks-then-working', (ctx) => ctx.requireInput('which one?'), (ctx) => ctx.working('carrying on'));
  let releaseCanceled!: () => void;
  const canceledGate = new Promise<void>((resolve) => (releaseCanceled = resolve));
  const workedAfterCancel = twoSteps('canceled-then-working', () => canceledGate, (ctx) => ctx.working('ignoring the cancel'));
  let harness: SkillHarness;

  before(async () => {
    harness = await SkillHarness.start([workedAfterCompleting.skill, completedTwice.skill, workedAfterAsking.skill, workedAfterCancel.skill]);
  });
  after(async () => {
    releaseCanceled();
    await harness.close();
  });

  test('a skill reporting progress after it completed gets InvalidStateTransitionError (completed -> working); the task stays completed', async () => {
    const task = await harness.task(await harness.send('go', { metadata: { skill: 'done-then-working' } }));
    assert.equal(task.status.state, 'completed');
    assertRefusedMove(await workedAfterCompleting.observed(), task.id, 'completed', 'working');
    assert.equal((await harness.service.getTask(ANON, task.id)).status.state, 'completed');
  });

  test('a terminal state is not entered twice: completed -> completed is refused', async () => {
    const task = await harness.task(await harness.send('go', { metadata: { skill: 'done-twice' } }));
    assertRefusedMove(await completedTwice.observed(), task.id, 'completed', 'completed');
    const stored = await harness.service.getTask(ANON, task.id);
    assert.equal(stored.status.state, 'completed');
    assert.equal(stored.history.filter((m) => m.role === 'agent').length, 1, 'the second reply was not stored');
  });

  test('a run that ended at an interruption is over, not an illegal move: input-required -> working is refused as unsupported', async () => {
    const task = await harness.task(await harness.send('go', { metadata: { skill: 'asks-then-working' } }));
    assert.equal(task.status.state, 'input-required');
    const outcome = await workedAfterAsking.observed();
    assert.equal(outcome.ok, false);
    const { error } = outcome as { ok: false; error: unknown };
    assert.ok(error instanceof UnsupportedOperationError, `got ${String(error)}`);
    assert.equal((await harness.service.getTask(ANON, task.id)).status.state, 'input-required');
  });

  test('a skill that ignores the cancel and reports progress sees the refused move canceled -> working', async () => {
    const sent = await harness.service.sendMessage(ANON, userMessage('go', { metadata: { skill: 'canceled-then-working' } }), { returnImmediately: true });
    const task = await harness.task(sent);
    assert.equal((await harness.cancel(task.id)).status.state, 'canceled');
    releaseCanceled();
    assertRefusedMove(await workedAfterCancel.observed(), task.id, 'canceled', 'working');
    assert.equal((await harness.service.getTask(ANON, task.id)).status.state, 'canceled');
  });
});
