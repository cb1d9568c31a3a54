import {
  InvalidParamsError,
  LimitExceededError,
  StoreFullError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnavailableError,
  UnsupportedOperationError,
} from '../model/errors.js';
import { ACTIVE_STATES, INTERRUPTED_STATES, OPEN_STATES, assertTransition, isInterrupted, isTerminal } from '../model/lifecycle.js';
import { artifactEvent, statusEvent } from '../store/event-log.js';
import { withHistoryLimit } from '../model/history.js';
import type {
  Caller,
  JsonObject,
  ListTasksQuery,
  Message,
  SendResult,
  Task,
  TaskPage,
  TaskState,
  TaskStatus,
} from '../model/model.js';
import type { Skill, SkillLog } from '../skills/skill.js';
import type { InterruptedTask, RunChange, RunChangesResult, StatusChange, StoredTask, TaskStore, TransitionResult } from '../store/task-store.js';
import type { StoredPushConfig } from '../store/push-store.js';
import { encodePageToken } from '../model/page-token.js';
import type { EventBus, VersionedEvent } from './event-bus.js';
import { KeyedQueue } from './keyed-queue.js';
import { KeyedSlots } from './keyed-slots.js';
import { messageKey } from './message-key.js';
import { LeftForResume, decideRecovery, resumeRequest } from './recovery.js';
import type { Interruption } from './recovery.js';
import { newTaskId, timeOrderedUuid } from './task-id.js';
import { isAgentTaskId } from '../model/task-alias.js';
import type { SkillRegistry } from './skill-registry.js';
import { requestedSkill } from './skill-registry.js';
import { TaskStream } from './task-stream.js';
import { finalTask } from './final-task.js';
import { agentMessage, jsonBytes, now, startSkillRun } from './skill-run.js';
import { runSubTask } from './sub-task.js';
import type { SkillRunHost } from './skill-run.js';
import { withFields } from '../model/with-fields.js';

export interface TaskServiceOptions {
  store: TaskStore;
  bus: EventBus;
  skills: SkillRegistry;
  /** This replica's name; task ids start with it so any replica can tell the owner. */
  pod: string;
  /** How many undelivered events a stream may hold before it is cut. */
  streamCapacity: number;
  /** Most skill runs at once; a message that would start one more is refused with a retryable error. */
  maxRunning?: () => number;
  /** How often one task may be resumed after interruptions; 0 (the default) fails every interrupted task. */
  maxResumes?: number;
  /** Most bytes (as JSON) all artifact writes of one task may add up to; unbounded when not set. */
  maxArtifactBytes?: number;
  /** Most bytes of stored JSON one ListTasks page holds (it always holds one task); unbounded when not set. */
  maxListPageBytes?: number;
  observer?: TaskObserver;
  /**
   * Throws (SkillNotAllowedError) when the caller may not use the skill. Asked
   * for the skill a message is routed to — by name or by content — for a name
   * the message asks a peer for, and again when a task is continued.
   */
  authorizeSkill?: (caller: Caller, skillId: string) => void;
  /** Where a skill run's log lines go; absent: nowhere. */
  skillLog?: (skillId: string, taskId: string) => SkillLog;
  /** Most tasks one caller may have running at once in this process; absent: no cap. */
  maxRunningPerCaller?: number;
}

/** Told about every state a task enters, for metrics and logs. */
export interface TaskObserver {
  taskEntered(state: TaskState, previous: TaskState | undefined): void;
  skillFailed(taskId: string, error: unknown): void;
  taskResumed?(taskId: string, why: Interruption['kind']): void;
  /** A run here found its task resumed elsewhere (this pod's lease had lapsed) and stopped. */
  runSuperseded?(taskId: string): void;
  /** A skill run ended: the state it left its task in (`interrupted`: left for a resume at shutdown, or superseded) and how long it ran. */
  runEnded?(skillId: string, state: TaskState | 'interrupted', seconds: number): void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
  caller: Caller;
  /** Left for the next start to resume, instead of failed, when a shutdown cuts it short. */
  resumable: boolean;
  /** The run changed its task's metadata, which no event carries. */
  editedMetadata: boolean;
}

/** A send's task, the stream of its changes, and the run the send started, if it did. */
interface Started {
  kind: 'task';
  taskId: string;
  stream?: TaskStream;
  run?: Running;
}

/** What became of an interrupted task: run again here, failed, or left alone because another change won. */
export type RecoveryOutcome = 'resumed' | 'failed' | 'skipped';

/** What a bad resume position is reported against: the edge reads it from Last-Event-ID, or its stand-ins (README, "Streams that resume"). */
const RESUME_FIELD = 'Last-Event-ID';

/** Seconds a caller at its running-task cap is told to wait: tasks end at their own pace. */
const RUNNING_CAP_RETRY_SECONDS = 2;

const SILENT: SkillLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The agent's task semantics: creating and continuing tasks from messages,
 * running skills, cancel, get, list and subscribe. Every change is written to
 * the store before it is published or returned.
 */
export class TaskService {
  private readonly store: TaskStore;
  private readonly bus: EventBus;
  private readonly skills: SkillRegistry;
  private readonly serial = new KeyedQueue();
  private readonly running = new Map<string, Running>();
  /** Runs admitted but not yet in `running` (their task is being written). */
  private admitting = 0;
  private readonly runningPerCaller: KeyedSlots | undefined;
  private accepting = true;

  /** What a skill run may do to its task; every state change goes through this service. */
  private readonly runHost: SkillRunHost;

  constructor(private readonly options: TaskServiceOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.skills = options.skills;
    this.runningPerCaller = options.maxRunningPerCaller === undefined ? undefined : new KeyedSlots(options.maxRunningPerCaller);
    this.runHost = {
      bus: options.bus,
      maxArtifactBytes: options.maxArtifactBytes,
      writeRun: (taskId, contextId, changes, generation) => this.writeRun(taskId, contextId, changes, generation),
      finish: (taskId, contextId, status, generation) => this.finishIfActive(taskId, contextId, status, generation),
      skillFailed: (taskId, error) => options.observer?.skillFailed(taskId, error),
      superseded: (taskId) => options.observer?.runSuperseded?.(taskId),
      runSubTask: (caller, skillId, message, signal) => runSubTask(this, caller, skillId, message, signal),
      mayUse: (caller, skillId) => this.mayStillUse(caller, skillId),
      runEnded: (skillId, state, seconds) => options.observer?.runEnded?.(skillId, state, seconds),
      logFor: (skillId, taskId) => options.skillLog?.(skillId, taskId) ?? SILENT,
    };
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Ids of the tasks whose skills run in this process. */
  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Takes over a task whose pod stopped renewing its lease (shared store):
   * resumes it here, or fails it. A stopping pod takes nothing over.
   */
  async takeOver(orphan: InterruptedTask): Promise<RecoveryOutcome> {
    if (!this.accepting) return 'skipped';
    return this.recover(orphan, { kind: 'lease', formerPod: orphan.holder, by: this.options.pod });
  }

  /** From now on, new messages are refused with a retryable error; reads still work. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** `pushConfig`: a config the send carried, saved with the task it creates (a continued task's is saved by the caller before). */
  async sendMessage(
    caller: Caller,
    message: Message,
    options: { returnImmediately?: boolean; historyLength?: number; pushConfig?: StoredPushConfig } & TaskNaming = {},
  ): Promise<SendResult> {
    const started = await this.accept(caller, message, options.taskAlias, options.pushConfig);
    if (started.kind === 'message') {
      return started;
    }
    const { taskId, stream, run } = started;
    let shown: Task | undefined;
    try {
      if (stream !== undefined && options.returnImmediately !== true) shown = await finalTask(stream);
    } finally {
      stream?.close();
    }
    // The stream shows every change the run this send started makes, but for metadata it edits: then, and for any other send, the store answers.
    if (shown !== undefined && run?.editedMetadata === false) return { kind: 'task', task: withHistoryLimit(shown, options.historyLength) };
    return { kind: 'task', task: await this.readTask(caller, taskId, options.historyLength) };
  }

  /** The stream starts with the Task (or the lone Message) and ends at a terminal or interrupted state. */
  async sendStreamingMessage(caller: Caller, message: Message, naming: TaskNaming & { pushConfig?: StoredPushConfig } = {}): Promise<TaskStream> {
    const started = await this.accept(caller, message, naming.taskAlias, naming.pushConfig);
    if (started.kind === 'message') {
      const stream = new TaskStream(1);
      stream.push(started);
      return stream;
    }
    if (started.stream !== undefined) return started.stream;
    return this.subscribeTo(caller, started.taskId, { allowEnded: true });
  }

  /**
   * Follows a task. Without `afterVersion`: its current state (a Task), then
   * its events, live. With it (the SSE id of the last event a stream
   * delivered, resent as Last-Event-ID): every event after that version from
   * the store's event log, then live ones — no gap, no duplicate. When the log
   * cannot say what was missed (the position is older than the events it
   * keeps, or more were missed than a stream holds), the stream starts with
   * the Task as it is now instead. A task that has ended gets what it missed,
   * then the stream closes.
   */
  async subscribe(caller: Caller, taskId: string, afterVersion?: number): Promise<TaskStream> {
    if (afterVersion === undefined) return this.subscribeTo(caller, taskId, { allowEnded: false });
    return this.resume(caller, taskId, afterVersion);
  }

  /**
   * Our id of the task a caller names. Only a name that may be an alias (an
   * A2A 0.2 client's own task id) is looked up; one of our form is our id.
   */
  async resolveTaskId(caller: Caller, name: string, mayBeAlias = false): Promise<string> {
    if (!mayBeAlias || isAgentTaskId(name)) return name;
    const taskId = await this.store.findTaskByAlias(caller, name);
    if (taskId === undefined) throw new TaskNotFoundError(name);
    return taskId;
  }

  /** Whether the caller has a task by this alias in this process's store. */
  async hasAlias(caller: Caller, alias: string): Promise<boolean> {
    return (await this.store.findTaskByAlias(caller, alias)) !== undefined;
  }

  async getTask(caller: Caller, taskId: string, historyLength?: number): Promise<Task> {
    return this.readTask(caller, taskId, historyLength);
  }

  /** A task's stored metadata, for the skill running it. */
  async taskMetadata(taskId: string): Promise<JsonObject | undefined> {
    return this.store.taskMetadata(taskId);
  }

  /** Merges `patch` into a task's stored metadata, for the skill running it; no event tells of it. */
  async mergeTaskMetadata(taskId: string, patch: JsonObject): Promise<void> {
    const run = this.running.get(taskId);
    if (run !== undefined) run.editedMetadata = true;
    await this.store.mergeTaskMetadata(taskId, patch);
  }

  async listTasks(caller: Caller, query: ListTasksQuery): Promise<TaskPage> {
    const maxBytes = this.options.maxListPageBytes;
    return this.store.list(caller, query, maxBytes === undefined ? undefined : { maxBytes });
  }

  /** A page merged from several replicas' pages, cut to the byte budget each of them kept to. */
  boundPage(page: TaskPage): TaskPage {
    const maxBytes = this.options.maxListPageBytes;
    if (maxBytes === undefined) return page;
    let bytes = 0;
    const kept = page.tasks.findIndex((task, i) => {
      bytes += jsonBytes(task);
      return i > 0 && bytes > maxBytes;
    });
    if (kept === -1) return page;
    const tasks = page.tasks.slice(0, kept);
    const last = tasks[tasks.length - 1]!;
    return { ...page, tasks, nextPageToken: encodePageToken({ updatedAt: Date.parse(last.status.timestamp), id: last.id }) };
  }

  async cancelTask(caller: Caller, taskId: string): Promise<Task> {
    const head = await this.store.getHead(caller, taskId);
    if (head === undefined) throw new TaskNotFoundError(taskId);
    // Cancel is idempotent (spec 3.3.1): a task already canceled, by this call's twin or anyone, is answered as it is.
    if (head.state === 'canceled') return this.readTask(caller, taskId);
    if (isTerminal(head.state)) throw new TaskNotCancelableError(taskId, head.state);
    const changed = await this.changeStatus(taskId, head.contextId, { state: 'canceled', timestamp: now() }, OPEN_STATES);
    if (!changed.applied) {
      if (changed.reason === 'state' && changed.current === 'canceled') return this.readTask(caller, taskId);
      throw new TaskNotCancelableError(taskId, changed.reason === 'state' ? changed.current : head.state);
    }
    this.running.get(taskId)?.controller.abort(new Error('task canceled'));
    return this.readTask(caller, taskId);
  }

  /**
   * Deals with the tasks this pod was running when it last stopped: each is
   * resumed from its stored request or failed with a reason, so none stays
   * "working" forever.
   */
  async recoverInterrupted(tasks?: readonly InterruptedTask[]): Promise<{ resumed: number; failed: number; pending: InterruptedTask[] }> {
    const counts = { resumed: 0, failed: 0 };
    const interrupted = tasks ?? (await this.store.unfinished(this.options.pod));
    for (const [i, task] of interrupted.entries()) {
      let outcome: RecoveryOutcome;
      try {
        outcome = await this.recover(task, { kind: 'restart' });
      } catch (error) {
        // A full store refuses the marks: the rest wait for room (pass them again then), the start goes on unready.
        if (error instanceof StoreFullError) return { ...counts, pending: interrupted.slice(i) };
        throw error;
      }
      if (outcome !== 'skipped') counts[outcome]++;
    }
    return { ...counts, pending: [] };
  }

  /**
   * Waits for running skills until the deadline; whatever still runs then is
   * aborted. A resumable task is left as it is, for the next start (or another
   * pod) to resume; any other fails with the reason, so no task stays
   * "working" with nobody to finish it. Returns the ids of the tasks left.
   */
  async drain(deadlineMs: number): Promise<string[]> {
    this.stopAccepting();
    const allDone = () => Promise.all([...this.running.values()].map((r) => r.done)).then(() => true);
    if (await Promise.race([allDone(), delay(Math.max(0, deadlineMs - Date.now())).then(() => false)])) return [];
    const left: string[] = [];
    for (const [taskId, run] of this.running) {
      if (run.resumable) left.push(taskId);
      run.controller.abort(run.resumable ? new LeftForResume() : new Error('the agent shut down before the task finished; send the request again'));
    }
    await Promise.race([allDone(), delay(2000)]);
    return left;
  }

  // ---------------------------------------------------------------------------

  private async accept(
    caller: Caller,
    message: Message,
    alias?: string,
    pushConfig?: StoredPushConfig,
  ): Promise<{ kind: 'message'; message: Message } | Started> {
    if (!this.accepting) throw new UnavailableError('the agent is shutting down and takes no new work; retry on another replica', 1);
    if (message.role !== 'user') throw new InvalidParamsError('params.message.role must be the user role for a message sent to the agent', 'params.message.role');
    if (message.taskId !== undefined) return this.continueTask(caller, message, message.taskId);
    if (alias !== undefined) {
      // A name of our form is our id (no alias has that form); an alias in use names its task: the message continues it, as in A2A 0.2.
      if (isAgentTaskId(alias)) return this.continueTask(caller, message, alias);
      const named = await this.store.findTaskByAlias(caller, alias);
      if (named !== undefined) return this.continueTask(caller, message, named);
    }

    const skill = this.skills.route(message, (skillId) => this.mayStillUse(caller, skillId));
    this.authorize(caller, skill, message);

    const direct = skill.replyDirectly?.(message, caller);
    if (direct !== undefined) {
      const contextId = message.contextId ?? timeOrderedUuid();
      return { kind: 'message', message: withFields(direct, { contextId }) };
    }
    // A retried first message carries the same key: creating its task again fails on the key,
    // and the retry joins the task it started instead of starting the work again. A direct reply stores nothing and needs none.
    const requestKey = skill.deduplicateRequests === false ? timeOrderedUuid() : messageKey(message);
    return this.createTask(caller, message, requestKey, skill, alias, pushConfig);
  }

  private async createTask(
    caller: Caller,
    message: Message,
    requestKey: string,
    skill: Skill,
    alias?: string,
    pushConfig?: StoredPushConfig,
  ): Promise<Started> {
    const taskId = newTaskId(this.options.pod);
    const contextId = message.contextId ?? timeOrderedUuid();
    const userMessage: Message = withFields(message, { taskId, contextId });
    const task: Task = {
      id: taskId,
      contextId,
      status: { state: 'submitted', timestamp: now() },
      artifacts: [],
      history: [userMessage],
      // Which skill runs the task, for whoever lists tasks; routing may have chosen it from the content.
      metadata: { skill: skill.descriptor.id },
    };
    const { admitted, release } = this.claimRun(caller);
    let version: number;
    try {
      version = await this.store.createTask(task, {
        caller,
        pod: this.options.pod,
        skill: skill.descriptor.id,
        requestKey,
        ...(alias === undefined ? {} : { alias }),
        ...(pushConfig === undefined ? {} : { pushConfigs: [pushConfig] }),
      });
    } catch (error) {
      admitted();
      release();
      // The same message again (a retry, or two sends at once): join the task it started.
      const winner = await this.store.findTaskByRequestKey(caller, requestKey);
      if (winner === undefined) {
        // Two first sends under one alias at once: the one that lost continues the task the other created.
        const named = alias === undefined ? undefined : await this.store.findTaskByAlias(caller, alias);
        if (named === undefined) throw error;
        return this.continueTask(caller, message, named);
      }
      return { kind: 'task', taskId: winner, stream: await this.subscribeTo(caller, winner, { allowEnded: true }) };
    }
    this.options.observer?.taskEntered('submitted', undefined);
    const stream = this.openStream(taskId, version);
    stream.push({ kind: 'task', task }, version);
    const run = this.run(caller, skill, task, userMessage, [userMessage], release, 0);
    // Counted in `running` from here on.
    admitted();
    return { kind: 'task', taskId, stream, run };
  }

  /**
   * Holds a place for one more skill run, or refuses before anything is written:
   * past MAX_RUNNING_TASKS the pod would only get slower for everyone.
   */
  /** A pod-wide admission (held until the run starts) and one of the caller's running slots (held until it ends), or neither. */
  private claimRun(caller: Caller): { admitted: () => void; release: () => void } {
    const admitted = this.admit();
    try {
      return { admitted, release: this.reserveRun(caller) };
    } catch (error) {
      admitted();
      throw error;
    }
  }

  private admit(): () => void {
    if (this.atCapacity()) {
      const max = this.options.maxRunning?.() ?? Number.POSITIVE_INFINITY;
      throw new UnavailableError(`this agent is running its maximum of ${max} tasks (MAX_RUNNING_TASKS); retry shortly or on another replica`, 1);
    }
    this.admitting++;
    let held = true;
    return () => {
      if (held) this.admitting--;
      held = false;
    };
  }

  private atCapacity(): boolean {
    const max = this.options.maxRunning?.() ?? Number.POSITIVE_INFINITY;
    return this.running.size + this.admitting >= max;
  }

  private async continueTask(
    caller: Caller,
    message: Message,
    taskId: string,
  ): Promise<Started> {
    const stored = await this.store.getTask(caller, taskId);
    if (stored === undefined) throw new TaskNotFoundError(taskId);
    const { task } = stored;
    if (message.contextId !== undefined && message.contextId !== task.contextId) {
      throw new InvalidParamsError(
        `params.message.contextId ${message.contextId} does not match the context ${task.contextId} of task ${taskId}`,
        'params.message.contextId',
      );
    }
    const key = messageKey(message);
    if (await this.store.hasMessage(taskId, key)) {
      // The same message again (a client retry): report the task, run nothing twice.
      return { kind: 'task', taskId, stream: await this.subscribeTo(caller, taskId, { allowEnded: true }) };
    }
    if (isTerminal(task.status.state)) {
      throw new UnsupportedOperationError(`task ${taskId} is ${task.status.state} and accepts no further messages`, { taskId, state: task.status.state });
    }
    if (!isInterrupted(task.status.state)) {
      throw new UnsupportedOperationError(
        `task ${taskId} is ${task.status.state}; it accepts a new message only when it asks for input`,
        { taskId, state: task.status.state },
      );
    }
    const skill = this.skills.get(stored.skill);
    // Permissions may have changed since the task started: the caller needs them for every turn.
    this.options.authorizeSkill?.(caller, skill.descriptor.id);
    const userMessage: Message = withFields(message, { taskId, contextId: task.contextId });
    const status: TaskStatus = { state: 'working', timestamp: now() };
    const { admitted, release } = this.claimRun(caller);
    let changed: TransitionResult;
    try {
      changed = await this.changeStatus(taskId, task.contextId, status, INTERRUPTED_STATES, { message: userMessage, key });
    } catch (error) {
      admitted();
      release();
      throw error;
    }
    if (!changed.applied) {
      admitted();
      release();
      if (changed.reason === 'duplicate-message') return { kind: 'task', taskId, stream: await this.subscribeTo(caller, taskId, { allowEnded: true }) };
      throw new UnsupportedOperationError(`task ${taskId} is ${changed.current} and accepts no further messages`, { taskId, state: changed.current });
    }
    const history = [...task.history, userMessage];
    const resumed: Task = { ...task, status, history };
    const stream = this.openStream(taskId, changed.version);
    stream.push({ kind: 'task', task: resumed }, changed.version);
    const run = this.run(caller, skill, resumed, userMessage, history, release, stored.resumes);
    admitted();
    return { kind: 'task', taskId, stream, run };
  }

  /**
   * The skill a message is routed to, a skill it names that this agent lacks
   * (it goes to a peer), and the peer skill it asks the delegate for: the
   * caller needs permission for each.
   */
  private authorize(caller: Caller, skill: Skill, message: Message): void {
    const check = this.options.authorizeSkill;
    if (check === undefined) return;
    check(caller, skill.descriptor.id);
    const named = requestedSkill(message);
    if (typeof named === 'string' && named !== skill.descriptor.id) check(caller, named);
    const target = message.metadata?.targetSkill;
    if (typeof target === 'string') check(caller, target);
  }

  /** Holds one of the caller's running-task slots; the release runs when the skill run ends, or at once if none starts. */
  private reserveRun(caller: Caller): () => void {
    if (this.runningPerCaller === undefined) return () => undefined;
    const release = this.runningPerCaller.tryAcquire(callerKey(caller));
    if (release === undefined) {
      throw new LimitExceededError(
        'TOO_MANY_TASKS',
        `this caller already has ${this.runningPerCaller.max} tasks running, the most allowed at once; retry when one has ended`,
        RUNNING_CAP_RETRY_SECONDS,
      );
    }
    return release;
  }

  private async subscribeTo(caller: Caller, taskId: string, opts: { allowEnded: boolean }): Promise<TaskStream> {
    // Subscribe before reading, then drop buffered events the snapshot already holds.
    const buffered: VersionedEvent[] = [];
    const unsubscribe = this.bus.subscribe(taskId, (e) => buffered.push(e));
    let stored;
    try {
      stored = await this.store.getTask(caller, taskId);
    } finally {
      unsubscribe();
    }
    if (stored === undefined) throw new TaskNotFoundError(taskId);
    if (!opts.allowEnded && isTerminal(stored.task.status.state)) {
      throw new UnsupportedOperationError(`task ${taskId} is ${stored.task.status.state}; there is nothing left to subscribe to`, {
        taskId,
        state: stored.task.status.state,
      });
    }
    const stream = this.openStream(taskId, stored.version);
    stream.push({ kind: 'task', task: stored.task }, stored.version);
    for (const e of buffered) if (e.version > stored.version) stream.push(e.event, e.version);
    return stream;
  }

  private async resume(caller: Caller, taskId: string, afterVersion: number): Promise<TaskStream> {
    if (!Number.isSafeInteger(afterVersion) || afterVersion < 0) {
      throw new InvalidParamsError(`the resume position must be a whole number of at least 0, not ${afterVersion}`, RESUME_FIELD);
    }
    // As in subscribeTo: listen first, so that whatever is written after the reads arrives live; versions drop the doubles.
    const buffered: VersionedEvent[] = [];
    const unsubscribe = this.bus.subscribe(taskId, (e) => buffered.push(e));
    let stored: StoredTask | undefined;
    let missed: VersionedEvent[];
    const capacity = this.options.streamCapacity;
    try {
      stored = await this.store.getTask(caller, taskId);
      if (stored === undefined) throw new TaskNotFoundError(taskId);
      if (afterVersion > stored.version) {
        throw new InvalidParamsError(
          `the resume position ${afterVersion} is past the last event of task ${taskId} (${stored.version}); resume from an id its stream sent`,
          RESUME_FIELD,
        );
      }
      missed = afterVersion === stored.version ? [] : await this.store.eventsAfter(taskId, afterVersion, capacity);
    } finally {
      unsubscribe();
    }
    // The log holds every version after the position, or the stream starts from the Task as it is now.
    const complete = afterVersion === stored.version || (missed[0]?.version === afterVersion + 1 && missed.length < capacity);
    let seen = complete ? afterVersion : stored.version;
    const replay: VersionedEvent[] = [];
    for (const e of [...missed, ...buffered]) {
      if (e.version <= seen) continue;
      seen = e.version;
      replay.push(e);
    }
    const stream = this.openStream(taskId, seen);
    if (!complete) stream.push({ kind: 'task', task: stored.task }, stored.version);
    for (const e of replay) stream.push(e.event, e.version);
    // Nothing missed and nothing to come: the task ended at the position the client holds.
    if (complete && missed.length === 0 && isTerminal(stored.task.status.state)) stream.end();
    return stream;
  }

  private openStream(taskId: string, fromVersion: number): TaskStream {
    const stream = new TaskStream(this.options.streamCapacity, taskId);
    let seen = fromVersion;
    const unsubscribe = this.bus.subscribe(taskId, (e) => {
      if (e.version <= seen) return;
      seen = e.version;
      stream.push(e.event, e.version);
    });
    stream.onClose(unsubscribe);
    return stream;
  }

  private async readTask(caller: Caller, taskId: string, historyLength?: number): Promise<Task> {
    const stored = await this.store.getTask(caller, taskId, historyLength);
    if (stored === undefined) throw new TaskNotFoundError(taskId);
    return stored.task;
  }

  private async changeStatus(
    taskId: string,
    contextId: string,
    status: TaskStatus,
    allowedFrom: readonly TaskState[],
    userMessage?: { message: Message; key: string },
    conditions: Pick<StatusChange, 'run' | 'ifVersion' | 'resume'> = {},
  ): Promise<TransitionResult> {
    // The store applies the change only from a state in `allowedFrom`: when each of them may
    // move to the new state, every change it applies is one the lifecycle allows.
    for (const from of allowedFrom) assertTransition(taskId, from, status.state);
    return this.serial.run(taskId, async () => {
      const result = await this.store.transition(taskId, { status, allowedFrom, userMessage, ...conditions });
      if (!result.applied) return result;
      this.options.observer?.taskEntered(status.state, result.from);
      this.bus.publish(taskId, { event: statusEvent(taskId, contextId, status), version: result.version });
      return result;
    });
  }

  /** A run's changes of one turn, in one write; then each applied one is published, in order. */
  private async writeRun(taskId: string, contextId: string, changes: readonly RunChange[], run: number): Promise<RunChangesResult> {
    return this.serial.run(taskId, async () => {
      const result = await this.store.applyRunChanges(taskId, contextId, changes, run);
      let from = result.from;
      result.versions.forEach((version, i) => {
        const change = changes[i]!;
        if (change.kind === 'artifact') {
          this.bus.publish(taskId, { event: artifactEvent(taskId, contextId, change.artifact, change.append, change.lastChunk), version });
          return;
        }
        this.options.observer?.taskEntered(change.status.state, from);
        from = change.status.state;
        this.bus.publish(taskId, { event: statusEvent(taskId, contextId, change.status), version });
      });
      return result;
    });
  }

  /**
   * Runs a skill on a task (core/skill-run.ts). `generation` is the task's
   * resume count when this run starts: every write of the run is fenced by it.
   */
  private run(
    caller: Caller,
    skill: Skill,
    task: Task,
    message: Message,
    history: readonly Message[],
    release: () => void,
    generation: number,
  ): Running {
    const controller = new AbortController();
    const run: Running = { controller, done: Promise.resolve(), caller, resumable: skill.resumable === true && generation < this.maxResumes, editedMetadata: false };
    // Known before the skill starts: its first steps may already edit the task's metadata.
    this.running.set(task.id, run);
    run.done = startSkillRun(this.runHost, { caller, skill, task, message, history, generation }, controller, () => {
      this.running.delete(task.id);
      release();
    });
    return run;
  }

  private async finishIfActive(taskId: string, contextId: string, status: TaskStatus, generation: number): Promise<void> {
    // A full store only delays a run's last word: the task must not stay "working" once room is back.
    for (let wait = 500; ; wait = Math.min(2 * wait, 10_000)) {
      try {
        await this.changeStatus(taskId, contextId, status, ACTIVE_STATES, undefined, { run: generation });
        return;
      } catch (error) {
        if (!(error instanceof StoreFullError) || !this.accepting) throw error;
      }
      await delay(wait);
    }
  }

  /**
   * Resumes an interrupted task from its stored request, or fails it with the
   * reason. Both are conditional on the task being still as `task` saw it:
   * when pods race to take a task over, one of them wins.
   */
  private async recover(task: InterruptedTask, why: Interruption): Promise<RecoveryOutcome> {
    const { id: taskId, contextId } = task;
    let decision = decideRecovery(task, this.skills.find(task.skill), this.maxResumes, why, this.mayStillUse(task.caller, task.skill));
    // An orphan to resume waits for a pod below MAX_RUNNING_TASKS (its lease stays lapsed); this pod's own, after a restart, run regardless — accepted work.
    if (decision.resume && why.kind === 'lease' && this.atCapacity()) return 'skipped';
    if (decision.resume) {
      const stored = await this.store.getTask(task.caller, taskId);
      if (stored === undefined) return 'skipped';
      const request = resumeRequest(stored.task.history);
      if (request !== undefined) {
        const status: TaskStatus = { state: 'working', timestamp: now(), message: agentMessage(taskId, contextId, decision.note) };
        const changed = await this.changeStatus(taskId, contextId, status, ACTIVE_STATES, undefined, { ifVersion: task.version, resume: true });
        if (!changed.applied) return 'skipped';
        this.options.observer?.taskResumed?.(taskId, why.kind);
        const resumed: Task = { ...stored.task, status, history: [...stored.task.history, status.message!] };
        // Work accepted before the interruption is not refused by the caller's running-task cap now; it counts when a slot is free.
        const release = this.runningPerCaller?.tryAcquire(callerKey(task.caller)) ?? (() => undefined);
        this.run(task.caller, this.skills.get(task.skill), resumed, request.message, request.history, release, task.resumes + 1);
        return 'resumed';
      }
      decision = { resume: false, reason: 'the task was interrupted and its stored history holds no request to run again; send the request again' };
    }
    const status: TaskStatus = { state: 'failed', timestamp: now(), message: agentMessage(taskId, contextId, decision.reason) };
    const changed = await this.changeStatus(taskId, contextId, status, ACTIVE_STATES, undefined, { ifVersion: task.version });
    return changed.applied ? 'failed' : 'skipped';
  }

  /** Whether the caller may use the skill now (a resumed run needs that as a new turn does; an error lists only such skills). */
  private mayStillUse(caller: Caller, skillId: string): boolean {
    try {
      this.options.authorizeSkill?.(caller, skillId);
      return true;
    } catch {
      return false;
    }
  }

  private get maxResumes(): number {
    return this.options.maxResumes ?? 0;
  }
}

/** The name an A2A 0.2 client gave the task a send creates or continues. */
export interface TaskNaming {
  taskAlias?: string;
}

function callerKey(caller: Caller): string {
  return `${caller.tenant}\u0000${caller.principal}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
