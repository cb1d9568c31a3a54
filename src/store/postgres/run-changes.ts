import { isActive } from '../../model/lifecycle.js';
import type { Artifact, TaskState, TaskStatus } from '../../model/model.js';
import { artifactEvent, prunePeriod, statusEvent } from '../event-log.js';
import type { EventLogBound } from '../event-log.js';
import { mergedArtifact } from '../rows.js';
import { ACTIVE_SQL } from '../state-sql.js';
import type { RunChange } from '../task-store.js';
import { NOW_MS } from './push-outbox.js';

// A skill run's changes of one turn as ONE statement: the task row moved by
// compare-and-swap and, only if it moved, the events, the status messages,
// the artifacts, the push outbox rows, the pruning of the event log and the
// change notifications — one round trip and one commit (one WAL flush) for the
// whole turn, with no transaction held open across round trips. A statement is
// atomic on its own: it applies whole or not at all.

/** What the statement writes, worked out before it is sent. */
export interface RunChangesPlan {
  /** How many of the changes apply when the task is active: up to and including the first that leaves the active states. */
  applied: number;
  /** The state that refuses the rest, when some are left over. */
  stopsAt?: TaskState;
  /** The last applied status change: the task row's new status. */
  status?: TaskStatus;
  /** Each applied change's event, in order: the versions after the task's current one. */
  events: string[];
  /** Status messages joining the history, in order. */
  messages: { key: string; json: string }[];
  /** Each artifact written, once, as it stands after the turn, in the order first written. */
  artifacts: { id: string; json: string }[];
}

/** Artifact ids the plan needs the stored version of: appended to without being written whole earlier in the turn. */
export function appendBases(changes: readonly RunChange[]): string[] {
  const whole = new Set<string>();
  const needed = new Set<string>();
  for (const change of changes) {
    if (change.kind !== 'artifact') continue;
    const id = change.artifact.artifactId;
    if (!change.append) whole.add(id);
    else if (!whole.has(id)) needed.add(id);
  }
  return [...needed];
}

/**
 * The writes of `changes` on a task that is active now. `stored` holds the
 * stored JSON of the artifacts appendBases named (absent: none stored).
 */
export function planRunChanges(taskId: string, contextId: string, changes: readonly RunChange[], stored: ReadonlyMap<string, string> = new Map()): RunChangesPlan {
  const plan: RunChangesPlan = { applied: 0, events: [], messages: [], artifacts: [] };
  const artifacts = new Map<string, Artifact>();
  let state: TaskState | undefined;
  for (const change of changes) {
    if (state !== undefined && !isActive(state)) {
      plan.stopsAt = state;
      break;
    }
    plan.applied++;
    if (change.kind === 'status') {
      const { status } = change;
      if (status.message !== undefined) plan.messages.push({ key: status.message.messageId, json: JSON.stringify(status.message) });
      plan.status = status;
      state = status.state;
      plan.events.push(JSON.stringify(statusEvent(taskId, contextId, status)));
    } else {
      const { artifact, append, lastChunk } = change;
      const id = artifact.artifactId;
      const before = artifacts.get(id);
      const previousJson = before !== undefined ? JSON.stringify(before) : stored.get(id);
      // A map keeps the order of first writes: an artifact written again keeps its place, as an upsert does.
      artifacts.set(id, mergedArtifact(previousJson, artifact, append));
      plan.events.push(JSON.stringify(artifactEvent(taskId, contextId, artifact, append, lastChunk)));
    }
  }
  plan.artifacts = [...artifacts].map(([id, artifact]) => ({ id, json: JSON.stringify(artifact) }));
  return plan;
}

/** The statement's answer: the task as the statement found it, and the version before the changes when it applied them. */
export interface RunChangesRow {
  state: TaskState;
  version: number;
  resumes: number;
  /** Null: nothing applied (the task was not active, the run superseded, or another writer won the race). */
  base: number | null;
}

/**
 * The statement (`s` the quoted schema). Parameters: $1 task id, $2 the version
 * the caller read (null: whatever the statement finds), $3 the run, $4 how many
 * changes apply, $5-$8 the new status, its JSON, time and lease holder (null
 * $5: no status change), $9 the lease's length, $10 the events, $11/$12 the
 * messages' keys and JSON, $13/$14 the artifacts' ids and JSON, $15 the
 * notification channel, $16/$17 the event log's bound and pruning period.
 */
export function runChangesSql(s: string): string {
  // As event-log.ts pruneThrough does after each write, for the versions base+1 … base+$4 at once:
  // the newest multiple of the period among them, less the bound.
  const period = `(t.version / $17::int) * $17::int`;
  return `WITH cur AS (
    SELECT state, version, resumes FROM ${s}.tasks WHERE id = $1
  ), upd AS (
    UPDATE ${s}.tasks t SET version = t.version + $4::int,
      state = COALESCE($5::text, t.state),
      status_json = COALESCE($6::text, t.status_json),
      updated_at = COALESCE($7::bigint, t.updated_at),
      lease_pod = CASE WHEN $5::text IS NULL THEN t.lease_pod ELSE $8::text END,
      lease_expires_at = CASE WHEN $5::text IS NULL THEN t.lease_expires_at ELSE ${NOW_MS} + $9::bigint END
    FROM cur
    WHERE t.id = $1 AND t.version = cur.version AND ($2::int IS NULL OR cur.version = $2::int)
      AND cur.resumes = $3::int AND cur.state IN ${ACTIVE_SQL}
    RETURNING t.version - $4::int AS base,
      CASE WHEN ${period} > t.version - $4::int AND ${period} > $16::int THEN ${period} - $16::int END AS through
  ), evs AS (
    SELECT upd.base + e.i::int AS version, e.json, upd.through FROM upd, unnest($10::text[]) WITH ORDINALITY AS e(json, i) ORDER BY e.i
  ), logged AS (
    INSERT INTO ${s}.task_events (task_id, version, event_json)
    SELECT $1, evs.version, evs.json FROM evs WHERE evs.through IS NULL OR evs.version > evs.through
  ), pruned AS (
    DELETE FROM ${s}.task_events d USING upd WHERE d.task_id = $1 AND d.version <= upd.through
  ), enqueued AS (
    INSERT INTO ${s}.push_outbox (task_id, config_id, payload_json, attempts, next_attempt_at, created_at)
    SELECT c.task_id, c.config_id, evs.json, 0, ${NOW_MS}, ${NOW_MS} FROM evs, ${s}.push_configs c
    WHERE c.task_id = $1 ORDER BY evs.version, c.config_id
  ), said AS (
    INSERT INTO ${s}.messages (task_id, message_key, json)
    SELECT $1, m.key, m.json FROM upd, unnest($11::text[], $12::text[]) WITH ORDINALITY AS m(key, json, i) ORDER BY m.i
    ON CONFLICT (task_id, message_key) DO NOTHING
  ), made AS (
    INSERT INTO ${s}.artifacts (task_id, artifact_id, json)
    SELECT $1, a.id, a.json FROM upd, unnest($13::text[], $14::text[]) WITH ORDINALITY AS a(id, json, i) ORDER BY a.i
    ON CONFLICT (task_id, artifact_id) DO UPDATE SET json = excluded.json
  ), signalled AS (
    -- In version order: a pod relaying the task reads from the first version it hears of.
    SELECT pg_notify($15, $1 || ' ' || evs.version) FROM evs ORDER BY evs.version
  )
  SELECT cur.state, cur.version, cur.resumes, upd.base, (SELECT COUNT(*) FROM signalled) AS signals
  FROM cur LEFT JOIN upd ON true`;
}

/** The statement's parameters for `plan`; `expected` is the version the artifacts in it were read at. */
export function runChangesParams(
  taskId: string,
  plan: RunChangesPlan,
  run: number,
  expected: number | null,
  lease: { pod: string; ttlMs: number },
  channel: string,
  bound: EventLogBound,
): unknown[] {
  const { status } = plan;
  const leased = status !== undefined && isActive(status.state);
  return [
    taskId,
    expected,
    run,
    plan.applied,
    status?.state ?? null,
    status === undefined ? null : JSON.stringify(status),
    status === undefined ? null : Date.parse(status.timestamp),
    leased ? lease.pod : null,
    leased ? lease.ttlMs : null,
    plan.events,
    plan.messages.map((m) => m.key),
    plan.messages.map((m) => m.json),
    plan.artifacts.map((a) => a.id),
    plan.artifacts.map((a) => a.json),
    channel,
    bound.keep,
    prunePeriod(bound),
  ];
}
