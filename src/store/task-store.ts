import type { Artifact, Caller, JsonObject, ListTasksQuery, Message, Task, TaskPage, TaskState, TaskStatus, VersionedEvent } from '../model/model.js';

/** Facts about a task that are not part of the protocol's Task object. */
export interface TaskOwnership {
  caller: Caller;
  /** The pod that runs the task; part of the task id too, kept for queries. */
  pod: string;
  skill: string;
  /** Identity of the message that created the task: a retried first send finds the task by it. */
  requestKey: string;
}

export interface TaskHead {
  id: string;
  contextId: string;
  state: TaskState;
  version: number;
  skill: string;
  pod: string;
}

export interface StoredTask {
  task: Task;
  version: number;
  skill: string;
}

export interface StatusChange {
  status: TaskStatus;
  /** The change applies only if the task is in one of these states now. */
  allowedFrom: readonly TaskState[];
  /** A user message that arrives with the change (a continued task); stored in history under its key. */
  userMessage?: { message: Message; key: string };
}

export type WriteResult = { applied: true; version: number; from: TaskState } | { applied: false; reason: 'state'; current: TaskState };

export type TransitionResult = WriteResult | { applied: false; reason: 'duplicate-message' };

/**
 * Where tasks live. Every write is durable when its promise resolves; callers
 * report a change (reply, event) only after that.
 */
export interface TaskStore {
  readonly kind: string;
  /** Opens the store and applies pending schema migrations. */
  open(): Promise<void>;
  close(): Promise<void>;
  readonly isOpen: boolean;
  /** Writes fail for lack of room (disk or database full) — StoreFullError — until one succeeds again. */
  readonly isFull: boolean;
  /** A small write, rolled back: resolves when writes fit again (clearing isFull), rejects with StoreFullError while they do not. */
  probeWrite(): Promise<void>;

  createTask(task: Task, ownership: TaskOwnership): Promise<number>;
  getTask(caller: Caller, id: string, historyLength?: number): Promise<StoredTask | undefined>;
  getHead(caller: Caller, id: string): Promise<TaskHead | undefined>;
  findTaskByRequestKey(caller: Caller, requestKey: string): Promise<string | undefined>;
  /** Whether the task's history holds the message with this key. */
  hasMessage(taskId: string, messageKey: string): Promise<boolean>;
  /** The task's metadata, for the agent's own use (no caller scoping). */
  taskMetadata(taskId: string): Promise<JsonObject | undefined>;
  /** Sets top-level keys of the task's metadata, keeping the others; not a task event, so no new version. */
  mergeTaskMetadata(taskId: string, patch: JsonObject): Promise<void>;

  transition(taskId: string, change: StatusChange): Promise<TransitionResult>;
  /**
   * Adds or replaces an artifact, or with `append` adds its parts to the stored
   * one; only while the task is in one of `allowedFrom`.
   */
  putArtifact(taskId: string, artifact: Artifact, append: boolean, allowedFrom: readonly TaskState[], lastChunk?: boolean): Promise<WriteResult>;

  list(caller: Caller, query: ListTasksQuery): Promise<TaskPage>;
  /** Tasks of this pod that were submitted or working: after a crash nobody runs them. */
  unfinished(pod: string): Promise<TaskHead[]>;
  /** Deletes up to `limit` terminal tasks last updated before `cutoffMs`; returns how many of each state. */
  deleteTerminalBefore(cutoffMs: number, limit: number): Promise<Partial<Record<TaskState, number>>>;
  countByState(): Promise<Partial<Record<TaskState, number>>>;
  /** Present when several pods share the store; a per-pod store has no use for it. */
  readonly shared?: SharedStore;
}

/**
 * What a store shared by several pods adds: the events each write produced
 * (stored in the same transaction), a cluster-wide "task changed" signal, and
 * leases so that a task whose pod died is noticed by the others.
 */
export interface SharedStore {
  /** The task's events with a version above `version`, in order. */
  eventsAfter(taskId: string, version: number): Promise<VersionedEvent[]>;
  /** Calls `listener` whenever any pod commits a change to any task; resolves to an unsubscribe. */
  onTaskChanged(listener: (taskId: string, version: number) => void): Promise<() => Promise<void>>;
  /** Extends the leases of tasks this pod runs. */
  renewLeases(pod: string, taskIds: readonly string[]): Promise<void>;
  /** Submitted or working tasks whose lease ran out: their pod is gone. */
  expiredLeases(limit: number): Promise<TaskHead[]>;
}
