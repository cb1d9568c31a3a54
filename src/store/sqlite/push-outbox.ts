import type Database from 'better-sqlite3';
import type { Caller, StreamItem } from '../../model/model.js';
import { deadLetterOf, deliveryError, deliveryOf } from '../push-store.js';
import type { DeadLetter, DeadLetterRow, Delivery, OutboxRow, PushStore, StoredPushConfig } from '../push-store.js';

/**
 * Push configs and the outbox in the per-pod SQLite store. `enqueue` runs
 * inside the store's write of the event (same transaction); the rest are
 * writes of their own. Only this pod delivers from this store.
 */
export class SqlitePushOutbox implements PushStore {
  private readonly stmts: ReturnType<typeof prepare>;

  constructor(
    db: Database.Database,
    private readonly write: <T>(job: () => T) => Promise<T>,
    /** What a read found, once every commit it may show is durable. */
    private readonly durable: <T>(value: T) => T | Promise<T>,
    /** Whether the store refuses writes for lack of room: deliveries wait meanwhile. */
    private readonly isFull: () => boolean,
  ) {
    this.stmts = prepare(db);
  }

  /** Inside a write: one indexed probe for a task without configs; one outbox row per config otherwise. */
  enqueue(taskId: string, item: StreamItem): void {
    if (this.hasConfigs(taskId)) this.enqueueForConfigs(taskId, item);
  }

  /** Whether the task has push configs: a write of several events asks once. */
  hasConfigs(taskId: string): boolean {
    return this.stmts.hasConfigs.get(taskId) !== undefined;
  }

  /** Inside a write, for a task `hasConfigs` said has some: one outbox row per config. */
  enqueueForConfigs(taskId: string, item: StreamItem): void {
    const now = Date.now();
    this.stmts.enqueue.run(JSON.stringify(item), now, now, taskId);
  }

  /** Inside the write that creates the task: its configs, and the task itself as their first delivery. */
  saveWithTask(taskId: string, configs: readonly StoredPushConfig[], item: StreamItem): void {
    for (const stored of configs) this.stmts.upsertConfig.run(taskId, stored.config.id, JSON.stringify(stored));
    this.enqueue(taskId, item);
  }

  savePushConfig(taskId: string, stored: StoredPushConfig, maxPerTask: number): Promise<boolean> {
    return this.write(() => {
      const others = (this.stmts.countOthers.get(taskId, stored.config.id) as { n: number }).n;
      if (others >= maxPerTask) return false;
      this.stmts.upsertConfig.run(taskId, stored.config.id, JSON.stringify(stored));
      return true;
    });
  }

  async pushConfig(taskId: string, configId?: string): Promise<StoredPushConfig | undefined> {
    const row = (configId === undefined ? this.stmts.firstConfig.get(taskId) : this.stmts.config.get(taskId, configId)) as { json: string } | undefined;
    return this.durable(row === undefined ? undefined : (JSON.parse(row.json) as StoredPushConfig));
  }

  async pushConfigs(taskId: string): Promise<StoredPushConfig[]> {
    return this.durable((this.stmts.configs.all(taskId) as { json: string }[]).map((row) => JSON.parse(row.json) as StoredPushConfig));
  }

  deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    return this.write(() => {
      this.stmts.deletePending.run(taskId, configId);
      return this.stmts.deleteConfig.run(taskId, configId).changes > 0;
    });
  }

  async claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]> {
    // A claim changes rows in place, which fits even in a full database, and the group commit would take that for room regained.
    if (this.isFull()) return [];
    return this.write(() => {
      const now = Date.now();
      const rows = this.stmts.due.all(now, limit) as OutboxRow[];
      for (const row of rows) this.stmts.claim.run(now + leaseMs, row.n);
      return rows.map((row) => deliveryOf({ ...row, attempts: row.attempts + 1 }));
    });
  }

  async delivered(id: number): Promise<void> {
    await this.write(() => this.stmts.delete.run(id));
  }

  async retryLater(id: number, delayMs: number, error: string): Promise<void> {
    await this.write(() => this.stmts.later.run(Date.now() + delayMs, deliveryError(error), id));
  }

  async deadLetter(id: number, error: string): Promise<void> {
    await this.write(() => this.stmts.dead.run(Date.now(), deliveryError(error), id));
  }

  async deadLetters(caller: Caller, limit: number): Promise<DeadLetter[]> {
    return this.durable((this.stmts.deadLetters.all(caller.tenant, caller.principal, limit) as DeadLetterRow[]).map(deadLetterOf));
  }

  retryDeadLetter(caller: Caller, id: number): Promise<boolean> {
    return this.write(() => {
      const now = Date.now();
      return this.stmts.revive.run(now, now, id, caller.tenant, caller.principal).changes > 0;
    });
  }
}

function prepare(db: Database.Database) {
  const pending = `o.dead_at IS NULL`;
  return {
    hasConfigs: db.prepare(`SELECT 1 FROM push_configs WHERE task_id = ? LIMIT 1`),
    enqueue: db.prepare(
      `INSERT INTO push_outbox (task_id, config_id, payload_json, attempts, next_attempt_at, created_at)
       SELECT task_id, config_id, ?, 0, ?, ? FROM push_configs WHERE task_id = ? ORDER BY config_id`,
    ),
    upsertConfig: db.prepare(
      `INSERT INTO push_configs (task_id, config_id, json) VALUES (?, ?, ?)
       ON CONFLICT (task_id, config_id) DO UPDATE SET json = excluded.json`,
    ),
    countOthers: db.prepare(`SELECT COUNT(*) AS n FROM push_configs WHERE task_id = ? AND config_id <> ?`),
    config: db.prepare(`SELECT json FROM push_configs WHERE task_id = ? AND config_id = ?`),
    firstConfig: db.prepare(`SELECT json FROM push_configs WHERE task_id = ? ORDER BY config_id LIMIT 1`),
    configs: db.prepare(`SELECT json FROM push_configs WHERE task_id = ? ORDER BY config_id`),
    deleteConfig: db.prepare(`DELETE FROM push_configs WHERE task_id = ? AND config_id = ?`),
    deletePending: db.prepare(`DELETE FROM push_outbox WHERE task_id = ? AND config_id = ? AND dead_at IS NULL`),
    // The oldest pending row of each task and config, if it is due.
    due: db.prepare(
      `SELECT o.n, o.task_id, o.config_id, o.payload_json, o.attempts, o.created_at, c.json AS config_json
       FROM push_outbox o JOIN push_configs c ON c.task_id = o.task_id AND c.config_id = o.config_id
       WHERE ${pending} AND o.next_attempt_at <= ?
         AND NOT EXISTS (SELECT 1 FROM push_outbox p WHERE p.task_id = o.task_id AND p.config_id = o.config_id AND p.dead_at IS NULL AND p.n < o.n)
       ORDER BY o.n LIMIT ?`,
    ),
    claim: db.prepare(`UPDATE push_outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE n = ?`),
    delete: db.prepare(`DELETE FROM push_outbox WHERE n = ?`),
    later: db.prepare(`UPDATE push_outbox SET next_attempt_at = ?, last_error = ? WHERE n = ?`),
    dead: db.prepare(`UPDATE push_outbox SET dead_at = ?, last_error = ? WHERE n = ?`),
    deadLetters: db.prepare(
      `SELECT o.n, o.task_id, o.config_id, o.attempts, o.created_at, o.dead_at, o.last_error, c.json AS config_json
       FROM push_outbox o JOIN tasks t ON t.id = o.task_id
       LEFT JOIN push_configs c ON c.task_id = o.task_id AND c.config_id = o.config_id
       WHERE o.dead_at IS NOT NULL AND t.tenant = ? AND t.principal = ? ORDER BY o.n LIMIT ?`,
    ),
    revive: db.prepare(
      `UPDATE push_outbox SET dead_at = NULL, attempts = 0, next_attempt_at = ?, created_at = ?, last_error = NULL
       WHERE n = ? AND dead_at IS NOT NULL
         AND task_id IN (SELECT id FROM tasks WHERE tenant = ? AND principal = ?)
         AND EXISTS (SELECT 1 FROM push_configs c WHERE c.task_id = push_outbox.task_id AND c.config_id = push_outbox.config_id)`,
    ),
  };
}
