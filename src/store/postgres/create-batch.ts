import { isActive } from '../../model/lifecycle.js';
import type { Task } from '../../model/model.js';
import { keyedHistory } from '../rows.js';
import type { TaskOwnership } from '../task-store.js';
import { NOW_MS } from './push-outbox.js';

// New tasks written together: the tasks created in one turn of the event loop
// (concurrent first messages) go to the database as ONE statement (turn-batch.ts).

/** A task to create, as the statement takes it. */
export interface NewTask {
  task: Task;
  ownership: TaskOwnership;
}

/** The statement (`s` the quoted schema): each parameter an array with an entry per task, then the history of all of them. */
export function createTasksSql(s: string): string {
  return `WITH created AS (
      INSERT INTO ${s}.tasks (id, tenant, principal, pod, skill, context_id, state, status_json, metadata_json,
        request_key, created_at, updated_at, version, lease_pod, lease_expires_at, alias)
      SELECT n.id, n.tenant, n.principal, n.pod, n.skill, n.context_id, n.state, n.status_json, n.metadata_json,
        n.request_key, n.at, n.at, 1, n.lease_pod, ${NOW_MS} + n.lease_ms, n.alias
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
        $10::text[], $11::bigint[], $12::text[], $13::bigint[], $14::text[]) WITH ORDINALITY
        AS n(id, tenant, principal, pod, skill, context_id, state, status_json, metadata_json, request_key, at, lease_pod, lease_ms, alias, i)
      ORDER BY n.i
      RETURNING id
    )
    INSERT INTO ${s}.messages (task_id, message_key, json)
    SELECT m.task_id, m.key, m.json FROM unnest($15::text[], $16::text[], $17::text[]) WITH ORDINALITY AS m(task_id, key, json, i)
    WHERE m.task_id IN (SELECT id FROM created) ORDER BY m.i
    ON CONFLICT (task_id, message_key) DO NOTHING`;
}

/** The statement's parameters for `batch`; `leaseTtlMs` is the lease an active new task starts with. */
export function createTasksParams(batch: readonly NewTask[], leaseTtlMs: number): unknown[] {
  const columns: unknown[][] = Array.from({ length: 17 }, () => []);
  const add = (...values: unknown[]) => values.forEach((value, i) => columns[i]!.push(value));
  for (const { task, ownership } of batch) {
    const leased = isActive(task.status.state);
    add(
      task.id,
      ownership.caller.tenant,
      ownership.caller.principal,
      ownership.pod,
      ownership.skill,
      task.contextId,
      task.status.state,
      JSON.stringify(task.status),
      task.metadata === undefined ? null : JSON.stringify(task.metadata),
      ownership.requestKey,
      Date.parse(task.status.timestamp),
      leased ? ownership.pod : null,
      leased ? leaseTtlMs : null,
      ownership.alias ?? null,
    );
    for (const { key, message } of keyedHistory(task, ownership.requestKey)) {
      columns[14]!.push(task.id);
      columns[15]!.push(key);
      columns[16]!.push(JSON.stringify(message));
    }
  }
  return columns;
}
