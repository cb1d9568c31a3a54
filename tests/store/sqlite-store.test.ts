import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { WRITER_AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/wal-checkpointer.js';
import { registerStoreContract } from './contract.js';
import type { StoreUnderTest } from './contract.js';
import { ALICE, T0, openStore, seed, tempDir } from './fixtures.js';
import type { TempDir } from './fixtures.js';

function rawDb(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

function rawCount(path: string, sql: string, ...params: unknown[]): number {
  const db = rawDb(path);
  try {
    return (db.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    db.close();
  }
}

registerStoreContract({
  name: 'SqliteTaskStore',
  duplicateRequestKey: /UNIQUE/,
  async create(label, options = {}): Promise<StoreUnderTest> {
    const tmp = tempDir();
    const path = join(tmp.dir, `${label}.sqlite`);
    const synchronous = options.durable === true ? 'full' : 'normal';
    let store = await openStore(path, synchronous, options.eventsKept);
    return {
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = await openStore(path, synchronous, options.eventsKept);
        return store;
      },
      async countRows(table, taskIds) {
        if (taskIds === undefined) return rawCount(path, `SELECT COUNT(*) AS n FROM ${table}`);
        const marks = taskIds.map(() => '?').join(',');
        return rawCount(path, `SELECT COUNT(*) AS n FROM ${table} WHERE task_id IN (${marks})`, ...taskIds);
      },
      async addPushRows(taskId, configId) {
        const writer = new Database(path);
        try {
          writer.prepare(`INSERT INTO push_configs (task_id, config_id, json) VALUES (?, ?, ?)`).run(taskId, configId, '{}');
          writer.prepare(`INSERT INTO push_outbox (task_id, config_id, payload_json, next_attempt_at) VALUES (?, ?, ?, ?)`).run(taskId, configId, '{}', 0);
        } finally {
          writer.close();
        }
      },
      async dispose() {
        await store.close();
        tmp.cleanup();
      },
    };
  },
});

describe('SqliteTaskStore schema and migrations', () => {
  let tmp: TempDir;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  test('a fresh file gets the whole schema, a user_version, and WAL; missing parent directories are created', async () => {
    const path = join(tmp.dir, 'nested', 'deeper', 'fresh.sqlite');
    const store = await openStore(path);
    assert.equal(store.isOpen, true);
    assert.equal(store.kind, 'sqlite');
    const db = rawDb(path);
    try {
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(tables, ['artifacts', 'messages', 'push_configs', 'push_outbox', 'task_events', 'tasks']);
      const version = db.pragma('user_version', { simple: true }) as number;
      assert.ok(Number.isInteger(version) && version >= 1, `user_version after migration: ${version}`);
      // journal_mode=WAL is a property of the file, so a second connection sees it.
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    await store.close();
    assert.equal(store.isOpen, false);
  });

  test('re-opening an existing file runs no migration again and keeps the data', async () => {
    const path = join(tmp.dir, 'reopen.sqlite');
    const first = await openStore(path);
    await seed(first, { id: 'kagent-0.keep', at: T0 });
    await first.close();
    // An index the first migration creates, removed by hand: a migration that
    // ran again would fail on its CREATE TABLE or bring the index back.
    const writer = new Database(path);
    const versionBefore = writer.pragma('user_version', { simple: true }) as number;
    writer.exec('DROP INDEX tasks_context');
    writer.close();

    const second = await openStore(path);
    const got = await second.getTask(ALICE, 'kagent-0.keep');
    assert.equal(got?.task.id, 'kagent-0.keep');
    await second.close();

    const db = rawDb(path);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), versionBefore);
      const index = db.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'tasks_context'`).get() as { n: number };
      assert.equal(index.n, 0, 'the migration did not run again');
    } finally {
      db.close();
    }
  });
});

describe('SqliteTaskStore statements', () => {
  let tmp: TempDir;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  /** Every SQL text the store prepares while it opens and serves `use`, in order. */
  async function preparedBy(path: string, use: (store: SqliteTaskStore) => Promise<void>): Promise<string[]> {
    const texts: string[] = [];
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function (this: Database.Database, source: string) {
      texts.push(source);
      return prepare.call(this, source);
    } as typeof prepare;
    try {
      const store = await openStore(path);
      await use(store);
      await store.close();
    } finally {
      Database.prototype.prepare = prepare;
    }
    return texts;
  }

  /** EXPLAIN (or EXPLAIN QUERY PLAN) of a statement, its parameters bound to null: the plan does not depend on them. */
  function explain(db: Database.Database, sql: string, what = ''): unknown[] {
    const named = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((match) => [match[1]!, null]));
    const positional = [...sql.matchAll(/\?/g)].map(() => null);
    const statement = db.prepare(`EXPLAIN ${what} ${sql}`);
    return Object.keys(named).length > 0 ? statement.all(named) : statement.all(...positional);
  }

  test('no write of a task builds a temporary b-tree, and the unfinished and expiry reads use their partial indexes', async () => {
    const path = join(tmp.dir, 'plans.sqlite');
    const texts = await preparedBy(path, async (store) => {
      await seed(store, { id: 'kagent-0.plan', at: T0 });
      await store.deleteTerminalBefore(T0, 10);
      await store.unfinished('kagent-0');
    });
    const db = rawDb(path);
    try {
      const writes = texts.filter((sql) => /^\s*(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+tasks\b/i.test(sql));
      assert.ok(writes.length >= 4, `the store's writes of tasks: ${writes.length}`);
      for (const sql of writes) {
        const opcodes = (explain(db, sql) as { opcode: string }[]).map((row) => row.opcode);
        // A partial index's condition is checked on every write of a row; as an IN list it builds a b-tree of the list first.
        assert.ok(!opcodes.includes('OpenEphemeral'), `a temporary b-tree in: ${sql}`);
      }
      const plan = (pattern: RegExp) => {
        const sql = texts.find((text) => pattern.test(text));
        assert.ok(sql !== undefined, `no statement matches ${pattern}`);
        return (explain(db, sql, 'QUERY PLAN') as { detail: string }[]).map((row) => row.detail).join('; ');
      };
      assert.match(plan(/FROM tasks\s+WHERE pod = \?/), /USING INDEX tasks_unfinished/);
      assert.match(plan(/FROM tasks WHERE .* AND updated_at < \?/), /USING INDEX tasks_expiry/);
    } finally {
      db.close();
    }
  });

  test('a database of schema 5 (partial indexes on IN lists) gets them rebuilt on its first open, with every task in them', async () => {
    const path = join(tmp.dir, 'previous.sqlite');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    // Schema 5 by number, not "all but the last": a later migration must not make this the schema the rebuild already ran on.
    for (const [i, migration] of MIGRATIONS.slice(0, 5).entries()) {
      old.exec(migration);
      old.pragma(`user_version = ${i + 1}`);
    }
    const insert = old.prepare(
      `INSERT INTO tasks (id, tenant, principal, pod, skill, context_id, state, status_json, request_key, created_at, updated_at, version)
       VALUES (?, 'acme', 'alice', 'kagent-0', 'echo', ?, ?, ?, ?, ?, ?, 1)`,
    );
    const states = ['submitted', 'working', 'input-required', 'completed', 'failed', 'canceled'] as const;
    for (const [i, state] of states.entries()) {
      const id = `kagent-0.old-${state}`;
      insert.run(id, `ctx-${i}`, state, JSON.stringify({ state, timestamp: new Date(T0).toISOString() }), `rk-${i}`, T0, T0);
    }
    old.close();

    const store = await openStore(path);
    try {
      const unfinished = (await store.unfinished('kagent-0')).map((task) => task.state).sort();
      // input-required waits for its caller: not a task a restart resumes.
      assert.deepEqual(unfinished, ['submitted', 'working']);
      const deleted = await store.deleteTerminalBefore(T0 + 1, 10);
      assert.deepEqual(deleted, { completed: 1, failed: 1, canceled: 1 });
    } finally {
      await store.close();
    }
    const db = rawDb(path);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      const indexSql = (name: string) => (db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`).get(name) as { sql: string }).sql;
      assert.doesNotMatch(indexSql('tasks_expiry'), /\bIN\b/);
      assert.doesNotMatch(indexSql('tasks_unfinished'), /\bIN\b/);
    } finally {
      db.close();
    }
  });
});

describe('SqliteTaskStore WAL', () => {
  let tmp: TempDir;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  test('the database file is in WAL journal mode while the store is open and after it closed', async () => {
    const path = join(tmp.dir, 'wal.sqlite');
    const store = await openStore(path);
    await seed(store, { id: 'kagent-0.wal', at: T0 });
    const reader = new Database(path, { fileMustExist: true });
    try {
      assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
      // A second connection reads committed data while the store holds the file open.
      assert.equal((reader.prepare(`SELECT id FROM tasks`).get() as { id: string }).id, 'kagent-0.wal');
    } finally {
      reader.close();
    }
    assert.ok(existsSync(`${path}-wal`), 'a WAL file exists beside the database while it is open');
    await store.close();
    const check = rawDb(path);
    try {
      assert.equal(check.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      check.close();
    }
  });

  test('the WAL is folded into the database file in the background, long before a commit would checkpoint it', async () => {
    const path = join(tmp.dir, 'checkpoint.sqlite');
    const store = await openStore(path, 'full');
    try {
      const before = statSync(path).size;
      for (let i = 0; i < 200; i++) await seed(store, { id: `kagent-0.cp${i}`, at: T0 + i });
      // 200 small tasks are a few hundred WAL pages: far below the size at which a commit checkpoints by itself.
      const walPages = statSync(`${path}-wal`).size / 4096;
      assert.ok(walPages < WRITER_AUTOCHECKPOINT_PAGES, `WAL holds ${walPages} pages`);
      const deadline = Date.now() + 30_000;
      while (statSync(path).size <= before) {
        assert.ok(Date.now() < deadline, 'no checkpoint copied the WAL into the database file within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(rawCount(path, `SELECT COUNT(*) AS n FROM tasks`), 200);
    } finally {
      await store.close();
    }
  });

  test('closing the store stops its checkpoint thread, and the store opens again', async () => {
    const path = join(tmp.dir, 'reopen.sqlite');
    for (let round = 0; round < 3; round++) {
      const store = await openStore(path, 'full');
      await seed(store, { id: `kagent-0.re${round}`, at: T0 + round });
      await store.close();
    }
    assert.equal(rawCount(path, `SELECT COUNT(*) AS n FROM tasks`), 3);
  });
});

describe('schema versions', () => {
  test('a store written by a newer build is refused, not opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-schema-'));
    try {
      const path = join(dir, 'tasks.sqlite');
      const db = new Database(path);
      db.pragma('user_version = 999');
      db.close();
      const store = new SqliteTaskStore({ path, synchronous: 'normal' });
      await assert.rejects(store.open(), /schema version 999; this build knows up to \d+ \(was it written by a newer kagent-a2a\?\)/);
      assert.equal(store.isOpen, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
