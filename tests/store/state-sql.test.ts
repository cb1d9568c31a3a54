import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ACTIVE_STATES, TERMINAL_STATES } from '../../src/model/lifecycle.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import { ACTIVE_CONDITION, ACTIVE_SQL, TERMINAL_CONDITION, TERMINAL_SQL, sqlList, stateIsOneOf } from '../../src/store/state-sql.js';
import { openStore, tempDir } from './fixtures.js';
import { needPostgres, TEST_DATABASE_URL } from '../support/prerequisites.js';

// The stores' SQL names states in lists (queries, partial indexes): each list
// must be the lifecycle's set, in the schema the database actually holds too.

const postgres = await needPostgres();

/** The quoted literals of an SQL text, in order: `('a','b')` and PostgreSQL's `ARRAY['a'::text, 'b'::text]` alike. */
function literals(sql: string): string[] {
  return [...sql.matchAll(/'([^']*)'/g)].map((match) => match[1]!);
}

const sorted = (values: readonly string[]) => [...values].sort();

describe('sqlList', () => {
  test('renders constants as an SQL IN list of quoted literals', () => {
    assert.equal(sqlList(['completed']), `('completed')`);
    assert.equal(sqlList(['input-required', 'auth-required']), `('input-required','auth-required')`);
  });

  test('refuses anything that is not a plain lower-case constant, rather than quoting it', () => {
    for (const hostile of [`x'); DROP TABLE tasks; --`, `it's`, 'Working', '', ' working', 'a\\b']) {
      assert.throws(() => sqlList(['working', hostile]), /not a constant fit for an SQL list/, JSON.stringify(hostile));
    }
  });

  test('refuses an empty list: "IN ()" is not SQL', () => {
    assert.throws(() => sqlList([]), /at least one value/);
  });
});

describe('stateIsOneOf', () => {
  test('renders constants as comparisons of the state column, joined by OR', () => {
    assert.equal(stateIsOneOf(['completed']), `(state = 'completed')`);
    assert.equal(stateIsOneOf(['input-required', 'auth-required']), `(state = 'input-required' OR state = 'auth-required')`);
  });

  test('refuses what sqlList refuses: anything but plain lower-case constants, and no states at all', () => {
    for (const hostile of [`x' OR 1=1 --`, `it's`, 'Working', '', 'a\\b']) {
      assert.throws(() => stateIsOneOf(['working', hostile]), /not a constant fit for an SQL list/, JSON.stringify(hostile));
    }
    assert.throws(() => stateIsOneOf([]), /at least one state/);
  });
});

describe('the SQL state lists are the lifecycle sets', () => {
  test('ACTIVE_SQL and ACTIVE_CONDITION hold the active states, TERMINAL_SQL and TERMINAL_CONDITION the terminal ones', () => {
    assert.deepEqual(literals(ACTIVE_SQL), [...ACTIVE_STATES]);
    assert.deepEqual(literals(TERMINAL_SQL), [...TERMINAL_STATES]);
    assert.deepEqual(literals(ACTIVE_CONDITION), [...ACTIVE_STATES]);
    assert.deepEqual(literals(TERMINAL_CONDITION), [...TERMINAL_STATES]);
  });

  test('SQLite: the partial indexes of a new database are built on the same lists', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.dir, 'tasks.db');
      const store = await openStore(path);
      await store.close();
      const db = new Database(path, { readonly: true });
      try {
        const index = (name: string) => (db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`).get(name) as { sql: string }).sql;
        assert.deepEqual(sorted(literals(index('tasks_expiry'))), sorted(TERMINAL_STATES));
        assert.deepEqual(sorted(literals(index('tasks_unfinished'))), sorted(ACTIVE_STATES));
      } finally {
        db.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  describe('PostgreSQL', { skip: postgres.skip }, () => {
    const schema = `kagent_test_state_sql_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    admin.on('error', () => undefined);
    after(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    test('the partial indexes of a new schema are built on the same lists', async () => {
      const store = new PostgresTaskStore({ connectionString: TEST_DATABASE_URL, schema, poolSize: 1, leaseTtlMs: 30_000, pod: 'kagent-0' });
      await store.open();
      await store.close();
      const { rows } = await admin.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = ANY($2::text[])`,
        [schema, ['tasks_expiry', 'tasks_leases', 'tasks_leased_by']],
      );
      const index = new Map(rows.map((row) => [row.indexname, row.indexdef]));
      assert.equal(index.size, 3, [...index.keys()].join(', '));
      assert.deepEqual(sorted(literals(index.get('tasks_expiry')!)), sorted(TERMINAL_STATES));
      assert.deepEqual(sorted(literals(index.get('tasks_leases')!)), sorted(ACTIVE_STATES));
      assert.deepEqual(sorted(literals(index.get('tasks_leased_by')!)), sorted(ACTIVE_STATES));
    });
  });
});
