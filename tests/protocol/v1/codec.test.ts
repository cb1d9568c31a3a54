import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, Part, StreamItem, Task, TaskPage, TaskState } from '../../../src/model/model.js';
import { TASK_STATES } from '../../../src/model/model.js';
import { decodeMessage, decodePart, encodeMessage, encodePart, v1Codec } from '../../../src/protocol/v1/codec.js';
import { agentMessage, artifact, bareTask, HELLO_B64, inputRequiredTask, userMessage } from '../fixtures.js';
import { assertThrowsInvalidParams, keysDeep, overTheWire } from '../../support/codec-helpers.js';

const WIRE_STATES: Readonly<Record<TaskState, string>> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  'auth-required': 'TASK_STATE_AUTH_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  rejected: 'TASK_STATE_REJECTED',
};

const USER_MESSAGE_WIRE = {
  messageId: 'msg-1',
  role: 'ROLE_USER',
  contextId: 'ctx-1',
  taskId: 'task-1',
  metadata: { skill: 'echo', delayMs: 0, nested: { list: [1, 'two', null, true] } },
  extensions: ['https://example.com/ext/v1'],
  referenceTaskIds: ['task-0'],
  parts: [
    { text: 'hello', metadata: { lang: 'en' } },
    { raw: 'aGVsbG8=', mediaType: 'application/octet-stream', filename: 'hello.bin' },
    { url: 'https://example.com/report.pdf', mediaType: 'application/pdf', filename: 'report.pdf', metadata: { pages: 3 } },
    { data: { answer: 42, items: ['a', 'b'] }, metadata: { schema: 'v1' } },
  ],
};

const AGENT_MESSAGE_WIRE = (text: string, id: string) => ({
  messageId: id,
  role: 'ROLE_AGENT',
  contextId: 'ctx-1',
  taskId: 'task-1',
  parts: [{ text }],
});

const ARTIFACT_WIRE = {
  artifactId: 'echo',
  name: 'Echo',
  description: 'what was sent',
  metadata: { chunk: 1 },
  extensions: ['https://example.com/ext/art'],
  parts: [{ text: 'hello' }, { url: 'https://example.com/a.txt', mediaType: 'text/plain', filename: 'a.txt' }],
};

const TASK_WIRE = {
  id: 'task-1',
  contextId: 'ctx-1',
  status: {
    state: 'TASK_STATE_INPUT_REQUIRED',
    timestamp: '2025-01-02T03:04:05.678Z',
    message: AGENT_MESSAGE_WIRE('which one?', 'msg-agent-2'),
  },
  artifacts: [ARTIFACT_WIRE],
  history: [USER_MESSAGE_WIRE, AGENT_MESSAGE_WIRE('working on it', 'msg-agent-1')],
  metadata: { origin: 'test' },
};

/** A send request for `message`, as a 1.0 client writes it. */
function sendParams(message: unknown, extra: Record<string, unknown> = {}): unknown {
  return { message, ...extra };
}

function validWireMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'hi' }], ...overrides };
}

describe('1.0 encoding: exact wire shapes', () => {
  test('a message with every part kind', () => {
    assert.deepEqual(overTheWire(encodeMessage(userMessage())), USER_MESSAGE_WIRE);
  });

  test('a task with status message, artifacts, history and metadata', () => {
    assert.deepEqual(overTheWire(v1Codec.encodeTask(inputRequiredTask())), TASK_WIRE);
  });

  test('a task without artifacts or history leaves both fields out', () => {
    assert.deepEqual(overTheWire(v1Codec.encodeTask(bareTask())), {
      id: 'task-2',
      contextId: 'ctx-2',
      status: { state: 'TASK_STATE_SUBMITTED', timestamp: '2025-01-02T03:04:05.000Z' },
    });
  });

  test('no object anywhere carries a `kind` discriminator', () => {
    const items: StreamItem[] = [
      { kind: 'task', task: inputRequiredTask() },
      { kind: 'message', message: userMessage() },
      { kind: 'status-update', taskId: 't', contextId: 'c', status: { state: 'working', timestamp: 'x', message: agentMessage('a') }, final: false },
      { kind: 'artifact-update', taskId: 't', contextId: 'c', artifact: artifact(), append: false, lastChunk: true },
    ];
    for (const item of items) assert.equal(keysDeep(v1Codec.encodeStreamItem(item)).has('kind'), false, item.kind);
  });

  for (const state of TASK_STATES) {
    test(`state ${state} is written as ${WIRE_STATES[state]}`, () => {
      const task: Task = { ...bareTask(), status: { state, timestamp: '2025-01-01T00:00:00.000Z' } };
      const wire = v1Codec.encodeTask(task) as { status: { state: string } };
      assert.equal(wire.status.state, WIRE_STATES[state]);
    });
  }

  test('roles are ROLE_USER and ROLE_AGENT', () => {
    assert.equal(encodeMessage(userMessage()).role, 'ROLE_USER');
    assert.equal(encodeMessage(agentMessage('x')).role, 'ROLE_AGENT');
  });

  test('send results wrap a task or a message', () => {
    assert.deepEqual(overTheWire(v1Codec.encodeSendResult({ kind: 'task', task: inputRequiredTask() })), { task: TASK_WIRE });
    assert.deepEqual(overTheWire(v1Codec.encodeSendResult({ kind: 'message', message: userMessage() })), { message: USER_MESSAGE_WIRE });
  });

  test('stream items: task, message, statusUpdate (no final flag), artifactUpdate', () => {
    assert.deepEqual(overTheWire(v1Codec.encodeStreamItem({ kind: 'task', task: inputRequiredTask() })), { task: TASK_WIRE });
    assert.deepEqual(overTheWire(v1Codec.encodeStreamItem({ kind: 'message', message: userMessage() })), { message: USER_MESSAGE_WIRE });
    assert.deepEqual(
      overTheWire(
        v1Codec.encodeStreamItem({
          kind: 'status-update',
          taskId: 'task-1',
          contextId: 'ctx-1',
          status: { state: 'completed', timestamp: '2025-01-02T03:04:06.000Z', message: agentMessage('done', 'm-done') },
          final: true,
          metadata: { step: 3 },
        }),
      ),
      {
        statusUpdate: {
          taskId: 'task-1',
          contextId: 'ctx-1',
          status: { state: 'TASK_STATE_COMPLETED', timestamp: '2025-01-02T03:04:06.000Z', message: AGENT_MESSAGE_WIRE('done', 'm-done') },
          metadata: { step: 3 },
        },
      },
    );
    assert.deepEqual(
      overTheWire(
        v1Codec.encodeStreamItem({ kind: 'artifact-update', taskId: 'task-1', contextId: 'ctx-1', artifact: artifact(), append: true, lastChunk: false }),
      ),
      { artifactUpdate: { taskId: 'task-1', contextId: 'ctx-1', artifact: ARTIFACT_WIRE, append: true, lastChunk: false } },
    );
  });

  test('a task page drops artifacts unless asked, and lists [] when asked and there are none', () => {
    const page: TaskPage = { tasks: [inputRequiredTask(), bareTask()], nextPageToken: 'tok', pageSize: 2, totalSize: 7 };
    const without = overTheWire(v1Codec.encodeTaskPage(page, false)) as { tasks: Record<string, unknown>[] };
    assert.deepEqual(without, {
      tasks: [
        { ...TASK_WIRE, artifacts: undefined },
        { id: 'task-2', contextId: 'ctx-2', status: { state: 'TASK_STATE_SUBMITTED', timestamp: '2025-01-02T03:04:05.000Z' } },
      ].map((t) => overTheWire(t)),
      nextPageToken: 'tok',
      pageSize: 2,
      totalSize: 7,
    });
    assert.equal('artifacts' in without.tasks[0]!, false);
    const withArtifacts = overTheWire(v1Codec.encodeTaskPage(page, true)) as { tasks: Record<string, unknown>[] };
    assert.deepEqual(withArtifacts.tasks[0]!.artifacts, [ARTIFACT_WIRE]);
    assert.deepEqual(withArtifacts.tasks[1]!.artifacts, []);
  });
});

describe('1.0 round trips: model -> wire -> model', () => {
  test('a message with every part kind and every optional field survives decodeSend', () => {
    const original = userMessage();
    const decoded = v1Codec.decodeSend(overTheWire({ message: encodeMessage(original) }));
    assert.deepEqual(decoded, { message: original, returnImmediately: false });
  });

  test('decodeMessage restores a minimal message exactly (no invented fields)', () => {
    const original: Message = { messageId: 'm', role: 'agent', parts: [{ kind: 'text', text: '' }] };
    assert.deepEqual(decodeMessage(overTheWire(encodeMessage(original)), 'm'), original);
  });

  test('each part kind alone, with media type, filename and metadata', () => {
    const parts: Part[] = [
      { kind: 'text', text: 'plain', mediaType: 'text/markdown', filename: 'notes.md', metadata: { a: 1 } },
      { kind: 'bytes', bytes: HELLO_B64, mediaType: 'image/png', filename: 'x.png', metadata: { b: [true] } },
      { kind: 'url', url: 'https://example.com/x', mediaType: 'text/html', filename: 'x.html', metadata: {} },
      { kind: 'data', data: [1, { two: 2 }], mediaType: 'application/json', filename: 'd.json', metadata: { c: null } },
      { kind: 'data', data: 'a bare string' },
      { kind: 'data', data: 0 },
    ];
    for (const part of parts) assert.deepEqual(decodePart(overTheWire(encodePart(part)), 'p'), part);
  });

  test('the messages inside an encoded task decode back to the originals', () => {
    const task = inputRequiredTask();
    const wire = overTheWire(v1Codec.encodeTask(task)) as typeof TASK_WIRE;
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

  test('the message inside a stream item decodes back to the original', () => {
    const original = userMessage();
    const wire = overTheWire(v1Codec.encodeStreamItem({ kind: 'message', message: original })) as { message: unknown };
    assert.deepEqual(decodeMessage(wire.message, 'message'), original);
  });
});

describe('1.0 send configuration', () => {
  test('defaults: blocking, no history limit, no output modes', () => {
    assert.deepEqual(v1Codec.decodeSend(sendParams(validWireMessage())), {
      message: { messageId: 'm-1', role: 'user', parts: [{ kind: 'text', text: 'hi' }] },
      returnImmediately: false,
    });
  });

  test('returnImmediately, historyLength and acceptedOutputModes are read', () => {
    const request = v1Codec.decodeSend(
      sendParams(validWireMessage(), { configuration: { returnImmediately: true, historyLength: 3, acceptedOutputModes: ['text/plain'] } }),
    );
    assert.equal(request.returnImmediately, true);
    assert.equal(request.historyLength, 3);
    assert.deepEqual(request.acceptedOutputModes, ['text/plain']);
  });

  test('historyLength 0 is kept (it means "no history"), not treated as absent', () => {
    assert.equal(v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: 0 } })).historyLength, 0);
  });
});

test('1.0 a send carrying taskPushNotificationConfig (either spelling) says where, for the handler to refuse', () => {
  const hook = { url: 'https://example.com/hook' };
  assert.equal(v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { taskPushNotificationConfig: hook } })).pushConfigField, 'params.configuration.taskPushNotificationConfig');
  assert.equal(v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { task_push_notification_config: hook } })).pushConfigField, 'params.configuration.taskPushNotificationConfig');
  assert.equal(v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: 1 } })).pushConfigField, undefined);
});

describe('1.0 snake_case field names are accepted', () => {
  test('in the message, its parts and the configuration', () => {
    const request = v1Codec.decodeSend({
      message: {
        message_id: 'm-snake',
        role: 'ROLE_USER',
        context_id: 'ctx-s',
        task_id: 'task-s',
        reference_task_ids: ['task-r'],
        parts: [{ raw: HELLO_B64, media_type: 'image/png' }],
      },
      configuration: { history_length: 2, return_immediately: true, accepted_output_modes: ['application/json'] },
    });
    assert.deepEqual(request, {
      message: {
        messageId: 'm-snake',
        role: 'user',
        contextId: 'ctx-s',
        taskId: 'task-s',
        referenceTaskIds: ['task-r'],
        parts: [{ kind: 'bytes', bytes: HELLO_B64, mediaType: 'image/png' }],
      },
      returnImmediately: true,
      historyLength: 2,
      acceptedOutputModes: ['application/json'],
    });
  });

  test('in ListTasks', () => {
    const query = v1Codec.decodeListTasks({
      page_size: 7,
      context_id: 'ctx-9',
      include_artifacts: true,
      history_length: 1,
      page_token: 'abc',
      status_timestamp_after: '2025-01-01T00:00:00Z',
    });
    assert.deepEqual(query, {
      pageSize: 7,
      contextId: 'ctx-9',
      includeArtifacts: true,
      historyLength: 1,
      pageToken: 'abc',
      statusTimestampAfter: Date.UTC(2025, 0, 1),
    });
  });

  test('in GetTask', () => {
    assert.deepEqual(v1Codec.decodeTaskQuery({ id: 't', history_length: 4 }), { id: 't', historyLength: 4 });
  });

  test('the camelCase spelling wins when both are present', () => {
    assert.equal(v1Codec.decodeListTasks({ pageSize: 5, page_size: 9 }).pageSize, 5);
    assert.equal(v1Codec.decodeSend({ message: validWireMessage({ message_id: 'snake' }) }).message.messageId, 'm-1');
  });

  test('a snake_case alias is validated under its camelCase path', () => {
    assertThrowsInvalidParams(() => v1Codec.decodeListTasks({ page_size: 0 }), 'params.pageSize');
    assertThrowsInvalidParams(() => v1Codec.decodeSend({ message: validWireMessage(), configuration: { history_length: -1 } }), 'params.configuration.historyLength');
  });
});

describe('1.0 unknown fields are dropped', () => {
  test('on the request, the message, its parts and the configuration', () => {
    const request = v1Codec.decodeSend({
      message: { ...validWireMessage(), kind: 'message', unknownField: { x: 1 }, parts: [{ text: 'hi', kind: 'text', colour: 'red' }] },
      configuration: { pushNotificationConfig: { url: 'https://x' }, blocking: false },
      tenant: 'ignored',
      somethingElse: true,
    });
    assert.deepEqual(request, { message: { messageId: 'm-1', role: 'user', parts: [{ kind: 'text', text: 'hi' }] }, returnImmediately: false });
    assert.equal(keysDeep(request).has('unknownField'), false);
    assert.equal(keysDeep(request).has('colour'), false);
  });

  test('snake_case aliases do not leak onto the decoded message', () => {
    const { message } = v1Codec.decodeSend({ message: { message_id: 'm', role: 'ROLE_USER', parts: [{ text: 'x' }], context_id: 'c' } });
    assert.deepEqual(Object.keys(message).sort(), ['contextId', 'messageId', 'parts', 'role']);
  });

  test('on ListTasks and GetTask', () => {
    assert.deepEqual(v1Codec.decodeListTasks({ tenant: 'x', foo: 1 }), { pageSize: 50, includeArtifacts: false });
    assert.deepEqual(v1Codec.decodeTaskQuery({ id: 't', name: 'tasks/t' }), { id: 't' });
  });
});

describe('1.0 decode errors name the exact field', () => {
  const cases: [string, () => unknown, string][] = [
    ['params missing', () => v1Codec.decodeSend(undefined), 'params'],
    ['params an array', () => v1Codec.decodeSend([]), 'params'],
    ['message missing', () => v1Codec.decodeSend({}), 'params.message'],
    ['message a string', () => v1Codec.decodeSend({ message: 'hi' }), 'params.message'],
    ['role missing', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: undefined }))), 'params.message.role'],
    ['role in 0.3 spelling', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: 'user' }))), 'params.message.role'],
    ['role unspecified', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: 'ROLE_UNSPECIFIED' }))), 'params.message.role'],
    ['messageId missing', () => v1Codec.decodeSend(sendParams(validWireMessage({ messageId: undefined }))), 'params.message.messageId'],
    ['messageId empty', () => v1Codec.decodeSend(sendParams(validWireMessage({ messageId: '' }))), 'params.message.messageId'],
    ['messageId a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ messageId: 7 }))), 'params.message.messageId'],
    ['parts missing', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: undefined }))), 'params.message.parts'],
    ['parts empty', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [] }))), 'params.message.parts'],
    ['parts an object', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: { text: 'x' } }))), 'params.message.parts'],
    ['part not an object', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'ok' }, 'x'] }))), 'params.message.parts[1]'],
    ['part text a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'ok' }, { text: 5 }] }))), 'params.message.parts[1].text'],
    ['part with no content', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ mediaType: 'text/plain' }] }))), 'params.message.parts[0]'],
    ['part with two contents', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'a', url: 'https://x' }] }))), 'params.message.parts[0]'],
    ['part in 0.3 shape', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ kind: 'file', file: { uri: 'https://x' } }] }))), 'params.message.parts[0]'],
    ['raw not base64', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ raw: 'not base64!' }] }))), 'params.message.parts[0].raw'],
    ['raw a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ raw: 12 }] }))), 'params.message.parts[0].raw'],
    ['url empty', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ url: '' }] }))), 'params.message.parts[0].url'],
    ['part mediaType a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'a', mediaType: 1 }] }))), 'params.message.parts[0].mediaType'],
    ['part filename an object', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'a', filename: {} }] }))), 'params.message.parts[0].filename'],
    ['part metadata an array', () => v1Codec.decodeSend(sendParams(validWireMessage({ parts: [{ text: 'a', metadata: [] }] }))), 'params.message.parts[0].metadata'],
    ['contextId a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ contextId: 1 }))), 'params.message.contextId'],
    ['taskId a boolean', () => v1Codec.decodeSend(sendParams(validWireMessage({ taskId: true }))), 'params.message.taskId'],
    ['message metadata a string', () => v1Codec.decodeSend(sendParams(validWireMessage({ metadata: 'x' }))), 'params.message.metadata'],
    ['extensions item a number', () => v1Codec.decodeSend(sendParams(validWireMessage({ extensions: ['a', 2] }))), 'params.message.extensions[1]'],
    ['referenceTaskIds a string', () => v1Codec.decodeSend(sendParams(validWireMessage({ referenceTaskIds: 't' }))), 'params.message.referenceTaskIds'],
    ['configuration a string', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: 'fast' })), 'params.configuration'],
    ['returnImmediately a string', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { returnImmediately: 'yes' } })), 'params.configuration.returnImmediately'],
    ['historyLength negative', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: -1 } })), 'params.configuration.historyLength'],
    ['historyLength fractional', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: 1.5 } })), 'params.configuration.historyLength'],
    ['historyLength a word', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: 'three' } })), 'params.configuration.historyLength'],
    ['historyLength a fractional string', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: '1.5' } })), 'params.configuration.historyLength'],
    ['historyLength a negative string', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: '-1' } })), 'params.configuration.historyLength'],
    ['historyLength a huge string', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: '99999999999999999999' } })), 'params.configuration.historyLength'],
    ['role an unknown number', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: 3 }))), 'params.message.role'],
    ['role number 0 (unspecified)', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: 0 }))), 'params.message.role'],
    ['role a fractional number', () => v1Codec.decodeSend(sendParams(validWireMessage({ role: 1.5 }))), 'params.message.role'],
    ['historyLength huge', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: 1e12 } })), 'params.configuration.historyLength'],
    ['acceptedOutputModes item', () => v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { acceptedOutputModes: [null] } })), 'params.configuration.acceptedOutputModes[0]'],
    ['GetTask id missing', () => v1Codec.decodeTaskQuery({}), 'params.id'],
    ['GetTask id empty', () => v1Codec.decodeTaskQuery({ id: '' }), 'params.id'],
    ['GetTask params missing', () => v1Codec.decodeTaskQuery(undefined), 'params'],
    ['GetTask historyLength negative', () => v1Codec.decodeTaskQuery({ id: 't', historyLength: -2 }), 'params.historyLength'],
    ['ListTasks pageSize 0', () => v1Codec.decodeListTasks({ pageSize: 0 }), 'params.pageSize'],
    ['ListTasks pageSize 101', () => v1Codec.decodeListTasks({ pageSize: 101 }), 'params.pageSize'],
    ['ListTasks pageSize fractional', () => v1Codec.decodeListTasks({ pageSize: 2.5 }), 'params.pageSize'],
    ['ListTasks pageSize a word', () => v1Codec.decodeListTasks({ pageSize: 'ten' }), 'params.pageSize'],
    ['ListTasks pageSize "0"', () => v1Codec.decodeListTasks({ pageSize: '0' }), 'params.pageSize'],
    ['ListTasks pageSize "101"', () => v1Codec.decodeListTasks({ pageSize: '101' }), 'params.pageSize'],
    ['ListTasks pageSize an empty string', () => v1Codec.decodeListTasks({ pageSize: '' }), 'params.pageSize'],
    ['ListTasks status in 0.3 spelling', () => v1Codec.decodeListTasks({ status: 'completed' }), 'params.status'],
    ['ListTasks status unknown', () => v1Codec.decodeListTasks({ status: 'TASK_STATE_DONE' }), 'params.status'],
    ['ListTasks status an unknown number', () => v1Codec.decodeListTasks({ status: 9 }), 'params.status'],
    ['ListTasks status a negative number', () => v1Codec.decodeListTasks({ status: -1 }), 'params.status'],
    ['ListTasks status a boolean', () => v1Codec.decodeListTasks({ status: true }), 'params.status'],
    ['ListTasks includeArtifacts a string', () => v1Codec.decodeListTasks({ includeArtifacts: 'true' }), 'params.includeArtifacts'],
    ['ListTasks contextId a number', () => v1Codec.decodeListTasks({ contextId: 9 }), 'params.contextId'],
    ['ListTasks pageToken a number', () => v1Codec.decodeListTasks({ pageToken: 9 }), 'params.pageToken'],
    ['ListTasks historyLength negative', () => v1Codec.decodeListTasks({ historyLength: -1 }), 'params.historyLength'],
    ['ListTasks statusTimestampAfter not a time', () => v1Codec.decodeListTasks({ statusTimestampAfter: 'yesterday' }), 'params.statusTimestampAfter'],
    ['ListTasks params an array', () => v1Codec.decodeListTasks([]), 'params'],
  ];
  for (const [name, fn, field] of cases) test(`${name} -> ${field}`, () => { assertThrowsInvalidParams(fn, field); });

  test('the status error lists the accepted enum values', () => {
    const error = assertThrowsInvalidParams(() => v1Codec.decodeListTasks({ status: 'completed' }), 'params.status');
    assert.match(error.message, /TASK_STATE_COMPLETED/);
    assert.match(error.message, /"completed"/);
  });

  test('the pageSize error states the range', () => {
    const error = assertThrowsInvalidParams(() => v1Codec.decodeListTasks({ pageSize: 101 }), 'params.pageSize');
    assert.match(error.message, /between 1 and 100/);
  });

  test('a part with two contents says which ones', () => {
    const error = assertThrowsInvalidParams(() => decodePart({ text: 'a', data: {} }, 'p'), 'p');
    assert.match(error.message, /text and data/);
  });
});

describe('1.0 ProtoJSON inputs: enum numbers, integers as strings, bytes as standard base64', () => {
  test('roles by their a2a.proto numbers: 1 is ROLE_USER, 2 is ROLE_AGENT', () => {
    assert.equal(v1Codec.decodeSend(sendParams(validWireMessage({ role: 1 }))).message.role, 'user');
    assert.equal(decodeMessage(validWireMessage({ role: 2 }), 'm').role, 'agent');
  });

  test('task states by their a2a.proto numbers, in a ListTasks filter and in a peer answer', () => {
    const numbers: [number, TaskState | undefined][] = [
      [0, undefined],
      [1, 'submitted'],
      [2, 'working'],
      [3, 'completed'],
      [4, 'failed'],
      [5, 'canceled'],
      [6, 'input-required'],
      [7, 'rejected'],
      [8, 'auth-required'],
    ];
    for (const [number, state] of numbers) {
      assert.equal(v1Codec.decodeListTasks({ status: number }).state, state, `status ${number}`);
      if (state !== undefined) assert.equal(v1Codec.decodeTask({ id: 't', status: { state: number } }, 'task').status.state, state);
    }
  });

  test('int32 fields as decimal strings: pageSize, historyLength', () => {
    assert.equal(v1Codec.decodeListTasks({ pageSize: '3', historyLength: '2' }).pageSize, 3);
    assert.equal(v1Codec.decodeListTasks({ pageSize: '3', historyLength: '2' }).historyLength, 2);
    assert.equal(v1Codec.decodeTaskQuery({ id: 't', historyLength: '0' }).historyLength, 0);
    assert.equal(v1Codec.decodeSend(sendParams(validWireMessage(), { configuration: { historyLength: '4' } })).historyLength, 4);
    assert.equal(v1Codec.decodeTaskPage({ tasks: [], pageSize: '5', totalSize: '7' }, 'page').totalSize, 7);
  });

  test('bytes sent URL-safe or unpadded are kept and echoed as standard padded base64', () => {
    // 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" URL-safe; "aGk" is "hi" unpadded.
    for (const [sent, standard] of [['-_-_', '+/+/'], ['aGk', 'aGk='], ['aGVsbG8', 'aGVsbG8='], ['aGVsbG8=', 'aGVsbG8=']]) {
      const part = decodePart({ raw: sent }, 'p');
      assert.deepEqual(encodePart(part), { raw: standard }, sent);
    }
  });
});

describe('1.0 ListTasks values', () => {
  test('no params means the defaults', () => {
    assert.deepEqual(v1Codec.decodeListTasks(undefined), { pageSize: 50, includeArtifacts: false });
    assert.deepEqual(v1Codec.decodeListTasks(null), { pageSize: 50, includeArtifacts: false });
  });

  test('pageSize bounds 1 and 100 are accepted', () => {
    assert.equal(v1Codec.decodeListTasks({ pageSize: 1 }).pageSize, 1);
    assert.equal(v1Codec.decodeListTasks({ pageSize: 100 }).pageSize, 100);
  });

  for (const state of TASK_STATES) {
    test(`status ${WIRE_STATES[state]} filters on ${state}`, () => {
      assert.equal(v1Codec.decodeListTasks({ status: WIRE_STATES[state] }).state, state);
    });
  }

  test('statusTimestampAfter takes RFC 3339 instants with a zone', () => {
    assert.equal(v1Codec.decodeListTasks({ statusTimestampAfter: '2025-01-01T00:00:00Z' }).statusTimestampAfter, Date.UTC(2025, 0, 1));
    assert.equal(v1Codec.decodeListTasks({ statusTimestampAfter: '2025-01-01T02:00:00.500+02:00' }).statusTimestampAfter, Date.UTC(2025, 0, 1, 0, 0, 0, 500));
  });

  // ProtoJSON Timestamps are RFC 3339 with "Z" or an offset. Date.parse also takes
  // "1" (the year 2001) or a zone-less time read in the server's local zone, so the
  // filter would depend on where the pod runs.
  test('statusTimestampAfter refuses what is not an RFC 3339 instant', () => {
    for (const value of ['1', 'March 7, 2024', '2025-01-01T00:00:00']) {
      assertThrowsInvalidParams(() => v1Codec.decodeListTasks({ statusTimestampAfter: value }), 'params.statusTimestampAfter');
    }
  });

  test('TASK_STATE_UNSPECIFIED and "" mean no filter', () => {
    assert.equal('state' in v1Codec.decodeListTasks({ status: 'TASK_STATE_UNSPECIFIED' }), false);
    assert.equal('state' in v1Codec.decodeListTasks({ status: '' }), false);
  });
});

describe('1.0 base64 validation of raw', () => {
  for (const [raw, standard] of [[HELLO_B64, HELLO_B64], ['aGVsbG8', 'aGVsbG8='], ['AAEC_-8=', 'AAEC/+8='], ['+/+/', '+/+/'], ['', '']]) {
    test(`accepts ${JSON.stringify(raw)}, kept as ${JSON.stringify(standard)}`, () => {
      assert.deepEqual(decodePart({ raw }, 'p'), { kind: 'bytes', bytes: standard });
    });
  }
  for (const raw of ['aGVs bG8=', 'aGVsbG8=\n', 'ab=c', 'abc===', 'é', 'a*b']) {
    test(`rejects ${JSON.stringify(raw)}`, () => { assertThrowsInvalidParams(() => decodePart({ raw }, 'p'), 'p.raw'); });
  }
  // No encoder produces a single trailing sextet: a length of 4n+1 characters (or
  // padding after one character) is not base64 in any variant ProtoJSON accepts.
  test('rejects lengths no encoder produces ("A", "abcde", "a=")', () => {
    for (const raw of ['A', 'abcde', 'a=']) assertThrowsInvalidParams(() => decodePart({ raw }, 'p'), 'p.raw');
  });
});

test('a 1.0 artifact keeps its extensions when decoded, as the 0.3 one does', async () => {
  const { decodeArtifact } = await import('../../../src/protocol/v1/codec.js');
  const artifact = decodeArtifact({ artifactId: 'a', parts: [{ text: 'x' }], extensions: ['urn:ext:1'] }, 'result.artifact');
  assert.deepEqual(artifact.extensions, ['urn:ext:1']);
});
