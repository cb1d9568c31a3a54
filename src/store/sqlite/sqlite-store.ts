import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { isActive } from '../../model/lifecycle.js';
import type { Artifact, Caller, JsonObject, ListTasksQuery, Task, TaskEvent, TaskPage, TaskState, TaskStatus, VersionedEvent } from '../../model/model.js';
import { artifactEvent, eventFromPayload, eventLogBound, eventPayload, pruneThrough, statusEvent } from '../event-log.js';
import type { EventLogBound } from '../event-log.js';
import { FullState, isOutOfSpace, PROBE_BYTES, PROBE_TASK_ID } from '../full-store.js';
import { decodePageToken } from '../../model/page-token.js';
import { nextPageToken, takeWithin } from '../paging.js';
import { headOf, interruptedOf, keyedHistory, mergedArtifact, parseTask, stateCounts, storedBytes } from '../rows.js';
import type { InterruptedRow, StoredJson, TaskRow } from '../rows.js';
import { ACTIVE_CONDITION, TERMINAL_CONDITION } from '../state-sql.js';
import { superseded } from '../task-store.js';
import type {
  InterruptedTask,
  PageBudget,
  RunChange,
  RunChangesResult,
  StatusChange,
  StoredTask,
  TaskHead,
  TaskOwnership,
  TaskStore,
  TransitionResult,
  WriteResult,
} from '../task-store.js';
import type { PushStore } from '../push-store.js';
import { GroupCommit } from './group-commit.js';
import { SqlitePushOutbox } from './push-outbox.js';
import { applyMigrations } from './migrations.js';
import { WAL_SIZE_LIMIT_BYTES, WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.js';
import { WalSync } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' for a throwaway store. */
  path: string;
  /** 'full': a write is acknowledged once its commit is synced to disk (survives power loss); 'normal' survives process crashes only. */
  synchronous: 'full' | 'normal';
  /** Most pages the database may hold (PRAGMA max_page_count, set on every open: SQLite does not keep it). */
  maxPages?: number;
  /** Called for every write refused because the database or its disk is full. */
  onFull?: () => void;
  /** The newest events of each task its event log keeps (default store/event-log.ts DEFAULT_EVENTS_KEPT). */
  eventsKept?: number;
  /** Called when a background checkpoint of the WAL fails (it is tried again; commits checkpoint by themselves past a size). */
  onCheckpointFailed?: (message: string) => void;
}

/** Errors a checkpoint on a full or failing disk may raise. */
function isOutOfSpaceOrIo(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return isOutOfSpace(error) || (typeof code === 'string' && code.startsWith('SQLITE_IOERR'));
}

export class SqliteTaskStore implements TaskStore {
  readonly kind = 'sqlite';
  private db: Database.Database | undefined;
  private stmts!: ReturnType<SqliteTaskStore['prepare']>;
  private commits: GroupCommit | undefined;
  private outbox: SqlitePushOutbox | undefined;
  private checkpointer: WalCheckpointer | undefined;
  private walSync: WalSync | undefined;
  private readonly fullState: FullState;
  private readonly eventLog: EventLogBound;

  constructor(private readonly options: SqliteStoreOptions) {
    this.fullState = new FullState(options.onFull);
    this.eventLog = eventLogBound(options.eventsKept, 'SQLite store');
  }

  /** False once closed, and once a failed sync has made the store refuse writes. */
  get isOpen(): boolean {
    return this.db?.open === true && this.commits?.broken !== true;
  }

  get isFull(): boolean {
    return this.fullState.isFull;
  }

  async probeWrite(): Promise<void> {
    // Committed, so the write reaches the disk as real ones do; deleted in the same transaction, so nothing stays.
    await this.write(() => {
      this.stmts.insertMessage.run(PROBE_TASK_ID, 'probe', 'x'.repeat(PROBE_BYTES));
      this.stmts.deleteMessages.run(PROBE_TASK_ID);
    });
    this.fullState.succeeded();
  }

  async open(): Promise<void> {
    if (this.options.path !== ':memory:') mkdirSync(dirname(this.options.path), { recursive: true });
    const db = new Database(this.options.path);
    db.pragma('journal_mode = WAL');
    // Also for 'full': then WalSync syncs the WAL, off the event loop, before a write is acknowledged.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Each write of a batch runs in a savepoint, whose journal of undo pages would otherwise
    // spill to a temporary file (created, written page by page and deleted per batch) once past 64 KiB.
    db.pragma('temp_store = MEMORY');
    if (this.options.maxPages !== undefined) db.pragma(`max_page_count = ${this.options.maxPages}`);
    try {
      applyMigrations(db, this.options.path);
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    if (this.options.path !== ':memory:') {
      db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      const synchronous = this.options.synchronous === 'full' ? 'FULL' : 'NORMAL';
      this.checkpointer = new WalCheckpointer(this.options.path, synchronous, (message) => this.options.onCheckpointFailed?.(message));
      if (this.options.synchronous === 'full') this.walSync = new WalSync(this.options.path);
    }
    this.stmts = this.prepare(db);
    this.commits = new GroupCommit(db, this.fullState, this.walSync?.sync);
    this.outbox = new SqlitePushOutbox(
      db,
      (job) => this.write(job),
      (value) => this.durable(value),
      () => this.isFull,
    );
  }

  get push(): PushStore {
    return this.pushOutbox;
  }

  private get pushOutbox(): SqlitePushOutbox {
    if (this.outbox === undefined) throw new Error('task store is not open');
    return this.outbox;
  }

  async close(): Promise<void> {
    if (!this.db?.open) return;
    await this.commits?.settled();
    this.walSync?.close();
    this.walSync = undefined;
    await this.checkpointer?.stop();
    this.checkpointer = undefined;
    try {
      // Fold the WAL back into the main file so the next start opens fast.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      // A full disk can refuse the checkpoint; the WAL keeps every commit and the next open replays it.
      if (!isOutOfSpaceOrIo(error)) throw error;
    }
    this.db.close();
  }

  private prepare(db: Database.Database) {
    return {
      insertTask: db.prepare(
        `INSERT INTO tasks (id, tenant, principal, pod, skill, context_id, state, status_json, metadata_json,
           request_key, created_at, updated_at, version, alias)
         VALUES (@id, @tenant, @principal, @pod, @skill, @contextId, @state, @status, @metadata,
           @requestKey, @now, @now, 1, @alias)`,
      ),
      insertMessage: db.prepare(`INSERT OR IGNORE INTO messages (task_id, message_key, json) VALUES (?, ?, ?)`),
      getRow: db.prepare(
        `SELECT id, context_id, state, status_json, metadata_json, updated_at, version, skill, pod, resumes
         FROM tasks WHERE id = ? AND tenant = ? AND principal = ?`,
      ),
      getState: db.prepare(`SELECT state, version, resumes, context_id FROM tasks WHERE id = ?`),
      getMetadata: db.prepare(`SELECT metadata_json FROM tasks WHERE id = ?`),
      setMetadata: db.prepare(`UPDATE tasks SET metadata_json = ? WHERE id = ?`),
      historyAll: db.prepare(`SELECT json FROM messages WHERE task_id = ? ORDER BY n`),
      historyLast: db.prepare(`SELECT json FROM messages WHERE task_id = ? ORDER BY n DESC LIMIT ?`),
      artifacts: db.prepare(`SELECT json FROM artifacts WHERE task_id = ? ORDER BY n`),
      artifact: db.prepare(`SELECT json FROM artifacts WHERE task_id = ? AND artifact_id = ?`),
      upsertArtifact: db.prepare(
        `INSERT INTO artifacts (task_id, artifact_id, json) VALUES (?, ?, ?)
         ON CONFLICT (task_id, artifact_id) DO UPDATE SET json = excluded.json`,
      ),
      byRequestKey: db.prepare(`SELECT id FROM tasks WHERE tenant = ? AND principal = ? AND request_key = ?`),
      byAlias: db.prepare(`SELECT id FROM tasks WHERE tenant = ? AND principal = ? AND alias = ?`),
      hasMessage: db.prepare(`SELECT 1 FROM messages WHERE task_id = ? AND message_key = ?`),
      // The new version is set, not returned: SQLite gathers a RETURNING statement's rows in a temporary b-tree first.
      setStatus: db.prepare(
        `UPDATE tasks SET state = ?, status_json = ?, updated_at = ?, version = ?, resumes = resumes + ?
         WHERE id = ? AND version = ?`,
      ),
      setVersion: db.prepare(`UPDATE tasks SET version = ? WHERE id = ? AND version = ?`),
      unfinished: db.prepare(
        `SELECT id, context_id, state, version, skill, pod, tenant, principal, resumes FROM tasks
         WHERE pod = ? AND ${ACTIVE_CONDITION}`,
      ),
      expired: db.prepare(
        `SELECT id, state FROM tasks WHERE ${TERMINAL_CONDITION} AND updated_at < ? ORDER BY updated_at LIMIT ?`,
      ),
      deleteTask: db.prepare(`DELETE FROM tasks WHERE id = ?`),
      deleteMessages: db.prepare(`DELETE FROM messages WHERE task_id = ?`),
      deleteArtifacts: db.prepare(`DELETE FROM artifacts WHERE task_id = ?`),
      deletePushConfigs: db.prepare(`DELETE FROM push_configs WHERE task_id = ?`),
      deleteOutbox: db.prepare(`DELETE FROM push_outbox WHERE task_id = ?`),
      countByState: db.prepare(`SELECT state, COUNT(*) AS n FROM tasks GROUP BY state`),
      insertEvent: db.prepare(`INSERT INTO task_events (task_id, version, event_json) VALUES (?, ?, ?)`),
      pruneEvents: db.prepare(`DELETE FROM task_events WHERE task_id = ? AND version <= ?`),
      eventsAfter: db.prepare(
        `SELECT e.version, e.event_json, t.context_id FROM task_events e JOIN tasks t ON t.id = e.task_id
         WHERE e.task_id = ? AND e.version > ? ORDER BY e.version LIMIT ?`,
      ),
      deleteEvents: db.prepare(`DELETE FROM task_events WHERE task_id = ?`),
    };
  }

  /** Durable when its promise resolves: writes of one turn of the event loop commit together. */
  private write<T>(job: () => T): Promise<T> {
    // Not isOpen: a store whose sync failed refuses with the failure, which run() gives.
    if (this.commits === undefined || this.db?.open !== true) return Promise.reject(new Error('task store is not open'));
    return this.commits.run(job);
  }

  /** What a read found, once nothing it may show can still be undone by a power loss (see GroupCommit). */
  private durable<T>(value: T): T | Promise<T> {
    if (this.commits === undefined) return Promise.reject(new Error('task store is not open'));
    return this.commits.durable(value);
  }

  private get database(): Database.Database {
    if (!this.db?.open) throw new Error('task store is not open');
    return this.db;
  }

  async createTask(task: Task, ownership: TaskOwnership): Promise<number> {
    await this.write(() => {
      this.stmts.insertTask.run({
        id: task.id,
        tenant: ownership.caller.tenant,
        principal: ownership.caller.principal,
        pod: ownership.pod,
        skill: ownership.skill,
        contextId: task.contextId,
        state: task.status.state,
        status: JSON.stringify(task.status),
        metadata: task.metadata === undefined ? null : JSON.stringify(task.metadata),
        requestKey: ownership.requestKey,
        now: Date.parse(task.status.timestamp),
        alias: ownership.alias ?? null,
      });
      for (const { key, message } of keyedHistory(task, ownership.requestKey)) {
        this.stmts.insertMessage.run(task.id, key, JSON.stringify(message));
      }
      if (ownership.pushConfigs !== undefined && ownership.pushConfigs.length > 0) {
        this.pushOutbox.saveWithTask(task.id, ownership.pushConfigs, { kind: 'task', task });
      }
    });
    return 1;
  }

  async getTask(caller: Caller, id: string, historyLength?: number): Promise<StoredTask | undefined> {
    const row = this.stmts.getRow.get(id, caller.tenant, caller.principal) as TaskRow | undefined;
    return this.durable(row === undefined ? undefined : { task: this.assemble(row, historyLength, true), version: row.version, skill: row.skill, resumes: row.resumes });
  }

  private assemble(row: TaskRow, historyLength: number | undefined, includeArtifacts: boolean): Task {
    return parseTask(row, this.readStored(row, historyLength, includeArtifacts));
  }

  /** A task's history and artifacts as stored (JSON text): their size is known before anything is parsed. */
  private readStored(row: TaskRow, historyLength: number | undefined, includeArtifacts: boolean): StoredJson {
    const artifacts = includeArtifacts ? (this.stmts.artifacts.all(row.id) as { json: string }[]).map((r) => r.json) : [];
    if (historyLength === 0) return { history: [], artifacts };
    if (historyLength === undefined) return { history: (this.stmts.historyAll.all(row.id) as { json: string }[]).map((r) => r.json), artifacts };
    const rows = this.stmts.historyLast.all(row.id, historyLength) as { json: string }[];
    return { history: rows.reverse().map((r) => r.json), artifacts };
  }

  async getHead(caller: Caller, id: string): Promise<TaskHead | undefined> {
    const row = this.stmts.getRow.get(id, caller.tenant, caller.principal) as TaskRow | undefined;
    return this.durable(row === undefined ? undefined : headOf(row));
  }

  async findTaskByRequestKey(caller: Caller, requestKey: string): Promise<string | undefined> {
    const row = this.stmts.byRequestKey.get(caller.tenant, caller.principal, requestKey) as { id: string } | undefined;
    return this.durable(row?.id);
  }

  async findTaskByAlias(caller: Caller, alias: string): Promise<string | undefined> {
    const row = this.stmts.byAlias.get(caller.tenant, caller.principal, alias) as { id: string } | undefined;
    return this.durable(row?.id);
  }

  async hasMessage(taskId: string, messageKey: string): Promise<boolean> {
    return this.durable(this.stmts.hasMessage.get(taskId, messageKey) !== undefined);
  }

  async taskMetadata(taskId: string): Promise<JsonObject | undefined> {
    const row = this.stmts.getMetadata.get(taskId) as { metadata_json: string | null } | undefined;
    return this.durable(row?.metadata_json == null ? undefined : (JSON.parse(row.metadata_json) as JsonObject));
  }

  async mergeTaskMetadata(taskId: string, patch: JsonObject): Promise<void> {
    await this.write(() => {
      const row = this.stmts.getMetadata.get(taskId) as { metadata_json: string | null } | undefined;
      if (row === undefined) throw new Error(`task ${taskId} vanished from the store`);
      const merged = { ...(row.metadata_json === null ? {} : (JSON.parse(row.metadata_json) as JsonObject)), ...patch };
      this.stmts.setMetadata.run(JSON.stringify(merged), taskId);
    });
  }

  async transition(taskId: string, change: StatusChange): Promise<TransitionResult> {
    return this.write((): TransitionResult => {
      const current = this.stmts.getState.get(taskId) as StateRow | undefined;
      if (current === undefined) throw new Error(`task ${taskId} vanished from the store`);
      if (!change.allowedFrom.includes(current.state)) {
        return { applied: false, reason: 'state', current: current.state };
      }
      if (superseded(current, change.run, change.ifVersion)) return { applied: false, reason: 'superseded', current: current.state };
      if (change.userMessage !== undefined) {
        const { message, key } = change.userMessage;
        const inserted = this.stmts.insertMessage.run(taskId, key, JSON.stringify(message));
        if (inserted.changes === 0) return { applied: false, reason: 'duplicate-message' };
      }
      const statusMessage = change.status.message;
      if (statusMessage !== undefined) {
        this.stmts.insertMessage.run(taskId, statusMessage.messageId, JSON.stringify(statusMessage));
      }
      const version = current.version + 1;
      this.stmts.setStatus.run(
        change.status.state,
        JSON.stringify(change.status),
        Date.parse(change.status.timestamp),
        version,
        change.resume === true ? 1 : 0,
        taskId,
        current.version,
      );
      const status = statusEvent(taskId, current.context_id, change.status);
      this.logEvent(taskId, version, status);
      this.pushOutbox.enqueue(taskId, status);
      return { applied: true, version, from: current.state };
    });
  }

  /** Logs the event of a write in that write's transaction, and now and then lets the task's oldest events go. */
  private logEvent(taskId: string, version: number, event: TaskEvent): void {
    this.stmts.insertEvent.run(taskId, version, eventPayload(event));
    const through = pruneThrough(version, this.eventLog);
    if (through !== undefined) this.stmts.pruneEvents.run(taskId, through);
  }

  async eventsAfter(taskId: string, version: number, limit = -1): Promise<VersionedEvent[]> {
    // LIMIT -1 is SQLite's "no limit".
    const rows = this.stmts.eventsAfter.all(taskId, version, limit) as { version: number; event_json: string; context_id: string }[];
    return this.durable(rows.map((row) => ({ version: row.version, event: eventFromPayload(row.event_json, taskId, row.context_id) })));
  }

  async putArtifact(
    taskId: string,
    artifact: Artifact,
    append: boolean,
    allowedFrom: readonly TaskState[],
    lastChunk = false,
    run?: number,
  ): Promise<WriteResult> {
    return this.write((): WriteResult => {
      const current = this.stmts.getState.get(taskId) as StateRow | undefined;
      if (current === undefined) throw new Error(`task ${taskId} vanished from the store`);
      if (!allowedFrom.includes(current.state)) return { applied: false, reason: 'state', current: current.state };
      if (superseded(current, run, undefined)) return { applied: false, reason: 'superseded', current: current.state };
      const previous = append ? (this.stmts.artifact.get(taskId, artifact.artifactId) as { json: string } | undefined) : undefined;
      const stored = mergedArtifact(previous?.json, artifact, append);
      this.stmts.upsertArtifact.run(taskId, artifact.artifactId, JSON.stringify(stored));
      const version = current.version + 1;
      this.stmts.setVersion.run(version, taskId, current.version);
      const event = artifactEvent(taskId, current.context_id, artifact, append, lastChunk);
      this.logEvent(taskId, version, event);
      this.pushOutbox.enqueue(taskId, event);
      return { applied: true, version, from: current.state };
    });
  }

  // The task row is read here anyway (in the same transaction), and its context with it.
  async applyRunChanges(taskId: string, _contextId: string, changes: readonly RunChange[], run: number): Promise<RunChangesResult> {
    return this.write((): RunChangesResult => {
      const current = this.stmts.getState.get(taskId) as StateRow | undefined;
      if (current === undefined) throw new Error(`task ${taskId} vanished from the store`);
      const versions: number[] = [];
      if (superseded(current, run, undefined)) return { versions, from: current.state, refused: { applied: false, reason: 'superseded', current: current.state } };
      let state = current.state;
      let version = current.version;
      let status: TaskStatus | undefined;
      const pushing = this.pushOutbox.hasConfigs(taskId);
      let refused: RunChangesResult['refused'];
      for (const change of changes) {
        if (!isActive(state)) {
          refused = { applied: false, reason: 'state', current: state };
          break;
        }
        version++;
        let event: TaskEvent;
        if (change.kind === 'status') {
          const statusMessage = change.status.message;
          if (statusMessage !== undefined) this.stmts.insertMessage.run(taskId, statusMessage.messageId, JSON.stringify(statusMessage));
          status = change.status;
          state = status.state;
          event = statusEvent(taskId, current.context_id, status);
        } else {
          const { artifact, append, lastChunk } = change;
          const previous = append ? (this.stmts.artifact.get(taskId, artifact.artifactId) as { json: string } | undefined) : undefined;
          this.stmts.upsertArtifact.run(taskId, artifact.artifactId, JSON.stringify(mergedArtifact(previous?.json, artifact, append)));
          event = artifactEvent(taskId, current.context_id, artifact, append, lastChunk);
        }
        if (pushing) this.pushOutbox.enqueueForConfigs(taskId, event);
        this.logEvent(taskId, version, event);
        versions.push(version);
      }
      // The task row is updated once, however many changes the run made: one index update, not one per change.
      if (status !== undefined) {
        this.stmts.setStatus.run(state, JSON.stringify(status), Date.parse(status.timestamp), version, 0, taskId, current.version);
      } else if (versions.length > 0) {
        this.stmts.setVersion.run(version, taskId, current.version);
      }
      return { versions, from: current.state, ...(refused === undefined ? {} : { refused }) };
    });
  }

  async list(caller: Caller, query: ListTasksQuery, budget?: PageBudget): Promise<TaskPage> {
    const where = ['tenant = @tenant', 'principal = @principal'];
    const params: Record<string, string | number> = { tenant: caller.tenant, principal: caller.principal };
    if (query.contextId !== undefined) {
      where.push('context_id = @contextId');
      params.contextId = query.contextId;
    }
    if (query.state !== undefined) {
      where.push('state = @state');
      params.state = query.state;
    }
    if (query.statusTimestampAfter !== undefined) {
      where.push('updated_at >= @after');
      params.after = query.statusTimestampAfter;
    }
    const filter = where.join(' AND ');
    const total = this.database.prepare(`SELECT COUNT(*) AS n FROM tasks WHERE ${filter}`).get(params) as { n: number };
    const pageWhere = [...where];
    if (query.pageToken !== undefined && query.pageToken !== '') {
      const cursor = decodePageToken(query.pageToken);
      pageWhere.push('(updated_at < @cursorAt OR (updated_at = @cursorAt AND id < @cursorId))');
      params.cursorAt = cursor.updatedAt;
      params.cursorId = cursor.id;
    }
    params.limit = query.pageSize + 1;
    const rows = this.database
      .prepare(
        `SELECT id, context_id, state, status_json, metadata_json, updated_at, version, skill, pod, resumes FROM tasks
         WHERE ${pageWhere.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT @limit`,
      )
      .all(params) as TaskRow[];
    // Tasks are read one at a time, and reading stops before the one that would pass the byte budget.
    const page = takeWithin(this.readEach(rows.slice(0, query.pageSize), query), budget?.maxBytes, ({ row, json }) => storedBytes(row, json));
    return this.durable({
      tasks: page.map(({ row, json }) => parseTask(row, json)),
      nextPageToken: nextPageToken(rows, page.length),
      pageSize: query.pageSize,
      totalSize: total.n,
    });
  }

  private *readEach(rows: readonly TaskRow[], query: ListTasksQuery): Generator<{ row: TaskRow; json: StoredJson }> {
    for (const row of rows) yield { row, json: this.readStored(row, query.historyLength, query.includeArtifacts) };
  }

  async unfinished(pod: string): Promise<InterruptedTask[]> {
    const rows = this.stmts.unfinished.all(pod) as InterruptedRow[];
    return this.durable(rows.map((row) => interruptedOf(row, row.pod)));
  }

  async deleteTerminalBefore(cutoffMs: number, limit: number): Promise<Partial<Record<TaskState, number>>> {
    return this.write(() => {
      const rows = this.stmts.expired.all(cutoffMs, limit) as { id: string; state: TaskState }[];
      const deleted: Partial<Record<TaskState, number>> = {};
      for (const { id, state } of rows) {
        deleted[state] = (deleted[state] ?? 0) + 1;
        this.stmts.deleteMessages.run(id);
        this.stmts.deleteArtifacts.run(id);
        this.stmts.deletePushConfigs.run(id);
        this.stmts.deleteOutbox.run(id);
        this.stmts.deleteEvents.run(id);
        this.stmts.deleteTask.run(id);
      }
      return deleted;
    });
  }

  async countByState(): Promise<Partial<Record<TaskState, number>>> {
    return this.durable(stateCounts(this.stmts.countByState.all() as { state: TaskState; n: number }[]));
  }
}

interface StateRow {
  state: TaskState;
  version: number;
  resumes: number;
  context_id: string;
}
