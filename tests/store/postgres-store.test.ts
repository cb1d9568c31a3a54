import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { channelName } from '../../src/store/postgres/notifications.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import type { PostgresStoreOptions } from '../../src/store/postgres/postgres-store.js';
import type { RunChangesResult } from '../../src/store/task-store.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { ACTIVE, NOT_TERMINAL, registerStoreContract, text } from './contract.js';
import type { StoreUnderTest } from './contract.js';
import { ALICE, T0, agentMessage, buildTask, seed, status, userMessage } from './fixtures.js';
import { needPostgres, TEST_DATABASE_URL } from '../support/prerequisites.js';
import { waitFor } from '../support/wait.js';

// Needs the machine's PostgreSQL: skipped with a notice without it, failing under CI=true.
const postgres = await needPostgres();
const DATABASE_URL = TEST_DATABASE_URL;

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
admin.on('error', () => undefined);
const schemas = new Set<string>();

after(async () => {
  for (const schema of schemas) await dropSchema(schema);
  await admin.end();
});

function newSchema(label: string): string {
  const schema = `kagent_test_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  schemas.delete(schema);
}

function makeStore(schema: string, overrides: Partial<PostgresStoreOptions> = {}): PostgresTaskStore {
  return new PostgresTaskStore({ connectionString: DATABASE_URL, schema, poolSize: 4, leaseTtlMs: 30_000, pod: 'kagent-0', ...overrides });
}

async function openStore(schema: string, overrides: Partial<PostgresStoreOptions> = {}): Promise<PostgresTaskStore> {
  const store = makeStore(schema, overrides);
  await store.open();
  return store;
}

async function countIn(schema: string, table: string, taskIds?: readonly string[]): Promise<number> {
  const { rows } =
    taskIds === undefined
      ? await admin.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM "${schema}".${table}`)
      : await admin.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM "${schema}".${table} WHERE task_id = ANY($1::text[])`, [[...taskIds]]);
  return rows[0]!.n;
}

/** Connections a store opened, told apart by the application name it gives them. */
async function connectionsOf(pod: string, role: 'all' | 'listen' = 'all'): Promise<{ pid: number; state: string; query: string }[]> {
  const name = role === 'listen' ? `kagent-a2a ${pod} listen` : `kagent-a2a ${pod}%`;
  const { rows } = await admin.query<{ pid: number; state: string; query: string }>(
    `SELECT pid, state, query FROM pg_stat_activity WHERE application_name LIKE $1`,
    [name],
  );
  return rows;
}

const uniquePod = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** Two pods' stores on a fresh schema: opened before the suite's tests (and handed to `opened` with the schema), closed and dropped after them. */
function twoPods(
  label: string,
  options: [Partial<PostgresStoreOptions>, Partial<PostgresStoreOptions>],
  opened: (a: PostgresTaskStore, b: PostgresTaskStore, schema: string) => void,
): void {
  let schema: string;
  let stores: PostgresTaskStore[] = [];
  before(async () => {
    schema = newSchema(label);
    stores = [await openStore(schema, options[0]), await openStore(schema, options[1])];
    opened(stores[0]!, stores[1]!, schema);
  });
  after(async () => {
    for (const store of stores) await store.close();
    await dropSchema(schema);
  });
}

registerStoreContract({
  name: 'PostgresTaskStore',
  skip: postgres.skip,
  duplicateRequestKey: /unique constraint "tasks_request"/,
  async create(label, options = {}): Promise<StoreUnderTest> {
    const schema = newSchema(label);
    const overrides = options.eventsKept === undefined ? {} : { eventsKept: options.eventsKept };
    let store = await openStore(schema, overrides);
    return {
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = await openStore(schema, overrides);
        return store;
      },
      countRows: (table, taskIds) => countIn(schema, table, taskIds),
      async addPushRows(taskId, configId) {
        await admin.query(`INSERT INTO "${schema}".push_configs (task_id, config_id, json) VALUES ($1, $2, '{}')`, [taskId, configId]);
        await admin.query(`INSERT INTO "${schema}".push_outbox (task_id, config_id, payload_json, next_attempt_at) VALUES ($1, $2, '{}', 0)`, [
          taskId,
          configId,
        ]);
      },
      async dispose() {
        await store.close();
        await dropSchema(schema);
      },
    };
  },
});

describe('PostgresTaskStore schema and migrations', postgres, () => {
  test('a fresh schema gets every table and index, and one schema_version row per migration', async () => {
    const schema = newSchema('fresh');
    const store = await openStore(schema);
    assert.equal(store.isOpen, true);
    assert.equal(store.kind, 'postgres');
    assert.equal(store.shared, store, 'a shared store offers the shared operations');
    const tables = await admin.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    assert.deepEqual(
      tables.rows.map((r) => r.table_name),
      ['artifacts', 'messages', 'push_configs', 'push_outbox', 'schema_version', 'task_events', 'tasks'],
    );
    const indexes = await admin.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [schema]);
    const names = new Set(indexes.rows.map((r) => r.indexname));
    for (const index of [
      'tasks_request',
      'tasks_listing',
      'tasks_context',
      'tasks_expiry',
      'tasks_leased_by',
      'tasks_leases',
      'messages_by_task',
      'messages_order',
      'artifacts_by_task',
    ]) {
      assert.ok(names.has(index), `index ${index} exists`);
    }
    const versions = await admin.query<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    assert.deepEqual(
      versions.rows.map((r) => r.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
    await store.close();
    assert.equal(store.isOpen, false);
    await dropSchema(schema);
  });

  test('re-opening an existing schema runs no migration again and keeps the data', async () => {
    const schema = newSchema('reopen');
    const first = await openStore(schema);
    await seed(first, { id: 'kagent-0.keep', at: T0 });
    await first.close();
    // Removed by hand: a migration that ran again would fail on its CREATE TABLE or bring the index back.
    await admin.query(`DROP INDEX "${schema}".tasks_context`);

    const second = await openStore(schema);
    assert.equal((await second.getTask(ALICE, 'kagent-0.keep'))?.task.id, 'kagent-0.keep');
    await second.close();
    const index = await admin.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'tasks_context'`, [schema]);
    assert.equal(index.rowCount, 0, 'the migration did not run again');
    assert.equal(await countIn(schema, 'schema_version'), MIGRATIONS.length);
    await dropSchema(schema);
  });

  test('five pods opening one fresh schema at once all succeed and each migration is applied once', async () => {
    const schema = newSchema('five');
    const stores = Array.from({ length: 5 }, (_, i) => makeStore(schema, { pod: `kagent-${i}`, poolSize: 2 }));
    const outcomes = await Promise.allSettled(stores.map((store) => store.open()));
    try {
      assert.deepEqual(
        outcomes.map((o) => (o.status === 'fulfilled' ? 'opened' : String(o.reason))),
        ['opened', 'opened', 'opened', 'opened', 'opened'],
      );
      const versions = await admin.query<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        MIGRATIONS.map((_, i) => i + 1),
      );
      // They all see one database: a task one pod writes, every other pod reads.
      await seed(stores[3]!, { id: 'kagent-3.shared', at: T0, pod: 'kagent-3' });
      for (const store of stores) assert.equal((await store.getHead(ALICE, 'kagent-3.shared'))?.pod, 'kagent-3');
    } finally {
      for (const store of stores) await store.close();
      await dropSchema(schema);
    }
  });

  test('a schema written by a newer build is refused, not opened, and its connections are released', async () => {
    const schema = newSchema('newer');
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(`CREATE TABLE "${schema}".schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    await admin.query(`INSERT INTO "${schema}".schema_version (version) VALUES (999)`);
    const pod = uniquePod('newer');
    const store = makeStore(schema, { pod });
    await assert.rejects(store.open(), new RegExp(`schema "${schema}" has schema version 999; this build knows up to ${MIGRATIONS.length}\\b`));
    assert.equal(store.isOpen, false);
    assert.equal(await countIn(schema, 'schema_version'), 1, 'nothing was migrated');
    await waitFor('the refused store to release its connections', async () => (await connectionsOf(pod)).length === 0);
    await dropSchema(schema);
  });

  test('an unreachable server fails open with a message naming the server and not the password', async () => {
    const store = new PostgresTaskStore({
      connectionString: 'postgres://kagent:sekret-pw@127.0.0.1:1/tasks',
      schema: 'kagent_a2a',
      poolSize: 1,
      leaseTtlMs: 1000,
      pod: 'kagent-0',
    });
    await assert.rejects(store.open(), (error: Error) => {
      assert.match(error.message, /cannot connect to 127\.0\.0\.1:1\/tasks/);
      assert.match(error.message, /ECONNREFUSED/);
      assert.doesNotMatch(error.message, /sekret-pw/);
      return true;
    });
    assert.equal(store.isOpen, false);
  });

  test('bad options are refused when the store is made, naming the option', () => {
    const good: PostgresStoreOptions = { connectionString: DATABASE_URL, schema: 'kagent_a2a', poolSize: 2, leaseTtlMs: 1000, pod: 'kagent-0' };
    for (const schema of ['', 'kagent-a2a', 'a2a; DROP TABLE x', '1abc', 'x'.repeat(64), 'quo"te']) {
      assert.throws(() => new PostgresTaskStore({ ...good, schema }), /schema/, `schema ${JSON.stringify(schema)}`);
    }
    for (const poolSize of [0, -1, 1.5, Number.NaN]) assert.throws(() => new PostgresTaskStore({ ...good, poolSize }), /poolSize/);
    for (const leaseTtlMs of [0, -5, 0.5]) assert.throws(() => new PostgresTaskStore({ ...good, leaseTtlMs }), /leaseTtlMs/);
    assert.throws(() => new PostgresTaskStore({ ...good, pod: '' }), /pod/);
    assert.throws(() => new PostgresTaskStore({ ...good, connectionString: '' }), /connectionString/);
    assert.ok(new PostgresTaskStore({ ...good, schema: 'x'.repeat(63) }));
  });

  test('the change channel is per schema, a valid identifier of at most 63 characters', () => {
    assert.equal(channelName('kagent_a2a'), 'kagent_a2a_task_changed');
    const long1 = channelName(`${'s'.repeat(55)}_one`);
    const long2 = channelName(`${'s'.repeat(55)}_two`);
    assert.ok(long1.length <= 63 && long2.length <= 63, `${long1.length}, ${long2.length}`);
    assert.notEqual(long1, long2, 'schemas that differ only past the cut still get their own channel');
    assert.match(long1, /^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  test('the shared operations are refused once the store is closed', async () => {
    const schema = newSchema('closed');
    const store = await openStore(schema);
    await store.close();
    await assert.rejects(store.eventsAfter('kagent-0.x', 0), /not open/);
    await assert.rejects(store.onTaskChanged(() => undefined), /not open/);
    await assert.rejects(store.renewLeases('kagent-0', ['kagent-0.x']), /not open/);
    await assert.rejects(store.expiredLeases(10), /not open/);
    await assert.rejects(store.getTask(ALICE, 'kagent-0.x'), /not open/);
    await dropSchema(schema);
  });
});

describe('PostgresTaskStore change notifications', postgres, () => {
  let schema: string;
  let podA: PostgresTaskStore;
  let podB: PostgresTaskStore;
  twoPods('notify', [{ pod: uniquePod('a') }, { pod: uniquePod('b') }], (a, b, name) => ([podA, podB, schema] = [a, b, name]));

  const recorder = () => {
    const seen: string[] = [];
    return { seen, listener: (taskId: string, version: number) => void seen.push(`${taskId}@${version}`) };
  };

  test('a change committed by one pod reaches the listeners of every pod with the task id and version', async () => {
    const onB = recorder();
    const onA = recorder();
    const offB = await podB.onTaskChanged(onB.listener);
    const offA = await podA.onTaskChanged(onA.listener);
    try {
      const id = 'kagent-0.n 1'; // ids are free text: the version is split off at the last space
      await seed(podA, { id, at: T0 });
      await podA.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await podA.putArtifact(id, { artifactId: 'a', parts: [text('x')] }, false, ACTIVE);
      await waitFor('both notifications on pod B', async () => onB.seen.length >= 2);
      await waitFor('both notifications on pod A', async () => onA.seen.length >= 2);
      assert.deepEqual(onB.seen, [`${id}@2`, `${id}@3`]);
      assert.deepEqual(onA.seen, [`${id}@2`, `${id}@3`]);
    } finally {
      await offA();
      await offB();
    }
  });

  test('a turn written as one statement signals each of its versions, in order', async () => {
    const seen = recorder();
    const off = await podB.onTaskChanged(seen.listener);
    try {
      const id = 'kagent-0.n-turn';
      await seed(podA, { id, at: T0 });
      const result = await podA.applyRunChanges(
        id,
        `ctx-${id}`,
        [
          { kind: 'status', status: status('working', T0 + 1) },
          { kind: 'artifact', artifact: { artifactId: 'a', parts: [text('x')] }, append: false, lastChunk: true },
          { kind: 'status', status: status('completed', T0 + 2) },
          { kind: 'status', status: status('working', T0 + 3) },
        ],
        0,
      );
      assert.deepEqual(result.versions, [2, 3, 4]);
      await waitFor('three notifications on pod B', async () => seen.seen.length >= 3);
      assert.deepEqual(seen.seen, [`${id}@2`, `${id}@3`, `${id}@4`]);
    } finally {
      await off();
    }
  });

  test('a refused write signals nothing: notifications arrive in commit order, so the next one shows it', async () => {
    const seen = recorder();
    const off = await podB.onTaskChanged(seen.listener);
    try {
      const id = 'kagent-0.n-refused';
      await seed(podA, { id, at: T0, state: 'working' });
      await podA.transition(id, { status: status('canceled', T0 + 1), allowedFrom: ACTIVE });
      assert.equal((await podA.transition(id, { status: status('working', T0 + 2), allowedFrom: ACTIVE })).applied, false);
      assert.equal((await podA.putArtifact(id, { artifactId: 'a', parts: [] }, false, ACTIVE)).applied, false);
      await seed(podA, { id: 'kagent-0.n-marker', at: T0, state: 'working' });
      await podA.transition('kagent-0.n-marker', { status: status('completed', T0 + 3), allowedFrom: ACTIVE });
      await waitFor('the marker notification', async () => seen.seen.includes('kagent-0.n-marker@2'));
      assert.deepEqual(seen.seen, [`${id}@2`, 'kagent-0.n-marker@2']);
    } finally {
      await off();
    }
  });

  test('stores on another schema do not hear the changes', async () => {
    const otherSchema = newSchema('notify_other');
    const other = await openStore(otherSchema, { pod: uniquePod('other') });
    const seen = recorder();
    const off = await other.onTaskChanged(seen.listener);
    try {
      await seed(podA, { id: 'kagent-0.n-here', at: T0 });
      await podA.transition('kagent-0.n-here', { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await seed(other, { id: 'kagent-0.n-there', at: T0 });
      await other.transition('kagent-0.n-there', { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await waitFor('the other schema\'s own change', async () => seen.seen.length > 0);
      assert.deepEqual(seen.seen, ['kagent-0.n-there@2']);
    } finally {
      await off();
      await other.close();
      await dropSchema(otherSchema);
    }
  });

  test('unsubscribing stops the calls; listeners share one connection, closed by the last unsubscribe', async () => {
    const pod = uniquePod('listen');
    const store = await openStore(schema, { pod });
    try {
      const first = recorder();
      const second = recorder();
      const offFirst = await store.onTaskChanged(first.listener);
      const offSecond = await store.onTaskChanged(second.listener);
      assert.equal((await connectionsOf(pod, 'listen')).length, 1, 'one listening connection for two listeners');

      await offFirst();
      await offFirst(); // a second call is harmless
      const id = 'kagent-0.n-unsub';
      await seed(podA, { id, at: T0 });
      await podA.transition(id, { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await waitFor('the remaining listener to hear the change', async () => second.seen.length > 0);
      assert.deepEqual(second.seen, [`${id}@2`]);
      assert.deepEqual(first.seen, [], 'the unsubscribed listener was not called');

      await offSecond();
      await waitFor('the listening connection to close', async () => (await connectionsOf(pod, 'listen')).length === 0);

      // Subscribing again opens a new one.
      const third = recorder();
      const offThird = await store.onTaskChanged(third.listener);
      await podA.transition(id, { status: status('working', T0 + 2), allowedFrom: ACTIVE });
      await waitFor('a new subscription to hear the change', async () => third.seen.length > 0);
      assert.deepEqual(third.seen, [`${id}@3`]);
      await offThird();
    } finally {
      await store.close();
    }
  });

  test('a throwing listener does not keep the change from the others and is reported', async () => {
    const reported: unknown[] = [];
    const store = await openStore(schema, { pod: uniquePod('throws'), onBackgroundError: (error) => reported.push(error) });
    const seen = recorder();
    try {
      await store.onTaskChanged(() => {
        throw new Error('listener bug');
      });
      await store.onTaskChanged(seen.listener);
      await seed(podA, { id: 'kagent-0.n-throw', at: T0 });
      await podA.transition('kagent-0.n-throw', { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await waitFor('the second listener', async () => seen.seen.length > 0);
      assert.deepEqual(seen.seen, ['kagent-0.n-throw@2']);
      assert.match(String(reported[0]), /listener bug/);
    } finally {
      await store.close();
    }
  });

  test('a listening connection the server dropped is re-established and hears later changes', async () => {
    const pod = uniquePod('drop');
    const reported: unknown[] = [];
    const store = await openStore(schema, { pod, onBackgroundError: (error) => reported.push(error) });
    const seen = recorder();
    const off = await store.onTaskChanged(seen.listener);
    try {
      const [old] = await connectionsOf(pod, 'listen');
      assert.ok(old, 'a listening connection exists');
      await admin.query('SELECT pg_terminate_backend($1)', [old.pid]);
      // Listening again is the last thing a new connection does; only then is a change sure to be heard.
      await waitFor('a new listening connection', async () => {
        const now = await connectionsOf(pod, 'listen');
        return now.some((c) => c.pid !== old.pid && c.state === 'idle' && c.query.startsWith('LISTEN'));
      });
      assert.ok(reported.length >= 1, 'the dropped connection was reported');
      await seed(podA, { id: 'kagent-0.n-again', at: T0 });
      await podA.transition('kagent-0.n-again', { status: status('working', T0 + 1), allowedFrom: ACTIVE });
      await waitFor('the change after reconnecting', async () => seen.seen.includes('kagent-0.n-again@2'));
    } finally {
      await off();
      await store.close();
    }
  });

  test('close ends the pool and the listening connection', async () => {
    const pod = uniquePod('close');
    const store = await openStore(schema, { pod });
    await store.onTaskChanged(() => undefined);
    await store.countByState();
    assert.ok((await connectionsOf(pod)).length >= 2, 'a pooled and a listening connection are open');
    await store.close();
    await waitFor('every connection of the closed store to end', async () => (await connectionsOf(pod)).length === 0);
    assert.equal(store.isOpen, false);
  });
});

describe('PostgresTaskStore concurrent writers', postgres, () => {
  let schema: string;
  let podA: PostgresTaskStore;
  let podB: PostgresTaskStore;
  twoPods('race', [{ pod: 'kagent-0', poolSize: 3 }, { pod: 'kagent-1', poolSize: 3 }], (a, b, name) => ([podA, podB, schema] = [a, b, name]));

  test('two pods appending to one artifact and moving one task at once lose no update', async () => {
    const id = 'kagent-0.hammer';
    await seed(podA, { id, at: T0, state: 'working' });
    const APPENDS = 30;
    const TRANSITIONS = 10;
    const writes: Promise<{ applied: boolean; version?: number }>[] = [];
    for (const [name, store] of [['a', podA], ['b', podB]] as const) {
      for (let i = 0; i < APPENDS; i++) {
        writes.push(store.putArtifact(id, { artifactId: 'log', parts: [text(`${name}-${i}`)] }, true, ACTIVE));
        if (i < TRANSITIONS) {
          writes.push(store.transition(id, { status: status('working', T0 + 1 + i, agentMessage(`st-${name}-${i}`, 'progress')), allowedFrom: ['working'] }));
        }
      }
    }
    const results = await Promise.all(writes);
    const total = 2 * (APPENDS + TRANSITIONS);
    assert.ok(results.every((r) => r.applied), 'every write applied');
    const versions = results.map((r) => r.version!).sort((x, y) => x - y);
    assert.deepEqual(versions, Array.from({ length: total }, (_, i) => i + 2), 'each write got its own version');

    const stored = (await podB.getTask(ALICE, id))!;
    assert.equal(stored.version, 1 + total);
    const parts = stored.task.artifacts[0]!.parts.map((p) => (p.kind === 'text' ? p.text : '?'));
    const expected = ['a', 'b'].flatMap((name) => Array.from({ length: APPENDS }, (_, i) => `${name}-${i}`));
    assert.deepEqual([...parts].sort(), [...expected].sort(), 'every appended part is there, once');
    const statusIds = stored.task.history.map((m) => m.messageId).filter((m) => m.startsWith('st-'));
    assert.equal(statusIds.length, 2 * TRANSITIONS, 'every status message is in the history');

    const events = await podA.eventsAfter(id, 0);
    assert.deepEqual(
      events.map((e) => e.version),
      Array.from({ length: total }, (_, i) => i + 2),
    );
    // Replaying the artifact events in version order gives exactly the stored artifact.
    const replayed = events.flatMap(({ event }) => (event.kind === 'artifact-update' ? event.artifact.parts : []));
    assert.deepEqual(replayed, stored.task.artifacts[0]!.parts);
  });

  test('two pods writing turns that append to one artifact, beside single appends, lose no update', async () => {
    const id = 'kagent-0.hammer-turns';
    await seed(podA, { id, at: T0, state: 'working' });
    const TURNS = 15;
    const turns: Promise<RunChangesResult>[] = [];
    const singles: Promise<{ applied: boolean; version?: number }>[] = [];
    for (const [name, store] of [['a', podA], ['b', podB]] as const) {
      for (let i = 0; i < TURNS; i++) {
        // A turn appends to the artifact stored before it: read, then written only at the version it read.
        turns.push(
          store.applyRunChanges(
            id,
            `ctx-${id}`,
            [
              { kind: 'artifact', artifact: { artifactId: 'log', parts: [text(`${name}-${i}-1`)] }, append: true, lastChunk: false },
              { kind: 'status', status: status('working', T0 + 1 + i, agentMessage(`turn-${name}-${i}`, 'progress')) },
              { kind: 'artifact', artifact: { artifactId: 'log', parts: [text(`${name}-${i}-2`)] }, append: true, lastChunk: false },
            ],
            0,
          ),
        );
        singles.push(store.putArtifact(id, { artifactId: 'log', parts: [text(`${name}-${i}-s`)] }, true, ACTIVE));
      }
    }
    const turnResults = await Promise.all(turns);
    const singleResults = await Promise.all(singles);
    assert.ok(turnResults.every((r) => r.refused === undefined && r.versions.length === 3), 'every turn applied whole');
    assert.ok(singleResults.every((r) => r.applied), 'every single append applied');
    const total = 2 * TURNS * 4;
    const versions = [...turnResults.flatMap((r) => r.versions), ...singleResults.map((r) => r.version!)].sort((x, y) => x - y);
    assert.deepEqual(versions, Array.from({ length: total }, (_, i) => i + 2), 'each change got its own version');
    for (const r of turnResults) assert.deepEqual(r.versions, [r.versions[0]!, r.versions[0]! + 1, r.versions[0]! + 2], 'a turn\'s versions follow each other');

    const stored = (await podB.getTask(ALICE, id))!;
    assert.equal(stored.version, 1 + total);
    const parts = stored.task.artifacts[0]!.parts.map((p) => (p.kind === 'text' ? p.text : '?'));
    const expected = ['a', 'b'].flatMap((name) => Array.from({ length: TURNS }, (_, i) => [`${name}-${i}-1`, `${name}-${i}-2`, `${name}-${i}-s`]).flat());
    assert.deepEqual([...parts].sort(), [...expected].sort(), 'every appended part is there, once');
    assert.equal(stored.task.history.filter((m) => m.messageId.startsWith('turn-')).length, 2 * TURNS, 'every status message is in the history');
    // Replaying the artifact events in version order gives exactly the stored artifact.
    const events = await podA.eventsAfter(id, 0);
    assert.deepEqual(events.flatMap(({ event }) => (event.kind === 'artifact-update' ? event.artifact.parts : [])), stored.task.artifacts[0]!.parts);
  });

  test('two pods continuing one input-required task at once: exactly one continuation applies', async () => {
    const id = 'kagent-0.race-continue';
    await seed(podA, { id, at: T0, state: 'working' });
    await podA.transition(id, { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
    const results = await Promise.all(
      [podA, podB].map((store, i) =>
        store.transition(id, {
          status: status('working', T0 + 2),
          allowedFrom: ['input-required'],
          userMessage: { message: userMessage(`u-race-${i}`, 'go'), key: `k-race-${i}` },
        }),
      ),
    );
    const applied = results.filter((r) => r.applied);
    assert.equal(applied.length, 1, JSON.stringify(results));
    assert.deepEqual(
      results.find((r) => !r.applied),
      { applied: false, reason: 'state', current: 'working' },
    );
    const history = (await podA.getTask(ALICE, id))!.task.history.map((m) => m.messageId);
    assert.equal(history.filter((m) => m.startsWith('u-race-')).length, 1, 'only the winner\'s message is stored');
    assert.equal((await podA.eventsAfter(id, 0)).length, 2);
  });

  test('the same first message reaching two pods at once creates one task', async () => {
    const [a, b] = await Promise.allSettled([
      podA.createTask(buildTask({ id: 'kagent-0.twin', at: T0 }), { caller: ALICE, pod: 'kagent-0', skill: 'echo', requestKey: 'rk-twin' }),
      podB.createTask(buildTask({ id: 'kagent-1.twin', at: T0 }), { caller: ALICE, pod: 'kagent-1', skill: 'echo', requestKey: 'rk-twin' }),
    ]);
    const outcomes = [a!, b!];
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'one create wins');
    const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    assert.match(String(loser.reason), /unique constraint "tasks_request"/);
    const winner = await podA.findTaskByRequestKey(ALICE, 'rk-twin');
    assert.ok(winner === 'kagent-0.twin' || winner === 'kagent-1.twin');
    assert.equal(await podB.findTaskByRequestKey(ALICE, 'rk-twin'), winner);
    assert.equal(await countIn(schema, 'messages', ['kagent-0.twin', 'kagent-1.twin']), 1, 'the loser left no message');
  });
});

describe('PostgresTaskStore turns of several tasks', postgres, () => {
  let store: PostgresTaskStore;
  let listener: PostgresTaskStore;
  twoPods('turns', [{ pod: 'kagent-0' }, { pod: 'kagent-1' }], (a, b) => ([store, listener] = [a, b]));

  /** Counts the run-change statements sent while `work` runs. */
  async function statementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
    const query = pg.Pool.prototype.query;
    let statements = 0;
    pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
      if ((args[0] as { name?: unknown } | undefined)?.name === 'kagent-run-changes') statements++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      return { result: await work(), statements };
    } finally {
      pg.Pool.prototype.query = query;
    }
  }

  const turn = (i: number) => [
    { kind: 'status' as const, status: status('working', T0 + 10 * i + 1) },
    { kind: 'artifact' as const, artifact: { artifactId: `out-${i}`, parts: [text(`result ${i}`)] }, append: false, lastChunk: true },
    { kind: 'status' as const, status: status('completed', T0 + 10 * i + 2, agentMessage(`done-${i}`, `finished ${i}`)) },
  ];

  test('turns asked at once go as one statement, each applied to its own task with its own versions, events and notifications', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `kagent-0.turns-${i}`);
    for (const [i, id] of ids.entries()) await seed(store, { id, at: T0 + i });
    const seen: string[] = [];
    const off = await listener.onTaskChanged((taskId, version) => void seen.push(`${taskId}@${version}`));
    try {
      const { result, statements } = await statementsDuring(() => Promise.all(ids.map((id, i) => store.applyRunChanges(id, `ctx-${id}`, turn(i), 0))));
      assert.equal(statements, 1);
      for (const [i, id] of ids.entries()) {
        assert.deepEqual(result[i], { versions: [2, 3, 4], from: 'submitted' });
        const stored = (await store.getTask(ALICE, id))!;
        assert.equal(stored.version, 4);
        assert.equal(stored.task.status.state, 'completed');
        assert.deepEqual(stored.task.artifacts, [{ artifactId: `out-${i}`, parts: [text(`result ${i}`)] }]);
        assert.deepEqual(stored.task.history.map((m) => m.messageId), [`m-${id}`, `done-${i}`]);
        assert.deepEqual((await store.eventsAfter(id, 1)).map((e) => [e.version, e.event.kind]), [
          [2, 'status-update'],
          [3, 'artifact-update'],
          [4, 'status-update'],
        ]);
      }
      await waitFor('every notification on the other pod', async () => seen.length >= 3 * ids.length);
      for (const id of ids) assert.deepEqual(seen.filter((n) => n.startsWith(`${id}@`)), [`${id}@2`, `${id}@3`, `${id}@4`]);
    } finally {
      await off();
    }
  });

  test('a turn refused in a batch (its task ended, or resumed by another run) leaves the others applied', async () => {
    const ended = 'kagent-0.batch-ended';
    const resumed = 'kagent-0.batch-resumed';
    const fine = 'kagent-0.batch-fine';
    await seed(store, { id: ended, at: T0, state: 'working' });
    await store.transition(ended, { status: status('canceled', T0 + 1), allowedFrom: ACTIVE });
    await seed(store, { id: resumed, at: T0, state: 'working' });
    await store.transition(resumed, { status: status('working', T0 + 1), allowedFrom: ACTIVE, resume: true });
    await seed(store, { id: fine, at: T0 });
    const { result, statements } = await statementsDuring(() =>
      Promise.all([ended, resumed, fine].map((id, i) => store.applyRunChanges(id, `ctx-${id}`, turn(i), 0))),
    );
    assert.equal(statements, 1);
    assert.deepEqual(result[0], { versions: [], from: 'canceled', refused: { applied: false, reason: 'state', current: 'canceled' } });
    assert.deepEqual(result[1], { versions: [], from: 'working', refused: { applied: false, reason: 'superseded', current: 'working' } });
    assert.deepEqual(result[2], { versions: [2, 3, 4], from: 'submitted' });
    assert.equal((await store.getTask(ALICE, ended))!.version, 2);
    assert.equal((await store.getTask(ALICE, resumed))!.version, 2);
    assert.equal((await store.getTask(ALICE, fine))!.task.status.state, 'completed');
  });

  test('a batch the database refuses is written turn by turn: only the turn that caused it fails', async () => {
    const good = ['kagent-0.batch-good-1', 'kagent-0.batch-good-2'];
    for (const id of good) await seed(store, { id, at: T0 });
    // PostgreSQL text holds no NUL character: this turn fails the statement it is in.
    const bad = 'kagent-0.batch-bad\u0000';
    const results = await Promise.allSettled([...good, bad].map((id, i) => store.applyRunChanges(id, `ctx-${id}`, turn(i), 0)));
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[1]!.status, 'fulfilled');
    assert.equal(results[2]!.status, 'rejected');
    for (const id of good) assert.equal((await store.getTask(ALICE, id))!.task.status.state, 'completed');
  });

  test('a task whose turn was asked twice at once gets both, one after the other', async () => {
    const id = 'kagent-0.batch-twice';
    await seed(store, { id, at: T0, state: 'working' });
    const progress = (n: number) => [{ kind: 'status' as const, status: status('working', T0 + n, agentMessage(`p-${n}`, `step ${n}`)) }];
    const [first, second] = await Promise.all([store.applyRunChanges(id, `ctx-${id}`, progress(1), 0), store.applyRunChanges(id, `ctx-${id}`, progress(2), 0)]);
    assert.deepEqual([...first!.versions, ...second!.versions].sort(), [2, 3]);
    const stored = (await store.getTask(ALICE, id))!;
    assert.equal(stored.version, 3);
    assert.deepEqual(stored.task.history.map((m) => m.messageId).slice(1).sort(), ['p-1', 'p-2']);
  });
});

describe('PostgresTaskStore leases', postgres, () => {
  // Long enough that seeding and a renewal round never take as long, even on a loaded machine.
  const TTL = 5000;
  let schema: string;
  let store: PostgresTaskStore;
  let other: PostgresTaskStore;
  before(async () => {
    schema = newSchema('lease');
    store = await openStore(schema, { pod: 'kagent-0', leaseTtlMs: TTL });
    other = await openStore(schema, { pod: 'kagent-1', leaseTtlMs: TTL });
  });
  after(async () => {
    await store.close();
    await other.close();
    await dropSchema(schema);
  });

  const leaseOf = async (id: string) =>
    (await admin.query<{ lease_pod: string | null; lease_expires_at: string | null }>(`SELECT lease_pod, lease_expires_at FROM "${schema}".tasks WHERE id = $1`, [id]))
      .rows[0]!;
  const expiredIds = async () => (await store.expiredLeases(100)).map((h) => h.id).sort();

  test('a lease that is not renewed runs out after the TTL and not before; a renewed one does not', async () => {
    const takenAt = Date.now();
    await seed(store, { id: 'kagent-0.lease-idle', at: T0, contextId: 'ctx-idle' });
    await seed(store, { id: 'kagent-0.lease-kept', at: T0 });
    await seed(store, { id: 'kagent-0.lease-asking', at: T0 });
    await store.transition('kagent-0.lease-asking', { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
    assert.deepEqual(await expiredIds(), [], 'no lease has run out yet');

    let renewing = true;
    const renewer = (async () => {
      while (renewing) {
        await store.renewLeases('kagent-0', ['kagent-0.lease-kept']);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      const expired = await waitFor('the idle task\'s lease to run out', async () => {
        const heads = await store.expiredLeases(100);
        return heads.length > 0 ? heads : undefined;
      });
      // Polled from the start, it was first seen run out no sooner than a TTL after it was taken (the database's clock and ours may differ by a few ms).
      const seenAfter = Date.now() - takenAt;
      assert.ok(seenAfter >= TTL - 100, `the lease ran out ${seenAfter} ms after it was taken, before the TTL of ${TTL} ms`);
      // Created together: had the renewals not worked, the kept task would have run out with the idle one.
      assert.deepEqual(expired, [
        {
          id: 'kagent-0.lease-idle',
          contextId: 'ctx-idle',
          state: 'submitted',
          version: 1,
          skill: 'echo',
          pod: 'kagent-0',
          caller: ALICE,
          holder: 'kagent-0',
          resumes: 0,
        },
      ]);
      assert.deepEqual(await other.expiredLeases(100), expired, 'every pod sees the same expiry');
    } finally {
      renewing = false;
      await renewer;
    }
    await store.transition('kagent-0.lease-idle', { status: status('failed', T0 + 2), allowedFrom: ACTIVE });
    await store.transition('kagent-0.lease-kept', { status: status('completed', T0 + 2), allowedFrom: ACTIVE });
    assert.deepEqual(await expiredIds(), [], 'ended tasks hold no lease');
  });

  test('terminal and interrupted states release the lease; working takes it for the pod that made the change', async () => {
    const id = 'kagent-0.lease-moves';
    await seed(store, { id, at: T0 });
    assert.equal((await leaseOf(id)).lease_pod, 'kagent-0');
    assert.notEqual((await leaseOf(id)).lease_expires_at, null);
    await store.transition(id, { status: status('auth-required', T0 + 1), allowedFrom: ACTIVE });
    assert.deepEqual(await leaseOf(id), { lease_pod: null, lease_expires_at: null });
    await other.transition(id, { status: status('working', T0 + 2), allowedFrom: ['auth-required'] });
    assert.equal((await leaseOf(id)).lease_pod, 'kagent-1');
    await other.transition(id, { status: status('rejected', T0 + 3), allowedFrom: ACTIVE });
    assert.deepEqual(await leaseOf(id), { lease_pod: null, lease_expires_at: null });

    await seed(store, { id: 'kagent-0.lease-done', at: T0, state: 'completed' });
    assert.deepEqual(await leaseOf('kagent-0.lease-done'), { lease_pod: null, lease_expires_at: null }, 'a task created ended holds no lease');
    await seed(store, { id: 'kagent-0.lease-working', at: T0, state: 'working' });
    assert.equal((await leaseOf('kagent-0.lease-working')).lease_pod, 'kagent-0');
    await store.transition('kagent-0.lease-working', { status: status('canceled', T0 + 1), allowedFrom: NOT_TERMINAL });
  });

  test('only the pod that holds a lease renews it, and only while the task is submitted or working', async () => {
    const id = 'kagent-1.lease-renew';
    await seed(other, { id, at: T0, pod: 'kagent-1' });
    await admin.query(`UPDATE "${schema}".tasks SET lease_expires_at = 0 WHERE id = $1`, [id]);
    await store.renewLeases('kagent-0', [id]);
    assert.equal(Number((await leaseOf(id)).lease_expires_at), 0, 'another pod cannot renew it');
    assert.deepEqual((await store.expiredLeases(100)).map((h) => h.id), [id]);
    await other.renewLeases('kagent-1', [id, 'kagent-1.not-there']);
    assert.ok(Number((await leaseOf(id)).lease_expires_at) > 0, 'the holder renewed it');
    assert.deepEqual(await expiredIds(), []);
    await other.renewLeases('kagent-1', []);

    await other.transition(id, { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
    await other.renewLeases('kagent-1', [id]);
    assert.deepEqual(await leaseOf(id), { lease_pod: null, lease_expires_at: null }, 'renewing does not bring back a released lease');
    await other.transition(id, { status: status('canceled', T0 + 2), allowedFrom: NOT_TERMINAL });
  });

  test('unfinished names the tasks whose lease a pod holds, not those it created', async () => {
    const id = 'kagent-0.lease-continued';
    await seed(store, { id, at: T0 });
    await store.transition(id, { status: status('input-required', T0 + 1), allowedFrom: ACTIVE });
    // Continued through the other pod: that pod runs it now.
    await other.transition(id, { status: status('working', T0 + 2), allowedFrom: ['input-required'] });
    assert.ok(!(await store.unfinished('kagent-0')).some((h) => h.id === id), 'the creator does not claim it');
    const held = (await other.unfinished('kagent-1')).find((h) => h.id === id);
    assert.equal(held?.holder, 'kagent-1');
    assert.equal(held?.pod, 'kagent-0', 'the creator is still known');
    await other.transition(id, { status: status('completed', T0 + 3), allowedFrom: ACTIVE });
  });

  test('releaseLeases lets only the holder\'s leases of running tasks run out at once', async () => {
    const mine = 'kagent-0.lease-released';
    const theirs = 'kagent-1.lease-not-mine';
    await seed(store, { id: mine, at: T0, state: 'working' });
    await seed(other, { id: theirs, at: T0, state: 'working', pod: 'kagent-1' });
    assert.deepEqual(await expiredIds(), []);
    await store.releaseLeases('kagent-0', [mine, theirs]);
    await store.releaseLeases('kagent-0', []);
    assert.deepEqual(await expiredIds(), [mine], 'another pod\'s lease stays');
    const [head] = await other.expiredLeases(10);
    assert.equal(head?.holder, 'kagent-0');
    for (const id of [mine, theirs]) await store.transition(id, { status: status('canceled', T0 + 1), allowedFrom: NOT_TERMINAL });
  });

  test('expiredLeases lists the longest-expired first, up to the limit, and only submitted or working tasks', async () => {
    const ids = ['kagent-0.exp-1', 'kagent-0.exp-2', 'kagent-0.exp-3'];
    for (const id of ids) await seed(store, { id, at: T0, state: 'working' });
    await seed(store, { id: 'kagent-0.exp-ended', at: T0, state: 'working' });
    await store.transition('kagent-0.exp-ended', { status: status('completed', T0 + 1), allowedFrom: ACTIVE });
    // Lease times set by hand so the order does not depend on the clock; the ended task keeps a stale one.
    for (const [i, id] of [...ids, 'kagent-0.exp-ended'].entries()) {
      await admin.query(`UPDATE "${schema}".tasks SET lease_pod = 'kagent-0', lease_expires_at = $2 WHERE id = $1`, [id, [30, 10, 20, 5][i]]);
    }
    assert.deepEqual(
      (await store.expiredLeases(2)).map((h) => h.id),
      ['kagent-0.exp-2', 'kagent-0.exp-3'],
    );
    assert.deepEqual(
      (await store.expiredLeases(10)).map((h) => h.id),
      ['kagent-0.exp-2', 'kagent-0.exp-3', 'kagent-0.exp-1'],
    );
    for (const id of ids) await store.transition(id, { status: status('failed', T0 + 2), allowedFrom: ACTIVE });
  });
});
