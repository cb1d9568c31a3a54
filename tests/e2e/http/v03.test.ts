import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { rpc, stepwise, textMessage } from '../../support/rpc.js';
import type { SseCall } from './helpers.js';
import { NO_VERSION, V03, assertRpcError, collectEnvelopes, errorInfo, ok, streamCall, v03Message } from './helpers.js';
import { waitFor } from '../../support/wait.js';

describe('A2A 0.3 over JSON-RPC', () => {
  let agent: TestAgent;
  let url: string;
  let gate: Gate;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent();
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  async function results(call: SseCall): Promise<any[]> {
    const envelopes = await collectEnvelopes(call);
    for (const envelope of envelopes) {
      assert.equal(envelope.jsonrpc, '2.0');
      assert.equal(envelope.id, call.id);
      assert.equal(envelope.error, undefined);
    }
    return envelopes.map((e) => e.result);
  }

  /** A working task held at the gate until the test releases it. */
  async function runningTask(): Promise<{ task: any; run: GatedRun }> {
    const run = gate.run();
    const task = ok(await rpc(url, 'message/send', { message: v03Message('running', { metadata: run.metadata }), configuration: { blocking: false } }, V03));
    await run.started();
    return { task, run };
  }

  test('message/send returns a completed task in the 0.3 shape', async () => {
    const message = v03Message('hello 0.3', { parts: [{ kind: 'text', text: 'hello 0.3' }, { kind: 'data', data: { a: 1 } }] });
    const task = ok(await rpc(url, 'message/send', { message }, V03));
    assert.equal(task.kind, 'task');
    assert.equal(task.status.state, 'completed');
    assert.equal(task.artifacts.length, 1);
    assert.equal(task.artifacts[0].artifactId, 'echo');
    assert.deepEqual(task.artifacts[0].parts, [
      { kind: 'text', text: 'hello 0.3' },
      { kind: 'data', data: { a: 1 } },
    ]);
    assert.equal(task.history[0].kind, 'message');
    assert.equal(task.history[0].role, 'user');
    assert.equal(task.history[0].messageId, message.messageId);
  });

  test('0.3 method names work without an A2A-Version header', async () => {
    const task = ok(await rpc(url, 'message/send', { message: v03Message('no header') }, NO_VERSION));
    assert.equal(task.kind, 'task');
    assert.equal(task.status.state, 'completed');
    const got = ok(await rpc(url, 'tasks/get', { id: task.id }, NO_VERSION));
    assert.equal(got.kind, 'task');
    assert.equal(got.status.state, 'completed');
  });

  test('a 0.3 file part round-trips as a file part', async () => {
    const parts = [{ kind: 'file', file: { bytes: Buffer.from('abc').toString('base64'), mimeType: 'text/plain', name: 'a.txt' } }];
    const task = ok(await rpc(url, 'message/send', { message: v03Message('', { parts }) }, V03));
    assert.deepEqual(task.artifacts[0].parts, parts);
  });

  test('blocking:false returns before the task ends', async () => {
    const run = gate.run();
    const task = ok(await rpc(url, 'message/send', { message: v03Message('later', { metadata: run.metadata }), configuration: { blocking: false } }, V03));
    assert.equal(task.kind, 'task');
    assert.ok(['submitted', 'working'].includes(task.status.state), task.status.state);
    await run.started();
    run.release();
    const done = await waitFor('the task to complete', async () => {
      const current = ok(await rpc(url, 'tasks/get', { id: task.id }, V03));
      return current.status.state === 'completed' ? current : undefined;
    });
    assert.equal(done.artifacts[0].parts[0].kind, 'text');
  });

  test('message/stream events carry kind, and the last status update is final', async () => {
    const call = await streamCall(url, 'message/stream', { message: v03Message('stream 0.3') }, V03);
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await results(call);
    assert.deepEqual(
      events.map((e) => `${e.kind}${e.status ? `:${e.status.state}` : ''}`),
      ['task:submitted', 'status-update:working', 'artifact-update', 'status-update:completed'],
    );
    const statusUpdates = events.filter((e) => e.kind === 'status-update');
    assert.deepEqual(statusUpdates.map((e) => e.final), [false, true]);
    const artifact = events.find((e) => e.kind === 'artifact-update');
    assert.deepEqual(artifact.artifact.parts, [{ kind: 'text', text: 'stream 0.3' }]);
    assert.equal(artifact.taskId, events[0].id);
  });

  test('tasks/get honours historyLength and answers -32001 for an unknown task', async () => {
    const task = ok(await rpc(url, 'message/send', { message: v03Message('get me') }, V03));
    const none = ok(await rpc(url, 'tasks/get', { id: task.id, historyLength: 0 }, V03));
    assert.equal('history' in none, false);
    assertRpcError((await rpc(url, 'tasks/get', { id: 'no-such-task' }, V03)).body, -32001);
  });

  test('tasks/cancel cancels a running task, again answers the same, and refuses an unknown one', async () => {
    const { task, run } = await runningTask();
    const canceled = ok(await rpc(url, 'tasks/cancel', { id: task.id }, V03));
    assert.equal(canceled.kind, 'task');
    assert.equal(canceled.status.state, 'canceled');
    assert.equal(ok(await rpc(url, 'tasks/cancel', { id: task.id }, V03)).status.state, 'canceled');
    assertRpcError((await rpc(url, 'tasks/cancel', { id: 'no-such-task' }, V03)).body, -32001);
    await run.aborted();
  });

  test('tasks/resubscribe streams the current task and then its updates', async () => {
    const { task, run } = await runningTask();
    const call = await streamCall(url, 'tasks/resubscribe', { id: task.id }, V03);
    const steps = stepwise(call);
    const first = await steps.next();
    run.release();
    const events = [first, ...(await steps.rest())].map((e) => e.result);
    assert.equal(events[0].kind, 'task');
    assert.equal(events[0].id, task.id);
    assert.equal(events[0].status.state, 'working');
    const last = events.at(-1);
    assert.equal(last.kind, 'status-update');
    assert.equal(last.status.state, 'completed');
    assert.equal(last.final, true);
    assert.ok(events.some((e) => e.kind === 'artifact-update'));
  });

  test('tasks/resubscribe of a finished task is a plain JSON -32004', async () => {
    const task = ok(await rpc(url, 'message/send', { message: v03Message('over') }, V03));
    const res = await rpc(url, 'tasks/resubscribe', { id: task.id }, V03);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(errorInfo(assertRpcError(res.body, -32004)).metadata.state, 'completed');
  });

  // The push-config methods in full: tests/e2e/push/push-configs.test.ts.
  test('push notification config methods speak 0.3: a webhook the egress guard refuses is -32602 at tasks/pushNotificationConfig/set', async () => {
    const task = ok(await rpc(url, 'message/send', { message: v03Message('push') }, V03));
    const set = await rpc(url, 'tasks/pushNotificationConfig/set', { taskId: task.id, pushNotificationConfig: { url: 'http://127.0.0.1:9/hook' } }, V03);
    assert.match(assertRpcError(set.body, -32602).message, /params\.pushNotificationConfig\.url .*loopback/);
    assert.deepEqual(ok(await rpc(url, 'tasks/pushNotificationConfig/list', { id: task.id }, V03)), []);
    assertRpcError((await rpc(url, 'tasks/pushNotificationConfig/get', { id: 'no-such-task' }, V03)).body, -32001);
  });

  test('message/send and message/stream carrying a refused pushNotificationConfig are -32602, not run without it', async () => {
    const configuration = { pushNotificationConfig: { url: 'http://10.0.0.1/hook' } };
    for (const method of ['message/send', 'message/stream']) {
      const res = await rpc(url, method, { message: v03Message('with push'), configuration }, V03);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.match(assertRpcError(res.body, -32602).message, /params\.configuration\.pushNotificationConfig\.url/);
    }
  });

  test('agent/getAuthenticatedExtendedCard is -32004', async () => {
    assertRpcError((await rpc(url, 'agent/getAuthenticatedExtendedCard', {}, V03)).body, -32004);
  });

  test('0.3 input is validated with 0.3 paths', async () => {
    const res = await rpc(url, 'message/send', { message: v03Message('x', { parts: [{ kind: 'sound', text: 'x' }] }) }, V03);
    const error = assertRpcError(res.body, -32602);
    assert.match(error.message, /params\.message\.parts\[0\]\.kind/);
    const role = await rpc(url, 'message/send', { message: v03Message('x', { role: 'ROLE_USER' }) }, V03);
    assert.match(assertRpcError(role.body, -32602).message, /params\.message\.role/);
  });

  test('a version header and the other version\'s method names do not mix', async () => {
    const v1WithV03 = await rpc(url, 'SendMessage', { message: textMessage('x') }, V03);
    assert.match(assertRpcError(v1WithV03.body, -32601).message, /SendMessage/);
    const v03WithV1 = await rpc(url, 'message/send', { message: v03Message('x') }, { 'A2A-Version': '1.0' });
    assertRpcError(v03WithV1.body, -32601);
    assertRpcError((await rpc(url, 'ListTasks', {}, V03)).body, -32601);
  });

  test('a 1.0 method name with no or an empty A2A-Version is read as 0.3 and refused, saying to send A2A-Version: 1.0', async () => {
    for (const headers of [NO_VERSION, { 'A2A-Version': '' }]) {
      const res = await rpc(url, 'SendMessage', { message: textMessage('x', { metadata: { skill: 'echo' } }) }, headers);
      const error = assertRpcError(res.body, -32601);
      assert.match(error.message, /A2A-Version: 1\.0/);
      assert.equal(errorInfo(error).reason, 'METHOD_NOT_FOUND');
    }
  });

  test('the version may come as the A2A-Version query parameter instead of the header', async () => {
    const sent = ok(await rpc(`${url}/?A2A-Version=1.0`, 'SendMessage', { message: textMessage('by query', { metadata: { skill: 'echo' } }) }, NO_VERSION));
    assert.equal(sent.task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(ok(await rpc(`${url}/a2a?a2a-version=1.0`, 'GetTask', { id: sent.task.id }, NO_VERSION)).id, sent.task.id);
    // 0.3 by query parameter, on a 1.0 method name: refused as 0.3 would be.
    assertRpcError((await rpc(`${url}/?A2A-Version=0.3`, 'GetTask', { id: sent.task.id }, NO_VERSION)).body, -32601);
    // The header wins over the parameter.
    assertRpcError((await rpc(`${url}/?A2A-Version=1.0`, 'GetTask', { id: sent.task.id }, V03)).body, -32601);
    // A version the agent does not speak is -32009 whichever way it comes.
    assertRpcError((await rpc(`${url}/?A2A-Version=2.0`, 'GetTask', { id: sent.task.id }, NO_VERSION)).body, -32009);
  });

  test('a task created over 0.3 reads the same over 1.0', async () => {
    const task = ok(await rpc(url, 'message/send', { message: v03Message('both versions') }, V03));
    const v1 = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.equal(v1.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(v1.artifacts[0].parts, [{ text: 'both versions' }]);
    assert.equal(v1.history[0].role, 'ROLE_USER');
  });
});
