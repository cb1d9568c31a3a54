// The task service on its own, without HTTP: a real TaskService over a real
// (in-memory) SQLite store, driving a skill whose every run the test holds
// and releases. What the HTTP tests reach only from outside — dedupe,
// continuation, cancel, drain and recovery — is checked here at its source.
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { TaskNotCancelableError, TaskNotFoundError, UnavailableError, UnsupportedOperationError } from '../../src/model/errors.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Task } from '../../src/model/model.js';
import type { Skill, SkillContext } from '../../src/skills/skill.js';
import { SkillHarness, userMessage } from '../support/skill-harness.js';
import { deferred, waitFor, within } from '../support/wait.js';
import type { Deferred } from '../support/wait.js';
import { PATIENCE_MS } from '../support/patience.js';

/** One run of the held skill, as the test sees it. */
interface Run {
  ctx: SkillContext;
  /** Resolve to let the run go on: 'complete' ends the task, 'input' asks for more. */
  release: Deferred<'complete' | 'input'>;
  /** Resolves when the run's abort signal fires. */
  aborted: Deferred<void>;
}

/** A skill that starts a run per call and waits, for each, for the test to release it. */
class Held {
  readonly runs: Run[] = [];
  private waiting: Deferred<Run>[] = [];

  constructor(
    readonly id: string,
    private readonly options: { resumable?: boolean; deduplicateRequests?: boolean; heedsSignal?: boolean } = {},
  ) {
    everyHeld.push(this);
  }

  /** The next run to start (or the first not yet taken). */
  async nextRun(taken = 0): Promise<Run> {
    if (this.runs.length > taken) return this.runs[taken]!;
    const next = deferred<Run>();
    this.waiting.push(next);
    return within(PATIENCE_MS, `run ${taken + 1} of ${this.id} to start`, next.promise);
  }

  skill(): Skill {
    return {
      descriptor: { id: this.id, name: this.id, description: 'held by the test', tags: [] },
      resumable: this.options.resumable,
      deduplicateRequests: this.options.deduplicateRequests,
      execute: async (ctx) => {
        const run: Run = { ctx, release: deferred(), aborted: deferred() };
        ctx.signal.addEventListener('abort', () => run.aborted.resolve(), { once: true });
        await ctx.working(`run ${this.runs.length + 1}`);
        this.runs.push(run);
        for (const waiter of this.waiting.splice(0)) waiter.resolve(run);
        // Deaf to the signal unless told otherwise: whatever stops its task must be the service's doing.
        const outcome = await (this.options.heedsSignal === true
          ? Promise.race([run.release.promise, run.aborted.promise.then(() => Promise.reject(ctx.signal.reason as Error))])
          : run.release.promise);
        if (outcome === 'input') await ctx.requireInput('more, please');
        else await ctx.complete('done');
      },
    };
  }
}

// The service's own waits (drain's grace for skills deaf to their signal) do
// not hold the process open; in an agent its server does. Here, this does.
const keepAlive = setInterval(() => undefined, 1 << 30);
after(() => clearInterval(keepAlive));

const everyHeld: Held[] = [];
const harnesses: SkillHarness[] = [];
async function harness(skills: Skill[], store?: SkillHarness['store']): Promise<SkillHarness> {
  // As the agent is configured by default (MAX_RESUMES): a resumable task may run again.
  const started = await SkillHarness.start(skills, { store, maxResumes: 3 });
  harnesses.push(started);
  return started;
}

afterEach(async () => {
  // Runs the test left held end now: a skill deaf to its signal would outlive the harness.
  for (const held of everyHeld.splice(0)) for (const run of held.runs) run.release.resolve('complete');
  // Last first: a harness sharing another's store stops before the store closes.
  for (const h of harnesses.splice(0).reverse()) await h.close();
});

const state = async (h: SkillHarness, id: string): Promise<Task['status']['state']> => (await h.service.getTask(ANONYMOUS, id)).status.state;

describe('TaskService: dedupe', () => {
  test('a first message sent again while its task runs joins that task; the skill runs once', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const message = userMessage('once');
    const first = h.service.sendMessage(ANONYMOUS, message);
    const run = await held.nextRun();
    const again = await h.service.sendMessage(ANONYMOUS, { ...message }, { returnImmediately: true });
    const joined = await h.task(again);
    assert.equal(joined.id, run.ctx.taskId);
    assert.equal(joined.status.state, 'working');
    run.release.resolve('complete');
    const done = await h.task(await first);
    assert.equal(done.id, run.ctx.taskId);
    assert.equal(done.status.state, 'completed');
    assert.equal(held.runs.length, 1);
    assert.equal(done.history.filter((m) => m.role === 'user').length, 1);
  });

  test('the same message id with other content is new work, not a resend', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const message = userMessage('first');
    await h.service.sendMessage(ANONYMOUS, message, { returnImmediately: true });
    const first = await held.nextRun();
    await h.service.sendMessage(ANONYMOUS, { ...message, parts: [{ kind: 'text', text: 'second' }] }, { returnImmediately: true });
    const second = await held.nextRun(1);
    assert.notEqual(second.ctx.taskId, first.ctx.taskId);
  });

  test('a skill that opts out of dedupe gets a new task for a resent message', async () => {
    const held = new Held('held', { deduplicateRequests: false });
    const h = await harness([held.skill()]);
    const message = userMessage('again and again');
    await h.service.sendMessage(ANONYMOUS, message, { returnImmediately: true });
    await h.service.sendMessage(ANONYMOUS, { ...message }, { returnImmediately: true });
    const [a, b] = [await held.nextRun(), await held.nextRun(1)];
    assert.notEqual(a.ctx.taskId, b.ctx.taskId);
  });
});

describe('TaskService: continuation', () => {
  test('input to a task waiting for it runs the skill again with the whole history', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const pending = h.service.sendMessage(ANONYMOUS, userMessage('start'));
    (await held.nextRun()).release.resolve('input');
    const asked = await h.task(await pending);
    assert.equal(asked.status.state, 'input-required');

    const more = h.service.sendMessage(ANONYMOUS, userMessage('more', { taskId: asked.id, contextId: asked.contextId }));
    const second = await held.nextRun(1);
    assert.equal(second.ctx.taskId, asked.id);
    assert.equal(second.ctx.message.parts[0]!.kind === 'text' && second.ctx.message.parts[0]!.text, 'more');
    assert.deepEqual(
      second.ctx.history.filter((m) => m.role === 'user').map((m) => (m.parts[0]!.kind === 'text' ? m.parts[0]!.text : '')),
      ['start', 'more'],
    );
    second.release.resolve('complete');
    assert.equal((await h.task(await more)).status.state, 'completed');
  });

  test('input to a task that is still working or has ended is refused, and the skill does not run again', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    await h.service.sendMessage(ANONYMOUS, userMessage('busy'), { returnImmediately: true });
    const run = await held.nextRun();
    const task = await h.service.getTask(ANONYMOUS, run.ctx.taskId);
    await assert.rejects(h.service.sendMessage(ANONYMOUS, userMessage('too soon', { taskId: task.id, contextId: task.contextId })), UnsupportedOperationError);
    run.release.resolve('complete');
    await waitFor('the task to complete', async () => (await state(h, task.id)) === 'completed');
    await assert.rejects(h.service.sendMessage(ANONYMOUS, userMessage('too late', { taskId: task.id, contextId: task.contextId })), UnsupportedOperationError);
    assert.equal(held.runs.length, 1);
  });
});

describe('TaskService: tasks named by their caller (A2A 0.2 aliases)', () => {
  const BOB = { tenant: '', principal: 'bob' };

  test('a send under a new name creates the task; the name resolves to it for its caller only, and a second send continues it', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const pending = h.service.sendMessage(ANONYMOUS, userMessage('start'), { taskAlias: 'job-1' });
    (await held.nextRun()).release.resolve('input');
    const asked = await h.task(await pending);
    assert.equal(await h.service.resolveTaskId(ANONYMOUS, 'job-1', true), asked.id);
    assert.equal(await h.service.resolveTaskId(ANONYMOUS, 'job-1'), 'job-1', 'a name that may not be an alias is taken as our id');
    await assert.rejects(h.service.resolveTaskId(BOB, 'job-1', true), TaskNotFoundError);
    // Our own id is never looked up as an alias.
    assert.equal(await h.service.resolveTaskId(ANONYMOUS, asked.id, true), asked.id);

    const more = h.service.sendMessage(ANONYMOUS, userMessage('more'), { taskAlias: 'job-1' });
    const second = await held.nextRun(1);
    assert.equal(second.ctx.taskId, asked.id);
    second.release.resolve('complete');
    assert.equal((await h.task(await more)).status.state, 'completed');
  });

  test('two first sends under one name at once make one task: the later one continues it (and is refused while it works)', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const sends = [1, 2].map((n) => h.service.sendMessage(ANONYMOUS, userMessage(`first ${n}`), { taskAlias: 'job-race', returnImmediately: true }));
    const outcomes = await Promise.allSettled(sends);
    const created = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(created.length, 1);
    assert.equal(refused.length, 1);
    assert.ok((refused[0] as PromiseRejectedResult).reason instanceof UnsupportedOperationError);
    const run = await held.nextRun();
    run.release.resolve('complete');
    await waitFor('the task to complete', async () => (await state(h, run.ctx.taskId)) === 'completed');
    assert.equal(held.runs.length, 1);
  });

  test('the same name from another caller is another task', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    await h.service.sendMessage(ANONYMOUS, userMessage('mine'), { taskAlias: 'job-2', returnImmediately: true });
    await h.service.sendMessage(BOB, userMessage('theirs'), { taskAlias: 'job-2', returnImmediately: true });
    const mine = await h.service.resolveTaskId(ANONYMOUS, 'job-2', true);
    const theirs = await h.service.resolveTaskId(BOB, 'job-2', true);
    assert.notEqual(mine, theirs);
    for (const run of [await held.nextRun(), await held.nextRun(1)]) run.release.resolve('complete');
  });
});

describe('TaskService: cancel', () => {
  test('canceling a running task aborts its skill, whose later writes are refused', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    await h.service.sendMessage(ANONYMOUS, userMessage('cancel me'), { returnImmediately: true });
    const run = await held.nextRun();
    const canceled = await h.cancel(run.ctx.taskId);
    assert.equal(canceled.status.state, 'canceled');
    await within(PATIENCE_MS, 'the skill to see the cancel', run.aborted.promise);
    await assert.rejects(run.ctx.complete('finished anyway'));
    await assert.rejects(run.ctx.artifact({ artifactId: 'late', parts: [{ kind: 'text', text: 'late' }] }));
    const stored = await h.service.getTask(ANONYMOUS, run.ctx.taskId);
    assert.equal(stored.status.state, 'canceled');
    assert.deepEqual(stored.artifacts, []);
    run.release.resolve('complete');
  });

  test("a run's own end fires no abort: the signal is for a cancel or a stop", async () => {
    const afterOwnEnd = deferred<boolean>();
    let abortedAfterReturn = false;
    const ends: Skill = {
      descriptor: { id: 'ends', name: 'ends', description: 'completes its task itself', tags: [] },
      async execute(ctx) {
        await ctx.complete('done');
        await ctx.durable();
        afterOwnEnd.resolve(ctx.signal.aborted);
      },
    };
    const returns: Skill = {
      descriptor: { id: 'returns', name: 'returns', description: 'returns, and the run completes the task', tags: [] },
      async execute(ctx) {
        ctx.signal.addEventListener('abort', () => (abortedAfterReturn = true));
      },
    };
    const h = await harness([ends, returns]);
    assert.equal(await state(h, (await h.task(await h.service.sendMessage(ANONYMOUS, userMessage('end', { metadata: { skill: 'ends' } })))).id), 'completed');
    assert.equal(await within(PATIENCE_MS, 'the skill to look at its signal', afterOwnEnd.promise), false);
    const done = h.task(await h.service.sendMessage(ANONYMOUS, userMessage('return', { metadata: { skill: 'returns' } })));
    assert.equal(done.status.state, 'completed');
    assert.equal(abortedAfterReturn, false);
  });

  test('a task that has ended cannot be canceled', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    const pending = h.service.sendMessage(ANONYMOUS, userMessage('quick'));
    (await held.nextRun()).release.resolve('complete');
    const done = await h.task(await pending);
    await assert.rejects(h.cancel(done.id), TaskNotCancelableError);
    await assert.rejects(h.cancel(done.id), (error: unknown) => error instanceof TaskNotCancelableError && /completed/.test(String((error as Error).message) + JSON.stringify(error)));
    assert.equal(await state(h, done.id), 'completed');
  });
});

describe('TaskService: drain', () => {
  test('drain waits for runs that finish before the deadline, then refuses new work', async () => {
    const held = new Held('held');
    const h = await harness([held.skill()]);
    await h.service.sendMessage(ANONYMOUS, userMessage('finish me'), { returnImmediately: true });
    const run = await held.nextRun();
    let drained = false;
    const draining = h.service.drain(Date.now() + PATIENCE_MS).then((left) => {
      drained = true;
      return left;
    });
    await assert.rejects(h.service.sendMessage(ANONYMOUS, userMessage('new work')), UnavailableError);
    assert.equal(drained, false, 'drain did not wait for the running skill');
    run.release.resolve('complete');
    assert.deepEqual(await draining, []);
    assert.equal(await state(h, run.ctx.taskId), 'completed');
  });

  test('at the deadline, a resumable run is left for the next start and any other fails with the reason', async () => {
    const resumable = new Held('resumable', { resumable: true, heedsSignal: true });
    const oneShot = new Held('one-shot', { heedsSignal: true });
    const h = await harness([resumable.skill(), oneShot.skill()]);
    await h.service.sendMessage(ANONYMOUS, userMessage('keep me', { metadata: { skill: 'resumable' } }), { returnImmediately: true });
    await h.service.sendMessage(ANONYMOUS, userMessage('fail me', { metadata: { skill: 'one-shot' } }), { returnImmediately: true });
    const [kept, failed] = [await resumable.nextRun(), await oneShot.nextRun()];
    const left = await h.service.drain(Date.now());
    assert.deepEqual(left, [kept.ctx.taskId]);
    await within(PATIENCE_MS, 'the resumable run to be aborted', kept.aborted.promise);
    await within(PATIENCE_MS, 'the other run to be aborted', failed.aborted.promise);
    assert.equal(await state(h, kept.ctx.taskId), 'working');
    const gone = await waitFor('the other task to fail', async () => {
      const task = await h.service.getTask(ANONYMOUS, failed.ctx.taskId);
      return task.status.state === 'failed' && task;
    });
    assert.equal(gone.status.state, 'failed');
    assert.match(JSON.stringify(gone.status.message), /shut down before the task finished/);
    kept.release.resolve('complete');
    failed.release.resolve('complete');
  });
});

describe('TaskService: recovery after a restart', () => {
  test('a resumable task runs again from its stored request; any other fails with a reason', async () => {
    const before = { resumable: new Held('resumable', { resumable: true }), oneShot: new Held('one-shot') };
    const first = await harness([before.resumable.skill(), before.oneShot.skill()]);
    await first.service.sendMessage(ANONYMOUS, userMessage('resume me', { metadata: { skill: 'resumable' } }), { returnImmediately: true });
    await first.service.sendMessage(ANONYMOUS, userMessage('lost', { metadata: { skill: 'one-shot' } }), { returnImmediately: true });
    const [resumed, lost] = [await before.resumable.nextRun(), await before.oneShot.nextRun()];
    // A run's progress is written after the turn that reported it: the crash comes once both are working.
    for (const run of [resumed, lost]) await waitFor('the run to be working', async () => (await state(first, run.ctx.taskId)) === 'working');

    // The same pod starts again over the same store, the old runs never having finished: a crash.
    const after = { resumable: new Held('resumable', { resumable: true }), oneShot: new Held('one-shot') };
    const second = await harness([after.resumable.skill(), after.oneShot.skill()], first.store);
    const counts = await second.service.recoverInterrupted();
    assert.deepEqual({ resumed: counts.resumed, failed: counts.failed }, { resumed: 1, failed: 1 });

    const again = await after.resumable.nextRun();
    assert.equal(again.ctx.taskId, resumed.ctx.taskId);
    assert.equal(again.ctx.message.parts[0]!.kind === 'text' && again.ctx.message.parts[0]!.text, 'resume me');
    assert.equal(after.oneShot.runs.length, 0, 'a task that is not resumable is not run again');
    const failed = await second.service.getTask(ANONYMOUS, lost.ctx.taskId);
    assert.equal(failed.status.state, 'failed');

    // The old run, should it wake, can no longer write to the task the new one runs: its change, written
    // before the new run's last one (a task's writes keep their order), is refused.
    await resumed.ctx.complete('stale').catch(() => undefined);
    again.release.resolve('complete');
    await waitFor('the resumed task to complete', async () => (await state(second, again.ctx.taskId)) === 'completed');
    const ended = await second.service.getTask(ANONYMOUS, again.ctx.taskId);
    const said = ended.history.map((m) => (m.parts[0]?.kind === 'text' ? m.parts[0].text : ''));
    assert.ok(said.includes('done') && !said.includes('stale'), `history says ${JSON.stringify(said)}`);
    resumed.release.resolve('complete');
    lost.release.resolve('complete');
  });
});
