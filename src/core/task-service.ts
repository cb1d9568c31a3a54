import { randomUUID } from 'node:crypto';
import {
  InvalidParamsError,
  StoreFullError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnavailableError,
  UnsupportedOperationError,
} from '../model/errors.js';
import { endsStream, isInterrupted, isTerminal } from '../model/lifecycle.js';
import type {
  Artifact,
  Caller,
  ListTasksQuery,
  Message,
  SendResult,
  Task,
  TaskEvent,
  TaskPage,
  TaskState,
  TaskStatus,
} from '../model/model.js';
import type { AgentReply, Skill, SkillContext } from '../skills/skill.js';
import type { TaskStore, TransitionResult } from '../store/task-store.js';
import type { EventBus, VersionedEvent } from './event-bus.js';
import { KeyedQueue } from './keyed-queue.js';
import { messageKey } from './message-key.js';
import { newTaskId, timeOrderedUuid } from './task-id.js';
import type { SkillRegistry } from './skill-registry.js';
import { TaskStream } from './task-stream.js';

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
  observer?: TaskObserver;
}

/** Told about every state a task enters, for metrics and logs. */
export interface TaskObserver {
  taskEntered(state: TaskState, previous: TaskState | undefined): void;
  skillFailed(taskId: string, error: unknown): void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const ACTIVE: readonly TaskState[] = ['submitted', 'working'];
const RESUMABLE_FROM: readonly TaskState[] = ['input-required', 'auth-required'];
const NOT_TERMINAL: readonly TaskState[] = ['submitted', 'working', 'input-required', 'auth-required'];

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
  private accepting = true;

  constructor(private readonly options: TaskServiceOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.skills = options.skills;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Ids of the tasks whose skills run in this process. */
  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  /** Fails a task another pod was running and stopped renewing (shared store): nobody will finish it. */
  async failOrphan(taskId: string, contextId: string, formerPod: string): Promise<void> {
    await this.changeStatus(
      taskId,
      contextId,
      {
        state: 'failed',
        timestamp: now(),
        message: agentMessage(taskId, contextId, `the pod running this task (${formerPod}) stopped renewing its lease and is presumed gone; send the request again`),
      },
      ACTIVE,
    );
  }

  /** From now on, new messages are refused with a retryable error; reads still work. */
  stopAccepting(): void {
    this.accepting = false;
  }

  async sendMessage(caller: Caller, message: Message, options: { returnImmediately?: boolean; historyLength?: number } = {}): Promise<SendResult> {
    const started = await this.accept(caller, message);
    if (started.kind === 'message') {
      return started;
    }
    const { taskId, stream } = started;
    if (stream !== undefined && options.returnImmediately !== true) {
      for await (const item of stream) {
        if (item.kind === 'status-update' && item.final) break;
        if (item.kind === 'task' && endsStream(item.task.status.state)) break;
      }
    }
    stream?.close();
    return { kind: 'task', task: await this.readTask(caller, taskId, options.historyLength) };
  }

  /** The stream starts with the Task (or the lone Message) and ends at a terminal or interrupted state. */
  async sendStreamingMessage(caller: Caller, message: Message): Promise<TaskStream> {
    const started = await this.accept(caller, message);
    if (started.kind === 'message') {
      const stream = new TaskStream(1);
      stream.push(started);
      return stream;
    }
    if (started.stream !== undefined) return started.stream;
    return this.subscribeTo(caller, started.taskId, { allowEnded: true });
  }

  async subscribe(caller: Caller, taskId: string): Promise<TaskStream> {
    return this.subscribeTo(caller, taskId, { allowEnded: false });
  }

  async getTask(caller: Caller, taskId: string, historyLength?: number): Promise<Task> {
    return this.readTask(caller, taskId, historyLength);
  }

  async listTasks(caller: Caller, query: ListTasksQuery): Promise<TaskPage> {
    return this.store.list(caller, query);
  }

  async cancelTask(caller: Caller, taskId: string): Promise<Task> {
    const head = await this.store.getHead(caller, taskId);
    if (head === undefined) throw new TaskNotFoundError(taskId);
    if (isTerminal(head.state)) throw new TaskNotCancelableError(taskId, head.state);
    const changed = await this.changeStatus(taskId, head.contextId, { state: 'canceled', timestamp: now() }, NOT_TERMINAL);
    if (!changed.applied) throw new TaskNotCancelableError(taskId, changed.reason === 'state' ? changed.current : head.state);
    this.running.get(taskId)?.controller.abort(new Error('task canceled'));
    return this.readTask(caller, taskId);
  }

  /**
   * Marks tasks this pod was running when it last stopped: nobody will finish
   * them, so they fail with a reason instead of staying "working" forever.
   */
  async recoverInterrupted(): Promise<number> {
    const orphans = await this.store.unfinished(this.options.pod);
    for (const orphan of orphans) {
      await this.changeStatus(
        orphan.id,
        orphan.contextId,
        {
          state: 'failed',
          timestamp: now(),
          message: agentMessage(orphan.id, orphan.contextId, 'the agent restarted while this task was running; send the request again'),
        },
        ACTIVE,
      );
    }
    return orphans.length;
  }

  /**
   * Waits for running skills until the deadline; whatever still runs then is
   * aborted, which fails its task with the reason, so no task stays "working".
   */
  async drain(deadlineMs: number): Promise<void> {
    this.stopAccepting();
    const allDone = () => Promise.all([...this.running.values()].map((r) => r.done)).then(() => true);
    if (await Promise.race([allDone(), delay(Math.max(0, deadlineMs - Date.now())).then(() => false)])) return;
    for (const run of this.running.values()) run.controller.abort(new Error('the agent shut down before the task finished; send the request again'));
    await Promise.race([allDone(), delay(2000)]);
  }

  // ---------------------------------------------------------------------------

  private async accept(
    caller: Caller,
    message: Message,
  ): Promise<{ kind: 'message'; message: Message } | { kind: 'task'; taskId: string; stream?: TaskStream }> {
    if (!this.accepting) throw new UnavailableError('the agent is shutting down and takes no new work; retry on another replica', 1);
    if (message.role !== 'user') throw new InvalidParamsError('params.message.role must be the user role for a message sent to the agent', 'params.message.role');
    if (message.taskId !== undefined) return this.continueTask(caller, message, message.taskId);

    const skill = this.skills.route(message);
    // A retried first message carries the same key: creating its task again fails on the key,
    // and the retry joins the task it started instead of starting the work again.
    const requestKey = skill.deduplicateRequests === false ? timeOrderedUuid() : messageKey(message);

    const direct = skill.replyDirectly?.(message);
    if (direct !== undefined) {
      const contextId = message.contextId ?? timeOrderedUuid();
      return { kind: 'message', message: { ...direct, contextId } };
    }
    return this.createTask(caller, message, requestKey, skill);
  }

  private async createTask(
    caller: Caller,
    message: Message,
    requestKey: string,
    skill: Skill,
  ): Promise<{ kind: 'task'; taskId: string; stream: TaskStream }> {
    const taskId = newTaskId(this.options.pod);
    const contextId = message.contextId ?? timeOrderedUuid();
    const userMessage: Message = { ...message, taskId, contextId };
    const task: Task = {
      id: taskId,
      contextId,
      status: { state: 'submitted', timestamp: now() },
      artifacts: [],
      history: [userMessage],
    };
    const release = this.admit();
    let version: number;
    try {
      version = await this.store.createTask(task, { caller, pod: this.options.pod, skill: skill.descriptor.id, requestKey });
    } catch (error) {
      release();
      // The same message again (a retry, or two sends at once): join the task it started.
      const winner = await this.store.findTaskByRequestKey(caller, requestKey);
      if (winner === undefined) throw error;
      return { kind: 'task', taskId: winner, stream: await this.subscribeTo(caller, winner, { allowEnded: true }) };
    }
    release();
    this.options.observer?.taskEntered('submitted', undefined);
    const stream = this.openStream(taskId, version);
    stream.push({ kind: 'task', task });
    this.run(skill, task, userMessage, [userMessage]);
    return { kind: 'task', taskId, stream };
  }

  /**
   * Holds a place for one more skill run, or refuses before anything is written:
   * past MAX_RUNNING_TASKS the pod would only get slower for everyone.
   */
  private admit(): () => void {
    const max = this.options.maxRunning?.() ?? Number.POSITIVE_INFINITY;
    if (this.running.size + this.admitting >= max) {
      throw new UnavailableError(`this agent is running its maximum of ${max} tasks (MAX_RUNNING_TASKS); retry shortly or on another replica`, 1);
    }
    this.admitting++;
    let held = true;
    return () => {
      if (held) this.admitting--;
      held = false;
    };
  }

  private async continueTask(
    caller: Caller,
    message: Message,
    taskId: string,
  ): Promise<{ kind: 'task'; taskId: string; stream?: TaskStream }> {
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
    const userMessage: Message = { ...message, taskId, contextId: task.contextId };
    const status: TaskStatus = { state: 'working', timestamp: now() };
    const release = this.admit();
    let changed: TransitionResult;
    try {
      changed = await this.changeStatus(taskId, task.contextId, status, RESUMABLE_FROM, { message: userMessage, key });
    } finally {
      release();
    }
    if (!changed.applied) {
      if (changed.reason === 'duplicate-message') return { kind: 'task', taskId, stream: await this.subscribeTo(caller, taskId, { allowEnded: true }) };
      throw new UnsupportedOperationError(`task ${taskId} is ${changed.current} and accepts no further messages`, { taskId, state: changed.current });
    }
    const history = [...task.history, userMessage];
    const resumed: Task = { ...task, status, history };
    const stream = this.openStream(taskId, changed.version);
    stream.push({ kind: 'task', task: resumed });
    this.run(skill, resumed, userMessage, history);
    return { kind: 'task', taskId, stream };
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
    stream.push({ kind: 'task', task: stored.task });
    for (const e of buffered) if (e.version > stored.version) stream.push(e.event);
    return stream;
  }

  private openStream(taskId: string, fromVersion: number): TaskStream {
    const stream = new TaskStream(this.options.streamCapacity, taskId);
    let seen = fromVersion;
    const unsubscribe = this.bus.subscribe(taskId, (e) => {
      if (e.version <= seen) return;
      seen = e.version;
      stream.push(e.event);
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
  ): Promise<TransitionResult> {
    return this.serial.run(taskId, async () => {
      const result = await this.store.transition(taskId, { status, allowedFrom, userMessage });
      if (!result.applied) return result;
      this.options.observer?.taskEntered(status.state, result.from);
      const event: TaskEvent = { kind: 'status-update', taskId, contextId, status, final: endsStream(status.state) };
      this.bus.publish(taskId, { event, version: result.version });
      return result;
    });
  }

  private async addArtifact(taskId: string, contextId: string, artifact: Artifact, append: boolean, lastChunk: boolean): Promise<void> {
    await this.serial.run(taskId, async () => {
      const result = await this.store.putArtifact(taskId, artifact, append, ACTIVE, lastChunk);
      if (!result.applied) {
        throw new UnsupportedOperationError(`task ${taskId} is ${result.current}; it takes no more artifacts`, { taskId, state: result.current });
      }
      const event: TaskEvent = { kind: 'artifact-update', taskId, contextId, artifact, append, lastChunk };
      this.bus.publish(taskId, { event, version: result.version });
    });
  }

  private run(skill: Skill, task: Task, message: Message, history: readonly Message[]): void {
    const controller = new AbortController();
    const { id: taskId, contextId } = task;
    const status = async (state: TaskState, reply: AgentReply | undefined, from: readonly TaskState[]) => {
      const result = await this.changeStatus(
        taskId,
        contextId,
        { state, timestamp: now(), ...(reply === undefined ? {} : { message: agentMessage(taskId, contextId, reply) }) },
        from,
      );
      if (!result.applied) throw new UnsupportedOperationError(`task ${taskId} has ended; the skill cannot move it to ${state}`, { taskId });
    };
    const ctx: SkillContext = {
      taskId,
      contextId,
      message,
      history,
      signal: controller.signal,
      working: (reply) => status('working', reply, ACTIVE),
      artifact: (artifact, chunk) => this.addArtifact(taskId, contextId, artifact, chunk?.append ?? false, chunk?.lastChunk ?? false),
      complete: (reply) => status('completed', reply, ACTIVE),
      fail: (reply) => status('failed', reply, ACTIVE),
      reject: (reply) => status('rejected', reply, ACTIVE),
      requireInput: (reply) => status('input-required', reply, ACTIVE),
      requireAuth: (reply) => status('auth-required', reply, ACTIVE),
    };
    // A cancel committed by another pod reaches this one as an event: stop the skill.
    const stopOnEnd = this.bus.subscribe(taskId, ({ event }) => {
      if (event.kind === 'status-update' && isTerminal(event.status.state) && !controller.signal.aborted) {
        controller.abort(new Error(`task ${event.status.state}`));
      }
    });
    const done = (async () => {
      try {
        await skill.execute(ctx);
        await this.finishIfActive(taskId, contextId, { state: 'completed', timestamp: now() });
      } catch (error) {
        // An abort is a cancel (the task is already canceled, so this writes nothing) or a shutdown.
        const aborted = controller.signal.aborted;
        if (!aborted) this.options.observer?.skillFailed(taskId, error);
        const cause: unknown = aborted ? controller.signal.reason : error;
        const reason = cause instanceof Error ? cause.message : String(cause);
        await this.finishIfActive(taskId, contextId, {
          state: 'failed',
          timestamp: now(),
          message: agentMessage(taskId, contextId, aborted ? reason : `skill ${skill.descriptor.id} failed: ${reason}`),
        });
      }
    })()
      .catch((error: unknown) => this.options.observer?.skillFailed(taskId, error))
      .finally(() => {
        stopOnEnd();
        this.running.delete(taskId);
      });
    this.running.set(taskId, { controller, done });
  }

  private async finishIfActive(taskId: string, contextId: string, status: TaskStatus): Promise<void> {
    // A full store only delays a run's last word: the task must not stay "working" once room is back.
    for (let wait = 500; ; wait = Math.min(2 * wait, 10_000)) {
      try {
        await this.changeStatus(taskId, contextId, status, ACTIVE);
        return;
      } catch (error) {
        if (!(error instanceof StoreFullError) || !this.accepting) throw error;
      }
      await delay(wait);
    }
  }
}

function agentMessage(taskId: string, contextId: string, reply: AgentReply): Message {
  const parts = typeof reply === 'string' ? [{ kind: 'text' as const, text: reply }] : reply;
  return { messageId: randomUUID(), role: 'agent', parts, taskId, contextId };
}

function now(): string {
  return new Date().toISOString();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
