import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { ACTIVE_STATES } from '../../src/model/lifecycle.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import type { StoredPushConfig } from '../../src/store/push-store.js';
import type { TaskStore } from '../../src/store/task-store.js';
import { needPostgres, TEST_DATABASE_URL } from '../support/prerequisites.js';
import { ALICE, BOB, buildTask, openStore, seed, status, T0, tempDir, userMessage } from './fixtures.js';

// The push outbox of both stores, one suite run over each: an event of a task
// with configs enters the outbox with the event, and only then; claims hand
// out each config's oldest delivery, once, until its lease runs out; dead
// letters belong to the task's caller.

const postgres = await needPostgres();
const schemas: string[] = [];
const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
admin.on('error', () => undefined);
after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const hook = (id: string, version = '1.0'): StoredPushConfig => ({ config: { id, url: `https://hooks.test/${id}`, token: `tok-${id}` }, version });

interface Kind {
  name: string;
  skip?: string | boolean;
  open(): Promise<{ store: TaskStore; second?: () => Promise<TaskStore>; close(): Promise<void> }>;
}

const kinds: Kind[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = tempDir();
      const store = await openStore(join(dir.dir, 'tasks.db'));
      return { store, close: async () => (await store.close(), dir.cleanup()) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgres.skip,
    async open() {
      const schema = `kagent_test_push_${randomBytes(4).toString('hex')}`;
      schemas.push(schema);
      const opened: PostgresTaskStore[] = [];
      const make = async () => {
        const store = new PostgresTaskStore({ connectionString: TEST_DATABASE_URL, schema, poolSize: 4, leaseTtlMs: 30_000, pod: `kagent-${opened.length}` });
        await store.open();
        opened.push(store);
        return store;
      };
      const store = await make();
      return { store, second: make, close: async () => void (await Promise.all(opened.map((s) => s.close()))) };
    },
  },
];

/** Runs `work` on a fresh store of this kind, closed after. */
async function withStore(kind: Kind, work: (store: TaskStore, second?: () => Promise<TaskStore>) => Promise<void>): Promise<void> {
  const { store, second, close } = await kind.open();
  try {
    await work(store, second);
  } finally {
    await close();
  }
}

for (const kind of kinds) {
  describe(`push outbox: ${kind.name}`, { skip: kind.skip }, () => {
    test('an event of a task with configs enters the outbox, one delivery per config; a task without configs gets none', async () => {
      await withStore(kind, async (store) => {
        const withPush = buildTask({ id: `kagent-0-p${randomBytes(3).toString('hex')}`, at: T0 });
        await store.createTask(withPush, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-1', pushConfigs: [hook('a')] });
        const plain = buildTask({ id: `kagent-0-q${randomBytes(3).toString('hex')}`, at: T0 });
        await store.createTask(plain, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-2' });
        assert.equal(await store.push.savePushConfig(withPush.id, hook('b', '0.3'), 10), true);
        for (const id of [withPush.id, plain.id]) await store.transition(id, { status: status('working', T0 + 1), allowedFrom: ['submitted'] });
        await store.putArtifact(withPush.id, { artifactId: 'x', parts: [{ kind: 'text', text: 'hi' }] }, false, ACTIVE_STATES, true);

        const claimed = await store.push.claimDeliveries(100, 60_000);
        // One head per config: the task snapshot for a (saved with the task), the working update for b (saved after).
        assert.deepEqual(
          claimed.map((d) => [d.taskId, d.target.config.id, d.item.kind, d.attempts]),
          [
            [withPush.id, 'a', 'task', 1],
            [withPush.id, 'b', 'status-update', 1],
          ],
        );
        assert.equal(claimed[1]!.target.version, '0.3');
        // Claimed: not handed out again while the lease holds.
        assert.deepEqual(await store.push.claimDeliveries(100, 60_000), []);
        for (const d of claimed) await store.push.delivered(d.id);
        const next = await store.push.claimDeliveries(100, 60_000);
        assert.deepEqual(next.map((d) => [d.target.config.id, d.item.kind]), [['a', 'status-update'], ['b', 'artifact-update']]);
        // A failed one waits; its successor waits behind it.
        await store.push.retryLater(next[0]!.id, 60_000, 'the receiver answered 500');
        await store.push.delivered(next[1]!.id);
        assert.deepEqual((await store.push.claimDeliveries(100, 60_000)).map((d) => d.target.config.id), []);
        await store.push.retryLater(next[0]!.id, 0, 'again');
        const retried = await store.push.claimDeliveries(100, 60_000);
        assert.deepEqual(retried.map((d) => [d.id, d.attempts]), [[next[0]!.id, 2]]);
      });
    });

    test('a turn written at once enters the outbox as its changes one by one would: a delivery per event and config, in order', async () => {
      await withStore(kind, async (store) => {
        const task = buildTask({ id: `kagent-0-t${randomBytes(3).toString('hex')}`, at: T0 });
        await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-t', pushConfigs: [hook('a'), hook('b')] });
        const result = await store.applyRunChanges(
          task.id,
          task.contextId,
          [
            { kind: 'status', status: status('working', T0 + 1) },
            { kind: 'artifact', artifact: { artifactId: 'x', parts: [{ kind: 'text', text: 'hi' }] }, append: false, lastChunk: true },
            { kind: 'status', status: status('completed', T0 + 2) },
          ],
          0,
        );
        assert.deepEqual(result.versions, [2, 3, 4]);
        const kinds: string[] = [];
        for (let claimed = await store.push.claimDeliveries(100, 60_000); claimed.length > 0; claimed = await store.push.claimDeliveries(100, 60_000)) {
          for (const d of claimed) {
            kinds.push(`${d.target.config.id} ${d.item.kind}${d.item.kind === 'status-update' ? ` ${d.item.status.state}` : ''}`);
            await store.push.delivered(d.id);
          }
        }
        const of = (config: string) => kinds.filter((k) => k.startsWith(`${config} `));
        for (const config of ['a', 'b']) {
          assert.deepEqual(of(config), [`${config} task`, `${config} status-update working`, `${config} artifact-update`, `${config} status-update completed`]);
        }
      });
    });

    test('dead letters are their caller\'s only; a retried one is due again; a deleted config takes its pending deliveries along', async () => {
      await withStore(kind, async (store) => {
        const task = buildTask({ id: `kagent-0-d${randomBytes(3).toString('hex')}`, at: T0 });
        await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-d', pushConfigs: [hook('a'), hook('b')] });
        const [a, b] = await store.push.claimDeliveries(10, 60_000);
        await store.push.deadLetter(a!.id, 'x'.repeat(2000));
        assert.deepEqual(await store.push.deadLetters(BOB, 10), []);
        const letters = await store.push.deadLetters(ALICE, 10);
        assert.deepEqual(letters.map((l) => [l.id, l.configId, l.origin, l.attempts]), [[a!.id, 'a', 'https://hooks.test', 1]]);
        assert.ok(letters[0]!.lastError.length <= 501, 'the stored error is bounded');
        assert.equal(await store.push.retryDeadLetter(BOB, a!.id), false);
        assert.equal(await store.push.retryDeadLetter(ALICE, a!.id), true);
        assert.equal(await store.push.retryDeadLetter(ALICE, a!.id), false, 'no longer a dead letter');
        await store.push.delivered(b!.id);
        await store.transition(task.id, { status: status('working', T0 + 1), allowedFrom: ['submitted'] });
        const again = await store.push.claimDeliveries(10, 60_000);
        // The retried letter counts its attempts afresh; b's next event is its head now.
        assert.deepEqual(again.map((d) => [d.target.config.id, d.item.kind, d.attempts]).sort(), [['a', 'task', 1], ['b', 'status-update', 1]]);
        assert.equal(await store.push.deletePushConfig(task.id, 'b'), true);
        assert.equal(await store.push.deletePushConfig(task.id, 'b'), false);
        assert.deepEqual((await store.push.pushConfigs(task.id)).map((c) => c.config.id), ['a']);
        await store.push.retryLater(again.find((d) => d.target.config.id === 'a')!.id, 0, 'x');
        assert.deepEqual((await store.push.claimDeliveries(10, 60_000)).map((d) => d.target.config.id), ['a']);
      });
    });

    test('the cap on configs per task counts the others, so replacing one by its id is allowed', async () => {
      await withStore(kind, async (store) => {
        const task = buildTask({ id: `kagent-0-c${randomBytes(3).toString('hex')}`, at: T0 });
        await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-c' });
        assert.equal(await store.push.savePushConfig(task.id, hook('a'), 2), true);
        assert.equal(await store.push.savePushConfig(task.id, hook('b'), 2), true);
        assert.equal(await store.push.savePushConfig(task.id, hook('c'), 2), false);
        assert.equal(await store.push.savePushConfig(task.id, hook('a'), 2), true);
        assert.equal((await store.push.pushConfig(task.id))?.config.id, 'a');
        assert.equal(await store.push.pushConfig(task.id, 'c'), undefined);
      });
    });

    if (kind.name === 'PostgreSQL') {
      test('two stores claiming at once never get the same delivery', async () => {
        await withStore(kind, async (store, second) => {
          const other = await second!();
          for (let i = 0; i < 20; i++) {
            const task = buildTask({ id: `kagent-0-s${i}${randomBytes(3).toString('hex')}`, at: T0 });
            await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: `rk-s${i}`, pushConfigs: [hook('a')] });
          }
          const [one, two] = await Promise.all([store.push.claimDeliveries(15, 60_000), other.push.claimDeliveries(15, 60_000)]);
          const ids = [...one, ...two].map((d) => d.id);
          assert.equal(new Set(ids).size, ids.length);
          assert.equal(ids.length, 20);
        });
      });
    }
  });
}

test('SQLite: while the store is full no delivery is claimed (a claim would pass for room regained); once room is back they go on', async () => {
  const dir = tempDir();
  const store = new SqliteTaskStore({ path: join(dir.dir, 'full.sqlite'), synchronous: 'normal', maxPages: 120 });
  await store.open();
  try {
    const task = buildTask({ id: 'kagent-0-full', at: T0 });
    await store.createTask(task, { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-full', pushConfigs: [hook('a')] });
    for (let i = 0; !store.isFull && i < 200; i++) {
      const history = [userMessage(`m-${i}`, 'x'.repeat(20_000))];
      await seed(store, { id: `filler-${i}`, at: T0, state: 'completed', history }).catch(() => undefined);
    }
    assert.equal(store.isFull, true);
    assert.deepEqual(await store.push.claimDeliveries(10, 60_000), []);
    assert.equal(store.isFull, true, 'still full: nothing claimed, nothing written');
    await store.deleteTerminalBefore(T0 + 1, 1000);
    await store.probeWrite();
    assert.deepEqual((await store.push.claimDeliveries(10, 60_000)).map((d) => d.item.kind), ['task']);
  } finally {
    await store.close();
    dir.cleanup();
  }
});
