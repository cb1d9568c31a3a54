import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';
import { assertRpcError, errorInfo, ok, waitFor } from './helpers.js';

describe('CancelTask', () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
  });

  async function workingEchoTask(delayMs: number): Promise<any> {
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('slow echo', { metadata: { skill: 'echo', delayMs } }),
        configuration: { returnImmediately: true },
      }),
    );
    return waitFor('the echo to be working', async () => {
      const current = ok(await rpc(url, 'GetTask', { id: task.id }));
      return current.status.state === 'TASK_STATE_WORKING' ? current : undefined;
    });
  }

  test('a working task is canceled at once and stays canceled', async () => {
    const task = await workingEchoTask(300_000);
    const canceled = ok(await rpc(url, 'CancelTask', { id: task.id }));
    assert.equal(canceled.id, task.id);
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    // Past the echo's next progress tick: a still-running skill would have written by now.
    await sleep(1500);
    const later = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.equal(later.status.state, 'TASK_STATE_CANCELED');
    assert.equal(later.artifacts, undefined);
    assert.equal(later.status.timestamp, canceled.status.timestamp);
  });

  test('canceling a terminal task is -32002 and changes nothing', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('quick', { metadata: { skill: 'echo' } }) }));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    const res = await rpc(url, 'CancelTask', { id: task.id });
    const error = assertRpcError(res.body, -32002, res.body.id);
    assert.equal(errorInfo(error).reason, 'TASK_NOT_CANCELABLE');
    assert.equal(errorInfo(error).metadata.state, 'completed');
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_COMPLETED');
  });

  test('canceling a canceled task is -32002', async () => {
    const task = await workingEchoTask(300_000);
    ok(await rpc(url, 'CancelTask', { id: task.id }));
    assertRpcError((await rpc(url, 'CancelTask', { id: task.id })).body, -32002);
  });

  test('canceling an unknown task is -32001', async () => {
    const res = await rpc(url, 'CancelTask', { id: 'no-such-task' });
    assert.match(assertRpcError(res.body, -32001).message, /no-such-task/);
  });

  test('canceling without an id is -32602', async () => {
    assertRpcError((await rpc(url, 'CancelTask', {})).body, -32602);
  });

  test('a task waiting for input can be canceled', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('ask me', { messageId: `tck-input-required-${Date.now()}` }) }));
    assert.equal(task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const canceled = ok(await rpc(url, 'CancelTask', { id: task.id }));
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    // Nothing can resume it now.
    const res = await rpc(url, 'SendMessage', { message: textMessage('too late', { messageId: `tck-complete-task-${Date.now()}`, taskId: task.id }) });
    assertRpcError(res.body, -32004);
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_CANCELED');
  });

  test('a blocking send of a task canceled meanwhile returns the canceled task', async () => {
    const message = textMessage('block then cancel', { metadata: { skill: 'echo', delayMs: 300_000 } });
    const pending = rpc(url, 'SendMessage', { message });
    const taskId = await waitFor('the task to exist', async () => {
      const page = ok(await rpc(url, 'ListTasks', { status: 'TASK_STATE_WORKING' }));
      return page.tasks.find((t: any) => t.history?.[0]?.messageId === message.messageId)?.id as string | undefined;
    });
    ok(await rpc(url, 'CancelTask', { id: taskId }));
    const { task } = ok(await pending);
    assert.equal(task.id, taskId);
    assert.equal(task.status.state, 'TASK_STATE_CANCELED');
  });
});
