import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertInvalidParams, assertRpcError, errorInfo, ok, totalTasks, waitForTerminal } from './helpers.js';
import { waitFor } from '../../support/wait.js';

describe('SendMessage and GetTask (A2A 1.0)', () => {
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

  test('a blocking send returns the completed task with the echo artifact and the history', async () => {
    const message = textMessage('hello echo', { parts: [{ text: 'hello echo' }, { data: { n: 1 } }] });
    const res = await rpc(url, 'SendMessage', { message });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.body.jsonrpc, '2.0');
    const { task } = ok(res);
    assert.deepEqual(Object.keys(ok(res)), ['task']);
    assert.equal(typeof task.id, 'string');
    assert.ok(!task.id.includes(':'), 'task ids contain no colon');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(task.artifacts.length, 1);
    assert.equal(task.artifacts[0].artifactId, 'echo');
    assert.deepEqual(task.artifacts[0].parts, [{ text: 'hello echo' }, { data: { n: 1 } }]);
    assert.equal(task.history[0].role, 'ROLE_USER');
    assert.equal(task.history[0].messageId, message.messageId);
    assert.equal(task.history[0].taskId, task.id);
    assert.equal(task.history[0].contextId, task.contextId);
    assert.deepEqual(task.history[0].parts, [{ text: 'hello echo' }, { data: { n: 1 } }]);
    assert.equal(task.kind, undefined, '1.0 has no kind discriminator');
  });

  test('returnImmediately answers with a task still running, which completes later', async () => {
    const run = gate.run();
    const message = textMessage('later', { metadata: run.metadata });
    const { task } = ok(await rpc(url, 'SendMessage', { message, configuration: { returnImmediately: true } }));
    assert.ok(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'].includes(task.status.state), task.status.state);
    assert.equal(task.artifacts, undefined);
    await run.started();
    run.release();
    const done = await waitForTerminal(url, task.id);
    assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(done.artifacts[0].parts, [{ text: 'later' }]);
  });

  test('a blocking send waits for a delayed task', async () => {
    const run = gate.run();
    let answered = false;
    const pending = rpc(url, 'SendMessage', { message: textMessage('wait', { metadata: run.metadata }) }).finally(() => (answered = true));
    await run.started();
    run.say('still at it');
    // The skill has reported progress, and the send has not answered.
    await waitFor('the progress to be stored', async () => {
      const page = ok(await rpc(url, 'ListTasks', { status: 'TASK_STATE_WORKING', includeArtifacts: false }));
      return page.tasks.some((t: any) => t.status.message?.parts?.[0]?.text === 'still at it');
    });
    assert.equal(answered, false, 'the blocking send answered while its task was working');
    run.release();
    const { task } = ok(await pending);
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    // The working skill's reports are agent messages in the history.
    assert.deepEqual(task.history.filter((m: any) => m.role === 'ROLE_AGENT').map((m: any) => m.parts[0].text), ['waiting at the gate', 'still at it']);
  });

  test('historyLength 0 omits the history', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('no history'), configuration: { historyLength: 0 } }));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal('history' in task, false);
    assert.equal(task.artifacts.length, 1);
  });

  test('a context id is generated when absent and kept when given', async () => {
    const first = ok(await rpc(url, 'SendMessage', { message: textMessage('a') })).task;
    const second = ok(await rpc(url, 'SendMessage', { message: textMessage('b') })).task;
    assert.equal(typeof first.contextId, 'string');
    assert.ok(first.contextId.length > 0);
    assert.notEqual(first.contextId, second.contextId);
    const given = ok(await rpc(url, 'SendMessage', { message: textMessage('c', { contextId: 'ctx-given-1' }) })).task;
    assert.equal(given.contextId, 'ctx-given-1');
    assert.equal(given.history[0].contextId, 'ctx-given-1');
    assert.equal(ok(await rpc(url, 'GetTask', { id: given.id })).contextId, 'ctx-given-1');
  });

  test('GetTask returns the stored task and honours historyLength', async () => {
    const run = gate.run();
    run.release();
    const sent = ok(await rpc(url, 'SendMessage', { message: textMessage('history', { metadata: run.metadata }) })).task;
    const full = ok(await rpc(url, 'GetTask', { id: sent.id }));
    assert.equal(full.id, sent.id);
    assert.equal(full.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(full.artifacts, sent.artifacts);
    assert.ok(full.history.length >= 2, 'the user message and the agent progress message');
    assert.equal(full.history[0].role, 'ROLE_USER');

    const last = ok(await rpc(url, 'GetTask', { id: sent.id, historyLength: 1 }));
    assert.equal(last.history.length, 1);
    assert.deepEqual(last.history[0], full.history[full.history.length - 1]);

    const none = ok(await rpc(url, 'GetTask', { id: sent.id, historyLength: 0 }));
    assert.equal('history' in none, false);

    const snake = ok(await rpc(url, 'GetTask', { id: sent.id, history_length: 1 }));
    assert.equal(snake.history.length, 1);

    const more = ok(await rpc(url, 'GetTask', { id: sent.id, historyLength: 1000 }));
    assert.deepEqual(more.history, full.history);
  });

  test('GetTask of an unknown task is -32001', async () => {
    const res = await rpc(url, 'GetTask', { id: 'no-such-task' });
    const error = assertRpcError(res.body, -32001, res.body.id);
    assert.match(error.message, /no-such-task/);
  });

  test('an unknown skill is -32602 naming params.message.metadata.skill and creates no task', async () => {
    const before = await totalTasks(url);
    const res = await rpc(url, 'SendMessage', { message: textMessage('x', { metadata: { skill: 'translate' } }) });
    const error = assertInvalidParams(res, 'params.message.metadata.skill', 'UNKNOWN_SKILL');
    assert.match(error.message, /translate/);
    assert.match(error.message, /echo/, 'the message lists the skills on offer');
    assert.equal(await totalTasks(url), before);
  });

  test('the echo skill can be named explicitly', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('named', { metadata: { skill: 'echo' } }) }));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
  });

  describe('idempotent resend', () => {
    test('the same message sent twice returns the same task and echoes once', async () => {
      const message = textMessage('once only');
      const before = await totalTasks(url);
      const first = ok(await rpc(url, 'SendMessage', { message })).task;
      const second = ok(await rpc(url, 'SendMessage', { message })).task;
      assert.equal(second.id, first.id);
      assert.equal(second.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(second.artifacts.length, 1);
      assert.deepEqual(second.artifacts[0].parts, [{ text: 'once only' }]);
      assert.equal(second.history.filter((m: any) => m.role === 'ROLE_USER').length, 1);
      assert.equal(await totalTasks(url), before + 1);
    });

    test('the same message sent twice at once yields one task', async () => {
      const run = gate.run();
      const message = textMessage('concurrent', { metadata: run.metadata });
      const before = await totalTasks(url);
      const sends = Promise.all([
        rpc(url, 'SendMessage', { message }),
        rpc(url, 'SendMessage', { message }),
        rpc(url, 'SendMessage', { message }),
      ]);
      await run.started();
      run.release();
      const [a, b, c] = await sends;
      assert.equal(run.starts, 1, 'the skill ran once');
      const ids = new Set([ok(a!).task.id, ok(b!).task.id, ok(c!).task.id]);
      assert.equal(ids.size, 1);
      const task = ok(await rpc(url, 'GetTask', { id: [...ids][0] }));
      assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(task.artifacts.length, 1);
      assert.deepEqual(task.artifacts[0].parts, [{ text: 'concurrent' }]);
      assert.equal(task.history.filter((m: any) => m.role === 'ROLE_USER').length, 1);
      assert.equal(await totalTasks(url), before + 1);
    });

    test('a resend while the first is still running joins it', async () => {
      const run = gate.run();
      const message = textMessage('join me', { metadata: run.metadata });
      const first = ok(await rpc(url, 'SendMessage', { message, configuration: { returnImmediately: true } })).task;
      await run.started();
      const joined = ok(await rpc(url, 'SendMessage', { message, configuration: { returnImmediately: true } })).task;
      assert.equal(joined.id, first.id);
      assert.equal(joined.status.state, 'TASK_STATE_WORKING');
      const blocking = rpc(url, 'SendMessage', { message });
      run.release();
      const second = ok(await blocking).task;
      assert.equal(second.id, first.id);
      assert.equal(second.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(second.artifacts.length, 1);
      assert.equal(run.starts, 1, 'the skill ran once');
    });

    test('the same messageId with different content is a new task', async () => {
      const messageId = `reuse-${Math.random().toString(36).slice(2)}`;
      const first = ok(await rpc(url, 'SendMessage', { message: textMessage('first text', { messageId }) })).task;
      const second = ok(await rpc(url, 'SendMessage', { message: textMessage('second text', { messageId }) })).task;
      assert.notEqual(second.id, first.id);
      assert.deepEqual(second.artifacts[0].parts, [{ text: 'second text' }]);
      assert.deepEqual(ok(await rpc(url, 'GetTask', { id: first.id })).artifacts[0].parts, [{ text: 'first text' }]);
    });
  });

  test('a send carrying a push config while push is off (PUSH_NOTIFICATIONS=false) is -32003 and starts no task (spec 3.3.4)', async (t) => {
    const off = await startTestAgent({ PUSH_NOTIFICATIONS: 'false' });
    t.after(() => off.dispose());
    const url = off.url;
    const card = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as { capabilities: { pushNotifications: boolean } };
    assert.equal(card.capabilities.pushNotifications, false);
    const before = await totalTasks(url);
    const configuration = { taskPushNotificationConfig: { url: 'https://example.com/hook', token: 't' } };
    for (const method of ['SendMessage', 'SendStreamingMessage']) {
      const res = await rpc(url, method, { message: textMessage('with push', { metadata: { skill: 'echo' } }), configuration });
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const error = assertRpcError(res.body, -32003);
      assert.match(error.message, /params\.configuration\.taskPushNotificationConfig/);
      assert.equal(errorInfo(error).reason, 'PUSH_NOTIFICATION_NOT_SUPPORTED');
    }
    // The snake_case spelling is the same field.
    const snake = { task_push_notification_config: { url: 'https://example.com/hook' } };
    assertRpcError((await rpc(url, 'SendMessage', { message: textMessage('snake'), configuration: snake })).body, -32003);
    assert.equal(await totalTasks(url), before, 'a refused send started a task');
    // Without it the same send is served.
    ok(await rpc(url, 'SendMessage', { message: textMessage('no push', { metadata: { skill: 'echo' } }), configuration: { historyLength: 1 } }));
  });
});
