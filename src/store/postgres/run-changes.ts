import { isActive } from '../../model/lifecycle.js';
import type { Artifact, TaskState, TaskStatus } from '../../model/model.js';
import { artifactEvent, prunePeriod, statusEvent } from '../event-log.js';
import type { EventLogBound } from '../event-log.js';
import { mergedArtifact } from '../rows.js';
import { ACTIVE_SQL } from '../state-sql.js';
import { superseded } from '../task-store.js';
import type { RunChange, RunChangesResult } from '../task-store.js';
import { NOW_MS } from './push-outbox.js';

// A skill run's changes of one turn as ONE statement: the task row moved by
// compare-and-swap and, only if it moved, the events, the status messages,
// the artifacts, the push outbox rows, the pruning of the event log and the
// change notifications — one round trip and one commit (one WAL flush) for the
// whole turn, with no transaction held open across round trips; and the turns
// of several tasks asked at once, one statement together. A statement is
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

/** A turn to write: a task's planned changes, fenced by its run and, when artifacts were read for it, by the version they were read at. */
export interface PlannedTurn {
  taskId: string;
  plan: RunChangesPlan;
  run: number;
  /** The version the artifacts in the plan were read at; null: whatever the statement finds. */
  expected: number | null;
}

/** The statement's answer for one turn: its task as the statement found it, and the version before the changes when it applied them. */
export interface RunChangesRow {
  /** Null (with version and resumes): the task is not in the store. */
  state: TaskState | null;
  version: number;
  resumes: number;
  /** Null: nothing applied (the task was not active, the run superseded, or another writer won the race). */
  base: number | null;
}

/**
 * The statement (`s` the quoted schema) for the turns of several tasks: the
 * turns a pod's runs finish in one turn of the event loop share one round trip
 * and one commit, as the tasks it creates do. Each task's row moves by
 * compare-and-swap on its own; one that does not move writes nothing and does
 * not hold the others back. Parameters, each array with an entry per turn:
 * $1 task ids, $2 the versions read (null: whatever the statement finds), $3
 * the runs, $4 how many changes apply, $5-$8 the new status, its JSON, time
 * and lease holder (null $5: no status change), $9 the lease's length. Then,
 * an entry per item with the turn's position (1-based) beside it: $10/$11 the
 * events, $12-$14 the messages' keys and JSON, $15-$17 the artifacts' ids and
 * JSON. $18 the notification channel, $19/$20 the event log's bound and
 * pruning period. A row per turn, in their order.
 */
export function runChangesSql(s: string): string {
  // As event-log.ts pruneThrough does after each write, for the versions base+1 … base+applied at once:
  // the newest multiple of the period among them, less the bound.
  const period = `(t.version / $20::int) * $20::int`;
  return `WITH req AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::bigint[])
      WITH ORDINALITY AS r(id, expected, run, applied, state, status_json, at, lease_pod, lease_ms, k)
  ), cur AS (
    SELECT id, state, version, resumes FROM ${s}.tasks WHERE id = ANY($1::text[])
  ), upd AS (
    UPDATE ${s}.tasks t SET version = t.version + req.applied,
      state = COALESCE(req.state, t.state),
      status_json = COALESCE(req.status_json, t.status_json),
      updated_at = COALESCE(req.at, t.updated_at),
      lease_pod = CASE WHEN req.state IS NULL THEN t.lease_pod ELSE req.lease_pod END,
      lease_expires_at = CASE WHEN req.state IS NULL THEN t.lease_expires_at ELSE ${NOW_MS} + req.lease_ms END
    FROM req, cur
    WHERE t.id = req.id AND cur.id = req.id AND t.version = cur.version AND (req.expected IS NULL OR cur.version = req.expected)
      AND cur.resumes = req.run AND cur.state IN ${ACTIVE_SQL}
    RETURNING t.id, req.k, t.version - req.applied AS base,
      CASE WHEN ${period} > t.version - req.applied AND ${period} > $19::int THEN ${period} - $19::int END AS through
  ), evs AS (
    SELECT upd.id AS task_id, upd.base + e.n::int AS version, e.json, upd.through
    FROM upd JOIN (
      SELECT x.k, x.json, row_number() OVER (PARTITION BY x.k ORDER BY x.i) AS n FROM unnest($10::int[], $11::text[]) WITH ORDINALITY AS x(k, json, i)
    ) e ON e.k = upd.k
  ), logged AS (
    INSERT INTO ${s}.task_events (task_id, version, event_json)
    SELECT evs.task_id, evs.version, evs.json FROM evs WHERE evs.through IS NULL OR evs.version > evs.through
  ), pruned AS (
    DELETE FROM ${s}.task_events d USING upd WHERE d.task_id = upd.id AND d.version <= upd.through
  ), enqueued AS (
    INSERT INTO ${s}.push_outbox (task_id, config_id, payload_json, attempts, next_attempt_at, created_at)
    SELECT c.task_id, c.config_id, evs.json, 0, ${NOW_MS}, ${NOW_MS} FROM evs JOIN ${s}.push_configs c ON c.task_id = evs.task_id
    ORDER BY evs.task_id, evs.version, c.config_id
  ), said AS (
    INSERT INTO ${s}.messages (task_id, message_key, json)
    SELECT upd.id, m.key, m.json FROM upd JOIN unnest($12::int[], $13::text[], $14::text[]) WITH ORDINALITY AS m(k, key, json, i) ON m.k = upd.k ORDER BY m.i
    ON CONFLICT (task_id, message_key) DO NOTHING
  ), made AS (
    INSERT INTO ${s}.artifacts (task_id, artifact_id, json)
    SELECT upd.id, a.id, a.json FROM upd JOIN unnest($15::int[], $16::text[], $17::text[]) WITH ORDINALITY AS a(k, id, json, i) ON a.k = upd.k ORDER BY a.i
    ON CONFLICT (task_id, artifact_id) DO UPDATE SET json = excluded.json
  ), signalled AS (
    -- In version order per task: a pod relaying a task reads from the first version it hears of.
    SELECT pg_notify($18, evs.task_id || ' ' || evs.version) FROM evs ORDER BY evs.task_id, evs.version
  )
  SELECT cur.state, cur.version, cur.resumes, upd.base, (SELECT COUNT(*) FROM signalled) AS signals
  FROM req LEFT JOIN cur ON cur.id = req.id LEFT JOIN upd ON upd.k = req.k
  ORDER BY req.k`;
}

/** The statement's parameters for `turns`. */
export function runChangesParams(turns: readonly PlannedTurn[], lease: { pod: string; ttlMs: number }, channel: string, bound: EventLogBound): unknown[] {
  const columns: unknown[][] = Array.from({ length: 17 }, () => []);
  const add = (first: number, ...values: unknown[]) => values.forEach((value, i) => columns[first + i]!.push(value));
  turns.forEach(({ taskId, plan, run, expected }, i) => {
    const k = i + 1;
    const { status } = plan;
    const leased = status !== undefined && isActive(status.state);
    add(
      0,
      taskId,
      expected,
      run,
      plan.applied,
      status?.state ?? null,
      status === undefined ? null : JSON.stringify(status),
      status === undefined ? null : Date.parse(status.timestamp),
      leased ? lease.pod : null,
      leased ? lease.ttlMs : null,
    );
    for (const json of plan.events) add(9, k, json);
    for (const { key, json } of plan.messages) add(11, k, key, json);
    for (const { id, json } of plan.artifacts) add(14, k, id, json);
  });
  return [...columns, channel, bound.keep, prunePeriod(bound)];
}

/** What the statement's row for a turn means for its run; undefined when another writer won the race (write it again). */
export function runOutcome(taskId: string, plan: RunChangesPlan, run: number, row: RunChangesRow): RunChangesResult | undefined {
  const { state } = row;
  if (state === null) throw new Error(`task ${taskId} vanished from the store`);
  if (superseded(row, run, undefined)) return { versions: [], from: state, refused: { applied: false, reason: 'superseded', current: state } };
  if (!isActive(state)) return { versions: [], from: state, refused: { applied: false, reason: 'state', current: state } };
  if (row.base === null) return undefined;
  const base = row.base;
  const versions = Array.from({ length: plan.applied }, (_, i) => base + i + 1);
  if (plan.stopsAt === undefined) return { versions, from: state };
  return { versions, from: state, refused: { applied: false, reason: 'state', current: plan.stopsAt } };
}
