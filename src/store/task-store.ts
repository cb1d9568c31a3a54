import type { PushStore, StoredPushConfig } from './push-store.js';
import type { Artifact, Caller, JsonObject, ListTasksQuery, Message, Task, TaskPage, TaskState, TaskStatus, VersionedEvent } from '../model/model.js';

/** Facts about a task that are not part of the protocol's Task object. */
export interface TaskOwnership {
  caller: Caller;
  /** The pod that runs the task; part of the task id too, kept for queries. */
  pod: string;
  skill: string;
  /** Identity of the message that created the task: a retried first send finds the task by it. */
  requestKey: string;
  /** Push configs the creating send carried: saved with the task, and the task is their first delivery. */
  pushConfigs?: readonly StoredPushConfig[];
  /** The name the caller gave the task (an A2A 0.2 client chooses its task ids); unique per caller. */
  alias?: string;
}

export interface TaskHead {
  id: string;
  contextId: string;
  state: TaskState;
  version: number;
  skill: string;
  pod: string;
}

/** A submitted or working task whose run was interrupted (its pod restarted, or let its lease lapse). */
export interface InterruptedTask extends TaskHead {
  /** Who created it: the run goes on in their name. */
  caller: Caller;
  /** The pod that was running it (with a shared store, the last holder of its lease). */
  holder: string;
  /** How often it was resumed after an interruption already. */
  resumes: number;
}

export interface StoredTask {
  task: Task;
  version: number;
  skill: string;
  /** How often the task was resumed after an interruption: the generation of its current run. */
  resumes: number;
}

export interface StatusChange {
  status: TaskStatus;
  /** The change applies only if the task is in one of these states now. */
  allowedFrom: readonly TaskState[];
  /** A user message that arrives with the change (a continued task); stored in history under its key. */
  userMessage?: { message: Message; key: string };
  /**
   * The change comes from the run of this generation (the task's resume count
   * when the run started): it applies only while that run is the task's
   * current one, so a run that was superseded by a resume writes nothing.
   */
  run?: number;
  /** The change applies only if the task is still at this version: a pod taking over a task loses to any other change. */
  ifVersion?: number;
  /** The change starts a new run of the task: its resume count goes up by one. */
  resume?: boolean;
}

/** How much one page of a listing may hold. */
export interface PageBudget {
  /** Bytes of stored JSON (status, history, artifacts) the page's tasks may add up to. */
  maxBytes: number;
}

export type WriteResult =
  | { applied: true; version: number; from: TaskState }
  | { applied: false; reason: 'state'; current: TaskState }
  /** The writing run, or the version the change was meant for, is no longer the task's current one. */
  | { applied: false; reason: 'superseded'; current: TaskState };

export type TransitionResult = WriteResult | { applied: false; reason: 'duplicate-message' };

/** One change a skill run makes to its task: a status move or an artifact. */
export type RunChange =
  | { kind: 'status'; status: TaskStatus }
  | { kind: 'artifact'; artifact: Artifact; append: boolean; lastChunk: boolean };

/** What a run's changes did: the version of each applied one, in order; the first refused one (and all after it) was not written. */
export interface RunChangesResult {
  versions: number[];
  /** The task's state before the first change. */
  from: TaskState;
  refused?: Exclude<WriteResult, { applied: true }>;
}

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
  /** The caller's task that the caller named `alias` when creating it. */
  findTaskByAlias(caller: Caller, alias: string): Promise<string | undefined>;
  /** Whether the task's history holds the message with this key. */
  hasMessage(taskId: string, messageKey: string): Promise<boolean>;
  /** The task's metadata, for the agent's own use (no caller scoping). */
  taskMetadata(taskId: string): Promise<JsonObject | undefined>;
  /** Sets top-level keys of the task's metadata, keeping the others; not a task event, so no new version. */
  mergeTaskMetadata(taskId: string, patch: JsonObject): Promise<void>;

  transition(taskId: string, change: StatusChange): Promise<TransitionResult>;
  /**
   * Adds or replaces an artifact, or with `append` adds its parts to the stored
   * one; only while the task is in one of `allowedFrom` (and, given `run`, while
   * that run is the task's current one, as for a transition).
   */
  putArtifact(
    taskId: string,
    artifact: Artifact,
    append: boolean,
    allowedFrom: readonly TaskState[],
    lastChunk?: boolean,
    run?: number,
  ): Promise<WriteResult>;

  /**
   * A run's consecutive changes, written together in one transaction (SQLite:
   * one update of the task row for all of them; PostgreSQL: one statement), in
   * order and each under a version of its own, as that many
   * transition/putArtifact calls would. Each applies only from an active state
   * and while `run` is the task's current run; the first that does not stops
   * the rest. `contextId` is the task's (its events carry it): a store need not
   * read the task before it writes.
   */
  applyRunChanges(taskId: string, contextId: string, changes: readonly RunChange[], run: number): Promise<RunChangesResult>;

  /**
   * A page of the caller's tasks, newest first. With a budget the page ends
   * before the task that would take it past `maxBytes` (it always holds one),
   * and its nextPageToken goes on from there.
   */
  list(caller: Caller, query: ListTasksQuery, budget?: PageBudget): Promise<TaskPage>;
  /**
   * Submitted or working tasks this pod was running (a per-pod store: its own;
   * a shared store: those whose lease it holds): after a restart nobody runs them.
   */
  unfinished(pod: string): Promise<InterruptedTask[]>;
  /** Deletes up to `limit` terminal tasks last updated before `cutoffMs`; returns how many of each state. */
  deleteTerminalBefore(cutoffMs: number, limit: number): Promise<Partial<Record<TaskState, number>>>;
  countByState(): Promise<Partial<Record<TaskState, number>>>;
  /** Push configs and the delivery outbox; every event of a task with configs enters the outbox in its own transaction. */
  readonly push: PushStore;
  /**
   * The task's logged events with a version above `version`, in order, at most
   * `limit` of them: what a resuming stream missed. The log keeps each task's
   * newest events only (store/event-log.ts); a gap before the first returned
   * means older ones were pruned, or were written before the log existed.
   */
  eventsAfter(taskId: string, version: number, limit?: number): Promise<VersionedEvent[]>;
  /** Present when several pods share the store; a per-pod store has no use for it. */
  readonly shared?: SharedStore;
}

/**
 * What a store shared by several pods adds: the events each write produced
 * (stored in the same transaction), a cluster-wide "task changed" signal, and
 * leases so that a task whose pod died is noticed by the others.
 */
export interface SharedStore {
  /** The task's events with a version above `version`, in order (the same log TaskStore.eventsAfter reads). */
  eventsAfter(taskId: string, version: number, limit?: number): Promise<VersionedEvent[]>;
  /**
   * Calls `listener` whenever any pod commits a change to any task; resolves to
   * an unsubscribe. Changes committed while the signal is down are announced
   * to nobody: `onMissed` is called once it is back, to catch up from the events.
   */
  onTaskChanged(listener: (taskId: string, version: number) => void, onMissed?: () => void): Promise<() => Promise<void>>;
  /** Extends the leases of tasks this pod runs. */
  renewLeases(pod: string, taskIds: readonly string[]): Promise<void>;
  /** Lets the leases of these tasks run out now, so another pod takes them over without waiting for the TTL. */
  releaseLeases(pod: string, taskIds: readonly string[]): Promise<void>;
  /** Submitted or working tasks whose lease ran out: their pod is gone. */
  expiredLeases(limit: number): Promise<InterruptedTask[]>;
}

/** A write of a run that is no longer the task's current one, or one meant for a version that has passed. */
export function superseded(current: { version: number; resumes: number }, run: number | undefined, ifVersion: number | undefined): boolean {
  return (run !== undefined && current.resumes !== run) || (ifVersion !== undefined && current.version !== ifVersion);
}
