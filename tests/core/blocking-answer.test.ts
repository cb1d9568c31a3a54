// What a blocking send answers: the task as its own stream showed it at the
// end, not a second read of the store. The answer must be exactly what the
// store then holds (GetTask), on both stores, and the store must not be read
// for it; a run that edits its task's metadata (which no event carries) is
// answered from the store instead. finalTask, which folds the stream, is also
// checked on its own against streams that skip a version, overflow or fail.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EventBus } from '../../src/core/event-bus.js';
import { finalTask } from '../../src/core/final-task.js';
import { SkillRegistry } from '../../src/core/skill-registry.js';
import { TaskService } from '../../src/core/task-service.js';
import { TaskStream } from '../../src/core/task-stream.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Message, SendResult, StreamItem, Task, TaskState } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import { PostgresTaskStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import type { TaskStore } from '../../src/store/task-store.js';
import { dropTestSchema, needPostgres, TEST_DATABASE_URL } from '../support/prerequisites.js';
import { within } from '../support/wait.js';

const postgres = await needPostgres();

const text = (value: string) => ({ kind: 'text' as const, text: value });

/** Reports through every kind of change, several per turn and one per turn: the answer must show each as the store keeps it. */
const busy: Skill = {
  descriptor: { id: 'busy', name: 'busy', description: 'reports progress and artifacts', tags: [] },
  async execute(ctx) {
    await ctx.working('thinking');
    await ctx.artifact({ artifactId: 'a', name: 'first', parts: [text('a1')] });
    void ctx.artifact({ artifactId: 'b', parts: [text('b1')] }, { append: false, lastChunk: false });
    await ctx.artifact({ artifactId: 'b', name: 'chunked', parts: [text('b2')] }, { append: true, lastChunk: true });
    await ctx.artifact({ artifactId: 'a', name: 'replaced', parts: [text('a2')] });
    await ctx.working();
    await ctx.complete('done');
  },
};

/** Asks for input on its first run and completes on the next. */
const asks: Skill = {
  descriptor: { id: 'asks', name: 'asks', description: 'asks once', tags: [] },
  async execute(ctx) {
    if (ctx.history.length === 1) return ctx.requireInput('which one?');
    await ctx.artifact({ artifactId: 'answer', parts: [text(`you said ${ctx.history.length} things`)] });
    await ctx.complete();
  },
};

interface Rig {
  service: TaskService;
  /** Reads of whole tasks from the store since the rig started. */
  reads: () => number;
  close: () => Promise<void>;
}

/** A task service over `store`, whose whole-task reads are counted. */
async function rig(store: TaskStore, pod: string, closeStore: () => Promise<void>): Promise<Rig> {
  await store.open();
  let reads = 0;
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key === 'getTask' && typeof value === 'function') {
        return (...args: unknown[]) => {
          reads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  /** Edits its task's metadata as the delegate skill does: through the service, and no event tells of it. */
  const edits: Skill = {
    descriptor: { id: 'edits', name: 'edits', description: 'edits its metadata', tags: [] },
    async execute(ctx) {
      await service.mergeTaskMetadata(ctx.taskId, { link: { peer: 'https://peer.example', taskId: 'remote-1' } });
      await ctx.complete('linked');
    },
  };
  const service: TaskService = new TaskService({ store: counted, bus: new EventBus(), skills: new SkillRegistry([busy, asks, edits], 'busy'), pod, streamCapacity: 100 });
  return {
    service,
    reads: () => reads,
    close: async () => {
      await service.drain(Date.now() + 1000);
      await closeStore();
    },
  };
}

let counter = 0;
function message(skill: string, extra: Partial<Message> = {}): Message {
  return { messageId: `blocking-${process.pid}-${counter++}`, role: 'user', parts: [text('go')], metadata: { skill }, ...extra };
}

function taskOf(result: SendResult): Task {
  assert.equal(result.kind, 'task');
  return (result as { task: Task }).task;
}

function suite(name: string, options: { skip: string | false }, open: () => Promise<Rig>): void {
  describe(`a blocking send's answer (${name})`, options, () => {
    let opened: Rig | undefined;
    const service = async (): Promise<Rig> => (opened ??= await open());
    after(async () => opened?.close());

    test('is the task as stored, with every status, message and artifact change, and the store is not read for it', async () => {
      const { service: tasks, reads } = await service();
      const before = reads();
      const answer = taskOf(await tasks.sendMessage(ANONYMOUS, message('busy')));
      assert.equal(reads(), before, 'the answer came from the stream, not from a read of the store');
      assert.equal(answer.status.state, 'completed');
      assert.deepEqual(
        answer.artifacts.map((a) => [a.artifactId, a.name, a.parts.map((p) => (p as { text: string }).text).join()]),
        [
          ['a', 'replaced', 'a2'],
          ['b', 'chunked', 'b1,b2'],
        ],
      );
      assert.deepEqual(answer, await tasks.getTask(ANONYMOUS, answer.id));
    });

    test('holds only the history asked for', async () => {
      const { service: tasks } = await service();
      const answer = taskOf(await tasks.sendMessage(ANONYMOUS, message('busy'), { historyLength: 1 }));
      assert.equal(answer.history.length, 1);
      assert.deepEqual(answer, await tasks.getTask(ANONYMOUS, answer.id, 1));
      const none = taskOf(await tasks.sendMessage(ANONYMOUS, message('busy'), { historyLength: 0 }));
      assert.deepEqual(none.history, []);
    });

    test('of a task that asks for input, and of the turn that continues it, is each time the task as stored', async () => {
      const { service: tasks, reads } = await service();
      const before = reads();
      const asked = taskOf(await tasks.sendMessage(ANONYMOUS, message('asks')));
      assert.equal(asked.status.state, 'input-required');
      assert.deepEqual(asked, await tasks.getTask(ANONYMOUS, asked.id));
      const stored = reads();
      // Continuing reads the task once to check it; the answer adds no read.
      const done = taskOf(await tasks.sendMessage(ANONYMOUS, message('asks', { taskId: asked.id, contextId: asked.contextId })));
      assert.equal(reads() - stored, 1);
      assert.equal(stored - before, 1, 'only the check of the first answer read the store');
      assert.equal(done.status.state, 'completed');
      assert.equal(done.history.length, 3);
      assert.deepEqual(done, await tasks.getTask(ANONYMOUS, done.id));
    });

    test('of a run that edited its metadata comes from the store, metadata included', async () => {
      const { service: tasks } = await service();
      const answer = taskOf(await tasks.sendMessage(ANONYMOUS, message('edits')));
      assert.deepEqual(answer.metadata, { skill: 'edits', link: { peer: 'https://peer.example', taskId: 'remote-1' } });
      assert.deepEqual(answer, await tasks.getTask(ANONYMOUS, answer.id));
    });

    test('to a message sent again, which joins its task, is the task as stored', async () => {
      const { service: tasks } = await service();
      const first = message('busy');
      const answer = taskOf(await tasks.sendMessage(ANONYMOUS, first));
      const again = taskOf(await tasks.sendMessage(ANONYMOUS, first));
      assert.equal(again.id, answer.id);
      assert.deepEqual(again, answer);
    });
  });
}

suite('SQLite, synced', { skip: false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-blocking-'));
  const store = new SqliteTaskStore({ path: join(dir, 'tasks.db'), synchronous: 'full' });
  return rig(store, 'test-0', async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

suite('PostgreSQL', postgres, async () => {
  const schema = `kagent_test_blocking_${randomBytes(4).toString('hex')}`;
  const pod = `blocking-${randomBytes(4).toString('hex')}`;
  const store = new PostgresTaskStore({ connectionString: TEST_DATABASE_URL, schema, poolSize: 4, leaseTtlMs: 30_000, pod });
  return rig(store, pod, async () => {
    await store.close();
    await dropTestSchema(schema);
  });
});

describe('finalTask: the task a stream shows at its end', () => {
  const TS = '2025-01-01T00:00:00.000Z';
  const snapshot = (state: TaskState): StreamItem => ({
    kind: 'task',
    task: { id: 't', contextId: 'c', status: { state, timestamp: TS }, artifacts: [], history: [] },
  });
  const status = (state: TaskState, final: boolean): StreamItem => ({ kind: 'status-update', taskId: 't', contextId: 'c', status: { state, timestamp: TS }, final });
  const answered = (stream: TaskStream) => within(2000, 'the answer', finalTask(stream));

  test('applies each event after the snapshot, also those pushed before it was asked', async () => {
    const stream = new TaskStream(10, 't');
    stream.push(snapshot('submitted'), 1);
    stream.push(status('working', false), 2);
    const answer = finalTask(stream);
    stream.push(status('completed', true), 3);
    assert.equal((await within(2000, 'the answer', answer))?.status.state, 'completed');
  });

  test('a skipped version: undefined, so the store answers', async () => {
    const stream = new TaskStream(10, 't');
    stream.push(snapshot('submitted'), 1);
    stream.push(status('working', false), 3);
    stream.push(status('completed', true), 4);
    assert.equal(await answered(stream), undefined);
  });

  test('a snapshot of a task waiting for input answers at once, though the stream goes on', async () => {
    const stream = new TaskStream(10, 't');
    stream.push(snapshot('input-required'), 5);
    assert.equal((await answered(stream))?.status.state, 'input-required');
    assert.equal(stream.endReason, undefined);
  });

  test('a stream cut by overflow before its end: undefined', async () => {
    const stream = new TaskStream(1, 't');
    stream.push(snapshot('submitted'), 1);
    stream.push(status('working', false), 2);
    assert.equal(stream.endReason, 'overflow');
    assert.equal(await answered(stream), undefined);
  });

  test('a stream closed before its end: undefined', async () => {
    const stream = new TaskStream(10, 't');
    stream.push(snapshot('working'), 1);
    const answer = finalTask(stream);
    stream.close();
    assert.equal(await within(2000, 'the answer', answer), undefined);
  });

  test('a stream whose source failed rejects with the failure', async () => {
    const stream = new TaskStream(10, 't');
    stream.push(snapshot('working'), 1);
    const answer = finalTask(stream);
    stream.fail(new Error('the owner went away'));
    await assert.rejects(within(2000, 'the answer', answer), /the owner went away/);
  });

  test('the snapshot is not changed by the events applied to it', async () => {
    const stream = new TaskStream(10, 't');
    const first = snapshot('submitted');
    stream.push(first, 1);
    stream.push({ kind: 'artifact-update', taskId: 't', contextId: 'c', artifact: { artifactId: 'x', parts: [text('1')] }, append: false, lastChunk: true }, 2);
    stream.push({ kind: 'status-update', taskId: 't', contextId: 'c', status: { state: 'completed', timestamp: TS, message: { messageId: 'm', role: 'agent', parts: [text('ok')] } }, final: true }, 3);
    const answer = await answered(stream);
    assert.equal(answer?.artifacts.length, 1);
    assert.equal(answer?.history.length, 1);
    assert.deepEqual((first as { task: Task }).task.artifacts, []);
    assert.deepEqual((first as { task: Task }).task.history, []);
  });
});
