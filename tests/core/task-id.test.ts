import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTaskId, ownerOf, timeOrderedUuid } from '../../src/core/task-id.js';

test('a task id names its owner pod and holds no colon', () => {
  const id = newTaskId('kagent-3');
  assert.equal(ownerOf(id), 'kagent-3');
  assert.doesNotMatch(id, /:/);
  assert.equal(ownerOf('tck-nonexistent-1'), undefined);
});

test('task ids are UUIDv7: version 7, RFC variant, and later ids sort after earlier ones', () => {
  const uuid = timeOrderedUuid();
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const earlier = timeOrderedUuid(1_700_000_000_000);
  const later = timeOrderedUuid(1_700_000_000_001);
  assert.ok(earlier < later);
  assert.equal(parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16) <= Date.now(), true, 'the leading 48 bits are the creation time');
  assert.equal(new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(1))).size, 1000, 'the same millisecond still gives distinct ids');
});

test('ids drawn across many refills of the random pool keep the UUIDv7 shape and never repeat', () => {
  const ids = Array.from({ length: 5000 }, () => timeOrderedUuid(1_700_000_000_000));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^018bcfe5-6800-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // The random part is not one pool repeating: the last ids share no random tail with the first.
  const tails = new Set(ids.slice(0, 256).map((id) => id.slice(24)));
  assert.equal(ids.slice(-256).filter((id) => tails.has(id.slice(24))).length, 0);
});

test('only a DNS label before the first dot is an owner: never a host, port, path or address', () => {
  assert.equal(ownerOf('kagent-12.0190a5f2-0000-7000-8000-000000000000'), 'kagent-12');
  for (const id of ['localhost:8080/admin?.x', '[::1]:9/#.x', '127:80/x?.y', 'Kagent-1.x', '-kagent.x', 'kagent-.x', '.x', 'a b.x', `${'a'.repeat(64)}.x`]) {
    assert.equal(ownerOf(id), undefined, id);
  }
  // Numbers are DNS labels, but no pod's names: the sibling check turns them away.
  assert.equal(ownerOf('2130706433.x'), '2130706433');
  assert.equal(ownerOf('127.0.0.1:80.x'), '127');
});
