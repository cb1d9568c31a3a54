import { randomUUID } from 'node:crypto';
import { InvalidStateTransitionError, UnsupportedOperationError } from '../model/errors.js';
import { canTransition, isActive, isInterrupted, isTerminal } from '../model/lifecycle.js';
import type { Caller, Message, Task, TaskState, TaskStatus } from '../model/model.js';
import { redactCredentials } from '../observability/redact.js';
import { endSpan, SpanKind, startSpan, withSpan } from '../observability/tracing.js';
import type { AgentReply, Skill, SkillContext, SkillLog } from '../skills/skill.js';
import type { RunChange, RunChangesResult, WriteResult } from '../store/task-store.js';
import type { EventBus } from './event-bus.js';
import { LeftForResume } from './recovery.js';
import { TurnWrites } from './turn-writes.js';

// One run of a skill on a task: the context the skill reports through, and
// the end of the run (completed, failed, or left for a later resume). The
// task service decides when a run starts and owns every write it makes.

/** What a run may do to its task, through the task service. */
export interface SkillRunHost {
  readonly bus: EventBus;
  /** Most bytes (as JSON) all artifact writes of one task may add up to; unbounded when undefined. */
  readonly maxArtifactBytes: number | undefined;
  /** Writes the run's changes of one turn (fenced by its generation), then publishes each one applied. */
  writeRun(taskId: string, contextId: string, changes: RunChange[], generation: number): Promise<RunChangesResult>;
  /** The run's last word, if the task is still active. */
  finish(taskId: string, contextId: string, status: TaskStatus, generation: number): Promise<void>;
  skillFailed(taskId: string, error: unknown): void;
  /** The run found its task resumed elsewhere (this pod's lease had lapsed) and stopped. */
  superseded(taskId: string): void;
  /** The run ended: the state it left its task in (`interrupted`: left for a resume at shutdown, or superseded) and how long it ran. */
  runEnded(skillId: string, state: TaskState | 'interrupted', seconds: number): void;
  /** Whether `caller` may use a skill. */
  mayUse(caller: Caller, skillId: string): boolean;
  /** The log lines of one run. */
  logFor(skillId: string, taskId: string): SkillLog;
  /** Runs another skill as a sub-task of `caller`. */
  runSubTask(caller: Caller, skillId: string, message: Message, signal: AbortSignal): Promise<Task | Message>;
}

export interface SkillRunRequest {
  /** Who started (or last continued) the task: sub-tasks the skill starts run as this caller. */
  caller: Caller;
  skill: Skill;
  task: Task;
  message: Message;
  history: readonly Message[];
  /** The task's resume count when this run starts: every write of the run is fenced by it. */
  generation: number;
}

/** A skill tried to write more artifact bytes than one task may hold. */
export class ArtifactLimitError extends Error {
  constructor(
    readonly artifactId: string,
    readonly wouldBe: number,
    readonly limit: number,
  ) {
    super(`artifact "${artifactId}" would bring this task's artifacts to ${wouldBe} bytes, over the limit of ${limit} bytes per task (MAX_ARTIFACT_BYTES)`);
    this.name = 'ArtifactLimitError';
  }
}

/**
 * Starts a skill on a task in the background; `controller` stops it. A run
 * that another pod superseded (it resumed the task after this pod's lease
 * lapsed) writes nothing; `ended` is called once the run is over, however it
 * ended. The promise settles then too.
 */
export function startSkillRun(host: SkillRunHost, request: SkillRunRequest, controller: AbortController, ended: () => void): Promise<void> {
  const { skill, task, generation } = request;
  const { id: taskId, contextId } = task;
  // A run stopped at shutdown for a later resume writes nothing more, whatever the skill does after the abort.
  const leftForResume = () => controller.signal.aborted && controller.signal.reason instanceof LeftForResume;
  const started = process.hrtime.bigint();
  // The state this run last reported (`lastState`) and the last one it wrote (`durableState`); a cancel from elsewhere (and the run's own last word) is seen on the bus.
  const progress: Progress = { lastState: task.status.state, durableState: task.status.state, executing: true };
  const writes = new TurnWrites(async (changes) => {
    const result = await host.writeRun(taskId, contextId, changes, generation);
    for (const change of changes.slice(0, result.versions.length)) if (change.kind === 'status') progress.durableState = change.status.state;
    if (result.refused !== undefined) throw refusal(host, taskId, controller, result.refused, changes[result.versions.length]!);
  });
  const ctx = skillContext(host, request, controller, leftForResume, progress, writes);
  // A cancel committed by another pod reaches this one as an event: stop the skill. The run's own
  // end (the state the skill reported, or its last word once the skill has returned) stops nothing.
  const stopOnEnd = host.bus.subscribe(taskId, ({ event }) => {
    if (event.kind !== 'status-update' || !isTerminal(event.status.state)) return;
    const endedElsewhere = progress.executing && progress.lastState !== event.status.state;
    progress.lastState = progress.durableState = event.status.state;
    if (endedElsewhere && !controller.signal.aborted) controller.abort(new Error(`task ${event.status.state}`));
  });
  // A child of the request that started the run (none for a resumed one), also when the run outlives the request's answer.
  const span = startSpan(`skill ${skill.descriptor.id}`, SpanKind.INTERNAL, { 'a2a.skill.id': skill.descriptor.id, 'a2a.task.id': taskId, 'kagent.run.resumes': generation });
  let outcome = 'ok';
  const done = withSpan(span, async () => {
    try {
      try {
        await skill.execute(ctx);
      } finally {
        progress.executing = false;
      }
      // The run's last word waits until everything it reported is durable (or known refused).
      await writes.settled();
      if (leftForResume()) {
        outcome = 'left_for_resume';
        return;
      }
      // A task the skill itself ended, or left waiting for input (or that a cancel ended), takes no last word.
      if (isTerminal(progress.durableState) || isInterrupted(progress.durableState)) return;
      await host.finish(taskId, contextId, { state: 'completed', timestamp: now() }, generation);
    } catch (error) {
      // Its changes still in flight are written, or fail, before the run's own end is.
      await writes.settled().catch(() => undefined);
      // An abort is a cancel (the task is already canceled, so this writes nothing) or a shutdown.
      const aborted = controller.signal.aborted;
      outcome = leftForResume() ? 'left_for_resume' : aborted ? 'stopped' : 'failed';
      if (leftForResume()) return;
      if (!aborted) host.skillFailed(taskId, error);
      const cause: unknown = aborted ? controller.signal.reason : error;
      // Whoever reads the task sees this: an error quoting a URL must not carry its credentials along.
      const reason = redactCredentials(cause instanceof Error ? cause.message : String(cause));
      await host.finish(
        taskId,
        contextId,
        {
          state: 'failed',
          timestamp: now(),
          message: agentMessage(taskId, contextId, aborted ? reason : `skill ${skill.descriptor.id} failed: ${reason}`),
        },
        generation,
      );
    }
  })
    .catch((error: unknown) => host.skillFailed(taskId, error))
    .finally(() => {
      endSpan(span, outcome, outcome === 'failed' ? `skill ${skill.descriptor.id} failed` : undefined);
      stopOnEnd();
      ended();
      const settled = isTerminal(progress.durableState) || isInterrupted(progress.durableState);
      host.runEnded(skill.descriptor.id, leftForResume() || !settled ? 'interrupted' : progress.durableState, Number(process.hrtime.bigint() - started) / 1e9);
    });
  return done;
}

interface Progress {
  lastState: TaskState;
  durableState: TaskState;
  /** The skill has not returned (or thrown) yet. */
  executing: boolean;
}

/**
 * The error a refused write of the run is thrown as. A run whose task another
 * pod resumed (this pod's lease had lapsed) stops quietly: it did not fail.
 */
function refusal(host: SkillRunHost, taskId: string, controller: AbortController, result: Exclude<WriteResult, { applied: true }>, change: RunChange): Error {
  if (result.reason === 'superseded' && !controller.signal.aborted) {
    controller.abort(new Error(`task ${taskId} was taken over by another run`));
    host.superseded(taskId);
  }
  if (change.kind === 'status' && result.reason === 'state' && !canTransition(result.current, change.status.state)) {
    return new InvalidStateTransitionError(taskId, result.current, change.status.state);
  }
  const where = result.reason === 'superseded' ? ' was taken over by another run' : ` is ${result.current}`;
  const what = change.kind === 'status' ? `the skill cannot move it to ${change.status.state}` : 'it takes no more artifacts';
  return new UnsupportedOperationError(`task ${taskId}${where}; ${what}`, { taskId });
}

/**
 * The context a skill reports through: progress, artifacts and its end. Each
 * change is checked against the state the run last reported and goes out with
 * the turn's other changes (core/turn-writes.ts); nobody hears of it before it
 * is written.
 */
function skillContext(
  host: SkillRunHost,
  request: SkillRunRequest,
  controller: AbortController,
  leftForResume: () => boolean,
  progress: Progress,
  writes: TurnWrites,
): SkillContext {
  const { caller, task, message, history } = request;
  const { id: taskId, contextId } = task;
  // Counted as written (appended chunks add up), from what earlier turns left: a task's artifacts are what every reader loads.
  const artifactLimit = host.maxArtifactBytes;
  let artifactBytes = artifactLimit === undefined ? 0 : jsonBytes(task.artifacts);
  /** Throws what the store would refuse now: the run's task is no longer active (it ended, or waits for input). */
  const assertActive = (change: RunChange): void => {
    if (leftForResume()) throw controller.signal.reason;
    writes.throwIfFailed();
    const current = progress.lastState;
    if (!isActive(current)) throw refusal(host, taskId, controller, { applied: false, reason: 'state', current }, change);
  };
  const status = async (state: TaskState, reply: AgentReply | undefined) => {
    const change: RunChange = {
      kind: 'status',
      status: { state, timestamp: now(), ...(reply === undefined ? {} : { message: agentMessage(taskId, contextId, reply) }) },
    };
    assertActive(change);
    writes.add(change);
    progress.lastState = state;
  };
  return {
    taskId,
    contextId,
    message,
    history,
    signal: controller.signal,
    runSkill: (skillId, subMessage, signal) => host.runSubTask(caller, skillId, subMessage, signal),
    mayUse: (skillId) => host.mayUse(caller, skillId),
    log: host.logFor(request.skill.descriptor.id, taskId),
    working: (reply) => status('working', reply),
    artifact: async (artifact, chunk) => {
      const change: RunChange = { kind: 'artifact', artifact, append: chunk?.append ?? false, lastChunk: chunk?.lastChunk ?? chunk?.append !== true };
      assertActive(change);
      if (artifactLimit !== undefined) {
        const wouldBe = artifactBytes + jsonBytes(artifact);
        if (wouldBe > artifactLimit) throw new ArtifactLimitError(artifact.artifactId, wouldBe, artifactLimit);
        artifactBytes = wouldBe;
      }
      writes.add(change);
    },
    complete: (reply) => status('completed', reply),
    fail: (reply) => status('failed', reply),
    reject: (reply) => status('rejected', reply),
    requireInput: (reply) => status('input-required', reply),
    requireAuth: (reply) => status('auth-required', reply),
    durable: () => writes.settled(),
  };
}

/** An agent's reply (text or parts) as a message of the task. */
export function agentMessage(taskId: string, contextId: string, reply: AgentReply): Message {
  const parts = typeof reply === 'string' ? [{ kind: 'text' as const, text: reply }] : reply;
  return { messageId: randomUUID(), role: 'agent', parts, taskId, contextId };
}

/** What a value weighs as stored and sent: its JSON, in bytes. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

// V8 formats an ISO date field by field through printf, some 7,000 instructions a call, and a
// task gets several timestamps within the same millisecond: the last one is kept for its millisecond.
let stampedAt = Number.NaN;
let stamp = '';

/** A status timestamp: now, as the wire writes it. */
export function now(): string {
  const ms = Date.now();
  if (ms !== stampedAt) {
    stamp = new Date(ms).toISOString();
    stampedAt = ms;
  }
  return stamp;
}
