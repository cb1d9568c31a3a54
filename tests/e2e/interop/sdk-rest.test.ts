import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelTaskRequest, ListTasksRequest, SubscribeToTaskRequest } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { within } from '../../support/wait.js';
import { assertIsTask, callDeadline, describeEvent, drain, eventTaskId, getRequest, rejection, restClient, sendRequest, stateName, texts, userMessage } from './sdk.js';

// The official SDK's HTTP+JSON client against our server: it finds the
// interface on our card and speaks spec 11 routes to it, and must see the
// same behaviour as its JSON-RPC client does (sdk-echo.test.ts).

const TIMEOUT = { timeout: PATIENCE_MS };

describe('SDK client over HTTP+JSON', () => {
  let agent: TestAgent;
  let gate: Gate;
  let client: Client;
  let urls: string[];

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent();
    ({ client, urls } = await restClient(agent.url));
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  test('SendMessage, then GetTask with and without history', TIMEOUT, async () => {
    const task = await client.sendMessage(sendRequest(userMessage('hello rest')), callDeadline());
    assertIsTask(task);
    assert.equal(stateName(task.status?.state), 'TASK_STATE_COMPLETED');
    assert.deepEqual(texts(task.artifacts[0]!.parts), ['hello rest']);
    assert.ok(urls.includes('POST /message:send'), urls.join(', '));
    const stored = await client.getTask(getRequest(task.id), callDeadline());
    assert.equal(stored.id, task.id);
    const bare = await client.getTask(getRequest(task.id, 0), callDeadline());
    assert.equal(bare.history.length, 0);
    assert.ok(urls.includes(`GET /tasks/${encodeURIComponent(task.id)}?historyLength=0`), urls.join(', '));
  });

  test('SendStreamingMessage: the task, the artifact, the final status', TIMEOUT, async () => {
    const events = await drain(client.sendMessageStream(sendRequest(userMessage('stream me')), callDeadline()));
    const described = events.map(describeEvent);
    assert.match(described[0]!, /^task:/);
    assert.ok(described.includes('artifact:echo'), described.join(', '));
    assert.equal(described.at(-1), 'status:TASK_STATE_COMPLETED');
    assert.equal(new Set(events.map(eventTaskId)).size, 1);
    assert.ok(urls.includes('POST /message:stream'));
  });

  test('ListTasks pages through the tasks, newest first', TIMEOUT, async () => {
    const a = await client.sendMessage(sendRequest(userMessage('one')), callDeadline());
    const b = await client.sendMessage(sendRequest(userMessage('two')), callDeadline());
    assertIsTask(a);
    assertIsTask(b);
    const page = await client.listTasks(ListTasksRequest.fromJSON({ pageSize: 1 }), callDeadline());
    assert.deepEqual(page.tasks.map((t) => t.id), [b.id]);
    const next = await client.listTasks(ListTasksRequest.fromJSON({ pageSize: 1, pageToken: page.nextPageToken }), callDeadline());
    assert.deepEqual(next.tasks.map((t) => t.id), [a.id]);
  });

  test('CancelTask stops a running task; cancelling a completed one is TaskNotCancelable', TIMEOUT, async () => {
    const run = gate.run();
    const started = await client.sendMessage(sendRequest(userMessage('cancel me', { metadata: run.metadata }), { returnImmediately: true }), callDeadline());
    assertIsTask(started);
    await run.started();
    const canceled = await client.cancelTask(CancelTaskRequest.fromJSON({ id: started.id }), callDeadline());
    assert.equal(stateName(canceled.status?.state), 'TASK_STATE_CANCELED');
    await run.aborted();
    const done = await client.sendMessage(sendRequest(userMessage('done')), callDeadline());
    assertIsTask(done);
    const error = await rejection(() => client.cancelTask(CancelTaskRequest.fromJSON({ id: done.id }), callDeadline()));
    assert.ok(error instanceof TaskNotCancelableError, `got ${error.name}: ${error.message}`);
  });

  test('SubscribeToTask follows a running task to its end; a finished one is UnsupportedOperation', TIMEOUT, async () => {
    const run = gate.run();
    const started = await client.sendMessage(sendRequest(userMessage('follow me', { metadata: run.metadata }), { returnImmediately: true }), callDeadline());
    assertIsTask(started);
    await run.started();
    const stream = client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: started.id }), callDeadline())[Symbol.asyncIterator]();
    const first = await within(PATIENCE_MS, 'the first event of the subscription', stream.next());
    assert.equal(first.done, false);
    run.release();
    const events = [first.value, ...(await drain({ [Symbol.asyncIterator]: () => stream }))];
    assert.equal(events.map(describeEvent).at(-1), 'status:TASK_STATE_COMPLETED');
    assert.ok(urls.includes(`POST /tasks/${encodeURIComponent(started.id)}:subscribe`));

    const error = await rejection(() => drain(client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: started.id }), callDeadline())));
    assert.ok(error instanceof UnsupportedOperationError, `got ${error.name}: ${error.message}`);
  });

  test('GetTask of an unknown task is TaskNotFound', TIMEOUT, async () => {
    const error = await rejection(() => client.getTask(getRequest('no-such-task'), callDeadline()));
    assert.ok(error instanceof TaskNotFoundError, `got ${error.name}: ${error.message}`);
    assert.match(error.message, /no-such-task/);
  });

  test('it spoke A2A 1.0 over HTTP+JSON only: no call went to JSON-RPC', () => {
    assert.equal(client.protocolVersion, '1.0');
    assert.ok(urls.length > 0);
    assert.ok(!urls.some((u) => u === 'POST /' || u.startsWith('POST /a2a')), urls.join(', '));
  });
});
