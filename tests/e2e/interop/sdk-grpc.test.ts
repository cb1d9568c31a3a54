// The official SDK's gRPC client (@a2a-js/sdk/client/grpc) against our gRPC
// service on a loopback port: discovered from our card, it sends, streams,
// gets, lists, cancels and subscribes, and reads our errors (status code and
// ErrorInfo) as its own typed errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelTaskRequest, GetTaskPushNotificationConfigRequest, ListTasksRequest, SubscribeToTaskRequest, TaskState } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import type { Client } from '@a2a-js/sdk/client';
import { GrpcTransportFactory } from '@a2a-js/sdk/client/grpc';
import { PushNotificationNotSupportedError, TaskNotCancelableError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import { startTestAgent } from '../../support/agent.js';
import { newApiKey } from '../../support/auth.js';
import type { TestAgent } from '../../support/agent.js';
import { readMetric } from '../../support/metrics.js';
import { readAll, waitFor } from '../../support/wait.js';
import { assertIsTask, callDeadline, describeEvent, drain, getRequest, pollUntil, rejection, sendRequest, texts, userMessage } from './sdk.js';

/** The SDK's own error for our status code and ErrorInfo reason. */
function assertA2aError(error: Error, kind: abstract new (...args: never[]) => Error, code: number, reason: string): void {
  assert.ok(error instanceof kind, `expected the SDK's ${kind.name}, got ${error.constructor.name}: ${error.message}`);
  const fields = error as Error & { status?: number; reason?: string };
  assert.equal(fields.status, code, 'the gRPC status code');
  assert.equal(fields.reason, reason, 'the ErrorInfo reason');
}

/** The SDK's client with only its gRPC transport: it must find our gRPC interface on the card to be built at all. */
async function grpcClient(agent: TestAgent): Promise<Client> {
  const factory = new ClientFactory({ transports: [new GrpcTransportFactory()] });
  return factory.createFromUrl(`${agent.url}/`);
}

describe('the official SDK over gRPC', () => {
  let agent: TestAgent;
  let client: Client;

  before(async () => {
    // Push notifications off: the SDK's typed PushNotificationNotSupportedError is asserted below (push served over gRPC: tests/e2e/http/bindings).
    agent = await startTestAgent({ PUSH_NOTIFICATIONS: 'false' }, undefined, undefined, { grpcPort: 0 });
    client = await grpcClient(agent);
  });

  after(async () => {
    await agent?.dispose();
  });

  test('the card lists the gRPC interface at the pod host and the bound port', async () => {
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as { supportedInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[] };
    const grpc = card.supportedInterfaces.find((entry) => entry.protocolBinding === 'GRPC');
    assert.deepEqual(grpc, { url: `127.0.0.1:${agent.grpcPort}`, protocolBinding: 'GRPC', protocolVersion: '1.0' });
  });

  test('SendMessage answers with the completed task; GetTask reads it back', async () => {
    const result = await client.sendMessage(sendRequest(userMessage('over grpc')), callDeadline());
    assertIsTask(result);
    assert.equal(result.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.deepEqual(texts(result.artifacts[0]!.parts), ['over grpc']);
    assert.ok(result.status?.timestamp, 'the status carries its timestamp');
    const read = await client.getTask(getRequest(result.id, 0), callDeadline());
    assert.equal(read.id, result.id);
    assert.equal(read.history.length, 0, 'historyLength 0 is kept through the optional field');
    const full = await client.getTask(getRequest(result.id), callDeadline());
    assert.ok(full.history.length >= 1);
  });

  test('metadata and data parts survive the Struct and Value round trip', async () => {
    const message = userMessage('structured', { metadata: { nested: { list: [1, 'two', true, null] } } });
    const result = await client.sendMessage(sendRequest(message), callDeadline());
    assertIsTask(result);
    const read = await client.getTask(getRequest(result.id), callDeadline());
    assert.deepEqual(read.history[0]?.metadata, { nested: { list: [1, 'two', true, null] } });
  });

  test('SendStreamingMessage delivers the task, its progress and its end, in order', async () => {
    const events = await drain(client.sendMessageStream(sendRequest(userMessage('streamed')), callDeadline()));
    assert.deepEqual(events.map(describeEvent), ['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_WORKING', 'artifact:echo', 'status:TASK_STATE_COMPLETED']);
  });

  test('ListTasks pages through the tasks', async () => {
    const page = await client.listTasks(ListTasksRequest.fromJSON({ pageSize: 2 }), callDeadline());
    assert.equal(page.tasks.length, 2);
    assert.equal(page.pageSize, 2);
    assert.notEqual(page.nextPageToken, '');
    const rest = await client.listTasks(ListTasksRequest.fromJSON({ pageSize: 100, pageToken: page.nextPageToken }), callDeadline());
    assert.ok(rest.tasks.every((task) => !page.tasks.some((first) => first.id === task.id)));
  });

  test('SubscribeToTask follows a working task, and CancelTask ends it', async () => {
    const started = await client.sendMessage(sendRequest(userMessage('long', { metadata: { delayMs: 60_000 } }), { returnImmediately: true }), callDeadline());
    assertIsTask(started);
    await pollUntil(client, started.id, TaskState.TASK_STATE_WORKING);
    const events = readAll(client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: started.id }), callDeadline()));
    // The subscription is open once the agent counts its subscriber.
    await waitFor('the subscription to open', async () => ((await readMetric(agent.url, 'a2a_stream_subscribers')) >= 1 ? true : undefined));
    const canceled = await client.cancelTask(CancelTaskRequest.fromJSON({ id: started.id }), callDeadline());
    assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
    const seen = (await events).map(describeEvent);
    assert.equal(seen[0], 'task:TASK_STATE_WORKING');
    assert.equal(seen.at(-1), 'status:TASK_STATE_CANCELED');
  });

  test('errors arrive as the SDK\'s typed errors, from our status code and ErrorInfo', async () => {
    const missing = await rejection(() => client.getTask(getRequest('no-such-task'), callDeadline()));
    assertA2aError(missing, TaskNotFoundError, 5, 'TASK_NOT_FOUND');
    const done = await client.sendMessage(sendRequest(userMessage('finished')), callDeadline());
    assertIsTask(done);
    const notCancelable = await rejection(() => client.cancelTask(CancelTaskRequest.fromJSON({ id: done.id }), callDeadline()));
    assertA2aError(notCancelable, TaskNotCancelableError, 9, 'TASK_NOT_CANCELABLE');
    // ErrorInfo metadata names the state as the wire does.
    assert.equal((notCancelable as { metadata?: Record<string, string> }).metadata?.state, 'TASK_STATE_COMPLETED');
    const push = await rejection(() =>
      client.sendMessage(sendRequest(userMessage('call me'), { taskPushNotificationConfig: { url: 'https://example.test/hook' } }), callDeadline()),
    );
    assertA2aError(push, PushNotificationNotSupportedError, 9, 'PUSH_NOTIFICATION_NOT_SUPPORTED');
    // The SDK's client refuses push-config calls itself when the card says pushNotifications: false; its transport asks the server.
    const transport = await new GrpcTransportFactory().create(`127.0.0.1:${agent.grpcPort}`, await client.getAgentCard());
    const config = await rejection(() => transport.getTaskPushNotificationConfig(GetTaskPushNotificationConfigRequest.fromJSON({ taskId: done.id, id: 'c1' }), callDeadline()));
    assertA2aError(config, PushNotificationNotSupportedError, 9, 'PUSH_NOTIFICATION_NOT_SUPPORTED');
  });
});

describe('the official SDK over gRPC with API keys', () => {
  let root: string;
  let agent: TestAgent;
  const key = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-sdk-grpc-auth-'));
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'sdk-grpc'), key);
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys') }, undefined, undefined, { grpcPort: 0 });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('its service parameters carry the key as metadata; without them the call is UNAUTHENTICATED', async () => {
    const client = await grpcClient(agent);
    const refused = await rejection(() => client.sendMessage(sendRequest(userMessage('no key')), callDeadline()));
    assert.equal((refused as Error & { status?: number }).status, 16, `UNAUTHENTICATED, got ${refused.message}`);
    const result = await client.sendMessage(sendRequest(userMessage('with key')), { ...callDeadline(), serviceParameters: { 'x-api-key': key } });
    assertIsTask(result);
    assert.equal(result.status?.state, TaskState.TASK_STATE_COMPLETED);
  });
});

