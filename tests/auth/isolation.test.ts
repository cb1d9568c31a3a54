import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, errorInfo, ok, V03, v03Message } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { openStream, rpc, textMessage } from '../support/rpc.js';
import { waitFor } from '../support/wait.js';

const unique = () => Math.random().toString(36).slice(2);

describe('a caller sees only its own tasks (two API-key callers on one agent)', () => {
  let root: string;
  let agent: TestAgent;
  let url: string;
  const keys = { alice: newApiKey(), bob: newApiKey() };
  const alice = bearer(keys.alice);
  const bob = bearer(keys.bob);
  const alice03 = { ...V03, authorization: `Bearer ${keys.alice}` };
  const bob03 = { ...V03, authorization: `Bearer ${keys.bob}` };
  const tasks = { done: '', waiting: '', working: '', context: `ctx-alice-${unique()}` };

  /** Another caller's task must look exactly like a task that does not exist. */
  async function assertNotFound(res: { status: number; body: any }, id: string): Promise<void> {
    assert.equal(res.status, 200);
    const error = assertRpcError(res.body, -32001);
    assert.equal(errorInfo(error).reason, 'TASK_NOT_FOUND');
    assert.equal(error.message, `task ${id} not found`);
    assert.deepEqual(errorInfo(error).metadata, { taskId: id });
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-isolation-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys'), CONFORMANCE_AGENT: 'true' });
    url = agent.url;
    tasks.done = ok(await rpc(url, 'SendMessage', { message: textMessage('done', { contextId: tasks.context, metadata: { skill: 'echo' } }) }, alice)).task.id;
    const waiting = ok(await rpc(url, 'SendMessage', { message: textMessage('start', { contextId: tasks.context, messageId: `tck-input-required-${unique()}` }) }, alice)).task;
    assert.equal(waiting.status.state, 'TASK_STATE_INPUT_REQUIRED');
    tasks.waiting = waiting.id;
    tasks.working = ok(
      await rpc(
        url,
        'SendMessage',
        { message: textMessage('slow', { contextId: tasks.context, metadata: { skill: 'echo', delayMs: 60_000 } }), configuration: { returnImmediately: true } },
        alice,
      ),
    ).task.id;
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('GetTask (1.0 and 0.3) of another caller’s task is TaskNotFound, exactly like an unknown id', async () => {
    for (const id of [tasks.done, tasks.waiting, tasks.working]) {
      await assertNotFound(await rpc(url, 'GetTask', { id }, bob), id);
      await assertNotFound(await rpc(url, 'tasks/get', { id }, bob03), id);
      ok(await rpc(url, 'GetTask', { id }, alice));
      ok(await rpc(url, 'tasks/get', { id }, alice03));
    }
    const unknown = `${tasks.done.slice(0, -4)}0000`;
    await assertNotFound(await rpc(url, 'GetTask', { id: unknown }, bob), unknown);
  });

  test('CancelTask of another caller’s task is TaskNotFound and the task keeps running', async () => {
    await assertNotFound(await rpc(url, 'CancelTask', { id: tasks.working }, bob), tasks.working);
    await assertNotFound(await rpc(url, 'tasks/cancel', { id: tasks.working }, bob03), tasks.working);
    const task = ok(await rpc(url, 'GetTask', { id: tasks.working }, alice));
    assert.ok(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'].includes(task.status.state), task.status.state);
  });

  test('SubscribeToTask and tasks/resubscribe to another caller’s task are TaskNotFound, not a stream', async () => {
    for (const [method, headers] of [['SubscribeToTask', bob], ['tasks/resubscribe', bob03]] as const) {
      const stream = await openStream(url, method, { id: tasks.working }, headers);
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get('content-type') ?? '', /^application\/json/);
      const events = [];
      for await (const event of stream.events()) events.push(event);
      assert.equal(events.length, 0, 'no event reaches another caller');
    }
    const res = await rpc(url, 'SubscribeToTask', { id: tasks.working }, bob);
    await assertNotFound(res, tasks.working);
  });

  test('continuing another caller’s task by its id is TaskNotFound and leaves it waiting', async () => {
    const followUp = () => textMessage('my answer', { taskId: tasks.waiting, messageId: `tck-complete-task-${unique()}` });
    await assertNotFound(await rpc(url, 'SendMessage', { message: followUp() }, bob), tasks.waiting);
    const streamed = await rpc(url, 'SendStreamingMessage', { message: followUp() }, bob);
    await assertNotFound(streamed, tasks.waiting);
    await assertNotFound(await rpc(url, 'message/send', { message: v03Message('my answer', { taskId: tasks.waiting }) }, bob03), tasks.waiting);
    assert.equal(ok(await rpc(url, 'GetTask', { id: tasks.waiting }, alice)).status.state, 'TASK_STATE_INPUT_REQUIRED');
  });

  test('ListTasks shows each caller its own tasks only, even filtered by the other’s context', async () => {
    const mine = ok(await rpc(url, 'SendMessage', { message: textMessage('bob here', { metadata: { skill: 'echo' } }) }, bob)).task.id;
    const bobs = ok(await rpc(url, 'ListTasks', {}, bob));
    assert.deepEqual(bobs.tasks.map((t: any) => t.id), [mine]);
    assert.equal(bobs.totalSize, 1);
    assert.equal(ok(await rpc(url, 'ListTasks', { contextId: tasks.context }, bob)).totalSize, 0);
    const alices = ok(await rpc(url, 'ListTasks', {}, alice)).tasks.map((t: any) => t.id);
    assert.deepEqual(new Set(alices), new Set([tasks.done, tasks.waiting, tasks.working]));
  });

  test('the same message sent by another caller starts that caller’s own task instead of joining the first', async () => {
    const message = textMessage('same bytes', { messageId: `m-shared-${unique()}`, metadata: { skill: 'echo' } });
    const first = ok(await rpc(url, 'SendMessage', { message }, alice)).task;
    const second = ok(await rpc(url, 'SendMessage', { message }, bob)).task;
    assert.notEqual(second.id, first.id);
    // A retry by the first caller still joins its own task.
    assert.equal(ok(await rpc(url, 'SendMessage', { message }, alice)).task.id, first.id);
  });

  test('a forged relay header from outside grants nothing: no credential is still 401, another caller still sees nothing', async () => {
    const hop = { 'x-kagent-forwarded-by': 'kagent-0' };
    const anonymous = await rpc(url, 'GetTask', { id: tasks.done }, { 'A2A-Version': '1.0', ...hop });
    assert.equal(anonymous.status, 401);
    await assertNotFound(await rpc(url, 'GetTask', { id: tasks.done }, { ...bob, ...hop }), tasks.done);
    assert.equal(ok(await rpc(url, 'ListTasks', { contextId: tasks.context }, { ...bob, ...hop })).totalSize, 0);
  });

  test('the owner can still do everything with its tasks', async () => {
    assert.equal(ok(await rpc(url, 'CancelTask', { id: tasks.working }, alice)).status.state, 'TASK_STATE_CANCELED');
    const followUp = textMessage('my answer', { taskId: tasks.waiting, messageId: `tck-complete-task-${unique()}` });
    assert.equal(ok(await rpc(url, 'SendMessage', { message: followUp }, alice)).task.status.state, 'TASK_STATE_COMPLETED');
    await waitFor('the canceled task to stay canceled', async () => {
      const task = ok(await rpc(url, 'GetTask', { id: tasks.working }, alice));
      return task.status.state === 'TASK_STATE_CANCELED' ? true : undefined;
    });
  });
});
