// The gRPC binding on a real loopback port, called by a bare grpc-js client
// that sends whatever bytes a test needs: authentication through the same gate
// as HTTP, hostile input (bad enums, garbage, oversized and deeply nested
// messages), errors as google.rpc.Status, and streams a client cancels or lets
// time out. The official SDK's client is exercised in tests/e2e/interop/sdk-grpc.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { newApiKey } from '../../support/auth.js';
import { decodeA2a, encodeA2a, RawGrpcClient, statusOf } from '../../support/grpc-client.js';
import { readMetric } from '../../support/metrics.js';
import { rpc } from '../../support/rpc.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';

const encode = encodeA2a;
const decode = decodeA2a;

function errorInfo(error: grpc.ServiceError): Record<string, unknown> {
  const info = statusOf(error).details.find((detail) => detail.type === 'google.rpc.ErrorInfo');
  assert.ok(info, 'an ErrorInfo detail');
  return info.value;
}

function sendRequest(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { message: { messageId: `m-${crypto.randomUUID()}`, role: 'ROLE_USER', parts: [{ text }], ...extra } };
}

async function refusal(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  assert.fail('the call was expected to fail');
}

describe('the gRPC binding with API keys', () => {
  let root: string;
  let agent: TestAgent;
  let client: RawGrpcClient;
  const key = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-grpc-auth-'));
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'grpc-client'), key);
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys') }, undefined, undefined, { grpcPort: 0 });
    client = new RawGrpcClient(`127.0.0.1:${agent.grpcPort}`);
  });

  after(async () => {
    client?.close();
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a call without a credential is UNAUTHENTICATED, with ErrorInfo, and counted as an auth failure', async () => {
    const before = await readMetric(agent.url, 'kagent_auth_failures_total', { reason: 'missing' });
    const error = await refusal(client.unary('GetTask', encode('GetTaskRequest', { id: 'any' })));
    assert.equal(error.code, grpc.status.UNAUTHENTICATED);
    assert.equal(errorInfo(error).reason, 'UNAUTHENTICATED');
    assert.equal(await readMetric(agent.url, 'kagent_auth_failures_total', { reason: 'missing' }), before + 1);
    const stream = await refusal(new Promise((resolve, reject) => client.stream('SendStreamingMessage', encode('SendMessageRequest', sendRequest('x'))).on('error', reject).on('end', resolve).resume()));
    assert.equal(stream.code, grpc.status.UNAUTHENTICATED, 'a stream is refused the same way');
  });

  test('a wrong key is UNAUTHENTICATED; the key as authorization or x-api-key metadata is served', async () => {
    const wrong = new grpc.Metadata();
    wrong.set('authorization', `Bearer ${newApiKey()}`);
    assert.equal((await refusal(client.unary('SendMessage', encode('SendMessageRequest', sendRequest('x')), wrong))).code, grpc.status.UNAUTHENTICATED);
    for (const [name, value] of [['authorization', `Bearer ${key}`], ['x-api-key', key]] as const) {
      const metadata = new grpc.Metadata();
      metadata.set(name, value);
      const answer = decode('SendMessageResponse', await client.unary('SendMessage', encode('SendMessageRequest', sendRequest(name)), metadata));
      assert.equal((answer.task as { status: { state: string } }).status.state, 'TASK_STATE_COMPLETED', name);
    }
  });

  test('GetExtendedAgentCard answers an authenticated caller with the 1.0 card', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-api-key', key);
    const card = decode('AgentCard', await client.unary('GetExtendedAgentCard', encode('GetExtendedAgentCardRequest', {}), metadata));
    assert.equal(card.name, agent.config().AGENT_NAME);
    assert.ok((card.supportedInterfaces as { protocolBinding: string }[]).some((entry) => entry.protocolBinding === 'GRPC'));
  });
});

describe('the gRPC binding against hostile and careless callers', () => {
  let agent: TestAgent;
  let client: RawGrpcClient;

  before(async () => {
    agent = await startTestAgent({ MAX_BODY_BYTES: '65536' }, undefined, undefined, { grpcPort: 0 });
    client = new RawGrpcClient(`127.0.0.1:${agent.grpcPort}`);
  });

  after(async () => {
    client?.close();
    await agent?.dispose();
  });

  test('an enum number the proto does not define is INVALID_ARGUMENT naming the field', async () => {
    const error = await refusal(client.unary('SendMessage', encode('SendMessageRequest', sendRequest('x', { role: 42 }))));
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    const status = statusOf(error);
    assert.equal(errorInfo(error).reason, 'INVALID_PARAMS');
    const badRequest = status.details.find((detail) => detail.type === 'google.rpc.BadRequest');
    assert.deepEqual((badRequest?.value.fieldViolations as { field: string }[])[0]?.field, 'params.message.role');
  });

  test('bytes that are no protobuf are INVALID_ARGUMENT, not an internal error', async () => {
    const error = await refusal(client.unary('SendMessage', Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(errorInfo(error).reason, 'PARSE_ERROR');
  });

  test('a message larger than MAX_BODY_BYTES is refused with RESOURCE_EXHAUSTED before it is read', async () => {
    const error = await refusal(client.unary('SendMessage', encode('SendMessageRequest', sendRequest('x'.repeat(128 * 1024)))));
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  test('a message nested thousands of levels deep is INVALID_ARGUMENT, read without exhausting the stack', async () => {
    // Built by hand: an encoder refuses to write it. Message.metadata = {deep: [[[…"bottom"…]]]}, 5000 lists deep.
    let value = protobuf.Writer.create().uint32(0x1a).string('bottom').finish();
    for (let depth = 0; depth < 5000; depth++) {
      const list = protobuf.Writer.create().uint32(0x0a).bytes(value).finish(); // ListValue.values
      value = protobuf.Writer.create().uint32(0x32).bytes(list).finish(); // Value.list_value
    }
    const entry = protobuf.Writer.create().uint32(0x0a).string('deep').uint32(0x12).bytes(value).finish(); // Struct.FieldsEntry
    const struct = protobuf.Writer.create().uint32(0x0a).bytes(entry).finish(); // Struct.fields
    const message = Buffer.concat([encode('Message', sendRequest('x').message), protobuf.Writer.create().uint32(0x32).bytes(struct).finish()]); // Message.metadata
    const request = Buffer.from(protobuf.Writer.create().uint32(0x12).bytes(message).finish()); // SendMessageRequest.message
    const error = await refusal(client.unary('SendMessage', request));
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(errorInfo(error).reason, 'PARSE_ERROR');
    assert.match(error.details, /nesting depth/);
  });

  test('a task whose metadata nests deeper than protobuf can hold is refused over gRPC with a reason, not an internal error', async () => {
    let nested: unknown = 'bottom';
    for (let depth = 0; depth < 60; depth++) nested = [nested];
    // JSON-RPC takes 100 levels; protobuf spends two for each level of a JSON value.
    const sent = await rpc(agent.url, 'SendMessage', sendRequest('deep', { metadata: { nested } }));
    const id = sent.body.result.task.id as string;
    const error = await refusal(client.unary('GetTask', encode('GetTaskRequest', { id })));
    assert.equal(error.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(errorInfo(error).reason, 'UNSUPPORTED_OPERATION');
    assert.match(error.details, /cannot be written as protobuf.*JSON-RPC/);
  });

  test('ErrorInfo names task states as the wire does', async () => {
    const done = decode('SendMessageResponse', await client.unary('SendMessage', encode('SendMessageRequest', sendRequest('done'))));
    const id = (done.task as { id: string }).id;
    const error = await refusal(client.unary('CancelTask', encode('CancelTaskRequest', { id })));
    assert.equal(error.code, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(errorInfo(error), { reason: 'TASK_NOT_CANCELABLE', domain: 'a2a-protocol.org', metadata: { taskId: id, state: 'TASK_STATE_COMPLETED' } });
  });

  test('a client that cancels mid-stream frees its subscription; the task runs on', async () => {
    const stream = client.stream('SendStreamingMessage', encode('SendMessageRequest', sendRequest('long', { metadata: { delayMs: 60_000 } })));
    const first = await within(PATIENCE_MS, 'the first event', new Promise<Buffer>((resolve, reject) => stream.once('data', resolve).once('error', reject)));
    const id = ((decode('StreamResponse', first).task ?? {}) as { id?: string }).id;
    assert.ok(id, 'the first event is the task');
    assert.equal(await readMetric(agent.url, 'a2a_stream_subscribers'), 1);
    const cancelled = new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve));
    stream.cancel();
    assert.equal((await cancelled).code, grpc.status.CANCELLED);
    await waitFor('the subscription to close', async () => ((await readMetric(agent.url, 'a2a_stream_subscribers')) === 0 ? true : undefined));
    const task = decode('Task', await client.unary('GetTask', encode('GetTaskRequest', { id })));
    assert.equal((task.status as { state: string }).state, 'TASK_STATE_WORKING', 'a client leaving never cancels the task');
    await client.unary('CancelTask', encode('CancelTaskRequest', { id }));
  });

  test('a stream past its deadline ends with DEADLINE_EXCEEDED and frees its subscription', async () => {
    const stream = client.stream('SendStreamingMessage', encode('SendMessageRequest', sendRequest('slow', { metadata: { delayMs: 60_000 } })), new grpc.Metadata(), Date.now() + 1_000);
    const ids: string[] = [];
    stream.on('data', (event: Buffer) => ids.push(String((decode('StreamResponse', event).task as { id?: string } | undefined)?.id ?? '')));
    const error = await within(PATIENCE_MS, 'the deadline', new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve)));
    assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED);
    await waitFor('the subscription to close', async () => ((await readMetric(agent.url, 'a2a_stream_subscribers')) === 0 ? true : undefined));
    // The task outlives its stream; ended here so that the agent's stop need not wait for it.
    await client.unary('CancelTask', encode('CancelTaskRequest', { id: ids[0] }));
  });
});

describe('the stream cap over gRPC', () => {
  test("a caller's gRPC and SSE streams count against one MAX_STREAMS_PER_PRINCIPAL", async () => {
    const agent = await startTestAgent({ MAX_STREAMS_PER_PRINCIPAL: '1' }, undefined, undefined, { grpcPort: 0 });
    const client = new RawGrpcClient(`127.0.0.1:${agent.grpcPort}`);
    try {
      const first = client.stream('SendStreamingMessage', encode('SendMessageRequest', sendRequest('held', { metadata: { delayMs: 60_000 } })));
      const opened = await within(PATIENCE_MS, 'the first event', new Promise<Buffer>((resolve, reject) => first.once('data', resolve).once('error', reject)));
      const id = String(decode('StreamResponse', opened).task?.id);
      const second = client.stream('SubscribeToTask', encode('SubscribeToTaskRequest', { id }));
      second.resume();
      const refused = await within(PATIENCE_MS, 'the refusal', new Promise<grpc.ServiceError>((resolve) => second.once('error', resolve)));
      assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(errorInfo(refused).reason, 'TOO_MANY_STREAMS');
      assert.ok(statusOf(refused).details.some((detail) => detail.type === 'google.rpc.RetryInfo'), 'with a RetryInfo');
      const sse = await rpc(agent.url, 'SubscribeToTask', { id });
      assert.equal(sse.body.error?.data?.[0]?.reason, 'TOO_MANY_STREAMS', 'the SSE stream is refused too: one cap over both');
      const closed = new Promise((resolve) => first.once('error', resolve));
      first.cancel();
      await closed;
      await client.unary('CancelTask', encode('CancelTaskRequest', { id }));
    } finally {
      client.close();
      await agent.dispose();
    }
  });
});

describe('a graceful stop', () => {
  test('ends an open gRPC stream cleanly (status OK after its events) and closes the port', async () => {
    const agent = await startTestAgent({ DRAIN_TIMEOUT: '0s' }, undefined, undefined, { grpcPort: 0 });
    const client = new RawGrpcClient(`127.0.0.1:${agent.grpcPort}`);
    try {
      const stream = client.stream('SendStreamingMessage', encode('SendMessageRequest', sendRequest('held', { metadata: { delayMs: 60_000 } })));
      const events: Buffer[] = [];
      stream.on('data', (event: Buffer) => events.push(event));
      const status = new Promise<grpc.StatusObject>((resolve) => stream.once('status', resolve));
      const failed = new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve));
      await waitFor('the stream to begin', async () => (events.length > 0 ? true : undefined));
      await agent.dispose();
      const ended = await within(PATIENCE_MS, 'the stream to end', Promise.race([status, failed.then((error) => assert.fail(`the stream failed: ${error.code} ${error.details}`))]));
      assert.equal(ended.code, grpc.status.OK);
      assert.equal(decode('StreamResponse', events[0]!).task?.status?.state, 'TASK_STATE_SUBMITTED');
      const refused = await refusal(client.unary('GetTask', encode('GetTaskRequest', { id: 'any' })));
      assert.equal(refused.code, grpc.status.UNAVAILABLE, 'nothing listens on the port any more');
    } finally {
      client.close();
    }
  });
});

describe('GRPC_PORT=0', () => {
  test('turns gRPC off: no port, and the card lists no gRPC interface', async () => {
    const agent = await startTestAgent({ GRPC_PORT: '0' });
    try {
      assert.equal(agent.grpcPort, undefined);
      const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as { supportedInterfaces: { protocolBinding: string }[] };
      assert.deepEqual(card.supportedInterfaces.map((entry) => entry.protocolBinding).filter((binding) => binding === 'GRPC'), []);
    } finally {
      await agent.dispose();
    }
  });
});
