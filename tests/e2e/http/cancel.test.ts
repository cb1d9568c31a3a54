import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';
import { assertRpcError, errorInfo, ok } from './helpers.js';

describe('CancelTask', () => {
  let agent: TestAgent;
  let url: string;
  let gate: Gate;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  /** A task whose skill is running, held at the gate until the test releases it. */
  async function workingTask(): Promise<{ task: any; run: GatedRun }> {
    const run = gate.run();
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('held', { metadata: run.metadata }),
        configuration: { returnImmediately: true },
      }),
    );
    assert.equal(await run.started(), task.id);
    return { task: ok(await rpc(url, 'GetTask', { id: task.id })), run };
  }

  test('a working task is canceled at once, its skill is told, and it stays canceled', async () => {
    const { task, run } = await workingTask();
    assert.equal(task.status.state, 'TASK_STATE_WORKING');
    const canceled = ok(await rpc(url, 'CancelTask', { id: task.id }));
    assert.equal(canceled.id, task.id);
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    // The skill itself sees the cancel: the store would refuse its later writes anyway, which would hide a skill left running.
    await run.aborted();
    // Released now, a skill still running would complete the task.
    run.release();
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
    // The state as the 1.0 wire names it, not the internal name.
    assert.equal(errorInfo(error).metadata.state, 'TASK_STATE_COMPLETED');
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_COMPLETED');
    // A 0.3 caller gets the 0.3 name.
    const v03 = assertRpcError((await rpc(url, 'tasks/cancel', { id: task.id }, { 'A2A-Version': '0.3' })).body, -32002);
    assert.equal(errorInfo(v03).metadata.state, 'completed');
  });

  test('canceling a canceled task answers with the task, unchanged (cancel is idempotent, spec 3.3.1)', async () => {
    const { task, run } = await workingTask();
    const first = ok(await rpc(url, 'CancelTask', { id: task.id }));
    run.release();
    const again = ok(await rpc(url, 'CancelTask', { id: task.id }));
    assert.equal(again.id, task.id);
    assert.equal(again.status.state, 'TASK_STATE_CANCELED');
    assert.equal(again.status.timestamp, first.status.timestamp);
    // The 0.3 method is the same operation.
    const v03 = ok(await rpc(url, 'tasks/cancel', { id: task.id }, { 'A2A-Version': '0.3' }));
    assert.equal(v03.status.state, 'canceled');
  });

  test('two cancels racing for one working task both answer with the canceled task', async () => {
    const { task, run } = await workingTask();
    const [a, b] = await Promise.all([rpc(url, 'CancelTask', { id: task.id }), rpc(url, 'CancelTask', { id: task.id })]);
    run.release();
    assert.equal(ok(a).status.state, 'TASK_STATE_CANCELED');
    assert.equal(ok(b).status.state, 'TASK_STATE_CANCELED');
  });

  test('canceling a failed task is still -32002', async () => {
    const run = gate.run();
    const { task } = ok(
      await rpc(url, 'SendMessage', { message: textMessage('held', { metadata: run.metadata }), configuration: { returnImmediately: true } }),
    );
    await run.started();
    run.release('fail');
    await waitFor('the task to fail', async () => ok(await rpc(url, 'GetTask', { id: task.id })).status.state === 'TASK_STATE_FAILED');
    const error = assertRpcError((await rpc(url, 'CancelTask', { id: task.id })).body, -32002);
    assert.equal(errorInfo(error).reason, 'TASK_NOT_CANCELABLE');
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
    const run = gate.run();
    const pending = rpc(url, 'SendMessage', { message: textMessage('block then cancel', { metadata: run.metadata }) });
    const taskId = await run.started();
    ok(await rpc(url, 'CancelTask', { id: taskId }));
    const { task } = ok(await pending);
    assert.equal(task.id, taskId);
    assert.equal(task.status.state, 'TASK_STATE_CANCELED');
    await run.aborted();
  });
});
