import type pg from 'pg';
import type { Caller, StreamItem } from '../../model/model.js';
import { deadLetterOf, deliveryError, deliveryOf } from '../push-store.js';
import type { DeadLetter, DeadLetterRow, Delivery, OutboxRow, PushStore, StoredPushConfig } from '../push-store.js';
import type { Rollback } from './transactions.js';

/** Times from the database's clock: pods with skewed clocks agree on when a delivery is due and when a claim lapses. */
export const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * The outbox rows of an event, as a data-modifying CTE for the statement that
 * stores the event (the parameters named hold the task id and the event JSON):
 * one statement and round trip either way, and no row for a task without configs.
 */
export function enqueueCte(s: string, taskParam = '$1', payloadParam = '$3'): string {
  return `o AS (
    INSERT INTO ${s}.push_outbox (task_id, config_id, payload_json, attempts, next_attempt_at, created_at)
    SELECT c.task_id, c.config_id, ${payloadParam}, 0, ${NOW_MS}, ${NOW_MS} FROM ${s}.push_configs c WHERE c.task_id = ${taskParam} ORDER BY c.config_id
  )`;
}

type InTransaction = <T>(work: (client: pg.PoolClient) => Promise<T | Rollback<T>>) => Promise<T>;

/**
 * Push configs and the outbox in the shared PostgreSQL store. Several pods
 * deliver from it: a claim takes due rows with FOR UPDATE SKIP LOCKED and
 * pushes their next_attempt_at past the delivery timeout (a lease), so each
 * delivery goes out from one pod; a pod that dies mid-delivery lets the lease
 * lapse and another pod sends it again (receivers de-duplicate by delivery id).
 */
export class PostgresPushOutbox implements PushStore {
  constructor(
    private readonly s: string,
    private readonly db: () => pg.Pool,
    private readonly inTransaction: InTransaction,
  ) {}

  /** Inside the transaction that creates the task: its configs, and the task itself as their first delivery. */
  async saveWithTask(client: pg.PoolClient, taskId: string, configs: readonly StoredPushConfig[], item: StreamItem): Promise<void> {
    for (const stored of configs) await this.upsert(client, taskId, stored);
    await client.query(`WITH ${enqueueCte(this.s, '$1', '$2')} SELECT 1`, [taskId, JSON.stringify(item)]);
  }

  private async upsert(client: pg.PoolClient, taskId: string, stored: StoredPushConfig): Promise<void> {
    await client.query(
      `INSERT INTO ${this.s}.push_configs (task_id, config_id, json) VALUES ($1, $2, $3)
       ON CONFLICT (task_id, config_id) DO UPDATE SET json = excluded.json`,
      [taskId, stored.config.id, JSON.stringify(stored)],
    );
  }

  savePushConfig(taskId: string, stored: StoredPushConfig, maxPerTask: number): Promise<boolean> {
    return this.inTransaction(async (client) => {
      // The task row, locked: two creates at once cannot both pass the count.
      await client.query(`SELECT 1 FROM ${this.s}.tasks WHERE id = $1 FOR UPDATE`, [taskId]);
      const others = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${this.s}.push_configs WHERE task_id = $1 AND config_id <> $2`, [
        taskId,
        stored.config.id,
      ]);
      if (Number(others.rows[0]!.n) >= maxPerTask) return false;
      await this.upsert(client, taskId, stored);
      return true;
    });
  }

  async pushConfig(taskId: string, configId?: string): Promise<StoredPushConfig | undefined> {
    const { rows } =
      configId === undefined
        ? await this.db().query<{ json: string }>(`SELECT json FROM ${this.s}.push_configs WHERE task_id = $1 ORDER BY config_id LIMIT 1`, [taskId])
        : await this.db().query<{ json: string }>(`SELECT json FROM ${this.s}.push_configs WHERE task_id = $1 AND config_id = $2`, [taskId, configId]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].json) as StoredPushConfig);
  }

  async pushConfigs(taskId: string): Promise<StoredPushConfig[]> {
    const { rows } = await this.db().query<{ json: string }>(`SELECT json FROM ${this.s}.push_configs WHERE task_id = $1 ORDER BY config_id`, [taskId]);
    return rows.map((row) => JSON.parse(row.json) as StoredPushConfig);
  }

  deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    return this.inTransaction(async (client) => {
      await client.query(`DELETE FROM ${this.s}.push_outbox WHERE task_id = $1 AND config_id = $2 AND dead_at IS NULL`, [taskId, configId]);
      const { rowCount } = await client.query(`DELETE FROM ${this.s}.push_configs WHERE task_id = $1 AND config_id = $2`, [taskId, configId]);
      return (rowCount ?? 0) > 0;
    });
  }

  async claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]> {
    const { rows } = await this.db().query<OutboxRow>(
      `WITH picked AS (
         SELECT o.n FROM ${this.s}.push_outbox o
         WHERE o.dead_at IS NULL AND o.next_attempt_at <= ${NOW_MS}
           AND NOT EXISTS (SELECT 1 FROM ${this.s}.push_outbox p
                           WHERE p.task_id = o.task_id AND p.config_id = o.config_id AND p.dead_at IS NULL AND p.n < o.n)
         ORDER BY o.n LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       UPDATE ${this.s}.push_outbox o SET attempts = o.attempts + 1, next_attempt_at = ${NOW_MS} + $2::bigint
       FROM picked, ${this.s}.push_configs c
       WHERE o.n = picked.n AND c.task_id = o.task_id AND c.config_id = o.config_id
       RETURNING o.n, o.task_id, o.config_id, o.payload_json, o.attempts, o.created_at, c.json AS config_json`,
      [limit, leaseMs],
    );
    return rows.sort((a, b) => Number(a.n) - Number(b.n)).map(deliveryOf);
  }

  async delivered(id: number): Promise<void> {
    await this.db().query(`DELETE FROM ${this.s}.push_outbox WHERE n = $1`, [id]);
  }

  async retryLater(id: number, delayMs: number, error: string): Promise<void> {
    await this.db().query(`UPDATE ${this.s}.push_outbox SET next_attempt_at = ${NOW_MS} + $2::bigint, last_error = $3 WHERE n = $1`, [
      id,
      Math.round(delayMs),
      deliveryError(error),
    ]);
  }

  async deadLetter(id: number, error: string): Promise<void> {
    await this.db().query(`UPDATE ${this.s}.push_outbox SET dead_at = ${NOW_MS}, last_error = $2 WHERE n = $1`, [id, deliveryError(error)]);
  }

  async deadLetters(caller: Caller, limit: number): Promise<DeadLetter[]> {
    const { rows } = await this.db().query<DeadLetterRow>(
      `SELECT o.n, o.task_id, o.config_id, o.attempts, o.created_at, o.dead_at, o.last_error, c.json AS config_json
       FROM ${this.s}.push_outbox o JOIN ${this.s}.tasks t ON t.id = o.task_id
       LEFT JOIN ${this.s}.push_configs c ON c.task_id = o.task_id AND c.config_id = o.config_id
       WHERE o.dead_at IS NOT NULL AND t.tenant = $1 AND t.principal = $2 ORDER BY o.n LIMIT $3`,
      [caller.tenant, caller.principal, limit],
    );
    return rows.map(deadLetterOf);
  }

  async retryDeadLetter(caller: Caller, id: number): Promise<boolean> {
    const { rowCount } = await this.db().query(
      `UPDATE ${this.s}.push_outbox o SET dead_at = NULL, attempts = 0, next_attempt_at = ${NOW_MS}, created_at = ${NOW_MS}, last_error = NULL
       WHERE o.n = $1 AND o.dead_at IS NOT NULL
         AND EXISTS (SELECT 1 FROM ${this.s}.tasks t WHERE t.id = o.task_id AND t.tenant = $2 AND t.principal = $3)
         AND EXISTS (SELECT 1 FROM ${this.s}.push_configs c WHERE c.task_id = o.task_id AND c.config_id = o.config_id)`,
      [id, caller.tenant, caller.principal],
    );
    return (rowCount ?? 0) > 0;
  }
}
