import { TASK_STATES } from '../model/model.js';
import { appendedArtifact } from '../model/task-events.js';
import type { Artifact, Caller, Message, Task, TaskState, TaskStatus } from '../model/model.js';
import type { InterruptedTask, TaskHead } from './task-store.js';

// How both stores turn rows into the domain's objects and back. A task is kept
// as JSON text per piece: reading the text before parsing it tells how big a
// task is, so a listing can stop before a task that would not fit instead of
// after it has been parsed.

/** The columns of a task row that hold its JSON. */
export interface TaskJsonRow {
  id: string;
  context_id: string;
  status_json: string;
  metadata_json: string | null;
}

/** The columns of a task row both stores read back. */
export interface TaskRow extends TaskJsonRow {
  state: TaskState;
  updated_at: number;
  version: number;
  skill: string;
  pod: string;
  resumes: number;
}

export interface HeadRow {
  id: string;
  context_id: string;
  state: TaskState;
  version: number;
  skill: string;
  pod: string;
}

export interface InterruptedRow extends HeadRow {
  tenant: string;
  principal: string;
  resumes: number;
}

export interface StoredJson {
  history: string[];
  artifacts: string[];
}

/** Bytes of JSON the task's pieces take as stored: what a listing of it costs, near enough. */
export function storedBytes(row: TaskJsonRow, stored: StoredJson): number {
  let bytes = Buffer.byteLength(row.status_json) + (row.metadata_json === null ? 0 : Buffer.byteLength(row.metadata_json));
  for (const json of stored.history) bytes += Buffer.byteLength(json);
  for (const json of stored.artifacts) bytes += Buffer.byteLength(json);
  return bytes;
}

export function parseTask(row: TaskJsonRow, stored: StoredJson): Task {
  const task: Task = {
    id: row.id,
    contextId: row.context_id,
    status: JSON.parse(row.status_json) as TaskStatus,
    artifacts: stored.artifacts.map((json) => JSON.parse(json) as Artifact),
    history: stored.history.map((json) => JSON.parse(json) as Message),
  };
  if (row.metadata_json !== null) task.metadata = JSON.parse(row.metadata_json) as Task['metadata'];
  return task;
}

export function headOf(row: HeadRow): TaskHead {
  return { id: row.id, contextId: row.context_id, state: row.state, version: row.version, skill: row.skill, pod: row.pod };
}

/** `holder` is the pod that was running the task: its creator, or with a shared store the last holder of its lease. */
export function interruptedOf(row: InterruptedRow, holder: string): InterruptedTask {
  const caller: Caller = { tenant: row.tenant, principal: row.principal };
  return { ...headOf(row), caller, holder, resumes: row.resumes };
}

/** The key each message of a new task is stored under. */
export function keyedHistory(task: Task, requestKey: string): { key: string; message: Message }[] {
  // The first message is keyed by the request key (a retry finds it); any further ones by their ids.
  return task.history.map((message, i) => ({ key: i === 0 ? requestKey : message.messageId, message }));
}

/** What an artifact write stores: the artifact, or with `append` the stored one's parts followed by its own. */
export function mergedArtifact(previousJson: string | undefined, artifact: Artifact, append: boolean): Artifact {
  if (!append || previousJson === undefined) return artifact;
  return appendedArtifact(JSON.parse(previousJson) as Artifact, artifact);
}

/** Tasks per state from `GROUP BY state` rows: every state is named, those without tasks with 0. */
export function stateCounts(rows: Iterable<{ state: TaskState; n: number }>): Partial<Record<TaskState, number>> {
  const counts: Partial<Record<TaskState, number>> = {};
  for (const state of TASK_STATES) counts[state] = 0;
  for (const row of rows) counts[row.state] = row.n;
  return counts;
}
