import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertInvalidParams, ok, waitForTerminal } from './helpers.js';

describe('ListTasks', () => {
  let agent: TestAgent;
  let url: string;
  let gate: Gate;
  const contextA = 'ctx-list-a';
  const contextB = 'ctx-list-b';
  const ids = { a: [] as string[], b: [] as string[], late: '', canceled: '' };

  // The tasks made here are all the tests read; none of them adds to these.
  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent();
    url = agent.url;
    // Started first, its status changed last (canceled at the end, whatever the machine's speed): it is the newest.
    const late = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('late', { contextId: contextB, metadata: gate.run().metadata }),
        configuration: { returnImmediately: true },
      }),
    ).task;
    ids.late = late.id;
    for (let i = 0; i < 3; i++) ids.a.push(ok(await rpc(url, 'SendMessage', { message: textMessage(`a${i}`, { contextId: contextA }) })).task.id);
    for (let i = 0; i < 2; i++) ids.b.push(ok(await rpc(url, 'SendMessage', { message: textMessage(`b${i}`, { contextId: contextB }) })).task.id);
    const toCancel = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('cancel me', { contextId: contextA, metadata: gate.run().metadata }),
        configuration: { returnImmediately: true },
      }),
    ).task;
    ids.canceled = toCancel.id;
    ok(await rpc(url, 'CancelTask', { id: toCancel.id }));
    assert.equal(ok(await rpc(url, 'CancelTask', { id: late.id })).status.state, 'TASK_STATE_CANCELED');
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  const allIds = () => [ids.late, ...ids.a, ...ids.b, ids.canceled];

  test('lists every task, newest status first, with the total', async () => {
    const page = ok(await rpc(url, 'ListTasks', {}));
    assert.equal(page.totalSize, 7);
    assert.equal(page.tasks.length, 7);
    assert.equal(page.nextPageToken, '');
    assert.equal(page.pageSize, 50);
    assert.deepEqual(new Set(page.tasks.map((t: any) => t.id)), new Set(allIds()));
    const times = page.tasks.map((t: any) => Date.parse(t.status.timestamp));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], `task ${i} is newer than task ${i - 1}`);
    // Created first, but its status changed last.
    assert.equal(page.tasks[0].id, ids.late);
    assert.equal(page.tasks[0].status.state, 'TASK_STATE_CANCELED');
  });

  test('pages of two walk every task exactly once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = ok(await rpc(url, 'ListTasks', { pageSize: 2, ...(token ? { pageToken: token } : {}) }));
      pages++;
      assert.ok('nextPageToken' in page, 'nextPageToken is always present');
      assert.equal(typeof page.nextPageToken, 'string');
      assert.equal(page.totalSize, 7);
      assert.equal(page.pageSize, 2);
      assert.ok(page.tasks.length <= 2);
      seen.push(...page.tasks.map((t: any) => t.id));
      token = page.nextPageToken;
      if (token === '') assert.ok(page.tasks.length > 0);
      assert.ok(pages <= 4, 'paging terminates');
    } while (token !== '');
    assert.equal(pages, 4);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
    const whole = ok(await rpc(url, 'ListTasks', {})).tasks.map((t: any) => t.id);
    assert.deepEqual(seen, whole, 'paged order equals the one-page order');
  });

  test('a page size equal to the total ends with an empty token', async () => {
    const page = ok(await rpc(url, 'ListTasks', { pageSize: 7 }));
    assert.equal(page.tasks.length, 7);
    assert.equal(page.nextPageToken, '');
  });

  test('snake_case page_size and page_token work like their camelCase names', async () => {
    const first = ok(await rpc(url, 'ListTasks', { page_size: 3 }));
    assert.equal(first.tasks.length, 3);
    const second = ok(await rpc(url, 'ListTasks', { page_size: 3, page_token: first.nextPageToken }));
    assert.equal(second.tasks.length, 3);
    assert.equal(new Set([...first.tasks, ...second.tasks].map((t: any) => t.id)).size, 6);
  });

  test('a context filter lists only that context, and counts only it', async () => {
    const page = ok(await rpc(url, 'ListTasks', { contextId: contextA }));
    assert.equal(page.totalSize, 4);
    assert.deepEqual(new Set(page.tasks.map((t: any) => t.id)), new Set([...ids.a, ids.canceled]));
    for (const task of page.tasks) assert.equal(task.contextId, contextA);
    const none = ok(await rpc(url, 'ListTasks', { contextId: 'ctx-nobody' }));
    assert.deepEqual(none, { tasks: [], nextPageToken: '', pageSize: 50, totalSize: 0 });
  });

  test('a status filter lists only tasks in that state', async () => {
    const canceled = ok(await rpc(url, 'ListTasks', { status: 'TASK_STATE_CANCELED' }));
    assert.equal(canceled.totalSize, 2);
    assert.deepEqual(canceled.tasks.map((t: any) => t.id), [ids.late, ids.canceled]);
    const completed = ok(await rpc(url, 'ListTasks', { status: 'TASK_STATE_COMPLETED' }));
    assert.equal(completed.totalSize, 5);
    for (const task of completed.tasks) assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    const both = ok(await rpc(url, 'ListTasks', { status: 'TASK_STATE_COMPLETED', contextId: contextB }));
    assert.deepEqual(new Set(both.tasks.map((t: any) => t.id)), new Set(ids.b));
  });

  test('artifacts are left out unless asked for', async () => {
    const without = ok(await rpc(url, 'ListTasks', {}));
    for (const task of without.tasks) assert.equal('artifacts' in task, false, `task ${task.id} has no artifacts field`);
    const explicitFalse = ok(await rpc(url, 'ListTasks', { includeArtifacts: false }));
    for (const task of explicitFalse.tasks) assert.equal('artifacts' in task, false);
    const withArtifacts = ok(await rpc(url, 'ListTasks', { includeArtifacts: true }));
    for (const task of withArtifacts.tasks) {
      assert.ok(Array.isArray(task.artifacts), `task ${task.id} has an artifacts list`);
      if (task.status.state === 'TASK_STATE_COMPLETED') {
        assert.equal(task.artifacts.length, 1);
        assert.equal(task.artifacts[0].artifactId, 'echo');
      } else {
        assert.deepEqual(task.artifacts, []);
      }
    }
  });

  test('historyLength limits the history of listed tasks', async () => {
    const page = ok(await rpc(url, 'ListTasks', { historyLength: 0 }));
    for (const task of page.tasks) assert.equal('history' in task, false);
    const one = ok(await rpc(url, 'ListTasks', { historyLength: 1, contextId: contextA }));
    for (const task of one.tasks) assert.equal(task.history.length, 1);
  });

  test('a newly finished task moves to the top', async () => {
    // An agent of its own: the shared one's tasks stay as every other test expects them.
    const own = await startTestAgent();
    try {
      const run = gate.run();
      const older = ok(await rpc(own.url, 'SendMessage', { message: textMessage('started first', { metadata: run.metadata }), configuration: { returnImmediately: true } })).task;
      await run.started();
      const quick = ok(await rpc(own.url, 'SendMessage', { message: textMessage('finished first') })).task;
      assert.equal(ok(await rpc(own.url, 'ListTasks', { pageSize: 1 })).tasks[0].id, quick.id);
      run.release();
      await waitForTerminal(own.url, older.id);
      const page = ok(await rpc(own.url, 'ListTasks', { pageSize: 1 }));
      assert.equal(page.tasks[0].id, older.id);
      assert.equal(page.totalSize, 2);
      assert.notEqual(page.nextPageToken, '');
    } finally {
      await own.dispose();
    }
  });

  test('statusTimestampAfter keeps tasks whose status changed at or after it', async () => {
    const newest = ok(await rpc(url, 'ListTasks', { pageSize: 1 })).tasks[0];
    const recent = ok(await rpc(url, 'ListTasks', { statusTimestampAfter: newest.status.timestamp }));
    assert.ok(recent.tasks.some((t: any) => t.id === newest.id));
    for (const task of recent.tasks) assert.ok(Date.parse(task.status.timestamp) >= Date.parse(newest.status.timestamp));
    assert.equal(recent.totalSize, recent.tasks.length);
    const future = ok(await rpc(url, 'ListTasks', { statusTimestampAfter: new Date(Date.now() + 3_600_000).toISOString() }));
    assert.equal(future.totalSize, 0);
    assertInvalidParams(await rpc(url, 'ListTasks', { statusTimestampAfter: 'yesterday' }), 'params.statusTimestampAfter');
  });

  test('bad paging input is -32602', async () => {
    assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: 0 }), 'params.pageSize');
    assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: 101 }), 'params.pageSize');
    assertInvalidParams(await rpc(url, 'ListTasks', { includeArtifacts: 'yes' }), 'params.includeArtifacts');
    const forged = Buffer.from(JSON.stringify({ not: 'a cursor' })).toString('base64url');
    const res = await rpc(url, 'ListTasks', { pageToken: forged });
    assert.equal(res.body.error?.code, -32602);
  });
});
