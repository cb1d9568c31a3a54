import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact } from '../../src/model/model.js';
import { decodePageToken } from '../../src/model/page-token.js';
import { nextPageToken, takeWithin } from '../../src/store/paging.js';
import { keyedHistory, mergedArtifact, stateCounts } from '../../src/store/rows.js';
import { refuseNewerSchema } from '../../src/store/schema-version.js';
import { buildTask, T0, userMessage } from './fixtures.js';

// The helpers both stores use; the store contract tests exercise them through
// each store, these pin the edge cases down directly.

describe('paging', () => {
  test('takeWithin keeps the first candidate even when it alone is over the budget', () => {
    assert.deepEqual(takeWithin([500, 1], 100, (n) => n), [500]);
  });

  test('takeWithin stops before the first candidate that would pass the budget, and reads no further', () => {
    const read: number[] = [];
    function* sizes() {
      for (const n of [40, 50, 20, 1, 1]) {
        read.push(n);
        yield n;
      }
    }
    assert.deepEqual(takeWithin(sizes(), 100, (n) => n), [40, 50]);
    assert.deepEqual(read, [40, 50, 20], 'the candidate that did not fit is the last one read');
  });

  test('takeWithin without a budget takes everything and sizes nothing', () => {
    assert.deepEqual(
      takeWithin([1, 2, 3], undefined, () => assert.fail('sized without a budget')),
      [1, 2, 3],
    );
  });

  test('nextPageToken resumes after the last row taken, and is empty when nothing follows', () => {
    const rows = [
      { updated_at: 30, id: 'c' },
      { updated_at: 20, id: 'b' },
      { updated_at: 10, id: 'a' },
    ];
    assert.deepEqual(decodePageToken(nextPageToken(rows, 2)), { updatedAt: 20, id: 'b' });
    assert.equal(nextPageToken(rows, 3), '', 'every row fetched was taken');
    assert.equal(nextPageToken([], 0), '');
  });
});

describe('rows', () => {
  const previous: Artifact = { artifactId: 'out', name: 'first', parts: [{ kind: 'text', text: 'a' }] };
  const chunk: Artifact = { artifactId: 'out', parts: [{ kind: 'text', text: 'b' }] };

  test('an appended chunk follows the stored parts and keeps fields it does not set', () => {
    assert.deepEqual(mergedArtifact(JSON.stringify(previous), chunk, true), { artifactId: 'out', name: 'first', parts: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }] });
  });

  test('without append, or with nothing stored yet, the artifact is stored as it is', () => {
    assert.deepEqual(mergedArtifact(JSON.stringify(previous), chunk, false), chunk);
    assert.deepEqual(mergedArtifact(undefined, chunk, true), chunk);
  });

  test("a new task's first message is keyed by the request key, the others by their ids", () => {
    const task = buildTask({ id: 'kagent-0.k', at: T0, history: [userMessage('m-1', 'one'), userMessage('m-2', 'two')] });
    assert.deepEqual(
      keyedHistory(task, 'rk-1').map(({ key, message }) => [key, message.messageId]),
      [
        ['rk-1', 'm-1'],
        ['m-2', 'm-2'],
      ],
    );
  });

  test('state counts name every state, with 0 for those without tasks', () => {
    assert.deepEqual(stateCounts([{ state: 'working', n: 3 }]), {
      submitted: 0,
      working: 3,
      'input-required': 0,
      'auth-required': 0,
      completed: 0,
      failed: 0,
      canceled: 0,
      rejected: 0,
    });
  });
});

describe('schema version', () => {
  test('a schema as new as the build, or older, is accepted; a newer one is refused, naming the database', () => {
    assert.doesNotThrow(() => refuseNewerSchema('tasks.db', 2, 2));
    assert.doesNotThrow(() => refuseNewerSchema('tasks.db', 0, 2));
    assert.throws(() => refuseNewerSchema('tasks.db', 3, 2), /^Error: tasks\.db has schema version 3; this build knows up to 2 \(was it written by a newer kagent-a2a\?\)$/);
  });
});
