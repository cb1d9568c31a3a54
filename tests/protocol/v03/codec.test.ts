import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, Part, StreamItem, Task } from '../../../src/model/model.js';
import { TASK_STATES } from '../../../src/model/model.js';
import { decodeMessage, decodePart, encodeMessage, encodePart, v03Codec } from '../../../src/protocol/v03/codec.js';
import { agentMessage, artifact, bareTask, HELLO_B64, inputRequiredTask, userMessage } from '../fixtures.js';
import { assertThrowsInvalidParams, overTheWire } from '../../support/codec-helpers.js';

const USER_MESSAGE_WIRE = {
  kind: 'message',
  messageId: 'msg-1',
  role: 'user',
  contextId: 'ctx-1',
  taskId: 'task-1',
  metadata: { skill: 'echo', delayMs: 0, nested: { list: [1, 'two', null, true] } },
  extensions: ['https://example.com/ext/v1'],
  referenceTaskIds: ['task-0'],
  parts: [
    { kind: 'text', text: 'hello', metadata: { lang: 'en' } },
    { kind: 'file', file: { bytes: 'aGVsbG8=', mimeType: 'application/octet-stream', name: 'hello.bin' } },
    { kind: 'file', file: { uri: 'https://example.com/report.pdf', mimeType: 'application/pdf', name: 'report.pdf' }, metadata: { pages: 3 } },
    { kind: 'data', data: { answer: 42, items: ['a', 'b'] }, metadata: { schema: 'v1' } },
  ],
};

const AGENT_MESSAGE_WIRE = (text: string, id: string) => ({
  kind: 'message',
  messageId: id,
  role: 'agent',
  contextId: 'ctx-1',
  taskId: 'task-1',
  parts: [{ kind: 'text', text }],
});

const ARTIFACT_WIRE = {
  artifactId: 'echo',
  name: 'Echo',
  description: 'what was sent',
  metadata: { chunk: 1 },
  extensions: ['https://example.com/ext/art'],
  parts: [
    { kind: 'text', text: 'hello' },
    { kind: 'file', file: { uri: 'https://example.com/a.txt', mimeType: 'text/plain', name: 'a.txt' } },
  ],
};

const TASK_WIRE = {
  kind: 'task',
  id: 'task-1',
  contextId: 'ctx-1',
  status: { state: 'input-required', timestamp: '2025-01-02T03:04:05.678Z', message: AGENT_MESSAGE_WIRE('which one?', 'msg-agent-2') },
  artifacts: [ARTIFACT_WIRE],
  history: [USER_MESSAGE_WIRE, AGENT_MESSAGE_WIRE('working on it', 'msg-agent-1')],
  metadata: { origin: 'test' },
};

function validWireMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'message', messageId: 'm-1', role: 'user', parts: [{ kind: 'text', text: 'hi' }], ...overrides };
}

describe('0.3 encoding: exact wire shapes', () => {
  test('a message with text, file (bytes and uri) and data parts', () => {
    assert.deepEqual(overTheWire(encodeMessage(userMessage())), USER_MESSAGE_WIRE);
  });

  test('a task with status message, artifacts, history and metadata', () => {
    assert.deepEqual(overTheWire(v03Codec.encodeTask(inputRequiredTask())), TASK_WIRE);
  });

  test('a task without artifacts or history leaves both fields out', () => {
    assert.deepEqual(overTheWire(v03Codec.encodeTask(bareTask())), {
      kind: 'task',
      id: 'task-2',
      contextId: 'ctx-2',
      status: { state: 'submitted', timestamp: '2025-01-02T03:04:05.000Z' },
    });
  });

  for (const state of TASK_STATES) {
    test(`state ${state} is written lowercase as-is`, () => {
      const task: Task = { ...bareTask(), status: { state, timestamp: '2025-01-01T00:00:00.000Z' } };
      assert.equal((v03Codec.encodeTask(task) as { status: { state: string } }).status.state, state);
    });
  }

  test('send results are the bare task or message, with their kind', () => {
    assert.deepEqual(overTheWire(v03Codec.encodeSendResult({ kind: 'task', task: inputRequiredTask() })), TASK_WIRE);
    assert.deepEqual(overTheWire(v03Codec.encodeSendResult({ kind: 'message', message: userMessage() })), USER_MESSAGE_WIRE);
  });

  test('stream items: task, message, status-update with final, artifact-update', () => {
    assert.deepEqual(overTheWire(v03Codec.encodeStreamItem({ kind: 'task', task: inputRequiredTask() })), TASK_WIRE);
    assert.deepEqual(overTheWire(v03Codec.encodeStreamItem({ kind: 'message', message: userMessage() })), USER_MESSAGE_WIRE);
    for (const final of [true, false]) {
      assert.deepEqual(
        overTheWire(
          v03Codec.encodeStreamItem({
            kind: 'status-update',
            taskId: 'task-1',
            contextId: 'ctx-1',
            status: { state: final ? 'completed' : 'working', timestamp: '2025-01-02T03:04:06.000Z', message: agentMessage('s', 'm-s') },
            final,
            metadata: { step: 3 },
          }),
        ),
        {
          kind: 'status-update',
          taskId: 'task-1',
          contextId: 'ctx-1',
          status: { state: final ? 'completed' : 'working', timestamp: '2025-01-02T03:04:06.000Z', message: AGENT_MESSAGE_WIRE('s', 'm-s') },
          final,
          metadata: { step: 3 },
        },
      );
    }
    assert.deepEqual(
      overTheWire(
        v03Codec.encodeStreamItem({ kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: artifact(), append: false, lastChunk: true }),
      ),
      { kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: ARTIFACT_WIRE, append: false, lastChunk: true },
    );
  });

  test('a data part holding a non-object value is wrapped as {value}', () => {
    const wrapped: [Part, unknown][] = [
      [{ kind: 'data', data: 42 }, { kind: 'data', data: { value: 42 } }],
      [{ kind: 'data', data: 'text' }, { kind: 'data', data: { value: 'text' } }],
      [{ kind: 'data', data: [1, 2] }, { kind: 'data', data: { value: [1, 2] } }],
      [{ kind: 'data', data: null }, { kind: 'data', data: { value: null } }],
      [{ kind: 'data', data: false, metadata: { m: 1 } }, { kind: 'data', data: { value: false }, metadata: { m: 1 } }],
    ];
    for (const [part, wire] of wrapped) assert.deepEqual(overTheWire(encodePart(part)), wire);
  });

  test('an object data part is not wrapped', () => {
    assert.deepEqual(encodePart({ kind: 'data', data: { value: 1, other: 2 } }), { kind: 'data', data: { value: 1, other: 2 } });
  });

  test('a file part without media type or name has only its bytes or uri', () => {
    assert.deepEqual(encodePart({ kind: 'bytes', bytes: HELLO_B64 }), { kind: 'file', file: { bytes: HELLO_B64 } });
    assert.deepEqual(encodePart({ kind: 'url', url: 'https://x/y' }), { kind: 'file', file: { uri: 'https://x/y' } });
  });
});

describe('0.3 round trips: model -> wire -> model', () => {
  test('a message with every part kind and every optional field survives decodeSend', () => {
    const original = userMessage();
    assert.deepEqual(v03Codec.decodeSend(overTheWire({ message: encodeMessage(original) })), { message: original, returnImmediately: false });
  });

  test('decodeMessage restores a minimal message exactly', () => {
    const original: Message = { messageId: 'm', role: 'agent', parts: [{ kind: 'text', text: '' }] };
    assert.deepEqual(decodeMessage(overTheWire(encodeMessage(original)), 'm'), original);
  });

  test('file parts keep media type, filename and metadata', () => {
    const parts: Part[] = [
      { kind: 'bytes', bytes: HELLO_B64, mediaType: 'image/png', filename: 'x.png', metadata: { b: [true] } },
      { kind: 'url', url: 'https://example.com/x', mediaType: 'text/html', filename: 'x.html' },
      { kind: 'text', text: 't', metadata: { lang: 'de' } },
      { kind: 'data', data: { k: 'v' }, metadata: {} },
    ];
    for (const part of parts) assert.deepEqual(decodePart(overTheWire(encodePart(part)), 'p'), part);
  });

  test('a wrapped non-object data part comes back as the {value} object', () => {
    assert.deepEqual(decodePart(overTheWire(encodePart({ kind: 'data', data: [1, 2] })), 'p'), { kind: 'data', data: { value: [1, 2] } });
  });

  test('the messages inside an encoded task decode back to the originals', () => {
    const task = inputRequiredTask();
    const wire = overTheWire(v03Codec.encodeTask(task)) as typeof TASK_WIRE;
    assert.deepEqual(decodeMessage(wire.status.message, 'status.message'), task.status.message);
    assert.deepEqual(
      wire.history.map((m, i) => decodeMessage(m, `history[${i}]`)),
      task.history,
    );
    assert.deepEqual(
      wire.artifacts[0]!.parts.map((p, i) => decodePart(p, `artifacts[0].parts[${i}]`)),
      task.artifacts[0]!.parts,
    );
  });

  test('the message inside a message stream item decodes back to the original', () => {
    const original = userMessage();
    assert.deepEqual(decodeMessage(overTheWire(v03Codec.encodeStreamItem({ kind: 'message', message: original })), 'm'), original);
  });

  test('encoded stream items never lack their kind', () => {
    const items: StreamItem[] = [
      { kind: 'task', task: bareTask() },
      { kind: 'message', message: agentMessage('x') },
      { kind: 'status-update', taskId: 't', contextId: 'c', status: { state: 'working', timestamp: 'x' }, final: false },
      { kind: 'artifact-update', taskId: 't', contextId: 'c', artifact: artifact(), append: false, lastChunk: false },
    ];
    assert.deepEqual(
      items.map((item) => (v03Codec.encodeStreamItem(item) as { kind: string }).kind),
      ['task', 'message', 'status-update', 'artifact-update'],
    );
  });
});

describe('0.3 send configuration', () => {
  test('blocking is the default, with or without a configuration', () => {
    assert.equal(v03Codec.decodeSend({ message: validWireMessage() }).returnImmediately, false);
    assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: {} }).returnImmediately, false);
    assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: { blocking: null } }).returnImmediately, false);
  });

  test('blocking:false means return immediately; blocking:true does not', () => {
    assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: { blocking: false } }).returnImmediately, true);
    assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: { blocking: true } }).returnImmediately, false);
  });

  test('historyLength and acceptedOutputModes are read', () => {
    const request = v03Codec.decodeSend({
      message: validWireMessage(),
      configuration: { historyLength: 0, acceptedOutputModes: ['text/plain', 'application/json'] },
    });
    assert.equal(request.historyLength, 0);
    assert.deepEqual(request.acceptedOutputModes, ['text/plain', 'application/json']);
  });

  test('the 1.0 returnImmediately flag means nothing in 0.3', () => {
    assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: { returnImmediately: true } }).returnImmediately, false);
  });

  test('tasks/get query', () => {
    assert.deepEqual(v03Codec.decodeTaskQuery({ id: 't-1', historyLength: 2, metadata: {} }), { id: 't-1', historyLength: 2 });
  });
});

describe('0.3 unknown fields are dropped', () => {
  test('on the request, the message, its parts and the file', () => {
    const request = v03Codec.decodeSend({
      message: {
        ...validWireMessage(),
        unknown: 1,
        parts: [
          { kind: 'text', text: 'hi', colour: 'red' },
          { kind: 'file', file: { uri: 'https://x/y', size: 12 }, extra: true },
        ],
      },
      configuration: { blocking: true },
      metadata: { ignored: true },
    });
    assert.deepEqual(request, {
      message: {
        messageId: 'm-1',
        role: 'user',
        parts: [
          { kind: 'text', text: 'hi' },
          { kind: 'url', url: 'https://x/y' },
        ],
      },
      returnImmediately: false,
    });
  });
});

test('0.3 a send carrying pushNotificationConfig says where, for the handler to refuse', () => {
  const configuration = { blocking: true, pushNotificationConfig: { url: 'https://x' } };
  assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration }).pushConfigField, 'params.configuration.pushNotificationConfig');
  assert.equal(v03Codec.decodeSend({ message: validWireMessage(), configuration: { blocking: true } }).pushConfigField, undefined);
});

describe('0.3 decode errors name the exact field', () => {
  const send = (message: unknown, configuration?: unknown) => () =>
    v03Codec.decodeSend(configuration === undefined ? { message } : { message, configuration });
  const cases: [string, () => unknown, string][] = [
    ['params missing', () => v03Codec.decodeSend(undefined), 'params'],
    ['message missing', () => v03Codec.decodeSend({}), 'params.message'],
    ['role missing', send(validWireMessage({ role: undefined })), 'params.message.role'],
    ['role in 1.0 spelling', send(validWireMessage({ role: 'ROLE_USER' })), 'params.message.role'],
    ['messageId missing', send(validWireMessage({ messageId: undefined })), 'params.message.messageId'],
    ['messageId empty', send(validWireMessage({ messageId: '' })), 'params.message.messageId'],
    ['parts missing', send(validWireMessage({ parts: undefined })), 'params.message.parts'],
    ['parts empty', send(validWireMessage({ parts: [] })), 'params.message.parts'],
    ['part not an object', send(validWireMessage({ parts: [{ kind: 'text', text: 'a' }, 7] })), 'params.message.parts[1]'],
    ['part kind missing', send(validWireMessage({ parts: [{ kind: 'text', text: 'a' }, { text: 'b' }] })), 'params.message.parts[1].kind'],
    ['part kind unknown', send(validWireMessage({ parts: [{ kind: 'image' }] })), 'params.message.parts[0].kind'],
    ['text not a string', send(validWireMessage({ parts: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 1 }] })), 'params.message.parts[1].text'],
    ['data a string', send(validWireMessage({ parts: [{ kind: 'data', data: 'x' }] })), 'params.message.parts[0].data'],
    ['data an array', send(validWireMessage({ parts: [{ kind: 'data', data: [1] }] })), 'params.message.parts[0].data'],
    ['part metadata a string', send(validWireMessage({ parts: [{ kind: 'text', text: 'a', metadata: 's' }] })), 'params.message.parts[0].metadata'],
    ['file missing', send(validWireMessage({ parts: [{ kind: 'file' }] })), 'params.message.parts[0].file'],
    ['file with bytes and uri', send(validWireMessage({ parts: [{ kind: 'file', file: { bytes: HELLO_B64, uri: 'https://x' } }] })), 'params.message.parts[0].file'],
    ['file with neither', send(validWireMessage({ parts: [{ kind: 'file', file: { name: 'a' } }] })), 'params.message.parts[0].file'],
    ['file bytes not base64', send(validWireMessage({ parts: [{ kind: 'file', file: { bytes: '***' } }] })), 'params.message.parts[0].file.bytes'],
    ['file uri empty', send(validWireMessage({ parts: [{ kind: 'file', file: { uri: '' } }] })), 'params.message.parts[0].file.uri'],
    ['file mimeType a number', send(validWireMessage({ parts: [{ kind: 'file', file: { uri: 'https://x', mimeType: 1 } }] })), 'params.message.parts[0].file.mimeType'],
    ['file name a number', send(validWireMessage({ parts: [{ kind: 'file', file: { uri: 'https://x', name: 2 } }] })), 'params.message.parts[0].file.name'],
    ['contextId a number', send(validWireMessage({ contextId: 3 })), 'params.message.contextId'],
    ['message metadata an array', send(validWireMessage({ metadata: [] })), 'params.message.metadata'],
    ['referenceTaskIds item', send(validWireMessage({ referenceTaskIds: [1] })), 'params.message.referenceTaskIds[0]'],
    ['configuration a string', send(validWireMessage(), 'x'), 'params.configuration'],
    ['blocking a string', send(validWireMessage(), { blocking: 'false' }), 'params.configuration.blocking'],
    ['historyLength negative', send(validWireMessage(), { historyLength: -1 }), 'params.configuration.historyLength'],
    ['historyLength fractional', send(validWireMessage(), { historyLength: 0.5 }), 'params.configuration.historyLength'],
    ['acceptedOutputModes a string', send(validWireMessage(), { acceptedOutputModes: 'text/plain' }), 'params.configuration.acceptedOutputModes'],
    ['tasks/get id missing', () => v03Codec.decodeTaskQuery({}), 'params.id'],
    ['tasks/get historyLength a string', () => v03Codec.decodeTaskQuery({ id: 't', historyLength: '1' }), 'params.historyLength'],
  ];
  for (const [name, fn, field] of cases) test(`${name} -> ${field}`, () => { assertThrowsInvalidParams(fn, field); });

  test('base64 file bytes: standard and URL-safe accepted (kept as standard), other characters refused', () => {
    assert.deepEqual(decodePart({ kind: 'file', file: { bytes: 'AAEC_-8=' } }, 'p'), { kind: 'bytes', bytes: 'AAEC/+8=' });
    assert.deepEqual(decodePart({ kind: 'file', file: { bytes: '+/+/' } }, 'p'), { kind: 'bytes', bytes: '+/+/' });
    for (const bytes of ['aGVs bG8=', 'ab=c', 'abc===', 'a\u00e9']) assertThrowsInvalidParams(() => decodePart({ kind: 'file', file: { bytes } }, 'p'), 'p.file.bytes');
  });
});
