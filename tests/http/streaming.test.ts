import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';
import type { SseCall } from './helpers.js';
import { assertRpcError, collectEnvelopes, ok, streamCall, trace, waitFor, waitForTerminal, within } from './helpers.js';
import { PATIENCE_MS } from '../support/patience.js';

const unique = () => Math.random().toString(36).slice(2);

// The tests use separate tasks, so they run side by side to keep the file quick.
describe('streaming (SendStreamingMessage, SubscribeToTask)', { concurrency: true }, () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true', STREAM_HEARTBEAT_INTERVAL: '100ms' });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
  });

  /** The results of a stream, after checking that every event is a 2.0 envelope with the call's id. */
  async function results(call: SseCall, timeoutMs = PATIENCE_MS): Promise<any[]> {
    const envelopes = await collectEnvelopes(call, timeoutMs);
    for (const envelope of envelopes) {
      assert.equal(envelope.jsonrpc, '2.0');
      assert.equal(envelope.id, call.id);
      assert.equal(envelope.error, undefined, `stream error: ${JSON.stringify(envelope.error)}`);
      assert.ok(envelope.result !== undefined);
    }
    return envelopes.map((e) => e.result);
  }

  async function startWorking(delayMs: number): Promise<any> {
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('stream me', { metadata: { skill: 'echo', delayMs } }),
        configuration: { returnImmediately: true },
      }),
    );
    return waitFor('the task to be working', async () => {
      const current = ok(await rpc(url, 'GetTask', { id: task.id }));
      return current.status.state === 'TASK_STATE_WORKING' ? current : undefined;
    });
  }

  test('SendStreamingMessage streams task, working, artifact, completed, then closes', async () => {
    const message = textMessage('stream echo', { metadata: { skill: 'echo' } });
    const call = await streamCall(url, 'SendStreamingMessage', { message });
    assert.equal(call.status, 200);
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(call.headers.get('cache-control'), 'no-cache, no-transform');
    const events = await results(call);
    assert.deepEqual(trace(events), ['task:TASK_STATE_SUBMITTED', 'statusUpdate:TASK_STATE_WORKING', 'artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    const task = events[0].task;
    assert.equal(task.history[0].messageId, message.messageId);
    for (const event of events.slice(1)) {
      const update = event.statusUpdate ?? event.artifactUpdate;
      assert.equal(update.taskId, task.id);
      assert.equal(update.contextId, task.contextId);
      assert.equal(update.final, undefined, '1.0 events carry no final flag');
    }
    assert.deepEqual(events[2].artifactUpdate.artifact.parts, [{ text: 'stream echo' }]);
    assert.equal(events[2].artifactUpdate.lastChunk, true);
    const stored = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.equal(stored.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(stored.status, events[3].statusUpdate.status);
  });

  test('a delayed task streams its progress updates in order', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('progress', { metadata: { skill: 'echo', delayMs: 1200 } }) });
    const events = await results(call);
    assert.deepEqual(trace(events), [
      'task:TASK_STATE_SUBMITTED',
      'statusUpdate:TASK_STATE_WORKING',
      'statusUpdate:TASK_STATE_WORKING',
      'artifactUpdate:echo',
      'statusUpdate:TASK_STATE_COMPLETED',
    ]);
    assert.match(events[1].statusUpdate.status.message.parts[0].text, /echoing in 1200 ms/);
    const times = events.filter((e) => e.statusUpdate).map((e) => Date.parse(e.statusUpdate.status.timestamp));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, 'status timestamps never go back');
  });

  test('a lone message reply is one message event, then the stream closes', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('hi', { messageId: `tck-message-response-${unique()}` }) });
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await results(call);
    assert.equal(events.length, 1);
    assert.deepEqual(Object.keys(events[0]), ['message']);
    assert.equal(events[0].message.role, 'ROLE_AGENT');
    assert.deepEqual(events[0].message.parts, [{ text: 'Direct message response' }]);
  });

  test('a streamed task that asks for input ends the stream there', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('ask', { messageId: `tck-input-required-${unique()}` }) });
    const events = await results(call);
    assert.deepEqual(trace(events), ['task:TASK_STATE_SUBMITTED', 'statusUpdate:TASK_STATE_INPUT_REQUIRED']);
  });

  test('SendStreamingMessage with bad params answers with a plain JSON error', async () => {
    const res = await rpc(url, 'SendStreamingMessage', { message: textMessage('x', { parts: [] }) });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assertRpcError(res.body, -32602);
  });

  test('SubscribeToTask starts with the current task, then live events until the end', async () => {
    const task = await startWorking(3000);
    const call = await streamCall(url, 'SubscribeToTask', { id: task.id });
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await results(call);
    assert.equal(events[0].task.id, task.id);
    assert.equal(events[0].task.status.state, 'TASK_STATE_WORKING');
    assert.deepEqual(trace(events.slice(-2)), ['artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    for (const event of events.slice(1, -2)) assert.deepEqual(trace([event]), ['statusUpdate:TASK_STATE_WORKING']);
  });

  test('two subscribers of one running task see the same events', async () => {
    const task = await startWorking(3000);
    const [first, second] = await Promise.all([streamCall(url, 'SubscribeToTask', { id: task.id }), streamCall(url, 'SubscribeToTask', { id: task.id })]);
    const [a, b] = await Promise.all([results(first!), results(second!)]);
    assert.ok(a.length >= 3);
    assert.deepEqual(a, b);
    assert.equal(trace(a).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
  });

  test('SubscribeToTask of a finished task is a plain JSON -32004', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('done', { metadata: { skill: 'echo' } }) }));
    const res = await rpc(url, 'SubscribeToTask', { id: task.id });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const error = assertRpcError(res.body, -32004, res.body.id);
    assert.match(error.message, /completed/);
  });

  test('SubscribeToTask of an unknown task is a plain JSON -32001', async () => {
    const res = await rpc(url, 'SubscribeToTask', { id: 'no-such-task' });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assertRpcError(res.body, -32001);
  });

  test('SubscribeToTask of a task waiting for input stays open until the task moves on', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('ask', { messageId: `tck-input-required-${unique()}` }) }));
    const call = await streamCall(url, 'SubscribeToTask', { id: task.id });
    const pending = results(call);
    // The first event arrives while the task waits; the stream must not have ended by then.
    await waitFor('the subscription to be open', async () => (call.comments.length > 0 ? true : undefined), PATIENCE_MS, 20);
    ok(await rpc(url, 'SendMessage', { message: textMessage('more', { messageId: `tck-complete-task-${unique()}`, taskId: task.id }) }));
    const events = await pending;
    assert.equal(events[0].task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
  });

  test('heartbeat comments keep a quiet stream alive', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('quiet', { metadata: { skill: 'echo', delayMs: 1000 } }) });
    const events = await results(call);
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
    assert.ok(call.comments.includes(': keep-alive'), `heartbeats seen: ${JSON.stringify(call.comments)}`);
  });

  test('a client that leaves mid-stream does not cancel the task', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('leave', { metadata: { skill: 'echo', delayMs: 600 } }) });
    let taskId: string | undefined;
    await within(PATIENCE_MS, 'the first event', (async () => {
      for await (const envelope of call.events()) {
        taskId = envelope.result.task.id;
        break;
      }
    })());
    call.close();
    assert.ok(taskId);
    const done = await waitForTerminal(url, taskId);
    assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(done.artifacts[0].parts, [{ text: 'leave' }]);
  });

  test('a subscriber that leaves does not disturb another', async () => {
    const task = await startWorking(3000);
    const leaving = await streamCall(url, 'SubscribeToTask', { id: task.id });
    const staying = await streamCall(url, 'SubscribeToTask', { id: task.id });
    await within(PATIENCE_MS, 'the first event', (async () => {
      for await (const _ of leaving.events()) break;
    })());
    leaving.close();
    const events = await results(staying);
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_COMPLETED');
  });
});
