import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelTaskRequest, ListTasksRequest } from '@a2a-js/sdk';
import type { Task } from '@a2a-js/sdk';
import { RequestMalformedError, isJsonRpcError } from '@a2a-js/sdk/errors';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { TaskState, assertIsTask, envelopeCode, rejection, sendRequest, stateName, texts, userMessage, v1Client, callDeadline } from './sdk.js';
import type { SdkClient } from './sdk.js';
import { PATIENCE_MS } from '../../support/patience.js';

// ListTasks through the SDK's 1.0 client. A2A 0.3 has no tasks/list, and the
// SDK's 0.3 compatibility client refuses listTasks itself (-32601) without
// sending anything, so there is no 0.3 counterpart here.

const TIMEOUT = { timeout: PATIENCE_MS };

let agent: TestAgent;
let sdk: SdkClient;
/** Three tasks of one context, oldest first: two completed, then one canceled. */
let tasks: Task[];
let contextId: string;

before(async () => {
  agent = await startTestAgent();
  sdk = await v1Client(agent.url);
  const first = await sdk.client.sendMessage(sendRequest(userMessage('one')), callDeadline());
  assertIsTask(first);
  contextId = first.contextId;
  const second = await sdk.client.sendMessage(sendRequest(userMessage('two', { contextId })), callDeadline());
  assertIsTask(second);
  const third = await sdk.client.sendMessage(
    sendRequest(userMessage('three', { contextId, metadata: { delayMs: 300_000 } }), { returnImmediately: true }),
    callDeadline(),
  );
  assertIsTask(third);
  await sdk.client.cancelTask(CancelTaskRequest.fromJSON({ id: third.id }), callDeadline());
  // Another context, which the contextId filter must leave out.
  await sdk.client.sendMessage(sendRequest(userMessage('elsewhere')), callDeadline());
  tasks = [first, second, third];
});

after(async () => {
  await agent.dispose();
});

describe('SDK client, A2A 1.0: ListTasks', () => {
  test('pages through one context with the page token, newest status first', TIMEOUT, async () => {
    const page1 = await sdk.client.listTasks(ListTasksRequest.fromJSON({ contextId, pageSize: 2 }), callDeadline());

    assert.equal(page1.tasks.length, 2);
    assert.equal(page1.pageSize, 2);
    assert.equal(page1.totalSize, 3);
    assert.notEqual(page1.nextPageToken, '', 'a further page is announced');
    // The canceled task changed status last.
    assert.equal(page1.tasks[0]!.id, tasks[2]!.id);
    assert.equal(stateName(page1.tasks[0]!.status?.state), 'TASK_STATE_CANCELED');

    const page2 = await sdk.client.listTasks(
      ListTasksRequest.fromJSON({ contextId, pageSize: 2, pageToken: page1.nextPageToken }),
      callDeadline(),
    );
    assert.equal(page2.tasks.length, 1);
    assert.equal(page2.nextPageToken, '', 'the last page says so with an empty token');
    assert.equal(page2.totalSize, 3);

    const listed = [...page1.tasks, ...page2.tasks].map((t) => t.id);
    assert.equal(new Set(listed).size, 3, `a task appeared twice: ${listed.join(', ')}`);
    assert.deepEqual(new Set(listed), new Set(tasks.map((t) => t.id)));
    for (const task of [...page1.tasks, ...page2.tasks]) assert.equal(task.contextId, contextId);
  });

  test('filters by status', TIMEOUT, async () => {
    const completed = await sdk.client.listTasks(
      ListTasksRequest.fromJSON({ contextId, status: 'TASK_STATE_COMPLETED' }),
      callDeadline(),
    );
    assert.deepEqual(new Set(completed.tasks.map((t) => t.id)), new Set([tasks[0]!.id, tasks[1]!.id]));
    assert.equal(completed.totalSize, 2);

    const canceled = await sdk.client.listTasks(ListTasksRequest.fromJSON({ contextId, status: 'TASK_STATE_CANCELED' }), callDeadline());
    assert.deepEqual(canceled.tasks.map((t) => t.id), [tasks[2]!.id]);

    const sent = sdk.sent.at(-1)!;
    assert.equal(sent.method, 'ListTasks');
    assert.equal(sent.params.status, 'TASK_STATE_CANCELED');
  });

  test('leaves artifacts out unless includeArtifacts is set', TIMEOUT, async () => {
    const filter = { contextId, status: 'TASK_STATE_COMPLETED' };
    const bare = await sdk.client.listTasks(ListTasksRequest.fromJSON(filter), callDeadline());
    assert.equal(bare.tasks.length, 2);
    for (const task of bare.tasks) assert.deepEqual(task.artifacts, []);

    const full = await sdk.client.listTasks(ListTasksRequest.fromJSON({ ...filter, includeArtifacts: true }), callDeadline());
    const echoed = full.tasks.map((t) => texts(t.artifacts[0]!.parts)[0]).sort();
    assert.deepEqual(echoed, ['one', 'two']);
  });

  test('a request with status unset goes out as "UNRECOGNIZED" and is refused with -32602 naming params.status', TIMEOUT, async () => {
    // ts-proto's ListTasksRequest.toJSON writes `status` whenever it is not 0,
    // and taskStateToJSON(undefined) is "UNRECOGNIZED": a request built as a
    // plain object without `status` (the natural JavaScript call,
    // `listTasks({ pageSize })`) therefore sends an invalid filter. The server
    // must not guess a meaning for it. Callers avoid this with
    // ListTasksRequest.fromJSON(...) or `status: TaskState.TASK_STATE_UNSPECIFIED`.
    const withoutStatus: Partial<ListTasksRequest> = { contextId, pageSize: 2 };

    const error = await rejection(() => sdk.client.listTasks(withoutStatus as ListTasksRequest, callDeadline()));

    assert.equal(sdk.sent.at(-1)!.params.status, 'UNRECOGNIZED');
    // The SDK has no class of its own for -32602 and reports it as RequestMalformedError.
    assert.ok(error instanceof RequestMalformedError, `got ${error.name}: ${error.message}`);
    assert.equal(envelopeCode(error), -32602);
    assert.match(error.message, /params\.status/);
    assert.match(error.message, /UNRECOGNIZED/);
    assert.ok(isJsonRpcError(error));
    assert.ok(Array.isArray(error.data), `expected error details, got ${JSON.stringify(error.data)}`);
    const badRequest = error.data.find((detail) => detail['@type'] === 'type.googleapis.com/google.rpc.BadRequest') as
      | { fieldViolations?: { field?: string }[] }
      | undefined;
    assert.equal(badRequest?.fieldViolations?.[0]?.field, 'params.status');

    const unspecified = await sdk.client.listTasks(
      { ...withoutStatus, status: TaskState.TASK_STATE_UNSPECIFIED } as ListTasksRequest,
      callDeadline(),
    );
    assert.equal(unspecified.tasks.length, 2, 'TASK_STATE_UNSPECIFIED means no status filter');
    assert.equal(unspecified.totalSize, 3);
  });

  test('a page size out of range is refused with -32602 naming params.pageSize', TIMEOUT, async () => {
    const error = await rejection(() => sdk.client.listTasks(ListTasksRequest.fromJSON({ pageSize: 101 }), callDeadline()));

    assert.equal(envelopeCode(error), -32602);
    assert.match(error.message, /params\.pageSize/);
  });

  test('a forged page token is refused with -32602', TIMEOUT, async () => {
    const error = await rejection(() => sdk.client.listTasks(ListTasksRequest.fromJSON({ pageToken: 'not-a-token' }), callDeadline()));

    assert.equal(envelopeCode(error), -32602);
    assert.match(error.message, /pageToken/);
  });
});
