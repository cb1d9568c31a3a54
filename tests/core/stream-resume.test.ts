// Streams that resume, at their source: TaskService.subscribe with a position
// over a real SQLite store (its event log) and the real event bus, driving a
// skill whose every step the test commands. The HTTP, multi-process and client
// sides are in tests/e2e/http/stream-resume.test.ts, tests/e2e/cluster/stream-resume.test.ts
// and tests/peers/client/resume.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EventBus } from '../../src/core/event-bus.js';
import { SkillRegistry } from '../../src/core/skill-registry.js';
import { TaskService } from '../../src/core/task-service.js';
import type { StreamEntry, TaskStream } from '../../src/core/task-stream.js';
import { InvalidParamsError, TaskNotFoundError, UnsupportedOperationError } from '../../src/model/errors.js';
import { ANONYMOUS } from '../../src/model/model.js';
import type { Caller, Message, StreamItem } from '../../src/model/model.js';
import type { Skill } from '../../src/skills/skill.js';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { deferred, readAll, waitFor, within } from '../support/wait.js';
import type { Deferred } from '../support/wait.js';
import { PATIENCE_MS } from '../support/patience.js';
import { itemLabel } from '../support/stream-items.js';

const BOB: Caller = { tenant: '', principal: 'bob' };

/** A skill that says what the test tells it, one working status at a time, and completes on 'done'. */
class Stepper {
  private readonly commands: string[] = [];
  private waiting: Deferred<void> | undefined;
  readonly started = deferred<string>();

  say(...lines: string[]): void {
    this.commands.push(...lines);
    this.waiting?.resolve();
  }

  skill(): Skill {
    return {
      descriptor: { id: 'stepper', name: 'stepper', description: 'says what the test tells it', tags: [] },
      execute: async (ctx) => {
        this.started.resolve(ctx.taskId);
        for (;;) {
          const next = this.commands.shift();
          if (next === undefined) {
            this.waiting = deferred();
            await this.waiting.promise;
            continue;
          }
          if (next === 'done') return ctx.complete('finished');
          if (next.startsWith('artifact:')) await ctx.artifact({ artifactId: next, parts: [{ kind: 'text', text: next }] });
          else await ctx.working(next);
        }
      },
    };
  }
}

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function service(stepper: Stepper, options: { streamCapacity?: number; eventsKept?: number } = {}): Promise<TaskService> {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-stream-resume-'));
  dirs.push(dir);
  const store = new SqliteTaskStore({ path: join(dir, 'tasks.db'), synchronous: 'normal', ...(options.eventsKept === undefined ? {} : { eventsKept: options.eventsKept }) });
  await store.open();
  closers.push(() => store.close());
  const skill = stepper.skill();
  return new TaskService({ store, bus: new EventBus(), skills: new SkillRegistry([skill], 'stepper'), pod: 'test-0', streamCapacity: options.streamCapacity ?? 1000 });
}

let counter = 0;
function message(): Message {
  return { role: 'user', messageId: `resume-${counter++}`, parts: [{ kind: 'text', text: 'go' }] };
}

const entries = (stream: TaskStream): Promise<StreamEntry[]> => readAll(stream.entries(), 'the stream to end');
const show = (list: StreamEntry[]) => list.map((e) => `${e.version}=${itemLabel(e.item)}`);

/** Reads `n` entries of a stream and stops reading (the stream stays open until closed). */
async function take(stream: TaskStream, n: number): Promise<StreamEntry[]> {
  const got: StreamEntry[] = [];
  const iterator = stream.entries();
  while (got.length < n) {
    const next = await within(PATIENCE_MS, `entry ${got.length + 1} of the stream`, iterator.next());
    if (next.done === true) throw new Error(`the stream ended after ${got.length} entries`);
    got.push(next.value);
  }
  return got;
}

/** A task whose stream has delivered its Task and a first "one". */
async function saidOne(): Promise<{ stepper: Stepper; svc: TaskService; stream: TaskStream; taskId: string }> {
  const stepper = new Stepper();
  const svc = await service(stepper);
  const stream = await svc.sendStreamingMessage(ANONYMOUS, message());
  stepper.say('one');
  await take(stream, 2);
  return { stepper, svc, stream, taskId: stream.taskId! };
}

describe('TaskService.subscribe with a resume position', () => {
  test('every entry of a stream carries the task version it shows; resuming after any of them gives exactly the rest, then live events', async () => {
    const stepper = new Stepper();
    const svc = await service(stepper);
    const first = await svc.sendStreamingMessage(ANONYMOUS, message());
    stepper.say('one', 'artifact:a', 'two');
    const seen = await take(first, 4);
    first.close();
    assert.deepEqual(show(seen), ['1=task:submitted', '2=status:working:one', '3=artifact:artifact:a', '4=status:working:two']);
    const taskId = (seen[0]!.item as Extract<StreamItem, { kind: 'task' }>).task.id;

    // While nobody listens, the task moves on: these are the events the next stream missed.
    stepper.say('three', 'artifact:b');
    await waitFor('the task to say "three"', async () => {
      const part = (await svc.getTask(ANONYMOUS, taskId)).status.message?.parts[0];
      return part?.kind === 'text' && part.text === 'three';
    });
    // Resumed after version 2: 3 and 4 again (as if the client had lost them), 5 and 6 it missed, then live events to the end.
    const resumed = await svc.subscribe(ANONYMOUS, taskId, 2);
    const replayed = await take(resumed, 4);
    stepper.say('four', 'done');
    const rest = await entries(resumed);
    assert.deepEqual(show([...replayed, ...rest]), [
      '3=artifact:artifact:a',
      '4=status:working:two',
      '5=status:working:three',
      '6=artifact:artifact:b',
      '7=status:working:four',
      '8=status:completed:finished',
    ]);
  });

  test('a task that ended is replayed from the position and the stream closes; resumed at its last event it closes with nothing', async () => {
    const stepper = new Stepper();
    const svc = await service(stepper);
    const stream = await svc.sendStreamingMessage(ANONYMOUS, message());
    stepper.say('one', 'done');
    const all = await entries(stream);
    assert.deepEqual(show(all), ['1=task:submitted', '2=status:working:one', '3=status:completed:finished']);
    const taskId = stream.taskId!;
    assert.deepEqual(show(await entries(await svc.subscribe(ANONYMOUS, taskId, 1))), ['2=status:working:one', '3=status:completed:finished']);
    assert.deepEqual(show(await entries(await svc.subscribe(ANONYMOUS, taskId, 3))), []);
    // Without a position, an ended task has nothing to subscribe to, as before.
    await assert.rejects(svc.subscribe(ANONYMOUS, taskId), UnsupportedOperationError);
  });

  test('a position from the future, or one that is not a whole number, is an invalid parameter naming Last-Event-ID', async () => {
    const { stepper, svc, stream, taskId } = await saidOne();
    for (const position of [3, 1_000_000, -1, 1.5, Number.NaN]) {
      await assert.rejects(svc.subscribe(ANONYMOUS, taskId, position), (error: unknown) => {
        assert.ok(error instanceof InvalidParamsError, `position ${position}: ${String(error)}`);
        assert.equal(error.field, 'Last-Event-ID');
        assert.match(error.message, position === 3 || position === 1_000_000 ? /past the last event of task .* \(2\)/ : /whole number/);
        return true;
      });
    }
    stepper.say('done');
    await entries(stream);
  });

  test("another caller's task is not found, with or without a position", async () => {
    const { stepper, svc, stream, taskId } = await saidOne();
    await assert.rejects(svc.subscribe(BOB, taskId, 1), TaskNotFoundError);
    // The position is not checked against the task of another caller: a future one is "not found" too, telling nothing.
    await assert.rejects(svc.subscribe(BOB, taskId, 99), TaskNotFoundError);
    stepper.say('done');
    await entries(stream);
  });

  test('a position older than the log keeps, or 0, starts from the Task as it is now, then the events after it', async () => {
    const stepper = new Stepper();
    const svc = await service(stepper, { eventsKept: 3 });
    const stream = await svc.sendStreamingMessage(ANONYMOUS, message());
    stepper.say('one', 'two', 'three', 'four', 'five');
    const seen = await take(stream, 6);
    assert.equal(seen[5]!.version, 6);
    stream.close();
    const taskId = stream.taskId!;
    for (const position of [0, 1, 2]) {
      const resumed = await svc.subscribe(ANONYMOUS, taskId, position);
      const [snapshot] = await take(resumed, 1);
      assert.equal(snapshot!.version, 6, `position ${position}`);
      assert.equal(itemLabel(snapshot!.item), 'task:working');
      resumed.close();
    }
    // Versions 4..6 are still in the log: no snapshot needed.
    const recent = await svc.subscribe(ANONYMOUS, taskId, 3);
    assert.deepEqual(show(await take(recent, 3)), ['4=status:working:three', '5=status:working:four', '6=status:working:five']);
    stepper.say('done');
    assert.deepEqual(show(await entries(recent)), ['7=status:completed:finished']);
  });

  test('more missed events than a stream holds start from the Task instead: the stream is not cut before it begins', async () => {
    const stepper = new Stepper();
    const svc = await service(stepper, { streamCapacity: 4 });
    const stream = await svc.sendStreamingMessage(ANONYMOUS, message());
    stepper.say('a');
    await take(stream, 2);
    stream.close();
    stepper.say('b', 'c', 'd', 'e', 'done');
    const taskId = stream.taskId!;
    await waitFor('the task to complete', async () => (await svc.getTask(ANONYMOUS, taskId)).status.state === 'completed');
    assert.deepEqual(show(await entries(await svc.subscribe(ANONYMOUS, taskId, 2))), ['7=task:completed']);
    // Three missed fit: they are replayed as they were.
    assert.deepEqual(show(await entries(await svc.subscribe(ANONYMOUS, taskId, 4))), ['5=status:working:d', '6=status:working:e', '7=status:completed:finished']);
  });
});
