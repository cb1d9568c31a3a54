import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Caller, Message, Task, TaskState, TaskStatus } from '../../src/model/model.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import type { TaskStore } from '../../src/store/task-store.js';

export const ALICE: Caller = { tenant: 'acme', principal: 'alice' };
export const BOB: Caller = { tenant: 'acme', principal: 'bob' };
/** Same principal name as ALICE, other tenant: scoping must use both. */
export const ALICE_ELSEWHERE: Caller = { tenant: 'globex', principal: 'alice' };

/** A fixed instant, so that orderings by status time do not depend on the clock. */
export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

export const iso = (ms: number): string => new Date(ms).toISOString();

export interface TempDir {
  dir: string;
  cleanup(): void;
}

export function tempDir(prefix = 'kagent-a2a-store-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openStore(path: string, synchronous: 'full' | 'normal' = 'normal', eventsKept?: number): Promise<SqliteTaskStore> {
  const store = new SqliteTaskStore({ path, synchronous, ...(eventsKept === undefined ? {} : { eventsKept }) });
  await store.open();
  return store;
}

export function userMessage(messageId: string, text: string, extra: Partial<Message> = {}): Message {
  return { messageId, role: 'user', parts: [{ kind: 'text', text }], ...extra };
}

export function agentMessage(messageId: string, text: string, extra: Partial<Message> = {}): Message {
  return { messageId, role: 'agent', parts: [{ kind: 'text', text }], ...extra };
}

export function status(state: TaskState, at: number, message?: Message): TaskStatus {
  return message === undefined ? { state, timestamp: iso(at) } : { state, timestamp: iso(at), message };
}

export interface SeedOptions {
  id: string;
  at: number;
  state?: TaskState;
  contextId?: string;
  caller?: Caller;
  pod?: string;
  skill?: string;
  requestKey?: string;
  /** The name an A2A 0.2 client gave the task. */
  alias?: string;
  metadata?: Task['metadata'];
  history?: Message[];
}

export function buildTask(o: SeedOptions): Task {
  const contextId = o.contextId ?? `ctx-${o.id}`;
  const task: Task = {
    id: o.id,
    contextId,
    status: status(o.state ?? 'submitted', o.at),
    artifacts: [],
    history: o.history ?? [userMessage(`m-${o.id}`, `hello ${o.id}`, { taskId: o.id, contextId })],
  };
  if (o.metadata !== undefined) task.metadata = o.metadata;
  return task;
}

/** Creates a task straight in the store, in any state and with any status time. */
export async function seed(store: TaskStore, o: SeedOptions): Promise<Task> {
  const task = buildTask(o);
  await store.createTask(task, {
    caller: o.caller ?? ALICE,
    pod: o.pod ?? 'kagent-0',
    skill: o.skill ?? 'echo',
    requestKey: o.requestKey ?? `rk-${o.id}`,
    ...(o.alias === undefined ? {} : { alias: o.alias }),
  });
  return task;
}

