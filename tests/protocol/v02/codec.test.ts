import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamItem } from '../../../src/model/model.js';
import { isAgentTaskId, MAX_ALIAS_LENGTH } from '../../../src/model/task-alias.js';
import { newTaskId } from '../../../src/core/task-id.js';
import { resolveMethod } from '../../../src/protocol/methods.js';
import { v02Codec } from '../../../src/protocol/v02/codec.js';
import { assertThrowsInvalidParams, keysDeep, overTheWire } from '../../support/codec-helpers.js';
import { artifact, HELLO_B64, inputRequiredTask } from '../fixtures.js';

// The 0.2 drafts' wire (schema v0.1.0): tasks/send with a client-chosen id,
// sessionId, `type` parts, artifacts by index, no Task or Message in a stream.

const wireMessage = {
  role: 'user',
  parts: [
    { type: 'text', text: 'hello', metadata: { lang: 'en' } },
    { type: 'file', file: { bytes: HELLO_B64, mimeType: 'application/octet-stream', name: 'hello.bin' } },
    { type: 'file', file: { uri: 'https://example.com/r.pdf', mimeType: 'application/pdf' } },
    { type: 'data', data: { answer: 42 } },
  ],
  metadata: { skill: 'echo' },
};

describe('A2A 0.2 codec: requests', () => {
  test('tasks/send: the client id becomes the alias, sessionId the context, parts their model kinds; a message gets a fresh id', () => {
    const request = v02Codec.decodeSend({ id: 'job-7', sessionId: 'sess-1', message: wireMessage, historyLength: 2, metadata: { ignored: true } });
    assert.equal(request.taskAlias, 'job-7');
    assert.equal(request.returnImmediately, false);
    assert.equal(request.historyLength, 2);
    assert.equal(request.message.contextId, 'sess-1');
    assert.equal(request.message.taskId, undefined, 'the alias is resolved by the task service, not taken as our id');
    assert.deepEqual(request.message.metadata, { skill: 'echo' });
    assert.deepEqual(request.message.parts.map((p) => p.kind), ['text', 'bytes', 'url', 'data']);
    assert.equal(request.message.parts[1]!.filename, 'hello.bin');
    const again = v02Codec.decodeSend({ id: 'job-7', message: wireMessage });
    assert.notEqual(again.message.messageId, request.message.messageId, 'the same words sent twice are two turns');
    assert.equal(again.message.contextId, undefined);
  });

  test('a push config in tasks/send is noted, to be refused', () => {
    assert.equal(v02Codec.decodeSend({ id: 'j', message: wireMessage, pushNotification: { url: 'https://x' } }).pushConfigField, 'params.pushNotification');
  });

  test('garbage params name the field', () => {
    assertThrowsInvalidParams(() => v02Codec.decodeSend(undefined), 'params');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ message: wireMessage }), 'params.id');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 7, message: wireMessage }), 'params.id');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j' }), 'params.message');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j', message: { role: 'user', parts: [] } }), 'params.message.parts');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j', message: { role: 'robot', parts: [{ type: 'text', text: 'x' }] } }), 'params.message.role');
    // A 0.3 part (kind) is not a draft part (type).
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j', message: { role: 'user', parts: [{ kind: 'text', text: 'x' }] } }), 'params.message.parts[0].type');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j', sessionId: 5, message: wireMessage }), 'params.sessionId');
    assertThrowsInvalidParams(() => v02Codec.decodeSend({ id: 'j', message: wireMessage, historyLength: -1 }), 'params.historyLength');
    assertThrowsInvalidParams(() => v02Codec.decodeTaskQuery({ id: '' }), 'params.id');
  });

  test('hostile ids are refused: too long, control, format or space characters, a colon', () => {
    assert.equal(v02Codec.decodeTaskQuery({ id: 'x'.repeat(MAX_ALIAS_LENGTH) }).id.length, MAX_ALIAS_LENGTH);
    for (const id of ['x'.repeat(MAX_ALIAS_LENGTH + 1), 'a\u0000b', 'a\nb', 'a\u001bb', 'a\u007fb', 'a\u0085b', 'a\u200bb', 'a\u202eb', 'a b', 'a\u00a0b', 'job:cancel', ':']) {
      assertThrowsInvalidParams(() => v02Codec.decodeSend({ id, message: wireMessage }), 'params.id');
      assertThrowsInvalidParams(() => v02Codec.decodeTaskQuery({ id }), 'params.id');
    }
    // Letters of any script, and the punctuation client ids use, are fine.
    for (const id of ['job-7', 'vapora/run/42', 'tâche.7', '550e8400-e29b-41d4-a716-446655440000', 'a.b@c+d=e~f']) {
      assert.equal(v02Codec.decodeTaskQuery({ id }).id, id);
    }
  });

  test('tasks/get, tasks/cancel and tasks/resubscribe name a task that may be an alias', () => {
    assert.deepEqual(v02Codec.decodeTaskQuery({ id: 'job-7', historyLength: 0 }), { id: 'job-7', historyLength: 0, mayBeAlias: true });
  });
});

describe('A2A 0.2 codec: answers', () => {
  test('a Task in the draft shape, named as the request named it', () => {
    const codec = v02Codec.forRequest!({ id: 'job-7' });
    const wire = overTheWire(codec.encodeTask(inputRequiredTask())) as any;
    assert.equal(wire.id, 'job-7');
    assert.equal(wire.sessionId, 'ctx-1');
    assert.equal(wire.status.state, 'input-required');
    assert.deepEqual(wire.status.message, { role: 'agent', parts: [{ type: 'text', text: 'which one?' }] });
    assert.deepEqual(wire.artifacts, [
      {
        name: 'Echo',
        description: 'what was sent',
        metadata: { chunk: 1 },
        index: 0,
        parts: [
          { type: 'text', text: 'hello' },
          { type: 'file', file: { uri: 'https://example.com/a.txt', mimeType: 'text/plain', name: 'a.txt' } },
        ],
      },
    ]);
    assert.deepEqual(wire.history[0].parts[1], { type: 'file', file: { bytes: HELLO_B64, mimeType: 'application/octet-stream', name: 'hello.bin' } });
    // Nothing of the later versions leaks into the draft's shapes.
    for (const key of ['kind', 'contextId', 'messageId', 'artifactId', 'taskId', 'extensions', 'referenceTaskIds']) assert.ok(!keysDeep(wire).has(key), key);
    // Without a name from the request, the task is named by our id.
    assert.equal((v02Codec.encodeTask(inputRequiredTask()) as any).id, 'task-1');
  });

  test('states the draft lacks map to the nearest it has', () => {
    assert.equal(v02Codec.encodeTaskState('auth-required'), 'input-required');
    assert.equal(v02Codec.encodeTaskState('rejected'), 'failed');
    assert.equal(v02Codec.encodeTaskState('canceled'), 'canceled');
  });

  test('a direct reply (no task) is a completed task holding the reply', () => {
    const codec = v02Codec.forRequest!({ id: 'job-8' });
    const wire = codec.encodeSendResult({ kind: 'message', message: { messageId: 'm', role: 'agent', contextId: 'c', parts: [{ kind: 'text', text: 'hi' }] } }) as any;
    assert.equal(wire.id, 'job-8');
    assert.equal(wire.sessionId, 'c');
    assert.equal(wire.status.state, 'completed');
    assert.deepEqual(wire.status.message.parts, [{ type: 'text', text: 'hi' }]);
  });

  test('a stream: the Task becomes its status, updates carry the request name, final, and artifacts by index with append/lastChunk', () => {
    const codec = v02Codec.forRequest!({ id: 'job-9' });
    const task = inputRequiredTask();
    const second = { ...artifact(), artifactId: 'second' };
    const items: StreamItem[] = [
      { kind: 'task', task: { ...task, status: { state: 'working', timestamp: 't0' } } },
      { kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: second, append: false, lastChunk: false },
      { kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: second, append: true, lastChunk: true },
      { kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: artifact(), append: false, lastChunk: true },
      { kind: 'status-update', taskId: 'task-1', contextId: 'ctx-1', status: { state: 'completed', timestamp: 't1' }, final: true, metadata: { m: 1 } },
    ];
    const wire = items.map((item) => overTheWire(codec.encodeStreamItem(item)) as any);
    assert.deepEqual(wire[0], { id: 'job-9', status: { state: 'working', timestamp: 't0' }, final: false });
    // The task already had "echo" at index 0: the new artifact is the next one, and keeps its index.
    assert.deepEqual([wire[1].artifact.index, wire[1].artifact.append, wire[1].artifact.lastChunk], [1, false, false]);
    assert.deepEqual([wire[2].artifact.index, wire[2].artifact.append, wire[2].artifact.lastChunk], [1, true, true]);
    assert.equal(wire[3].artifact.index, 0);
    assert.deepEqual(wire[4], { id: 'job-9', status: { state: 'completed', timestamp: 't1' }, final: true, metadata: { m: 1 } });
    for (const event of wire) assert.equal(event.id, 'job-9');
  });
});

describe('A2A 0.2 codec: round trips (our client side reads what the server side writes)', () => {
  test('a Task: decoded and written again, the wire is unchanged', () => {
    const codec = v02Codec.forRequest!({ id: 'job-1' });
    const wire = overTheWire(codec.encodeTask(inputRequiredTask()));
    const decoded = v02Codec.decodeTask(wire, 'result');
    assert.equal(decoded.id, 'job-1');
    assert.equal(decoded.contextId, 'ctx-1');
    assert.deepEqual(overTheWire(codec.encodeTask(decoded)), wire);
  });

  test('stream events: decoded and written again, the wire is unchanged', () => {
    const codec = v02Codec.forRequest!({ id: 'job-2' });
    const events = [
      { id: 'job-2', status: { state: 'working', timestamp: 't0', message: { role: 'agent', parts: [{ type: 'text', text: 'on it' }] } }, final: false },
      { id: 'job-2', artifact: { parts: [{ type: 'data', data: { a: 1 } }], index: 0, append: false, lastChunk: true } },
      { id: 'job-2', status: { state: 'failed', timestamp: 't1' }, final: true, metadata: { why: 'x' } },
    ];
    for (const event of events) {
      const item = v02Codec.decodeStreamItem(event, 'result');
      assert.deepEqual(overTheWire(codec.encodeStreamItem(item)), event);
    }
    assert.equal(v02Codec.decodeStreamItem({ id: 'job-2', sessionId: 's', status: { state: 'completed' } }, 'result').kind, 'task');
  });

  test('a send: what our side writes, our side reads', () => {
    const params = overTheWire(v02Codec.encodeSend({ taskAlias: 'job-3', message: { messageId: 'm', role: 'user', contextId: 's', parts: [{ kind: 'text', text: 'x' }] } }));
    assert.deepEqual(params, { id: 'job-3', sessionId: 's', message: { role: 'user', parts: [{ type: 'text', text: 'x' }] } });
    const request = v02Codec.decodeSend(params);
    assert.equal(request.taskAlias, 'job-3');
    assert.equal(request.message.contextId, 's');
  });
});

describe('0.2 is recognised by its method names when no version is asked', () => {
  test('tasks/send, tasks/sendSubscribe and the push names are 0.2 only', () => {
    assert.equal(resolveMethod('tasks/send', undefined, { id: 'x' }).version, '0.2');
    assert.equal(resolveMethod('tasks/sendSubscribe', undefined, {}).operation, 'stream');
    assert.equal(resolveMethod('tasks/pushNotification/set', undefined, {}).operation, 'push-config-create');
    // Asked for as 0.3 (or 1.0), the draft's names do not exist.
    assert.throws(() => resolveMethod('tasks/send', '0.3', { id: 'x' }), { code: -32601 });
  });

  test('the names 0.3 kept are 0.2 when the id is a client-chosen one, 0.3 when it is ours or no alias at all', () => {
    const ours = newTaskId('kagent-0');
    assert.ok(isAgentTaskId(ours));
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/resubscribe']) {
      assert.equal(resolveMethod(method, undefined, { id: 'job-7' }).version, '0.2', method);
      assert.equal(resolveMethod(method, undefined, { id: ours }).version, '0.3', method);
      assert.equal(resolveMethod(method, undefined, { id: 'a:b' }).version, '0.3', method);
      assert.equal(resolveMethod(method, undefined, {}).version, '0.3', method);
      assert.equal(resolveMethod(method, '0.3', { id: 'job-7' }).version, '0.3', method);
    }
  });

  test('our id form: a dot and a UUID at the end, whatever the pod is called', () => {
    assert.ok(isAgentTaskId('kagent-12.0190a5f2-0000-7000-8000-000000000000'));
    assert.ok(isAgentTaskId('host.example.0190a5f2-0000-7000-8000-000000000000'));
    for (const id of ['0190a5f2-0000-7000-8000-000000000000', 'job-7', 'kagent-0.job', 'kagent-0.0190A5F2-0000-7000-8000-000000000000']) {
      assert.equal(isAgentTaskId(id), false, id);
    }
  });
});
