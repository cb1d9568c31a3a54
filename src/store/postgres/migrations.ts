import type pg from 'pg';
import { refuseNewerSchema } from '../schema-version.js';
import { ACTIVE_SQL, TERMINAL_SQL } from '../state-sql.js';
import { quoteIdent } from './notifications.js';
import { transaction } from './transactions.js';

// Schema of the shared PostgreSQL store. Each migration runs once, in order,
// in one transaction with the others that are pending; <schema>.schema_version
// records progress. `s` is the quoted schema name.

export const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
  -- Ids are compared bytewise (COLLATE "C") so that listing order and page
  -- cursors are the same whatever collation the database was created with.
  CREATE TABLE ${s}.tasks (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant TEXT NOT NULL,
    principal TEXT NOT NULL,
    pod TEXT NOT NULL,
    skill TEXT NOT NULL,
    context_id TEXT NOT NULL,
    state TEXT NOT NULL,
    status_json TEXT NOT NULL,
    metadata_json TEXT,
    request_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version INTEGER NOT NULL,
    -- The pod that runs a submitted or working task holds its lease and
    -- renews it; a lease that runs out means that pod is gone.
    lease_pod TEXT,
    lease_expires_at BIGINT
  );
  CREATE UNIQUE INDEX tasks_request ON ${s}.tasks (tenant, principal, request_key);
  CREATE INDEX tasks_listing ON ${s}.tasks (tenant, principal, updated_at DESC, id DESC);
  CREATE INDEX tasks_context ON ${s}.tasks (tenant, principal, context_id, updated_at DESC);
  CREATE INDEX tasks_expiry ON ${s}.tasks (updated_at) WHERE state IN ${TERMINAL_SQL};
  CREATE INDEX tasks_unfinished ON ${s}.tasks (pod) WHERE state IN ${ACTIVE_SQL};
  CREATE INDEX tasks_leases ON ${s}.tasks (lease_expires_at) WHERE state IN ${ACTIVE_SQL};

  CREATE TABLE ${s}.messages (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT COLLATE "C" NOT NULL,
    message_key TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE UNIQUE INDEX messages_by_task ON ${s}.messages (task_id, message_key);
  CREATE INDEX messages_order ON ${s}.messages (task_id, n);

  CREATE TABLE ${s}.artifacts (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT COLLATE "C" NOT NULL,
    artifact_id TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE UNIQUE INDEX artifacts_by_task ON ${s}.artifacts (task_id, artifact_id);

  -- What each applied write told subscribers, under the version it produced:
  -- a pod serving a stream for a task another pod runs reads them from here.
  CREATE TABLE ${s}.task_events (
    task_id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    event_json TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
  );

  -- Push delivery is an outbox written in the same transaction as the event it
  -- carries; the tables exist from the first schema so that adding delivery is
  -- not a data migration.
  CREATE TABLE ${s}.push_configs (
    task_id TEXT COLLATE "C" NOT NULL,
    config_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (task_id, config_id)
  );
  CREATE TABLE ${s}.push_outbox (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT COLLATE "C" NOT NULL,
    config_id TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
  );
  CREATE INDEX push_outbox_by_task ON ${s}.push_outbox (task_id);
  `,
  (s) => `
  -- How often a task was resumed after its pod restarted or lost its lease:
  -- bounds resume loops, and numbers the runs so that a superseded one writes nothing.
  ALTER TABLE ${s}.tasks ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
  -- A restarting pod looks for the tasks whose lease it holds, not those it created.
  DROP INDEX ${s}.tasks_unfinished;
  CREATE INDEX tasks_leased_by ON ${s}.tasks (lease_pod) WHERE state IN ${ACTIVE_SQL};
  `,
  (s) => `
  -- The name an A2A 0.2 client gave its task (tasks/send chooses the id): one task per name and caller.
  ALTER TABLE ${s}.tasks ADD COLUMN alias TEXT COLLATE "C";
  CREATE UNIQUE INDEX tasks_alias ON ${s}.tasks (tenant, principal, alias) WHERE alias IS NOT NULL;
  `,
  (s) => `
  -- Push delivery: the age of each delivery (retries stop at PUSH_MAX_AGE), and
  -- dead letters kept with their last error. A claimed delivery's next_attempt_at
  -- is its lease: no other pod claims it before then.
  ALTER TABLE ${s}.push_outbox ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN dead_at BIGINT, ADD COLUMN last_error TEXT;
  CREATE INDEX push_outbox_order ON ${s}.push_outbox (task_id, config_id, n) WHERE dead_at IS NULL;
  CREATE INDEX push_outbox_due ON ${s}.push_outbox (next_attempt_at) WHERE dead_at IS NULL;
  `,
];

/**
 * Applies pending migrations in one transaction under an advisory lock, so
 * that pods starting together apply each migration exactly once. Releases `client`.
 */
export async function applyMigrations(client: pg.PoolClient, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  await transaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`kagent-a2a migrations ${schema}`]);
    // CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS; a schema made by an admin is enough.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const current = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0) AS v FROM ${s}.schema_version`);
    const applied = current.rows[0]!.v;
    refuseNewerSchema(`PostgreSQL schema "${schema}"`, applied, MIGRATIONS.length);
    for (let i = applied; i < MIGRATIONS.length; i++) {
      await client.query(MIGRATIONS[i]!(s));
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [i + 1]);
    }
  });
}
