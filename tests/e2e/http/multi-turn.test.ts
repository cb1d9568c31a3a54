import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertInvalidParams, assertRpcError, ok } from './helpers.js';

const unique = () => Math.random().toString(36).slice(2);

describe('multi-turn tasks (conformance agent)', () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
  });

  async function inputRequiredTask(): Promise<any> {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('start', { messageId: `tck-input-required-${unique()}` }) }));
    assert.equal(task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    return task;
  }

  test('a task that asks for input stops there, with the agent question as status message', async () => {
    const task = await inputRequiredTask();
    assert.equal(task.status.message.role, 'ROLE_AGENT');
    assert.deepEqual(task.status.message.parts, [{ text: 'Please provide more input' }]);
    const stored = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.equal(stored.status.state, 'TASK_STATE_INPUT_REQUIRED');
  });

  test('a follow-up naming only the task id completes it, and the history holds both user messages in order', async () => {
    const task = await inputRequiredTask();
    const firstId = task.history[0].messageId;
    const followUp = textMessage('more input', { messageId: `tck-complete-task-${unique()}`, taskId: task.id });
    const done = ok(await rpc(url, 'SendMessage', { message: followUp })).task;
    assert.equal(done.id, task.id);
    assert.equal(done.contextId, task.contextId);
    assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(done.status.message.parts, [{ text: 'Hello from TCK' }]);
    const users = done.history.filter((m: any) => m.role === 'ROLE_USER');
    assert.deepEqual(users.map((m: any) => m.messageId), [firstId, followUp.messageId]);
    // The follow-up is stored in the task's context even though it named none.
    assert.equal(users[1].contextId, task.contextId);
    assert.equal(users[1].taskId, task.id);
    const stored = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.deepEqual(stored.history, done.history);
    const roles = stored.history.map((m: any) => m.role);
    assert.deepEqual(roles, ['ROLE_USER', 'ROLE_AGENT', 'ROLE_USER', 'ROLE_AGENT']);
  });

  test('a follow-up with the matching context id is accepted', async () => {
    const task = await inputRequiredTask();
    const followUp = textMessage('ok', { messageId: `tck-complete-task-${unique()}`, taskId: task.id, contextId: task.contextId });
    assert.equal(ok(await rpc(url, 'SendMessage', { message: followUp })).task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('a follow-up to a completed task is -32004', async () => {
    const task = await inputRequiredTask();
    ok(await rpc(url, 'SendMessage', { message: textMessage('done', { messageId: `tck-complete-task-${unique()}`, taskId: task.id }) }));
    const res = await rpc(url, 'SendMessage', { message: textMessage('again', { messageId: `tck-complete-task-${unique()}`, taskId: task.id }) });
    const error = assertRpcError(res.body, -32004);
    assert.match(error.message, /completed/);
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).history.filter((m: any) => m.role === 'ROLE_USER').length, 2);
  });

  test('a follow-up with another context id is -32602 and leaves the task waiting', async () => {
    const task = await inputRequiredTask();
    const res = await rpc(url, 'SendMessage', {
      message: textMessage('wrong', { messageId: `tck-complete-task-${unique()}`, taskId: task.id, contextId: 'some-other-context' }),
    });
    // Every other field violation is named from the request root (params.…).
    const error = assertInvalidParams(res, 'params.message.contextId');
    assert.match(error.message, /some-other-context/);
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_INPUT_REQUIRED');
  });

  test('a follow-up to an unknown task is -32001', async () => {
    const res = await rpc(url, 'SendMessage', { message: textMessage('lost', { messageId: `tck-complete-task-${unique()}`, taskId: 'no-such-task' }) });
    const error = assertRpcError(res.body, -32001);
    assert.match(error.message, /no-such-task/);
  });

  test('a follow-up while the task is working is -32004', async () => {
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('busy', { metadata: { skill: 'echo', delayMs: 300_000 } }),
        configuration: { returnImmediately: true },
      }),
    );
    try {
      const res = await rpc(url, 'SendMessage', { message: textMessage('interrupt', { taskId: task.id }) });
      const error = assertRpcError(res.body, -32004);
      assert.match(error.message, /(working|submitted)/);
      assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).history.filter((m: any) => m.role === 'ROLE_USER').length, 1);
    } finally {
      await rpc(url, 'CancelTask', { id: task.id });
    }
  });

  test('the same follow-up sent twice is taken once', async () => {
    const task = await inputRequiredTask();
    const followUp = textMessage('only once', { messageId: `tck-complete-task-${unique()}`, taskId: task.id });
    const first = ok(await rpc(url, 'SendMessage', { message: followUp })).task;
    const second = ok(await rpc(url, 'SendMessage', { message: followUp })).task;
    assert.equal(second.id, first.id);
    assert.equal(second.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(second.history.filter((m: any) => m.role === 'ROLE_USER').length, 2);
  });

  test('a lone message reply creates no task', async () => {
    const before = ok(await rpc(url, 'ListTasks', {})).totalSize;
    const result = ok(await rpc(url, 'SendMessage', { message: textMessage('hi', { messageId: `tck-message-response-${unique()}` }) }));
    assert.deepEqual(Object.keys(result), ['message']);
    assert.equal(result.message.role, 'ROLE_AGENT');
    assert.deepEqual(result.message.parts, [{ text: 'Direct message response' }]);
    assert.equal(typeof result.message.contextId, 'string');
    assert.equal(ok(await rpc(url, 'ListTasks', {})).totalSize, before);
  });
});
