import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RetentionSweeper } from '../../src/core/retention.js';
import type { TaskState } from '../../src/model/model.js';
import type { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';
import { ALICE, openStore, seed, tempDir } from './fixtures.js';
import type { TempDir } from './fixtures.js';
import { PATIENCE_MS } from '../support/patience.js';
import { waitFor } from '../support/wait.js';
import { scrape } from '../support/metrics.js';

type Counts = Partial<Record<TaskState, number>>;

const HOUR = 3_600_000;

function sweeper(store: SqliteTaskStore, retentionMs = HOUR, intervalMs = 60_000) {
  const deleted: Counts[] = [];
  const errors: unknown[] = [];
  const sweeper = new RetentionSweeper({
    store,
    retentionMs,
    intervalMs,
    onDeleted: (d) => deleted.push(d),
    onError: (e) => errors.push(e),
  });
  return { sweeper, deleted, errors };
}

const total = (c: Counts) => Object.values(c).reduce((sum, n) => sum + (n ?? 0), 0);

describe('RetentionSweeper with a SQLite store', () => {
  let tmp: TempDir;
  before(() => (tmp = tempDir('kagent-a2a-retention-')));
  after(() => tmp.cleanup());

  test('deletes a backlog of expired terminal tasks in batches and keeps unfinished and recent ones', async () => {
    const store = await openStore(join(tmp.dir, 'backlog.sqlite'));
    try {
      const now = Date.now();
      const old = now - 2 * HOUR;
      // More than two batches of expired tasks (a batch is 500).
      const terminal: TaskState[] = ['completed', 'failed', 'canceled', 'rejected'];
      const expected: Counts = {};
      for (let i = 0; i < 1203; i++) {
        const state = terminal[i % terminal.length]!;
        expected[state] = (expected[state] ?? 0) + 1;
        await seed(store, { id: `kagent-0.old-${i}`, at: old - i, state });
      }
      const kept = [
        { id: 'kagent-0.keep-working', at: old, state: 'working' as const },
        { id: 'kagent-0.keep-submitted', at: old, state: 'submitted' as const },
        { id: 'kagent-0.keep-input', at: old, state: 'input-required' as const },
        { id: 'kagent-0.keep-auth', at: old, state: 'auth-required' as const },
        { id: 'kagent-0.keep-recent-completed', at: now - 60_000, state: 'completed' as const },
        { id: 'kagent-0.keep-recent-failed', at: now, state: 'failed' as const },
      ];
      for (const k of kept) await seed(store, k);

      const { sweeper: s, deleted, errors } = sweeper(store);
      await s.sweep();
      assert.deepEqual(errors, []);
      assert.deepEqual(deleted.map(total), [500, 500, 203], 'one report per batch');
      const summed: Counts = {};
      for (const d of deleted) for (const [state, n] of Object.entries(d)) summed[state as TaskState] = (summed[state as TaskState] ?? 0) + n!;
      assert.deepEqual(summed, expected);

      for (const k of kept) assert.equal((await store.getTask(ALICE, k.id))?.task.status.state, k.state, `${k.id} kept`);
      assert.equal(await store.getTask(ALICE, 'kagent-0.old-0'), undefined);
      assert.equal(await store.getTask(ALICE, 'kagent-0.old-1202'), undefined);
      const counts = await store.countByState();
      assert.deepEqual(counts, {
        submitted: 1,
        working: 1,
        'input-required': 1,
        'auth-required': 1,
        completed: 1,
        failed: 1,
        canceled: 0,
        rejected: 0,
      });

      // Nothing left to do: no report at all.
      await s.sweep();
      assert.equal(deleted.length, 3);
    } finally {
      await store.close();
    }
  });

  test('a backlog of exactly one batch ends after an empty second batch without an empty report', async () => {
    const store = await openStore(join(tmp.dir, 'exact.sqlite'));
    try {
      const old = Date.now() - 2 * HOUR;
      for (let i = 0; i < 500; i++) await seed(store, { id: `kagent-0.b-${i}`, at: old, state: 'completed' });
      const { sweeper: s, deleted, errors } = sweeper(store);
      await s.sweep();
      assert.deepEqual(errors, []);
      assert.deepEqual(deleted, [{ completed: 500 }]);
    } finally {
      await store.close();
    }
  });

  test('concurrent sweep() calls share one run', async () => {
    const store = await openStore(join(tmp.dir, 'shared.sqlite'));
    try {
      const old = Date.now() - 2 * HOUR;
      for (let i = 0; i < 3; i++) await seed(store, { id: `kagent-0.s-${i}`, at: old, state: 'failed' });
      const { sweeper: s, deleted, errors } = sweeper(store);
      const first = s.sweep();
      const second = s.sweep();
      assert.equal(second, first, 'the second call joins the sweep in progress');
      await Promise.all([first, second]);
      assert.deepEqual(deleted, [{ failed: 3 }], 'the tasks were deleted and reported once');
      assert.deepEqual(errors, []);

      // After it finished, a call starts a new sweep.
      await seed(store, { id: 'kagent-0.s-late', at: old, state: 'canceled' });
      const third = s.sweep();
      assert.notEqual(third, first);
      await third;
      assert.deepEqual(deleted, [{ failed: 3 }, { canceled: 1 }]);
    } finally {
      await store.close();
    }
  });

  test('a failing store goes to onError; sweep() itself resolves', async () => {
    const store = await openStore(join(tmp.dir, 'closed.sqlite'));
    await seed(store, { id: 'kagent-0.c', at: Date.now() - 2 * HOUR, state: 'completed' });
    await store.close();
    const { sweeper: s, deleted, errors } = sweeper(store);
    await s.sweep();
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /not open/);
    assert.deepEqual(deleted, []);
    // The failure does not wedge the sweeper: the next call runs again.
    await s.sweep();
    assert.equal(errors.length, 2);
  });

  test('start() sweeps on its interval; stop() ends it', async () => {
    const store = await openStore(join(tmp.dir, 'timer.sqlite'));
    const { sweeper: s, deleted, errors } = sweeper(store, HOUR, 50);
    try {
      await seed(store, { id: 'kagent-0.t', at: Date.now() - 2 * HOUR, state: 'rejected' });
      s.start();
      await waitFor('a sweep on the interval', async () => deleted.length > 0, PATIENCE_MS, 20);
      assert.deepEqual(deleted, [{ rejected: 1 }]);
      assert.deepEqual(errors, []);
    } finally {
      await s.stop();
      await store.close();
    }
  });
});

describe('retention in a running agent', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true', TASK_RETENTION: '1s', RETENTION_SWEEP_INTERVAL: '200ms' });
  });
  after(async () => {
    await agent.dispose();
  });

  test('a completed task disappears after the retention while a task waiting for input stays', async () => {
    const suffix = Math.random().toString(36).slice(2);
    // The waiting task is created first, so it is older than the completed one when that one expires.
    const waiting = await rpc(agent.url, 'SendMessage', { message: textMessage('need input', { messageId: `tck-input-required-${suffix}` }) });
    assert.equal(waiting.body.result?.task?.status?.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(waiting.body));
    const waitingId: string = waiting.body.result.task.id;

    const done = await rpc(agent.url, 'SendMessage', { message: textMessage('finish', { messageId: `tck-complete-task-${suffix}` }) });
    assert.equal(done.body.result?.task?.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(done.body));
    const doneId: string = done.body.result.task.id;

    const echoed = await rpc(agent.url, 'SendMessage', { message: textMessage('echo me', { metadata: { skill: 'echo' } }) });
    assert.equal(echoed.body.result?.task?.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(echoed.body));
    const echoedId: string = echoed.body.result.task.id;

    const gone = await waitFor(
      'the completed tasks to expire',
      async () => {
        const [a, b] = await Promise.all([rpc(agent.url, 'GetTask', { id: doneId }), rpc(agent.url, 'GetTask', { id: echoedId })]);
        return a.body.error?.code === -32001 && b.body.error?.code === -32001 ? a : undefined;
      },
      undefined,
      100,
    );
    assert.match(gone.body.error!.message, new RegExp(doneId.replace(/\./g, '\\.')));

    const metrics = await scrape(agent.url);
    assert.match(metrics, /^a2a_tasks_expired_total 2$/m);
    assert.match(metrics, /^a2a_tasks\{state="completed"\} 0$/m);
    assert.match(metrics, /^a2a_tasks\{state="input-required"\} 1$/m);

    // A few more sweeps run meanwhile: the waiting task is past the retention too, and must survive them.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const still = await rpc(agent.url, 'GetTask', { id: waitingId });
    assert.equal(still.body.result?.status?.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(still.body));
    const listed = await rpc(agent.url, 'ListTasks', {});
    assert.deepEqual(
      listed.body.result.tasks.map((t: { id: string }) => t.id),
      [waitingId],
    );
    assert.equal(listed.body.result.totalSize, 1);
  });
});
