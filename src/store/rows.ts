import type { Artifact, Message, Task, TaskStatus } from '../model/model.js';

// A task as both stores keep it: JSON text per piece. Reading the text before
// parsing it tells how big a task is, so a listing can stop before a task that
// would not fit instead of after it has been parsed.

/** The columns of a task row that hold its JSON. */
export interface TaskJsonRow {
  id: string;
  context_id: string;
  status_json: string;
  metadata_json: string | null;
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
