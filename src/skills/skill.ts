import type { Artifact, Caller, Message, Part, Task } from '../model/model.js';

/** What the agent card says about a skill. */
export interface SkillDescriptor {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples?: string[];
  inputModes?: string[];
  outputModes?: string[];
}

/**
 * Runs another skill of this agent as a sub-task and resolves with the task
 * once it has ended or asked for input (or with the skill's direct reply);
 * aborting `signal` cancels the sub-task.
 */
export type RunSkill = (skillId: string, message: Message, signal: AbortSignal) => Promise<Task | Message>;

/**
 * A skill's lines in the agent's log, each tagged with the skill and the task.
 * `fields` are logged as they are: never put a credential in them.
 */
export interface SkillLog {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Text, or parts, of an agent message that accompanies a status change. */
export type AgentReply = string | Part[];

/**
 * What a running skill can do to its task. Every call resolves once the change
 * is accepted: the changes a run makes in one turn of the event loop (a
 * synchronous skill's working → artifact → completed) are written together,
 * as one write, and nobody — a reader, a subscriber, the caller waiting for
 * the answer — hears of a change before it is durable. A change the store
 * refuses or fails to write (a cancel or a takeover that came first, a full
 * disk) is thrown by the run's next call, by `durable()`, and ends the run.
 * After the task has ended (completed, canceled…) each call rejects
 * (InvalidStateTransitionError where the lifecycle forbids the move), so a
 * skill that ignores `signal` still cannot write.
 */
export interface SkillContext {
  readonly taskId: string;
  readonly contextId: string;
  /** The message that started this run (the first one, or the input that resumed the task). */
  readonly message: Message;
  /** The task's history up to and including `message`. */
  readonly history: readonly Message[];
  /** Aborted when the task is canceled or the service shuts down. */
  readonly signal: AbortSignal;

  /**
   * Runs another skill of this agent as a sub-task of the same caller (its
   * permissions and limits apply); a message that names this task in
   * `referenceTaskIds` and `contextId` joins its conversation.
   */
  readonly runSkill: RunSkill;
  /**
   * Whether the caller of this task may use a skill (SKILL_PERMISSIONS): a
   * skill that acts for the caller elsewhere (delegate, on a peer's skills)
   * checks what it would reach before it reaches it.
   */
  mayUse(skillId: string): boolean;
  /** The agent's log, for this run. */
  readonly log: SkillLog;

  working(reply?: AgentReply): Promise<void>;
  /**
   * Adds an artifact, or one chunk of it. Without `lastChunk` the chunk is the
   * last unless it is appended: an artifact given whole is one, final chunk.
   */
  artifact(artifact: Artifact, chunk?: { append?: boolean; lastChunk?: boolean }): Promise<void>;
  complete(reply?: AgentReply): Promise<void>;
  fail(reply: AgentReply): Promise<void>;
  reject(reply: AgentReply): Promise<void>;
  requireInput(reply: AgentReply): Promise<void>;
  requireAuth(reply: AgentReply): Promise<void>;
  /**
   * Resolves once every change reported so far is durable; rejects with why
   * one is not. For a skill that must not act on the outside world before its
   * progress is stored.
   */
  durable(): Promise<void>;
}

export interface Skill {
  readonly descriptor: SkillDescriptor;
  /**
   * Whether a first message sent again (same messageId and content) joins the
   * task it started instead of starting another. Default true: retries are
   * safe. Only a skill whose callers reuse message ids for new work opts out.
   */
  readonly deduplicateRequests?: boolean;
  /**
   * Whether a run interrupted by a restart (or by its pod losing its lease) may
   * run again from the stored request: true only when running the request twice
   * does no harm nor costs anything that matters. Default false: such a task
   * fails with a reason, and the caller decides whether to send it again.
   */
  readonly resumable?: boolean;
  /**
   * Answers a message with a message alone, creating no task; returning
   * undefined makes the message start a task that `execute` runs. `caller`
   * is who sent it, already allowed to use this skill.
   */
  replyDirectly?(message: Message, caller: Caller): Message | undefined;
  /**
   * Runs (a turn of) a task. Returning without ending the task completes it;
   * throwing fails it with the error's message.
   */
  execute(ctx: SkillContext): Promise<void>;
}
