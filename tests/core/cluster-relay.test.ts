import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ClusterRelay } from '../../src/core/cluster-relay.js';
import { EventBus } from '../../src/core/event-bus.js';
import type { VersionedEvent } from '../../src/model/model.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import { ACTIVE, NOT_TERMINAL } from '../store/contract.js';
import { T0, seed, status } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';

// The relay over the real PostgreSQL store: what it keeps per task must go
// once the task stops or nobody here listens, or a long-lived pod grows by one
// entry for every task it ever streamed.

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('ClusterRelay over PostgreSQL', () => {
  const schema = `kagent_relay_${randomBytes(4).toString('hex')}`;
  let store: PostgresTaskStore;
  let bus: EventBus;
  let relay: ClusterRelay;
  const errors: unknown[] = [];

  /** Tasks whose events the relay read from the store. */
  const readsFor: string[] = [];

  before(async () => {
    store = new PostgresTaskStore({ connectionString: DATABASE_URL, schema, poolSize: 4, leaseTtlMs: 30_000, pod: `relay-${randomBytes(3).toString('hex')}` });
    await store.open();
    bus = new EventBus();
    const shared = store.shared!;
    const counted = new Proxy(shared, {
      get(target, property) {
        if (property !== 'eventsAfter') return Reflect.get(target, property, target) as unknown;
        return (taskId: string, version: number, limit?: number) => {
          readsFor.push(taskId);
          return target.eventsAfter(taskId, version, limit);
        };
      },
    });
    relay = new ClusterRelay(counted, bus, (error) => errors.push(error));
    await relay.start();
  });

  after(async () => {
    await relay.stop();
    await store.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  /** A stream's view of a task: events until the one that ends it, then it unsubscribes. */
  function watch(taskId: string): Promise<VersionedEvent[]> {
    const seen: VersionedEvent[] = [];
    return new Promise((resolve) => {
      const unsubscribe = bus.subscribe(taskId, (e) => {
        if (seen.some((s) => s.version >= e.version)) return;
        seen.push(e);
        if (e.event.kind === 'status-update' && e.event.final) {
          unsubscribe();
          resolve(seen);
        }
      });
    });
  }

  test('keeps nothing for tasks that ended, nor for tasks that wait for input', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `relay-0.task-${i}`);
    for (const [i, id] of ids.entries()) {
      await seed(store, { id, at: T0 });
      const watched = watch(id);
      await store.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await store.transition(id, { status: status(i % 3 === 0 ? 'input-required' : 'completed', T0 + 2), allowedFrom: NOT_TERMINAL });
      const events = await watched;
      assert.deepEqual(
        events.map((e) => e.version),
        [2, 3],
        'each event relayed once, in order',
      );
    }
    await waitFor('the relay to let go of every task', async () => relay.size === 0, 10_000);
    assert.deepEqual(errors, []);
  });

  test('keeps nothing for a task whose last listener left while it runs on', async () => {
    const id = 'relay-0.left';
    await seed(store, { id, at: T0 });
    const seen: number[] = [];
    const unsubscribe = bus.subscribe(id, (e) => seen.push(e.version));
    await store.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE });
    await waitFor('the first event to be relayed', async () => seen.includes(2));
    unsubscribe();
    await store.transition(id, { status: status('working', T0 + 2), allowedFrom: ACTIVE });
    await waitFor('the relay to let go of the task', async () => relay.size === 0, 10_000);
  });

  test('a change the bus here has published already (its writer is on this pod) is not read back from the store', async () => {
    const id = 'relay-0.own';
    await seed(store, { id, at: T0 });
    const seen: number[] = [];
    const unsubscribe = bus.subscribe(id, (e) => seen.push(e.version));
    try {
      // Published before their notifications arrive: here before the write, so that the order is certain
      // (a writer on this pod publishes after its commit, most often before the notification is handled).
      for (const version of [2, 3]) bus.publish(id, { version, event: { kind: 'status-update', taskId: id, contextId: `ctx-${id}`, status: status('working', T0 + version - 1), final: false } });
      const result = await store.applyRunChanges(id, `ctx-${id}`, [{ kind: 'status', status: status('working', T0 + 1) }, { kind: 'status', status: status('working', T0 + 2) }], 0);
      assert.deepEqual(result.versions, [2, 3]);
      // A change from elsewhere (nobody here published it) is still relayed, and after it the notifications of the own writes have been handled.
      await store.transition(id, { status: status('completed', T0 + 3), allowedFrom: ACTIVE });
      await waitFor('the change from elsewhere to be relayed', async () => seen.includes(4));
      assert.deepEqual(seen, [2, 3, 4]);
      assert.deepEqual(readsFor.filter((t) => t === id).length, 1, 'only the change nobody here published is read');
    } finally {
      unsubscribe();
    }
    assert.deepEqual(errors, []);
  });
});
