import { EventBus } from '../../src/core/event-bus.js';
import { SkillRegistry } from '../../src/core/skill-registry.js';
import { TaskService } from '../../src/core/task-service.js';
import type { TaskServiceOptions } from '../../src/core/task-service.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Message, Part, SendResult, StreamItem, Task } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { readAll } from './wait.js';

/**
 * Runs skills the way the agent does — a real TaskService over a real
 * (in-memory) SQLite store — without HTTP, for testing a skill's behaviour.
 */
export class SkillHarness {
  private constructor(
    readonly service: TaskService,
    readonly store: SqliteTaskStore,
    private readonly ownsStore: boolean,
  ) {}

  /**
   * With `store`, the harness runs over that store (and leaves it open when
   * closed): a second harness over the first one's store is the same pod
   * after a restart.
   */
  static async start(
    skills: Skill[],
    defaultSkill = skills[0]!.descriptor.id,
    store?: SqliteTaskStore,
    options: Pick<TaskServiceOptions, 'maxResumes'> = {},
  ): Promise<SkillHarness> {
    const used = store ?? new SqliteTaskStore({ path: ':memory:', synchronous: 'normal' });
    if (store === undefined) await used.open();
    const service = new TaskService({ store: used, bus: new EventBus(), skills: new SkillRegistry(skills, defaultSkill), pod: 'test-0', streamCapacity: 10_000, ...options });
    return new SkillHarness(service, used, store === undefined);
  }

  /** Sends a user message and waits for the task to end or ask for input (or the direct reply). */
  send(parts: Part[] | string, extra: Partial<Message> = {}): Promise<SendResult> {
    return this.service.sendMessage(ANONYMOUS, userMessage(parts, extra));
  }

  /** Sends a user message and collects every stream item until the stream ends. */
  async stream(parts: Part[] | string, extra: Partial<Message> = {}): Promise<StreamItem[]> {
    return readAll(await this.service.sendStreamingMessage(ANONYMOUS, userMessage(parts, extra)));
  }

  async task(result: SendResult): Promise<Task> {
    if (result.kind !== 'task') throw new Error(`expected a task, got a direct message: ${JSON.stringify(result.message)}`);
    return result.task;
  }

  cancel(taskId: string): Promise<Task> {
    return this.service.cancelTask(ANONYMOUS, taskId);
  }

  async close(): Promise<void> {
    await this.service.drain(Date.now() + 1000);
    if (this.ownsStore) await this.store.close();
  }
}

let counter = 0;
export function userMessage(parts: Part[] | string, extra: Partial<Message> = {}): Message {
  return {
    messageId: `harness-${process.pid}-${counter++}`,
    role: 'user',
    parts: typeof parts === 'string' ? [{ kind: 'text', text: parts }] : parts,
    ...extra,
  };
}
