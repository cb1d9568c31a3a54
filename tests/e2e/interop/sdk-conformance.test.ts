import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Role, SubscribeToTaskRequest } from '@a2a-js/sdk';
import { UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { startTestAgent } from '../../support/agent.js';
import { rpc } from '../../support/rpc.js';
import type { TestAgent } from '../../support/agent.js';
import {
  METHOD,
  assertIsMessage,
  assertIsTask,
  describeEvent,
  drain,
  envelopeCode,
  getRequest,
  rejection,
  sdkClient,
  sendRequest,
  stateName,
  texts,
  userMessage,
  callDeadline,
} from './sdk.js';
import type { Flavour, SdkClient } from './sdk.js';
import { PATIENCE_MS } from '../../support/patience.js';

// The conformance agent's scenarios that need more than the echo skill: a
// reply that is a bare Message (no task), and a task that asks for input and
// continues with the caller's next message.

const TIMEOUT = { timeout: PATIENCE_MS };

let agent: TestAgent;

before(async () => {
  agent = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
});

after(async () => {
  await agent.dispose();
});

const scenario = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

/** Counted over raw JSON-RPC, independently of the client under test. */
async function storedTaskCount(): Promise<number> {
  const res = await rpc(agent.url, 'ListTasks', { pageSize: 1 });
  assert.equal(res.body.error, undefined);
  return res.body.result.totalSize as number;
}

for (const flavour of ['1.0', '0.3'] as const satisfies readonly Flavour[]) {
  describe(`SDK client, A2A ${flavour}: conformance agent`, () => {
    let sdk: SdkClient;

    before(async () => {
      sdk = await sdkClient(flavour, agent.url);
    });

    test('a message-only reply comes back as an SDK Message, and no task is created', TIMEOUT, async () => {
      const tasksBefore = await storedTaskCount();
      const calls = sdk.sent.length;
      const reply = await sdk.client.sendMessage(sendRequest(userMessage('hi', { messageId: scenario('tck-message-response') })), callDeadline());

      assertIsMessage(reply);
      assert.equal(reply.role, Role.ROLE_AGENT);
      assert.deepEqual(texts(reply.parts), ['Direct message response']);
      assert.equal(reply.taskId, '', 'a direct reply belongs to no task');
      assert.deepEqual(
        sdk.sent.slice(calls).map((c) => [c.method, c.a2aVersion]),
        [[METHOD[flavour].send, flavour]],
      );
      assert.equal(await storedTaskCount(), tasksBefore);
    });

    test('a message-only reply over a stream is one Message event', TIMEOUT, async () => {
      const events = await drain(
        sdk.client.sendMessageStream(sendRequest(userMessage('hi', { messageId: scenario('tck-message-response') })), callDeadline()),
      );

      assert.deepEqual(events.map(describeEvent), ['message']);
      const payload = events[0]!.payload;
      assert.equal(payload?.$case, 'message');
      assert.deepEqual(texts(payload.value.parts), ['Direct message response']);
    });

    test('input-required, then a follow-up with the taskId completes the same task', TIMEOUT, async () => {
      const first = userMessage('start', { messageId: scenario('tck-input-required') });
      const asked = await sdk.client.sendMessage(sendRequest(first), callDeadline());

      assertIsTask(asked);
      assert.equal(stateName(asked.status?.state), 'TASK_STATE_INPUT_REQUIRED');
      assert.equal(asked.status?.message?.role, Role.ROLE_AGENT);
      assert.deepEqual(texts(asked.status?.message?.parts ?? []), ['Please provide more input']);

      const followUp = userMessage('here is more', {
        messageId: scenario('tck-complete-task'),
        taskId: asked.id,
        contextId: asked.contextId,
      });
      const done = await sdk.client.sendMessage(sendRequest(followUp), callDeadline());

      assertIsTask(done);
      assert.equal(done.id, asked.id);
      assert.equal(done.contextId, asked.contextId);
      assert.equal(stateName(done.status?.state), 'TASK_STATE_COMPLETED');
      assert.deepEqual(texts(done.status?.message?.parts ?? []), ['Hello from TCK']);

      const stored = await sdk.client.getTask(getRequest(asked.id), callDeadline());
      const userTurns = stored.history.filter((m) => m.role === Role.ROLE_USER).map((m) => m.messageId);
      assert.deepEqual(userTurns, [first.messageId, followUp.messageId]);
    });

    test('a subscriber to an input-required task stays until the follow-up completes it', TIMEOUT, async () => {
      const asked = await sdk.client.sendMessage(sendRequest(userMessage('start', { messageId: scenario('tck-input-required') })), callDeadline());
      assertIsTask(asked);
      assert.equal(stateName(asked.status?.state), 'TASK_STATE_INPUT_REQUIRED');

      const events = sdk.client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: asked.id }), callDeadline())[Symbol.asyncIterator]();
      const first = await events.next();
      assert.equal(first.done, false);
      assert.equal(describeEvent(first.value), 'task:TASK_STATE_INPUT_REQUIRED');

      const followUp = userMessage('more', { messageId: scenario('tck-complete-task'), taskId: asked.id, contextId: asked.contextId });
      const done = await sdk.client.sendMessage(sendRequest(followUp), callDeadline());
      assertIsTask(done);

      const rest: string[] = [];
      for (let next = await events.next(); next.done !== true; next = await events.next()) rest.push(describeEvent(next.value));
      assert.equal(rest.at(-1), 'status:TASK_STATE_COMPLETED', `events after the follow-up: ${rest.join(', ')}`);
      assert.ok(!rest.includes('status:TASK_STATE_INPUT_REQUIRED'), `the task asked again: ${rest.join(', ')}`);
    });

    test('a follow-up to a completed task fails with UnsupportedOperationError (-32004)', TIMEOUT, async () => {
      const done = await sdk.client.sendMessage(sendRequest(userMessage('finish', { messageId: scenario('tck-complete-task') })), callDeadline());
      assertIsTask(done);
      assert.equal(stateName(done.status?.state), 'TASK_STATE_COMPLETED');

      const error = await rejection(() =>
        sdk.client.sendMessage(
          sendRequest(userMessage('too late', { messageId: scenario('tck-complete-task'), taskId: done.id, contextId: done.contextId })),
          callDeadline(),
        ),
      );

      assert.ok(error instanceof UnsupportedOperationError, `got ${error.name}: ${error.message}`);
      assert.equal(envelopeCode(error), -32004);
      assert.match(error.message, /completed/);
    });
  });
}
