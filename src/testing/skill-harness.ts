import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../core/event-bus.js';
import { SkillRegistry } from '../core/skill-registry.js';
import { TaskService } from '../core/task-service.js';
import { ANONYMOUS } from '../model/model.js';
import type { ListTasksQuery, Message, Part, SendResult, StreamItem, Task, TaskPage } from '../model/model.js';
import { skillShapeProblem } from '../skills/skill-shape.js';
import type { Skill, SkillLog } from '../skills/skill.js';
import { SqliteTaskStore } from '../store/sqlite/sqlite-store.js';
import { readAll } from './read-all.js';

export interface SkillHarnessOptions {
  /** The skill a message that names none goes to; default: the first one given. */
  defaultSkill?: string;
  /** Most milliseconds `stream` waits for its stream to end; default 60 000. */
  streamTimeoutMs?: number;
}

/** A line a skill wrote to its log (`ctx.log`). */
export interface HarnessLogLine {
  readonly level: keyof SkillLog;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly skill: string;
  readonly taskId: string;
}

/** What the harness runs on: the task service and store of one agent, without HTTP. */
export interface HarnessParts {
  readonly service: TaskService;
  readonly store: SqliteTaskStore;
  /** Every line the skills logged, oldest first. */
  readonly logs: HarnessLogLine[];
}

/**
 * Runs skills the way the agent does — the real task service over a real
 * SQLite store in a temporary directory — without HTTP or a port, so a
 * skill's author can test it in-process: send a message and read the task,
 * stream its events, cancel it. Every call acts as one anonymous caller.
 */
export class SkillHarness {
  private counter = 0;
  /** Every line the skills wrote to `ctx.log`, oldest first. */
  readonly logs: readonly HarnessLogLine[];

  protected constructor(
    protected readonly parts: HarnessParts,
    private readonly streamTimeoutMs: number,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.logs = parts.logs;
  }

  /** Starts the skills on a fresh store; each is checked as SKILL_MODULES checks a module's export. */
  static async start(skills: Skill | readonly Skill[], options: SkillHarnessOptions = {}): Promise<SkillHarness> {
    const opened = await openHarnessStore();
    try {
      return new SkillHarness(harnessParts(skills, opened.store, options), options.streamTimeoutMs ?? 60_000, opened.close);
    } catch (error) {
      await opened.close();
      throw error;
    }
  }

  /** A user message with a fresh id: text, or the parts given, with `extra` fields (metadata, taskId, contextId…). */
  message(parts: Part[] | string, extra: Partial<Message> = {}): Message {
    return {
      messageId: `harness-${process.pid}-${++this.counter}`,
      role: 'user',
      parts: typeof parts === 'string' ? [{ kind: 'text', text: parts }] : parts,
      ...extra,
    };
  }

  /** Sends a user message and waits until its task ends or asks for input (or the skill's direct reply). */
  send(parts: Part[] | string | Message, extra: Partial<Message> = {}): Promise<SendResult> {
    return this.parts.service.sendMessage(ANONYMOUS, this.asMessage(parts, extra));
  }

  /** Sends a user message and resolves as soon as its task exists, the skill running in the background. */
  start(parts: Part[] | string | Message, extra: Partial<Message> = {}): Promise<SendResult> {
    return this.parts.service.sendMessage(ANONYMOUS, this.asMessage(parts, extra), { returnImmediately: true });
  }

  /** Sends a user message and collects every stream item (the task, then each status and artifact update) until the stream ends. */
  async stream(parts: Part[] | string | Message, extra: Partial<Message> = {}): Promise<StreamItem[]> {
    const stream = await this.parts.service.sendStreamingMessage(ANONYMOUS, this.asMessage(parts, extra));
    return readAll(stream, this.streamTimeoutMs);
  }

  /** The task of a send's result; throws when the skill replied with a message alone. */
  task(result: SendResult): Task {
    if (result.kind !== 'task') throw new Error(`expected a task, got a direct message: ${JSON.stringify(result.message)}`);
    return result.task;
  }

  /** The task as stored now. */
  getTask(taskId: string, historyLength?: number): Promise<Task> {
    return this.parts.service.getTask(ANONYMOUS, taskId, historyLength);
  }

  /** A page of tasks (artifacts included unless the query says otherwise). */
  listTasks(query: Partial<ListTasksQuery> = {}): Promise<TaskPage> {
    return this.parts.service.listTasks(ANONYMOUS, { pageSize: 50, includeArtifacts: true, ...query });
  }

  /** Cancels a task: the skill's signal fires and the task is canceled. */
  cancel(taskId: string): Promise<Task> {
    return this.parts.service.cancelTask(ANONYMOUS, taskId);
  }

  /** Stops the skills still running (waiting up to `graceMs` for them to end) and removes the store. */
  async close(graceMs = 1000): Promise<void> {
    await this.parts.service.drain(Date.now() + graceMs);
    await this.cleanup();
  }

  private asMessage(parts: Part[] | string | Message, extra: Partial<Message>): Message {
    if (typeof parts === 'string' || Array.isArray(parts)) return this.message(parts, extra);
    return { ...parts, ...extra };
  }
}

/** A SQLite store in a fresh temporary directory, which `close` closes and removes. */
export async function openHarnessStore(): Promise<{ store: SqliteTaskStore; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-a2a-skill-harness-'));
  const store = new SqliteTaskStore({ path: join(dir, 'tasks.db'), synchronous: 'normal' });
  try {
    await store.open();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A task service for `skills` over `store`, the skills' shape checked first;
 * `maxResumes` (default 0) matters only to a harness that reopens a store.
 */
export function harnessParts(skills: Skill | readonly Skill[], store: SqliteTaskStore, options: SkillHarnessOptions & { maxResumes?: number } = {}): HarnessParts {
  const list: readonly Skill[] = Array.isArray(skills) ? skills : [skills as Skill];
  if (list.length === 0) throw new Error('SkillHarness.start: no skills given');
  list.forEach((skill, index) => {
    const problem = skillShapeProblem(skill);
    if (problem !== undefined) throw new TypeError(`SkillHarness.start: skill [${index}] ${problem}`);
  });
  const registry = new SkillRegistry(list, options.defaultSkill ?? list[0]!.descriptor.id);
  const logs: HarnessLogLine[] = [];
  const skillLog = (skill: string, taskId: string): SkillLog => {
    const line =
      (level: keyof SkillLog) =>
      (message: string, fields: Record<string, unknown> = {}) =>
        logs.push({ level, message, fields, skill, taskId });
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  };
  const service = new TaskService({ store, bus: new EventBus(), skills: registry, pod: 'test-0', streamCapacity: 10_000, maxResumes: options.maxResumes ?? 0, skillLog });
  return { service, store, logs };
}
