import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { EventBus } from '../../src/core/event-bus.js';
import { SkillRegistry } from '../../src/core/skill-registry.js';
import { TaskService } from '../../src/core/task-service.js';
import { StoreFullError } from '../../src/model/errors.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import { FullState } from '../../src/store/full-store.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { ALICE, T0, buildTask, seed, tempDir, userMessage } from './fixtures.js';
import type { SeedOptions, TempDir } from './fixtures.js';
import { waitFor } from '../support/wait.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A task whose first message is `bytes` long. */
function bigTask(id: string, bytes: number, state: 'completed' | 'submitted' = 'completed'): SeedOptions {
  return { id, at: T0, state, history: [userMessage(`m-${id}`, 'x'.repeat(bytes), { taskId: id, contextId: `ctx-${id}` })] };
}

// SQLite at its page cap (PRAGMA max_page_count) answers SQLITE_FULL exactly as on a full disk.
describe('SQLite store at its page cap', () => {
  let tmp: TempDir;
  let store: SqliteTaskStore;
  let fullWrites = 0;

  before(async () => {
    tmp = tempDir('kagent-full-store-');
    store = new SqliteTaskStore({ path: join(tmp.dir, 'full.sqlite'), synchronous: 'normal', maxPages: 100, onFull: () => fullWrites++ });
    await store.open();
    let filled = false;
    for (let i = 0; i < 200 && !filled; i++) {
      try {
        await seed(store, bigTask(`fill-${i}`, 20_000));
      } catch (error) {
        assert.ok(error instanceof StoreFullError, `a full database is a StoreFullError, not ${String(error)}`);
        filled = true;
      }
    }
    assert.ok(filled, 'the database filled up');
  });

  after(async () => {
    await store.close();
    tmp.cleanup();
  });

  test('a full write marks the store full and counts; the probe refuses while nothing fits', async () => {
    assert.equal(store.isFull, true);
    assert.ok(fullWrites >= 1);
    await assert.rejects(store.probeWrite(), StoreFullError);
    assert.equal(store.isFull, true);
  });

  test('writes batched with one that does not fit are neither lost nor committed behind the caller\'s back', async () => {
    // Room for small writes again, not for a big one.
    await store.deleteTerminalBefore(T0 + 1, 1);
    const results = await Promise.allSettled([
      seed(store, bigTask('small-before', 100, 'submitted')),
      seed(store, bigTask('too-big', 400_000, 'submitted')),
      seed(store, bigTask('small-after', 100, 'submitted')),
    ]);
    assert.equal(results[0]!.status, 'fulfilled', String((results[0] as PromiseRejectedResult).reason));
    assert.equal(results[2]!.status, 'fulfilled', String((results[2] as PromiseRejectedResult).reason));
    assert.equal(results[1]!.status, 'rejected');
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof StoreFullError);
    assert.ok((await store.getTask(ALICE, 'small-before')) !== undefined, 'an acknowledged write is stored');
    assert.ok((await store.getTask(ALICE, 'small-after')) !== undefined, 'an acknowledged write is stored');
    assert.equal(await store.getTask(ALICE, 'too-big'), undefined, 'a refused write left nothing');
  });

  test('once room is freed the probe passes, clears the state, and leaves no row behind', async () => {
    await seed(store, bigTask('too-big-again', 400_000, 'submitted')).catch(() => undefined);
    assert.equal(store.isFull, true);
    await store.deleteTerminalBefore(T0 + 1, 1000);
    await store.probeWrite();
    assert.equal(store.isFull, false);
    const counts = await store.countByState();
    assert.equal(counts.submitted, 2, 'only the two small tasks remain');
  });
});

describe('a task whose run finds the store full', () => {
  let tmp: TempDir;
  let store: SqliteTaskStore;
  let refusedWrites = 0;

  before(async () => {
    tmp = tempDir('kagent-full-run-');
    store = new SqliteTaskStore({ path: join(tmp.dir, 'run.sqlite'), synchronous: 'normal', maxPages: 80, onFull: () => refusedWrites++ });
    await store.open();
  });

  after(async () => {
    await store.close();
    tmp.cleanup();
  });

  test('ends once room is back instead of staying "working"', async () => {
    const write = deferred();
    const refused = deferred<unknown>();
    const giveUp = deferred();
    const gated: Skill = {
      descriptor: { id: 'gated', name: 'gated', description: 'writes when told, gives up when told', tags: [] },
      async execute(ctx) {
        await write.promise;
        try {
          await ctx.artifact({ artifactId: 'big', parts: [{ kind: 'text', text: 'y'.repeat(20_000) }] });
          await ctx.durable();
        } catch (error) {
          refused.resolve(error);
          await giveUp.promise;
          throw error;
        }
      },
    };
    const service = new TaskService({ store, bus: new EventBus(), skills: new SkillRegistry([gated], 'gated'), pod: 'kagent-0', streamCapacity: 16 });
    const sent = await service.sendMessage(ANONYMOUS, userMessage('m-gated', 'go'), { returnImmediately: true });
    const taskId = sent.kind === 'task' ? sent.task.id : assert.fail('expected a task');

    // Fill the store behind the running task's back, until even small writes are refused: then its
    // artifact is refused whatever room a refused filler left, and so is the run's last status.
    for (let i = 0; !store.isFull && i < 200; i++) await seed(store, bigTask(`filler-${i}`, 20_000)).catch(() => undefined);
    for (let i = 0; i < 500; i++) {
      const fits = await seed(store, bigTask(`tiny-${i}`, 10)).then(() => true, () => false);
      if (!fits) break;
    }
    write.resolve();
    assert.ok((await refused.promise) instanceof StoreFullError);
    const before = refusedWrites;
    giveUp.resolve();
    await waitFor('the last status to be refused', async () => (refusedWrites > before ? true : undefined));
    assert.equal(service.runningCount, 1, 'the run waits for room to write its last status');

    // Once room is freed, the last status lands.
    await store.deleteTerminalBefore(T0 + 1, 1000);
    const task = await waitFor('the task to end', async () => {
      const current = await service.getTask(ANONYMOUS, taskId);
      return current.status.state === 'working' || current.status.state === 'submitted' ? undefined : current;
    }, 30_000);
    assert.equal(task.status.state, 'failed');
    assert.match(JSON.stringify(task.status.message), /store is full/);
    await service.drain(Date.now() + 5000);
  });
});

describe('PostgreSQL store: full-disk handling', () => {
  const schema = `kagent_full_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  let store: PostgresTaskStore;

  before(async () => {
    await admin.connect();
    store = new PostgresTaskStore({ connectionString: DATABASE_URL, schema, poolSize: 2, leaseTtlMs: 30_000, pod: 'kagent-0' });
    await store.open();
  });

  after(async () => {
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  test('the write probe commits on the real server and leaves no row behind', async () => {
    await store.createTask(buildTask({ id: 'kagent-0.t1', at: T0 }), { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-1' });
    await store.probeWrite();
    assert.equal(store.isFull, false);
    const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".task_events`);
    assert.equal(rows[0]!.n, 0);
  });

  // A PostgreSQL server whose disk is full cannot be produced here (no small file system can be
  // mounted): the server's answer, SQLSTATE 53100, is fed to the classifier the store uses.
  test('disk_full (53100) becomes a retryable StoreFullError without the server\'s file paths', () => {
    let notified = 0;
    const state = new FullState(() => notified++);
    const serverError = Object.assign(new Error('could not extend file "base/16384/16390": No space left on device'), { code: '53100' });
    const mapped = state.failed(serverError);
    assert.ok(mapped instanceof StoreFullError);
    assert.doesNotMatch(mapped.message, /base\/16384/);
    assert.ok(mapped.retryAfterSeconds > 0);
    assert.equal(state.isFull, true);
    assert.equal(notified, 1);
    const other = Object.assign(new Error('duplicate key'), { code: '23505' });
    assert.equal(state.failed(other), other, 'other failures pass through unchanged');
    state.succeeded();
    assert.equal(state.isFull, false);
  });
});
