import type pg from 'pg';
import { isActive } from '../../model/lifecycle.js';
import type {
  Artifact,
  Caller,
  JsonObject,
  ListTasksQuery,
  Message,
  Task,
  TaskEvent,
  TaskPage,
  TaskState,
  TaskStatus,
  VersionedEvent,
} from '../../model/model.js';
import { FullState, PROBE_BYTES, PROBE_TASK_ID } from '../full-store.js';
import { artifactEvent, eventLogBound, pruneThrough, statusEvent } from '../event-log.js';
import type { EventLogBound } from '../event-log.js';
import { decodePageToken } from '../../model/page-token.js';
import { nextPageToken, takeWithin } from '../paging.js';
import { headOf, interruptedOf, mergedArtifact, parseTask, stateCounts } from '../rows.js';
import type { HeadRow, InterruptedRow, TaskRow } from '../rows.js';
import { ACTIVE_SQL, TERMINAL_SQL } from '../state-sql.js';
import { superseded } from '../task-store.js';
import type {
  InterruptedTask,
  PageBudget,
  RunChange,
  RunChangesResult,
  SharedStore,
  StatusChange,
  StoredTask,
  TaskHead,
  TaskOwnership,
  TaskStore,
  TransitionResult,
  WriteResult,
} from '../task-store.js';
import { connectionConfig, describeTarget, messageOf, openPool } from './connection.js';
import { ChangeFeed, channelName, quoteIdent } from './notifications.js';
import { LostRace, Rollback, compareAndSwap, retryLostRaces, transaction } from './transactions.js';
import { appendBases, planRunChanges, runChangesParams, runChangesSql, runOutcome } from './run-changes.js';
import type { PlannedTurn, RunChangesRow } from './run-changes.js';
import { createTasksParams, createTasksSql } from './create-batch.js';
import { TurnBatch } from './turn-batch.js';
import type { NewTask } from './create-batch.js';
import type { PushStore } from '../push-store.js';
// Lease times come from the database's clock, so pods with skewed clocks agree on expiry.
import { NOW_MS, PostgresPushOutbox, enqueueCte } from './push-outbox.js';

export interface PostgresStoreOptions {
  /** libpq-style URL, e.g. postgres://user:password@host:5432/database. */
  connectionString: string;
  /** Schema that holds the tables; created on open when missing. Several deployments may share a database under different schemas. */
  schema: string;
  /** Most connections this store holds at once (not counting the one that listens for changes). */
  poolSize: number;
  /** How long a lease on a submitted or working task lasts unless renewed. */
  leaseTtlMs: number;
  /** This pod's name: the holder of the leases on tasks it moves into submitted or working. */
  pod: string;
  /** Errors no caller awaits: a dropped idle or listening connection, a throwing change listener. */
  onBackgroundError?: (error: unknown) => void;
  /** Called for every write refused because the database server's disk is full. */
  onFull?: () => void;
  /** The newest events of each task its event log keeps (default store/event-log.ts DEFAULT_EVENTS_KEPT). */
  eventsKept?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A task row with its history and artifacts, read in the same statement. */
interface TaskContentRow extends TaskRow {
  history?: string[];
  artifacts?: string[];
}

interface LeasedRow extends InterruptedRow {
  lease_pod: string | null;
}

const INTERRUPTED_COLUMNS = 'id, context_id, state, version, skill, pod, tenant, principal, resumes, lease_pod';

/**
 * The task store shared by every pod of a deployment. Each write is one
 * transaction — the two every task takes, its creation and a run's turn, one
 * statement each (one round trip, one commit; the tasks created in one turn
 * of the event loop, one statement together); writes to one task are
 * serialised by compare-and-swap on its version (retried on a lost race), and
 * every applied transition or artifact stores its event and signals the change
 * (NOTIFY, delivered on commit) in that same transaction.
 */
export class PostgresTaskStore implements TaskStore, SharedStore {
  readonly kind = 'postgres';
  /** The NOTIFY channel of this schema: stores on other schemas do not hear each other. */
  readonly channel: string;
  private pool: pg.Pool | undefined;
  private feed: ChangeFeed | undefined;
  private readonly s: string;
  private readonly fullState: FullState;
  private readonly outbox: PostgresPushOutbox;
  private readonly eventLog: EventLogBound;
  /** The tasks created in one turn of the event loop, written as one statement. */
  private readonly creates: TurnBatch<NewTask>;
  /** The runs' turns asked in one turn of the event loop (those that need no stored artifact read first), written as one statement. */
  private readonly turns: TurnBatch<PlannedTurn, RunChangesRow>;
  /** The texts of the two statements every send makes, for this schema: built once, not per statement. */
  private readonly sql: { createTasks: string; runChanges: string };

  constructor(private readonly options: PostgresStoreOptions) {
    if (typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new Error('PostgreSQL store: connectionString is required');
    }
    if (!SCHEMA_NAME.test(options.schema)) {
      throw new Error(`PostgreSQL store: schema ${JSON.stringify(options.schema)} must be a plain identifier (letters, digits and _, at most 63)`);
    }
    if (!Number.isSafeInteger(options.poolSize) || options.poolSize < 1) {
      throw new Error(`PostgreSQL store: poolSize must be a whole number of at least 1, not ${options.poolSize}`);
    }
    if (!Number.isSafeInteger(options.leaseTtlMs) || options.leaseTtlMs < 1) {
      throw new Error(`PostgreSQL store: leaseTtlMs must be a positive whole number of milliseconds, not ${options.leaseTtlMs}`);
    }
    if (typeof options.pod !== 'string' || options.pod === '') throw new Error('PostgreSQL store: pod is required');
    this.s = quoteIdent(options.schema);
    this.sql = { createTasks: createTasksSql(this.s), runChanges: runChangesSql(this.s) };
    this.channel = channelName(options.schema);
    this.fullState = new FullState(options.onFull);
    this.eventLog = eventLogBound(options.eventsKept, 'PostgreSQL store');
    this.outbox = new PostgresPushOutbox(this.s, () => this.db, (work) => this.inTransaction(work));
    this.creates = new TurnBatch<NewTask>(async (batch) => {
      await this.statement(this.createTasksQuery(batch));
      this.fullState.succeeded();
      return batch.map(() => undefined);
    });
    this.turns = new TurnBatch((batch) => this.writeTurns(batch));
  }

  get push(): PushStore {
    return this.outbox;
  }

  get isFull(): boolean {
    return this.fullState.isFull;
  }

  async probeWrite(): Promise<void> {
    // Committed, so it reaches the disk and the WAL as real writes do; deleted in the same transaction, so nothing stays.
    await this.inTransaction(async (client) => {
      const probe = `${PROBE_TASK_ID}${this.options.pod}`;
      // Rows below the TOAST threshold are stored as they are, uncompressed.
      await client.query(
        `INSERT INTO ${this.s}.task_events (task_id, version, event_json)
         SELECT $1, g, repeat(md5(g::text), 6) FROM generate_series(1, $2::int) g`,
        [probe, Math.ceil(PROBE_BYTES / 192)],
      );
      await client.query(`DELETE FROM ${this.s}.task_events WHERE task_id = $1`, [probe]);
    });
  }

  get shared(): SharedStore {
    return this;
  }

  get isOpen(): boolean {
    return this.pool !== undefined;
  }

  async open(): Promise<void> {
    if (this.pool !== undefined) return;
    this.pool = await openPool(this.options, (error) => this.reportBackground(error));
  }

  async close(): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) return;
    this.pool = undefined;
    const feed = this.feed;
    this.feed = undefined;
    await feed?.close();
    await pool.end();
  }

  private reportBackground(error: unknown): void {
    this.options.onBackgroundError?.(error);
  }

  private get db(): pg.Pool {
    if (this.pool === undefined) throw new Error('task store is not open');
    return this.pool;
  }

  /** One transaction; a commit shows that writes fit (again), an out-of-space failure that they do not. */
  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T | Rollback<T>>): Promise<T> {
    const client = await this.db.connect();
    return transaction(client, work, () => this.fullState.succeeded()).catch((error: unknown) => {
      throw this.fullState.failed(error);
    });
  }

  /** Read-check-write on one task, retried while other writers win the compare-and-swap. */
  private casWrite<T>(taskId: string, work: (client: pg.PoolClient) => Promise<T | Rollback<T>>): Promise<T> {
    return retryLostRaces(taskId, () => this.inTransaction(work));
  }

  private async readForWrite(client: pg.PoolClient, taskId: string): Promise<{ state: TaskState; version: number; contextId: string; resumes: number }> {
    const { rows } = await client.query<{ state: TaskState; version: number; context_id: string; resumes: number }>(
      `SELECT state, version, context_id, resumes FROM ${this.s}.tasks WHERE id = $1`,
      [taskId],
    );
    const row = rows[0];
    if (row === undefined) throw new Error(`task ${taskId} vanished from the store`);
    return { state: row.state, version: row.version, contextId: row.context_id, resumes: row.resumes };
  }

  /**
   * Stores the event under the version it produced, with its push deliveries
   * (none for a task without configs), and signals it; NOTIFY is delivered when
   * the transaction commits.
   */
  private async recordEvent(client: pg.PoolClient, taskId: string, version: number, event: TaskEvent): Promise<void> {
    await client.query(
      `WITH e AS (
         INSERT INTO ${this.s}.task_events (task_id, version, event_json) VALUES ($1, $2, $3) RETURNING task_id, version
       ), ${enqueueCte(this.s)}
       SELECT pg_notify($4, e.task_id || ' ' || e.version) FROM e`,
      [taskId, version, JSON.stringify(event), this.channel],
    );
    const through = pruneThrough(version, this.eventLog);
    if (through !== undefined) await client.query(`DELETE FROM ${this.s}.task_events WHERE task_id = $1 AND version <= $2`, [taskId, through]);
  }

  private async insertMessage(client: pg.PoolClient, taskId: string, key: string, message: Message): Promise<boolean> {
    const result = await client.query(
      `INSERT INTO ${this.s}.messages (task_id, message_key, json) VALUES ($1, $2, $3)
       ON CONFLICT (task_id, message_key) DO NOTHING`,
      [taskId, key, JSON.stringify(message)],
    );
    return result.rowCount === 1;
  }

  async createTask(task: Task, ownership: TaskOwnership): Promise<number> {
    const pushConfigs = ownership.pushConfigs ?? [];
    if (pushConfigs.length === 0) {
      await this.creates.write({ task, ownership });
      return 1;
    }
    // With its push configs and their first delivery: a transaction of its own.
    await this.inTransaction(async (client) => {
      await client.query(this.createTasksQuery([{ task, ownership }]));
      await this.outbox.saveWithTask(client, task.id, pushConfigs, { kind: 'task', task });
    });
    return 1;
  }

  private createTasksQuery(batch: readonly NewTask[]): pg.QueryConfig {
    return { name: 'kagent-create-tasks', text: this.sql.createTasks, values: createTasksParams(batch, this.options.leaseTtlMs) };
  }

  /** One statement, committed on its own: as durable as a transaction, in one round trip and without holding a connection between round trips. */
  private async statement<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    try {
      return await this.db.query<R>(query);
    } catch (error) {
      throw this.fullState.failed(error);
    }
  }

  private taskSelect(historyParam: string, includeArtifacts: boolean): string {
    // One statement reads the row, its history and its artifacts from one snapshot.
    return `SELECT t.id, t.context_id, t.state, t.status_json, t.metadata_json, t.updated_at, t.version, t.skill, t.pod, t.resumes,
        ARRAY(SELECT h.json FROM (
          SELECT m.json, m.n FROM ${this.s}.messages m WHERE m.task_id = t.id ORDER BY m.n DESC LIMIT ${historyParam}
        ) h ORDER BY h.n) AS history
        ${includeArtifacts ? `, ARRAY(SELECT a.json FROM ${this.s}.artifacts a WHERE a.task_id = t.id ORDER BY a.n) AS artifacts` : ''}
      FROM ${this.s}.tasks t`;
  }

  async getTask(caller: Caller, id: string, historyLength?: number): Promise<StoredTask | undefined> {
    // Named: every blocking send reads its task back, so the server plans this statement once per connection.
    const { rows } = await this.db.query<TaskContentRow>({
      name: 'kagent-get-task',
      text: `${this.taskSelect('$4::bigint', true)} WHERE t.id = $1 AND t.tenant = $2 AND t.principal = $3`,
      values: [id, caller.tenant, caller.principal, historyLength ?? null],
    });
    const row = rows[0];
    if (row === undefined) return undefined;
    return { task: assemble(row), version: row.version, skill: row.skill, resumes: row.resumes };
  }

  async getHead(caller: Caller, id: string): Promise<TaskHead | undefined> {
    const { rows } = await this.db.query<HeadRow>(
      `SELECT id, context_id, state, version, skill, pod FROM ${this.s}.tasks WHERE id = $1 AND tenant = $2 AND principal = $3`,
      [id, caller.tenant, caller.principal],
    );
    return rows[0] === undefined ? undefined : headOf(rows[0]);
  }

  async findTaskByRequestKey(caller: Caller, requestKey: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM ${this.s}.tasks WHERE tenant = $1 AND principal = $2 AND request_key = $3`,
      [caller.tenant, caller.principal, requestKey],
    );
    return rows[0]?.id;
  }

  async findTaskByAlias(caller: Caller, alias: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM ${this.s}.tasks WHERE tenant = $1 AND principal = $2 AND alias = $3`,
      [caller.tenant, caller.principal, alias],
    );
    return rows[0]?.id;
  }

  async hasMessage(taskId: string, messageKey: string): Promise<boolean> {
    const { rowCount } = await this.db.query(`SELECT 1 FROM ${this.s}.messages WHERE task_id = $1 AND message_key = $2`, [taskId, messageKey]);
    return rowCount !== null && rowCount > 0;
  }

  async taskMetadata(taskId: string): Promise<JsonObject | undefined> {
    const { rows } = await this.db.query<{ metadata_json: string | null }>(`SELECT metadata_json FROM ${this.s}.tasks WHERE id = $1`, [taskId]);
    const json = rows[0]?.metadata_json;
    return json == null ? undefined : (JSON.parse(json) as JsonObject);
  }

  async mergeTaskMetadata(taskId: string, patch: JsonObject): Promise<void> {
    // One statement: concurrent merges of other keys are not lost, and the task's version (its events) is untouched.
    await this.inTransaction(async (client) => {
      const { rowCount } = await client.query(
        `UPDATE ${this.s}.tasks SET metadata_json = (COALESCE(metadata_json::jsonb, '{}'::jsonb) || $2::jsonb)::text WHERE id = $1`,
        [taskId, JSON.stringify(patch)],
      );
      if (rowCount === 0) throw new Error(`task ${taskId} vanished from the store`);
    });
  }

  async transition(taskId: string, change: StatusChange): Promise<TransitionResult> {
    return this.casWrite<TransitionResult>(taskId, async (client) => {
      const current = await this.readForWrite(client, taskId);
      if (!change.allowedFrom.includes(current.state)) return new Rollback({ applied: false, reason: 'state', current: current.state });
      if (superseded(current, change.run, change.ifVersion)) return new Rollback({ applied: false, reason: 'superseded', current: current.state });
      const version = await this.writeStatus(client, taskId, current.version, change.status, change.resume === true);
      if (change.userMessage !== undefined) {
        const { message, key } = change.userMessage;
        if (!(await this.insertMessage(client, taskId, key, message))) return new Rollback({ applied: false, reason: 'duplicate-message' });
      }
      await this.recordStatus(client, taskId, current.contextId, version, change.status);
      return { applied: true, version, from: current.state };
    });
  }

  async putArtifact(
    taskId: string,
    artifact: Artifact,
    append: boolean,
    allowedFrom: readonly TaskState[],
    lastChunk = false,
    run?: number,
  ): Promise<WriteResult> {
    return this.casWrite<WriteResult>(taskId, async (client) => {
      const current = await this.readForWrite(client, taskId);
      if (!allowedFrom.includes(current.state)) return new Rollback({ applied: false, reason: 'state', current: current.state });
      if (superseded(current, run, undefined)) return new Rollback({ applied: false, reason: 'superseded', current: current.state });
      const version = await this.writeArtifact(client, taskId, current.contextId, current.version, artifact, append, lastChunk);
      return { applied: true, version, from: current.state };
    });
  }

  /**
   * The whole turn in one statement (run-changes.ts): one round trip and one
   * commit, shared with the other tasks' turns asked at the same time. Appending
   * to an artifact stored before the turn reads it first, and the statement then
   * applies only at the version it was read at.
   */
  async applyRunChanges(taskId: string, contextId: string, changes: readonly RunChange[], run: number): Promise<RunChangesResult> {
    if (changes.length === 0) return { versions: [], from: (await this.readState(taskId)).state };
    const bases = appendBases(changes);
    // A turn that needs no stored artifact first goes with the other tasks' turns of this turn of the event loop; a retry goes alone.
    let batched = bases.length === 0;
    return retryLostRaces(taskId, async () => {
      const together = batched;
      batched = false;
      const read = bases.length === 0 ? undefined : await this.readArtifacts(taskId, bases);
      const plan = planRunChanges(taskId, contextId, changes, read?.stored);
      const turn: PlannedTurn = { taskId, plan, run, expected: read?.version ?? null };
      const row = together ? await this.turns.write(turn) : (await this.writeTurns([turn]))[0]!;
      const outcome = runOutcome(taskId, plan, run, row);
      if (outcome === undefined) throw new LostRace();
      return outcome;
    });
  }

  /** Writes the turns in one statement; a row for each, in order. */
  private async writeTurns(turns: readonly PlannedTurn[]): Promise<RunChangesRow[]> {
    const params = runChangesParams(turns, this.lease, this.channel, this.eventLog);
    const { rows } = await this.statement<RunChangesRow>({ name: 'kagent-run-changes', text: this.sql.runChanges, values: params });
    this.fullState.succeeded();
    return rows;
  }

  private get lease(): { pod: string; ttlMs: number } {
    return { pod: this.options.pod, ttlMs: this.options.leaseTtlMs };
  }

  private async readState(taskId: string): Promise<{ state: TaskState }> {
    const { rows } = await this.db.query<{ state: TaskState }>(`SELECT state FROM ${this.s}.tasks WHERE id = $1`, [taskId]);
    if (rows[0] === undefined) throw new Error(`task ${taskId} vanished from the store`);
    return rows[0];
  }

  /** The task's version and, as of that version, the stored JSON of those of `artifactIds` it has. */
  private async readArtifacts(taskId: string, artifactIds: readonly string[]): Promise<{ version: number; stored: Map<string, string> }> {
    const { rows } = await this.db.query<{ version: number; artifact_id: string | null; json: string | null }>(
      `SELECT t.version, a.artifact_id, a.json FROM ${this.s}.tasks t
       LEFT JOIN ${this.s}.artifacts a ON a.task_id = t.id AND a.artifact_id = ANY($2::text[])
       WHERE t.id = $1`,
      [taskId, [...artifactIds]],
    );
    if (rows[0] === undefined) throw new Error(`task ${taskId} vanished from the store`);
    const stored = new Map<string, string>();
    for (const row of rows) if (row.artifact_id !== null && row.json !== null) stored.set(row.artifact_id, row.json);
    return { version: rows[0].version, stored };
  }

  /** Moves the task row to `status` from `version` (taking or dropping the lease with it); returns the new version. */
  private writeStatus(client: pg.PoolClient, taskId: string, version: number, status: TaskStatus, resume: boolean): Promise<number> {
    const leased = isActive(status.state);
    // Taking the row first serialises the writers of one task before any of them touches its messages.
    return compareAndSwap(
      client,
      `UPDATE ${this.s}.tasks SET state = $3, status_json = $4, updated_at = $5, version = version + 1,
         lease_pod = $6, lease_expires_at = ${NOW_MS} + $7::bigint, resumes = resumes + $8
       WHERE id = $1 AND version = $2 RETURNING version`,
      [
        taskId,
        version,
        status.state,
        JSON.stringify(status),
        Date.parse(status.timestamp),
        leased ? this.options.pod : null,
        leased ? this.options.leaseTtlMs : null,
        resume ? 1 : 0,
      ],
    );
  }

  /** The status's message joins the history; the status change is logged (and enqueued for push) under `version`. */
  private async recordStatus(client: pg.PoolClient, taskId: string, contextId: string, version: number, status: TaskStatus): Promise<void> {
    if (status.message !== undefined) await this.insertMessage(client, taskId, status.message.messageId, status.message);
    await this.recordEvent(client, taskId, version, statusEvent(taskId, contextId, status));
  }

  /** Stores an artifact (or appends its parts) from `version`, with its event; returns the new version. */
  private async writeArtifact(
    client: pg.PoolClient,
    taskId: string,
    contextId: string,
    version: number,
    artifact: Artifact,
    append: boolean,
    lastChunk: boolean,
  ): Promise<number> {
    const next = await compareAndSwap(client, `UPDATE ${this.s}.tasks SET version = version + 1 WHERE id = $1 AND version = $2 RETURNING version`, [taskId, version]);
    // The row is ours until commit, so the artifact read here is the latest one.
    const previous = append
      ? await client.query<{ json: string }>(`SELECT json FROM ${this.s}.artifacts WHERE task_id = $1 AND artifact_id = $2`, [taskId, artifact.artifactId])
      : undefined;
    const stored = mergedArtifact(previous?.rows[0]?.json, artifact, append);
    await client.query(
      `INSERT INTO ${this.s}.artifacts (task_id, artifact_id, json) VALUES ($1, $2, $3)
       ON CONFLICT (task_id, artifact_id) DO UPDATE SET json = excluded.json`,
      [taskId, artifact.artifactId, JSON.stringify(stored)],
    );
    await this.recordEvent(client, taskId, next, artifactEvent(taskId, contextId, artifact, append, lastChunk));
    return next;
  }

  async list(caller: Caller, query: ListTasksQuery, budget?: PageBudget): Promise<TaskPage> {
    const where = ['t.tenant = $1', 't.principal = $2'];
    const params: unknown[] = [caller.tenant, caller.principal];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.contextId !== undefined) where.push(`t.context_id = ${param(query.contextId)}`);
    if (query.state !== undefined) where.push(`t.state = ${param(query.state)}`);
    if (query.statusTimestampAfter !== undefined) where.push(`t.updated_at >= ${param(query.statusTimestampAfter)}::bigint`);
    const cursor = query.pageToken !== undefined && query.pageToken !== '' ? decodePageToken(query.pageToken) : undefined;
    const total = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${this.s}.tasks t WHERE ${where.join(' AND ')}`, params);

    const pageWhere = [...where];
    if (cursor !== undefined) {
      const at = param(cursor.updatedAt);
      pageWhere.push(`(t.updated_at < ${at}::bigint OR (t.updated_at = ${at}::bigint AND t.id < ${param(cursor.id)}))`);
    }
    const history = param(query.historyLength ?? null);
    const limit = param(query.pageSize + 1);
    const order = `ORDER BY t.updated_at DESC, t.id DESC LIMIT ${limit}`;
    if (budget !== undefined) return this.listWithin(budget, query, pageWhere, params, history, order, total.rows[0]!.n);
    const { rows } = await this.db.query<TaskContentRow>(`${this.taskSelect(`${history}::bigint`, query.includeArtifacts)} WHERE ${pageWhere.join(' AND ')} ${order}`, params);
    const page = rows.slice(0, query.pageSize);
    return {
      tasks: page.map(assemble),
      nextPageToken: nextPageToken(rows, page.length),
      pageSize: query.pageSize,
      totalSize: total.rows[0]!.n,
    };
  }

  /** Sizes first, content only for the tasks that fit: a page never loads more than its budget and one task. */
  private async listWithin(
    budget: PageBudget,
    query: ListTasksQuery,
    pageWhere: string[],
    params: unknown[],
    history: string,
    order: string,
    totalSize: number,
  ): Promise<TaskPage> {
    const sized = await this.db.query<{ id: string; updated_at: number; bytes: number }>(
      `SELECT t.id, t.updated_at, ${this.storedBytesSql(`${history}::bigint`, query.includeArtifacts)} AS bytes
       FROM ${this.s}.tasks t WHERE ${pageWhere.join(' AND ')} ${order}`,
      params,
    );
    const fitting = takeWithin(sized.rows.slice(0, query.pageSize), budget.maxBytes, (row) => Number(row.bytes)).map((row) => row.id);
    const content = await this.db.query<TaskContentRow>(`${this.taskSelect('$2::bigint', query.includeArtifacts)} WHERE t.id = ANY($1::text[])`, [
      fitting,
      query.historyLength ?? null,
    ]);
    const byId = new Map(content.rows.map((row) => [row.id, row]));
    return {
      // A task deleted between the two reads is left out; the page still ends where the sizes said.
      tasks: fitting.flatMap((id) => byId.get(id) ?? []).map(assemble),
      nextPageToken: nextPageToken(sized.rows, fitting.length),
      pageSize: query.pageSize,
      totalSize,
    };
  }

  /** Bytes of JSON a task's status, metadata, history (its last `historyParam` messages) and artifacts take. */
  private storedBytesSql(historyParam: string, includeArtifacts: boolean): string {
    return `(octet_length(t.status_json) + COALESCE(octet_length(t.metadata_json), 0)
        + COALESCE((SELECT SUM(octet_length(h.json)) FROM (
            SELECT m.json FROM ${this.s}.messages m WHERE m.task_id = t.id ORDER BY m.n DESC LIMIT ${historyParam}
          ) h), 0)
        ${includeArtifacts ? `+ COALESCE((SELECT SUM(octet_length(a.json)) FROM ${this.s}.artifacts a WHERE a.task_id = t.id), 0)` : ''})`;
  }

  async unfinished(pod: string): Promise<InterruptedTask[]> {
    // By the lease holder, not the creator: a task another pod took over or continued is that pod's to run.
    const { rows } = await this.db.query<LeasedRow>(
      `SELECT ${INTERRUPTED_COLUMNS} FROM ${this.s}.tasks WHERE lease_pod = $1 AND state IN ${ACTIVE_SQL}`,
      [pod],
    );
    return rows.map(interrupted);
  }

  async deleteTerminalBefore(cutoffMs: number, limit: number): Promise<Partial<Record<TaskState, number>>> {
    return this.inTransaction(async (client) => {
      // SKIP LOCKED: pods sweeping at the same time share the work instead of queueing on each other.
      const { rows } = await client.query<{ id: string; state: TaskState }>(
        `SELECT id, state FROM ${this.s}.tasks WHERE state IN ${TERMINAL_SQL} AND updated_at < $1
         ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoffMs, limit],
      );
      const deleted: Partial<Record<TaskState, number>> = {};
      // Nothing written is no sign that writes fit again.
      if (rows.length === 0) return new Rollback(deleted);
      const ids = rows.map((row) => row.id);
      for (const table of ['messages', 'artifacts', 'task_events', 'push_configs', 'push_outbox']) {
        await client.query(`DELETE FROM ${this.s}.${table} WHERE task_id = ANY($1::text[])`, [ids]);
      }
      await client.query(`DELETE FROM ${this.s}.tasks WHERE id = ANY($1::text[])`, [ids]);
      for (const { state } of rows) deleted[state] = (deleted[state] ?? 0) + 1;
      return deleted;
    });
  }

  async countByState(): Promise<Partial<Record<TaskState, number>>> {
    const { rows } = await this.db.query<{ state: TaskState; n: number }>(`SELECT state, COUNT(*) AS n FROM ${this.s}.tasks GROUP BY state`);
    return stateCounts(rows);
  }

  async eventsAfter(taskId: string, version: number, limit?: number): Promise<VersionedEvent[]> {
    const { rows } = await this.db.query<{ version: number; event_json: string }>(
      `SELECT version, event_json FROM ${this.s}.task_events WHERE task_id = $1 AND version > $2 ORDER BY version LIMIT $3`,
      [taskId, version, limit ?? null],
    );
    return rows.map((row) => ({ version: row.version, event: JSON.parse(row.event_json) as TaskEvent }));
  }

  async onTaskChanged(listener: (taskId: string, version: number) => void, onMissed?: () => void): Promise<() => Promise<void>> {
    if (this.pool === undefined) throw new Error('task store is not open');
    let feed = this.feed;
    if (feed === undefined) {
      feed = new ChangeFeed(connectionConfig(this.options, 'listen'), this.channel, (error) => this.reportBackground(error));
      this.feed = feed;
    }
    feed.add(listener, onMissed);
    try {
      await feed.ready;
    } catch (error) {
      feed.delete(listener);
      if (this.feed === feed) this.feed = undefined;
      throw new Error(`PostgreSQL store: cannot listen on ${describeTarget(this.options.connectionString)}: ${messageOf(error)}`, { cause: error });
    }
    const subscribed = feed;
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      subscribed.delete(listener);
      if (subscribed.size === 0 && this.feed === subscribed) {
        this.feed = undefined;
        await subscribed.close();
      }
    };
  }

  async renewLeases(pod: string, taskIds: readonly string[]): Promise<void> {
    const db = this.db;
    if (taskIds.length === 0) return;
    await db
      .query(
        `UPDATE ${this.s}.tasks SET lease_expires_at = ${NOW_MS} + $3::bigint
         WHERE id = ANY($2::text[]) AND lease_pod = $1 AND state IN ${ACTIVE_SQL}`,
        [pod, [...taskIds], this.options.leaseTtlMs],
      )
      .catch((error: unknown) => {
        throw this.fullState.failed(error);
      });
  }

  async releaseLeases(pod: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.query(
      `UPDATE ${this.s}.tasks SET lease_expires_at = ${NOW_MS} - 1
       WHERE id = ANY($2::text[]) AND lease_pod = $1 AND state IN ${ACTIVE_SQL}`,
      [pod, [...taskIds]],
    );
  }

  async expiredLeases(limit: number): Promise<InterruptedTask[]> {
    const { rows } = await this.db.query<LeasedRow>(
      `SELECT ${INTERRUPTED_COLUMNS} FROM ${this.s}.tasks
       WHERE state IN ${ACTIVE_SQL} AND lease_expires_at < ${NOW_MS}
       ORDER BY lease_expires_at, id LIMIT $1`,
      [limit],
    );
    return rows.map(interrupted);
  }
}

function interrupted(row: LeasedRow): InterruptedTask {
  return interruptedOf(row, row.lease_pod ?? row.pod);
}

function assemble(row: TaskContentRow): Task {
  return parseTask(row, { history: row.history ?? [], artifacts: row.artifacts ?? [] });
}
