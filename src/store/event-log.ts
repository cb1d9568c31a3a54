import { endsStream } from '../model/lifecycle.js';
import type { Artifact, TaskEvent, TaskStatus } from '../model/model.js';

// The durable event log both stores keep: what each applied write told
// subscribers, under the version it produced, written in the same transaction
// as the write. A stream that resumes (SSE Last-Event-ID) replays from it, and
// with the shared store the pods relay each other's events from it.
//
// Bounded per task: the newest `keep` events stay. Pruning runs on one write in
// `pruneEvery` of a task, so a write normally adds one row and deletes none;
// the whole log of a task goes with the task when retention deletes it.

/** Events kept per task unless a store is told otherwise. */
export const DEFAULT_EVENTS_KEPT = 1000;

export interface EventLogBound {
  /** The newest events of a task kept; older ones are pruned. */
  keep: number;
}

/** The version at or below which a task's events are deleted after a write that produced `version`; undefined: nothing to prune now. */
export function pruneThrough(version: number, bound: EventLogBound): number | undefined {
  const every = prunePeriod(bound);
  if (version % every !== 0 || version <= bound.keep) return undefined;
  return version - bound.keep;
}

/** Pruning runs on the writes whose version is a multiple of this. */
export function prunePeriod(bound: EventLogBound): number {
  return Math.max(1, Math.floor(bound.keep / 10));
}

/** A bound a store was given, checked once at construction. */
export function eventLogBound(keep: number | undefined, store: string): EventLogBound {
  const value = keep ?? DEFAULT_EVENTS_KEPT;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${store}: eventsKept must be a whole number of at least 1, not ${value}`);
  return { keep: value };
}

/** The event a status change produces. */
export function statusEvent(taskId: string, contextId: string, status: TaskStatus): TaskEvent {
  return { kind: 'status-update', taskId, contextId, status, final: endsStream(status.state) };
}

/** The event an artifact write produces. */
export function artifactEvent(taskId: string, contextId: string, artifact: Artifact, append: boolean, lastChunk: boolean): TaskEvent {
  return { kind: 'artifact-update', taskId, contextId, artifact, append, lastChunk };
}

/**
 * An event as a log row stores it: without the task and context ids, which
 * its row and its task hold already. A smaller row is a cheaper write, and
 * this one is paid on every change of every task.
 */
export function eventPayload(event: TaskEvent): string {
  const { taskId, contextId, ...payload } = event;
  void taskId;
  void contextId;
  return JSON.stringify(payload);
}

/** The event a log row stores (eventPayload), whole again. */
export function eventFromPayload(json: string, taskId: string, contextId: string): TaskEvent {
  return { ...(JSON.parse(json) as Omit<TaskEvent, 'taskId' | 'contextId'>), taskId, contextId } as TaskEvent;
}
