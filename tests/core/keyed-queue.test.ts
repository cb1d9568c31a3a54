import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyedQueue } from '../../src/core/keyed-queue.js';
import { settle } from '../support/codec-helpers.js';
import { PATIENCE_MS } from '../support/patience.js';
import { deferred, within } from '../support/wait.js';

describe('KeyedQueue', () => {
  test('jobs on one key run one at a time, in submission order', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const results = gates.map((gate, i) =>
      queue.run('task-1', async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await settle();
    assert.deepEqual(log, ['start 0'], 'the second job must wait for the first');
    // Releasing later gates first must not let their jobs overtake.
    gates[2]!.resolve();
    gates[1]!.resolve();
    await settle();
    assert.deepEqual(log, ['start 0']);
    gates[0]!.resolve();
    assert.deepEqual(await within(PATIENCE_MS, 'operation', Promise.all(results)), [0, 1, 2]);
    assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  test('a rejected job does not stop or reorder the jobs behind it', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const gate = deferred();
    const failing = queue.run('k', async () => {
      log.push('start fail');
      await gate.promise;
      log.push('end fail');
      throw new Error('store write failed');
    });
    const second = queue.run('k', async () => {
      log.push('start second');
      return 'second';
    });
    const third = queue.run('k', async () => {
      log.push('start third');
      return 'third';
    });
    await settle();
    assert.deepEqual(log, ['start fail']);
    gate.resolve();
    await assert.rejects(within(PATIENCE_MS, 'operation', failing), /store write failed/);
    assert.equal(await within(PATIENCE_MS, 'operation', second), 'second');
    assert.equal(await within(PATIENCE_MS, 'operation', third), 'third');
    assert.deepEqual(log, ['start fail', 'end fail', 'start second', 'start third']);
  });

  test('a job that throws synchronously rejects its own call only', async () => {
    const queue = new KeyedQueue();
    const failing = queue.run('k', () => {
      throw new Error('sync boom');
    });
    const after = queue.run('k', async () => 'after');
    await assert.rejects(within(PATIENCE_MS, 'operation', failing), /sync boom/);
    assert.equal(await within(PATIENCE_MS, 'operation', after), 'after');
  });

  test('different keys run concurrently', async () => {
    const queue = new KeyedQueue();
    const gateA = deferred();
    let aFinished = false;
    const a = queue.run('a', async () => {
      await gateA.promise;
      aFinished = true;
      return 'a';
    });
    // If keys were serialised together, 'b' would wait for the gate nobody opens yet and time out.
    assert.equal(await within(2000, 'job on another key', queue.run('b', async () => 'b')), 'b');
    assert.equal(aFinished, false);
    gateA.resolve();
    assert.equal(await within(PATIENCE_MS, 'operation', a), 'a');
  });

  test('at most one job per key is active, while several keys overlap', async () => {
    const queue = new KeyedQueue();
    const active = new Map<string, number>();
    let maxPerKey = 0;
    let maxOverall = 0;
    const order: Record<string, number[]> = { x: [], y: [] };
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      for (const key of ['x', 'y']) {
        jobs.push(
          queue.run(key, async () => {
            active.set(key, (active.get(key) ?? 0) + 1);
            maxPerKey = Math.max(maxPerKey, active.get(key)!);
            maxOverall = Math.max(maxOverall, [...active.values()].reduce((s, n) => s + n, 0));
            order[key]!.push(i);
            await settle();
            active.set(key, active.get(key)! - 1);
          }),
        );
      }
    }
    await within(PATIENCE_MS, 'operation', Promise.all(jobs));
    assert.equal(maxPerKey, 1);
    assert.equal(maxOverall, 2);
    assert.deepEqual(order.x, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(order.y, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a key that went idle accepts new work', async () => {
    const queue = new KeyedQueue();
    assert.equal(await within(PATIENCE_MS, 'operation', queue.run('k', async () => 1)), 1);
    await settle();
    await assert.rejects(within(PATIENCE_MS, 'operation', queue.run('k', async () => Promise.reject(new Error('x')))), /x/);
    await settle();
    assert.equal(await within(PATIENCE_MS, 'operation', queue.run('k', async () => 2)), 2);
  });
});
