import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelTaskRequest, SubscribeToTaskRequest } from '@a2a-js/sdk';
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import {
  METHOD,
  TaskState,
  assertIsTask,
  describeEvent,
  drain,
  envelopeCode,
  eventTaskId,
  getRequest,
  pollUntil,
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
import { Gate } from '../../support/gate.js';
import { readMetric } from '../../support/metrics.js';
import { within } from '../../support/wait.js';

// The echo skill driven by the official SDK client, once over A2A 1.0 and once
// over its 0.3 compatibility transport: both must see the same behaviour.

const TIMEOUT = { timeout: PATIENCE_MS };

let agent: TestAgent;
/** Holds tasks working for as long as a test needs them to. */
let gate: Gate;

before(async () => {
  gate = await Gate.start();
  agent = await startTestAgent();
});

after(async () => {
  await agent.dispose();
  await gate.close();
});

function requestCount(method: string, version: string): Promise<number> {
  return readMetric(agent.url, 'a2a_requests_total', { method, version, outcome: 'ok' });
}

for (const flavour of ['1.0', '0.3'] as const satisfies readonly Flavour[]) {
  describe(`SDK client, A2A ${flavour}: echo skill`, () => {
    let sdk: SdkClient;

    before(async () => {
      sdk = await sdkClient(flavour, agent.url);
    });

    test('the client speaks the version it was built for, and the server serves it as that version', TIMEOUT, async () => {
      assert.equal(sdk.client.protocolVersion, flavour);
      const servedBefore = await requestCount(METHOD[flavour].send, flavour);
      const calls = sdk.sent.length;

      await sdk.client.sendMessage(sendRequest(userMessage('which version?')), callDeadline());

      assert.deepEqual(
        sdk.sent.slice(calls).map((call) => [call.method, call.a2aVersion, call.url]),
        [[METHOD[flavour].send, flavour, agent.url]],
      );
      assert.equal(await requestCount(METHOD[flavour].send, flavour), servedBefore + 1);
    });

    test('blocking send returns the completed task with the echo artifact', TIMEOUT, async () => {
      const message = userMessage(`hello over ${flavour}`);
      const result = await sdk.client.sendMessage(sendRequest(message), callDeadline());

      assertIsTask(result);
      assert.equal(stateName(result.status?.state), 'TASK_STATE_COMPLETED');
      assert.notEqual(result.id, '');
      assert.notEqual(result.contextId, '');
      assert.equal(result.artifacts.length, 1);
      assert.equal(result.artifacts[0]!.artifactId, 'echo');
      assert.deepEqual(texts(result.artifacts[0]!.parts), [`hello over ${flavour}`]);
      const sent = result.history.find((m) => m.messageId === message.messageId);
      assert.ok(sent, 'the history holds the message sent');
      assert.deepEqual(texts(sent.parts), [`hello over ${flavour}`]);
      assert.equal(sent.taskId, result.id);
    });

    test('non-blocking send returns a running task; polling GetTask sees it complete', TIMEOUT, async () => {
      const calls = sdk.sent.length;
      const run = gate.run();
      const result = await sdk.client.sendMessage(
        sendRequest(userMessage('in the background', { metadata: run.metadata }), { returnImmediately: true }),
        callDeadline(),
      );
      // The compatibility transport turns returnImmediately into 0.3's blocking=false.
      const configuration = sdk.sent[calls]!.params.configuration;
      assert.deepEqual(
        flavour === '1.0' ? { returnImmediately: configuration?.returnImmediately } : { blocking: configuration?.blocking },
        flavour === '1.0' ? { returnImmediately: true } : { blocking: false },
      );

      assertIsTask(result);
      assert.ok(
        result.status?.state === TaskState.TASK_STATE_SUBMITTED || result.status?.state === TaskState.TASK_STATE_WORKING,
        `expected a running task, got ${stateName(result.status?.state)}`,
      );
      assert.equal(result.artifacts.length, 0);

      await run.started();
      run.release();
      const done = await pollUntil(sdk.client, result.id, TaskState.TASK_STATE_COMPLETED);
      assert.equal(done.contextId, result.contextId);
      assert.deepEqual(texts(done.artifacts[0]!.parts), ['in the background']);
    });

    test('streaming send delivers task, working, artifact, completed in order', TIMEOUT, async () => {
      const events = await drain(sdk.client.sendMessageStream(sendRequest(userMessage('stream me')), callDeadline()));

      assert.deepEqual(events.map(describeEvent), ['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_WORKING', 'artifact:echo', 'status:TASK_STATE_COMPLETED']);
      const taskId = eventTaskId(events[0]!);
      assert.notEqual(taskId, '');
      assert.deepEqual(new Set(events.map(eventTaskId)), new Set([taskId]));
      const artifact = events[2]!.payload;
      assert.equal(artifact?.$case, 'artifactUpdate');
      assert.deepEqual(texts(artifact.value.artifact!.parts), ['stream me']);
      assert.equal(artifact.value.lastChunk, true);

      const stored = await sdk.client.getTask(getRequest(taskId), callDeadline());
      assert.equal(stateName(stored.status?.state), 'TASK_STATE_COMPLETED');
    });

    test('GetTask with historyLength returns only the most recent messages', TIMEOUT, async () => {
      // The gated skill reports that it is working, so the history holds the user's message and the agent's.
      const run = gate.run();
      run.release();
      const message = userMessage('remember me', { metadata: run.metadata });
      const task = await sdk.client.sendMessage(sendRequest(message), callDeadline());
      assertIsTask(task);
      const full = await sdk.client.getTask(getRequest(task.id), callDeadline());
      assert.ok(full.history.length >= 2, `expected at least two messages in the history, got ${full.history.length}`);
      assert.equal(full.history[0]!.messageId, message.messageId);

      const lastOne = await sdk.client.getTask(getRequest(task.id, 1), callDeadline());
      assert.deepEqual(
        lastOne.history.map((m) => m.messageId),
        [full.history.at(-1)!.messageId],
      );
      const none = await sdk.client.getTask(getRequest(task.id, 0), callDeadline());
      assert.deepEqual(none.history, []);
      assert.equal(stateName(none.status?.state), 'TASK_STATE_COMPLETED');
      assert.deepEqual(texts(none.artifacts[0]!.parts), ['remember me']);

      // Zero is a real limit, not "unset": the SDK must send it and the server must honour it.
      assert.equal(sdk.sent.at(-1)!.method, METHOD[flavour].get);
      assert.equal(sdk.sent.at(-1)!.params.historyLength, 0);
    });

    test('CancelTask stops a running task and returns it canceled', TIMEOUT, async () => {
      const run = gate.run();
      const started = await sdk.client.sendMessage(
        sendRequest(userMessage('cancel me', { metadata: run.metadata }), { returnImmediately: true }),
        callDeadline(),
      );
      assertIsTask(started);
      await run.started();

      const canceled = await sdk.client.cancelTask(CancelTaskRequest.fromJSON({ id: started.id }), callDeadline());
      assert.equal(canceled.id, started.id);
      assert.equal(stateName(canceled.status?.state), 'TASK_STATE_CANCELED');
      // The skill itself was stopped, not only refused its later writes.
      await run.aborted();

      const stored = await sdk.client.getTask(getRequest(started.id), callDeadline());
      assert.equal(stateName(stored.status?.state), 'TASK_STATE_CANCELED');
      assert.equal(stored.artifacts.length, 0, 'a canceled task gets no artifact');
    });

    test('resubscribing to a running task starts with the task and ends with completed', TIMEOUT, async () => {
      const run = gate.run();
      const started = await sdk.client.sendMessage(
        sendRequest(userMessage('follow me', { metadata: run.metadata }), { returnImmediately: true }),
        callDeadline(),
      );
      assertIsTask(started);
      await run.started();

      const stream = sdk.client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: started.id }), callDeadline())[Symbol.asyncIterator]();
      // Subscribed (the first event is the task as it is) before the task moves on.
      const first = await within(PATIENCE_MS, 'the first event of the subscription', stream.next());
      assert.equal(first.done, false);
      run.release();
      const events = [first.value, ...(await drain({ [Symbol.asyncIterator]: () => stream }))];

      const described = events.map(describeEvent);
      assert.ok(described.length >= 3, `too few events: ${described.join(', ')}`);
      assert.match(described[0]!, /^task:TASK_STATE_(SUBMITTED|WORKING)$/);
      assert.equal(described.at(-1), 'status:TASK_STATE_COMPLETED');
      assert.ok(described.includes('artifact:echo'), `no artifact among ${described.join(', ')}`);
      assert.deepEqual(new Set(events.map(eventTaskId)), new Set([started.id]));
      assert.ok(sdk.sent.some((call) => call.method === METHOD[flavour].subscribe));
    });

    test('GetTask of an unknown task fails with TaskNotFoundError (-32001)', TIMEOUT, async () => {
      const error = await rejection(() => sdk.client.getTask(getRequest('no-such-task'), callDeadline()));

      assert.ok(error instanceof TaskNotFoundError, `got ${error.name}: ${error.message}`);
      assert.equal(envelopeCode(error), -32001);
      assert.match(error.message, /no-such-task/);
    });

    test('cancelling a completed task fails with TaskNotCancelableError (-32002)', TIMEOUT, async () => {
      const done = await sdk.client.sendMessage(sendRequest(userMessage('already done')), callDeadline());
      assertIsTask(done);

      const error = await rejection(() => sdk.client.cancelTask(CancelTaskRequest.fromJSON({ id: done.id }), callDeadline()));

      assert.ok(error instanceof TaskNotCancelableError, `got ${error.name}: ${error.message}`);
      assert.equal(envelopeCode(error), -32002);
      assert.match(error.message, new RegExp(done.id.replace(/\./g, '\\.')));
      const stored = await sdk.client.getTask(getRequest(done.id), callDeadline());
      assert.equal(stateName(stored.status?.state), 'TASK_STATE_COMPLETED');
    });

    test('resubscribing to a completed task fails with UnsupportedOperationError (-32004)', TIMEOUT, async () => {
      const done = await sdk.client.sendMessage(sendRequest(userMessage('over')), callDeadline());
      assertIsTask(done);

      const error = await rejection(() => drain(sdk.client.resubscribeTask(SubscribeToTaskRequest.fromJSON({ id: done.id }), callDeadline())));

      assert.ok(error instanceof UnsupportedOperationError, `got ${error.name}: ${error.message}`);
      assert.equal(envelopeCode(error), -32004);
    });
  });
}
