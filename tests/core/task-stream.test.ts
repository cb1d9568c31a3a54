import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TaskStream } from '../../src/core/task-stream.js';
import type { StreamItem, TaskState } from '../../src/model/model.js';
import { settle } from '../support/codec-helpers.js';
import { PATIENCE_MS } from '../support/patience.js';
import { within } from '../support/wait.js';

const TS = '2025-01-01T00:00:00.000Z';

const task = (state: TaskState): StreamItem => ({
  kind: 'task',
  task: { id: 't', contextId: 'c', status: { state, timestamp: TS }, artifacts: [], history: [] },
});
const status = (state: TaskState, final: boolean, n = 0): StreamItem => ({
  kind: 'status-update',
  taskId: 't',
  contextId: 'c',
  status: { state, timestamp: TS },
  final,
  metadata: { n },
});
const chunk = (n: number): StreamItem => ({
  kind: 'artifact-update',
  taskId: 't',
  contextId: 'c',
  artifact: { artifactId: 'a', parts: [{ kind: 'text', text: String(n) }] },
  append: n > 0,
  lastChunk: false,
});
const message: StreamItem = { kind: 'message', message: { messageId: 'm', role: 'agent', parts: [{ kind: 'text', text: 'hi' }] } };

/** Everything the stream delivers until it ends; fails rather than hangs. */
async function drain(stream: TaskStream): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  await within(2000, 'draining the stream', (async () => {
      for await (const item of stream) items.push(item);
    })());
  return items;
}

/** The next item (or the end) of an iterator; fails rather than hangs. */
function next(iterator: AsyncIterator<StreamItem>): Promise<IteratorResult<StreamItem>> {
  return within(2000, 'next stream item', iterator.next());
}

describe('TaskStream', () => {
  test('delivers items in the order they were pushed, then ends on a final status', async () => {
    const stream = new TaskStream(100, 't');
    const items = [task('submitted'), status('working', false, 1), chunk(0), chunk(1), status('working', false, 2), status('completed', true, 3)];
    for (const item of items) stream.push(item);
    assert.equal(stream.endReason, 'done');
    assert.deepEqual(await drain(stream), items);
    assert.equal(stream.taskId, 't');
  });

  test('items pushed while the consumer waits arrive in order', async () => {
    const stream = new TaskStream(100);
    const iterator = stream[Symbol.asyncIterator]();
    const first = next(iterator);
    await settle();
    stream.push(task('working'));
    assert.deepEqual((await first).value, task('working'));
    const pending = next(iterator);
    await settle();
    stream.push(chunk(0));
    stream.push(chunk(1));
    assert.deepEqual((await pending).value, chunk(0));
    assert.deepEqual((await next(iterator)).value, chunk(1));
    stream.push(status('failed', true));
    assert.deepEqual((await next(iterator)).value, status('failed', true));
    assert.equal((await next(iterator)).done, true);
  });

  test('a lone message ends the stream after it is delivered', async () => {
    const stream = new TaskStream(10);
    stream.push(message);
    assert.equal(stream.endReason, 'done');
    stream.push(task('working'));
    assert.deepEqual(await drain(stream), [message]);
  });

  for (const state of ['completed', 'failed', 'canceled', 'rejected'] as const) {
    test(`a ${state} task snapshot ends the stream`, async () => {
      const stream = new TaskStream(10);
      stream.push(task(state));
      assert.equal(stream.endReason, 'done');
      stream.push(status('working', false));
      assert.deepEqual(await drain(stream), [task(state)]);
    });
  }

  for (const state of ['input-required', 'auth-required'] as const) {
    test(`a ${state} task snapshot keeps the stream open until the task moves on`, async () => {
      const stream = new TaskStream(10);
      const iterator = stream[Symbol.asyncIterator]();
      stream.push(task(state));
      assert.equal(stream.endReason, undefined);
      assert.deepEqual((await next(iterator)).value, task(state));
      stream.push(status('working', false));
      assert.deepEqual((await next(iterator)).value, status('working', false));
      assert.equal(stream.endReason, undefined);
      stream.push(status('completed', true));
      assert.deepEqual((await next(iterator)).value, status('completed', true));
      assert.equal((await next(iterator)).done, true);
      assert.equal(stream.endReason, 'done');
    });
  }

  test('a working task snapshot and non-final statuses keep it open', async () => {
    const stream = new TaskStream(10);
    stream.push(task('working'));
    stream.push(status('working', false));
    stream.push(chunk(0));
    assert.equal(stream.endReason, undefined);
    stream.close();
  });

  test('the final status ends it after every queued item is delivered', async () => {
    const stream = new TaskStream(10);
    stream.push(task('submitted'));
    stream.push(chunk(0));
    stream.push(chunk(1));
    stream.push(status('input-required', true));
    stream.push(chunk(2));
    assert.deepEqual(await drain(stream), [task('submitted'), chunk(0), chunk(1), status('input-required', true)]);
  });

  test('holding exactly `capacity` undelivered items is not an overflow', async () => {
    const stream = new TaskStream(3);
    stream.push(task('working'));
    stream.push(chunk(0));
    stream.push(chunk(1));
    assert.equal(stream.endReason, undefined);
    stream.push(status('completed', true));
    assert.equal(stream.endReason, 'overflow');
  });

  test('overflow at capacity ends with reason overflow and drops the backlog', async () => {
    const stream = new TaskStream(2);
    let cleanups = 0;
    stream.onClose(() => cleanups++);
    stream.push(task('working'));
    stream.push(chunk(0));
    stream.push(chunk(1));
    assert.equal(stream.endReason, 'overflow');
    assert.equal(cleanups, 1);
    stream.push(chunk(2));
    assert.deepEqual(await drain(stream), []);
    assert.equal(stream.endReason, 'overflow');
    assert.equal(cleanups, 1);
  });

  test('a consumer that keeps up never overflows a small buffer', async () => {
    const stream = new TaskStream(1);
    const iterator = stream[Symbol.asyncIterator]();
    for (let n = 0; n < 20; n++) {
      stream.push(chunk(n));
      assert.deepEqual((await next(iterator)).value, chunk(n));
    }
    assert.equal(stream.endReason, undefined);
    stream.push(status('completed', true));
    assert.deepEqual((await next(iterator)).value, status('completed', true));
    assert.equal((await next(iterator)).done, true);
  });

  test('a waiting consumer is woken by an overflow', async () => {
    const stream = new TaskStream(1);
    const iterator = stream[Symbol.asyncIterator]();
    stream.push(task('working'));
    assert.deepEqual((await next(iterator)).value, task('working'));
    const pending = next(iterator);
    await settle();
    stream.push(chunk(0));
    assert.deepEqual((await pending).value, chunk(0));
    stream.push(chunk(1));
    stream.push(chunk(2));
    assert.equal(stream.endReason, 'overflow');
    assert.equal((await next(iterator)).done, true);
  });

  test('close() ends the stream, drops undelivered items and wakes a waiting consumer', async () => {
    const stream = new TaskStream(10);
    const iterator = stream[Symbol.asyncIterator]();
    const pending = next(iterator);
    await settle();
    stream.close();
    assert.equal((await pending).done, true);
    assert.equal(stream.endReason, 'closed');

    const queued = new TaskStream(10);
    queued.push(task('working'));
    queued.push(chunk(0));
    queued.close();
    assert.equal(queued.endReason, 'closed');
    assert.deepEqual(await drain(queued), []);
  });

  test('pushes after close are ignored', async () => {
    const stream = new TaskStream(10);
    stream.close();
    stream.push(task('working'));
    stream.push(message);
    assert.equal(stream.endReason, 'closed');
    assert.deepEqual(await drain(stream), []);
  });

  test('onClose cleanups run exactly once, whatever ends the stream and however often', async () => {
    const stream = new TaskStream(10);
    const calls: string[] = [];
    stream.onClose(() => calls.push('a'));
    stream.onClose(() => calls.push('b'));
    stream.close();
    stream.close();
    stream.push(message);
    assert.deepEqual(calls, ['a', 'b']);

    const done = new TaskStream(10);
    let count = 0;
    done.onClose(() => count++);
    done.push(status('completed', true));
    assert.equal(count, 1);
    done.close();
    await drain(done);
    assert.equal(count, 1);
    assert.equal(done.endReason, 'done');
  });

  test('a cleanup registered after the end runs at once', () => {
    const stream = new TaskStream(10);
    stream.close();
    let ran = 0;
    stream.onClose(() => ran++);
    assert.equal(ran, 1);
  });

  test('a consumer that stops iterating closes the stream and runs the cleanups', async () => {
    const stream = new TaskStream(10);
    let cleaned = 0;
    stream.onClose(() => cleaned++);
    stream.push(task('working'));
    stream.push(chunk(0));
    await within(PATIENCE_MS, 'operation', (async () => {
        for await (const item of stream) {
          assert.deepEqual(item, task('working'));
          break;
        }
      })());
    assert.equal(stream.endReason, 'closed');
    assert.equal(cleaned, 1);
  });
});

describe('a stream whose source fails', () => {
  test('delivers what came before, then throws the error to its reader, and runs its cleanups once', async () => {
    const stream = new TaskStream(8, 't');
    let cleaned = 0;
    stream.onClose(() => cleaned++);
    stream.push(task('working'));
    stream.push(status('working', false, 1));
    const failure = new Error('the owner went away');
    stream.fail(failure);
    stream.fail(new Error('a second failure is ignored'));
    stream.push(status('completed', true));
    const seen: StreamItem[] = [];
    await assert.rejects(
      within(PATIENCE_MS, 'the failed stream to end', (async () => {
        for await (const item of stream) seen.push(item);
      })()),
      (error) => error === failure,
    );
    assert.deepEqual(seen.map((item) => item.kind), ['task', 'status-update']);
    assert.equal(stream.endReason, 'failed');
    assert.equal(cleaned, 1);
  });

  test('a stream already closed by its reader does not fail afterwards', async () => {
    const stream = new TaskStream(8, 't');
    stream.close();
    stream.fail(new Error('too late'));
    assert.equal(stream.endReason, 'closed');
    for await (const _ of stream) assert.fail('a closed stream yields nothing');
  });
});

describe('a stream with a sink', () => {
  test('hands each item to the sink as it is pushed, in order, and ends after the last', () => {
    const stream = new TaskStream(2, 't');
    const got: { item: StreamItem; version?: number }[] = [];
    let closed = 0;
    stream.onClose(() => closed++);
    stream.attach((entry) => {
      got.push(entry);
      return true;
    });
    const items = [status('working', false, 1), chunk(0), chunk(1), status('working', false, 2), status('completed', true, 3)];
    items.forEach((item, i) => stream.push(item, i + 1));
    assert.deepEqual(got, items.map((item, i) => ({ item, version: i + 1 })));
    // More items than the capacity went through: only queued items count against it.
    assert.equal(stream.endReason, 'done');
    assert.equal(closed, 1);
    assert.equal(stream.take(), undefined);
  });

  test('a sink that takes no more is detached: items queue, are taken in order, and the sink attaches again', () => {
    const stream = new TaskStream(3, 't');
    const got: number[] = [];
    let full = true;
    const sink = (entry: { item: StreamItem; version?: number }) => {
      got.push(entry.version!);
      return !full;
    };
    stream.attach(sink);
    stream.push(status('working', false, 1), 1);
    stream.push(status('working', false, 2), 2);
    stream.push(status('working', false, 3), 3);
    assert.deepEqual(got, [1], 'the sink saw the item it refused more after, and nothing since');
    assert.throws(() => stream.attach(sink), /queued items/);
    for (let entry = stream.take(); entry !== undefined; entry = stream.take()) got.push(entry.version!);
    full = false;
    stream.attach(sink);
    stream.push(status('completed', true, 4), 4);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.equal(stream.endReason, 'done');
  });

  test('a detached sink that falls `capacity` items behind overflows; the sink is not called again', () => {
    const stream = new TaskStream(2, 't');
    let calls = 0;
    stream.attach(() => {
      calls++;
      return false;
    });
    for (let i = 1; i <= 4; i++) stream.push(status('working', false, i), i);
    assert.equal(calls, 1);
    assert.equal(stream.endReason, 'overflow');
    assert.equal(stream.take(), undefined, 'the backlog is dropped');
  });

  test('a sink that closes the stream while taking an item ends it once, as closed', () => {
    const stream = new TaskStream(2, 't');
    let cleanups = 0;
    stream.onClose(() => cleanups++);
    stream.attach(() => {
      stream.close();
      return false;
    });
    stream.push(status('completed', true, 1), 1);
    assert.equal(stream.endReason, 'closed');
    assert.equal(cleanups, 1);
  });

  test('no sink is attached to an ended stream', () => {
    const stream = new TaskStream(2, 't');
    stream.close();
    let calls = 0;
    stream.attach(() => {
      calls++;
      return true;
    });
    stream.push(status('working', false, 1), 1);
    assert.equal(calls, 0);
  });
});
