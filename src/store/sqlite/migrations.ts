import type Database from 'better-sqlite3';
import { refuseNewerSchema } from '../schema-version.js';
import { ACTIVE_CONDITION, ACTIVE_SQL, TERMINAL_CONDITION, TERMINAL_SQL } from '../state-sql.js';

// Schema of the per-pod SQLite store. Each migration runs once, in order,
// inside a transaction; PRAGMA user_version records progress.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    principal TEXT NOT NULL,
    pod TEXT NOT NULL,
    skill TEXT NOT NULL,
    context_id TEXT NOT NULL,
    state TEXT NOT NULL,
    status_json TEXT NOT NULL,
    metadata_json TEXT,
    request_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX tasks_request ON tasks(tenant, principal, request_key);
  CREATE INDEX tasks_listing ON tasks(tenant, principal, updated_at DESC, id DESC);
  CREATE INDEX tasks_context ON tasks(tenant, principal, context_id, updated_at DESC);
  CREATE INDEX tasks_expiry ON tasks(updated_at) WHERE state IN ${TERMINAL_SQL};
  CREATE INDEX tasks_unfinished ON tasks(pod) WHERE state IN ${ACTIVE_SQL};

  CREATE TABLE messages (
    n INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    message_key TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE UNIQUE INDEX messages_by_task ON messages(task_id, message_key);
  CREATE INDEX messages_order ON messages(task_id, n);

  CREATE TABLE artifacts (
    n INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE UNIQUE INDEX artifacts_by_task ON artifacts(task_id, artifact_id);

  -- Push delivery is an outbox written in the same transaction as the event it
  -- carries; the tables exist from the first schema so that adding delivery is
  -- not a data migration.
  CREATE TABLE push_configs (
    task_id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (task_id, config_id)
  ) WITHOUT ROWID;
  CREATE TABLE push_outbox (
    n INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL
  );
  `,
  // How often a task was resumed after a restart: bounds resume loops, and numbers the runs.
  `ALTER TABLE tasks ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;`,
  // What each applied write told subscribers, under the version it produced: a stream
  // that resumes (SSE Last-Event-ID) replays what it missed from here. Written in the
  // write's own transaction; bounded per task, and deleted with the task. Rows go at
  // the end of the table (its rowid), the small index finds a task's: cheaper to write
  // than a table clustered by task, whose large rows would land all over it.
  `CREATE TABLE task_events (
    n INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_json TEXT NOT NULL
  );
  CREATE UNIQUE INDEX task_events_by_task ON task_events(task_id, version);`,
  // The name an A2A 0.2 client gave its task (tasks/send chooses the id): one task per name and caller.
  `
  ALTER TABLE tasks ADD COLUMN alias TEXT;
  CREATE UNIQUE INDEX tasks_alias ON tasks(tenant, principal, alias) WHERE alias IS NOT NULL;
  `,
  // Push delivery: the age of each delivery (retries stop at PUSH_MAX_AGE), and dead letters kept with their last error.
  `
  ALTER TABLE push_outbox ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE push_outbox ADD COLUMN dead_at INTEGER;
  ALTER TABLE push_outbox ADD COLUMN last_error TEXT;
  CREATE INDEX push_outbox_order ON push_outbox(task_id, config_id, n) WHERE dead_at IS NULL;
  CREATE INDEX push_outbox_due ON push_outbox(next_attempt_at) WHERE dead_at IS NULL;
  `,
  // The partial indexes on the task's state name their states as comparisons, not as an IN list
  // (state-sql.ts stateIsOneOf: every write of a task paid for a temporary b-tree of the list).
  // Rebuilding them reads the tasks table once, at the first start of this version.
  `
  DROP INDEX tasks_expiry;
  DROP INDEX tasks_unfinished;
  CREATE INDEX tasks_expiry ON tasks(updated_at) WHERE ${TERMINAL_CONDITION};
  CREATE INDEX tasks_unfinished ON tasks(pod) WHERE ${ACTIVE_CONDITION};
  `,
];

/** Applies the migrations `db` (the database at `path`) has not had yet. */
export function applyMigrations(db: Database.Database, path: string): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  refuseNewerSchema(path, applied, MIGRATIONS.length);
  for (let i = applied; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
