import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newApiKey } from '../../support/auth.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertDraftTask, clientTaskId, result, runV02Scenario, V02Client, v02Message } from '../../support/v02-client.js';
import { assertInvalidParams, assertRpcError, errorInfo, ok } from './helpers.js';

// A client of the A2A 0.2 drafts against one agent: plain JSON-RPC bodies,
// no A2A-Version, task ids of the client's choosing. Two API-key callers, to
// show that a client's ids are its own.

describe('A2A 0.2 clients (tasks/send with client-chosen ids), one pod', () => {
  let root: string;
  let agent: TestAgent;
  let url: string;
  const keys = { alice: newApiKey(), bob: newApiKey() };
  const alice = new V02Client({ authorization: `Bearer ${keys.alice}` });
  const bob = new V02Client({ authorization: `Bearer ${keys.bob}` });
  const alice10 = { 'A2A-Version': '1.0', authorization: `Bearer ${keys.alice}` };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-v02-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys') });
    url = agent.url;
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('send with an id, poll it, stream, cancel, resubscribe and a second turn, all by the client id', async () => {
    await runV02Scenario(alice, url, url);
  });

  test('the same id from two callers names two tasks, each seen only by its caller', async () => {
    const id = clientTaskId('shared');
    const mine = result(await alice.send(url, id, v02Message('alice text')));
    const theirs = result(await bob.send(url, id, v02Message('bob text')));
    assert.equal(mine.id, id);
    assert.equal(theirs.id, id);
    assert.notEqual(mine.sessionId, theirs.sessionId);
    assert.equal(result(await alice.get(url, id)).artifacts[0].parts[0].text, 'alice text');
    assert.equal(result(await bob.get(url, id)).artifacts[0].parts[0].text, 'bob text');
  });

  test("another caller's id is TaskNotFound for get, cancel and resubscribe", async () => {
    const id = clientTaskId('private');
    const stream = await alice.sendSubscribe(url, id, v02Message('private', { skill: 'echo', delayMs: 60_000 }));
    try {
      // A refused stream is answered before it starts: one JSON-RPC error, not an event stream.
      for (const res of [await bob.get(url, id), await bob.cancel(url, id), await bob.call(url, 'tasks/resubscribe', { id })]) {
        const error = assertRpcError(res.body, -32001);
        assert.equal(error.message, `task ${id} not found`);
        assert.deepEqual(errorInfo(error).metadata, { taskId: id });
      }
      assert.equal(result(await alice.get(url, id)).status.state, 'working', 'only its caller reaches the task');
    } finally {
      result(await alice.cancel(url, id));
      stream.close();
    }
  });

  test('an id of our own form is our task id: a 0.2 send continues that task, or finds none; it is never stored as an alias', async () => {
    // A task started by a 1.0 client, waiting for input.
    const started = ok(await rpc(url, 'SendMessage', { message: textMessage('review please', { metadata: { skill: 'manifest-review' } }) }, alice10)).task;
    assert.equal(started.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n';
    const continued = result(await alice.send(url, started.id, v02Message(manifest, { skill: 'manifest-review' })));
    assertDraftTask(continued, started.id, 'completed');
    // tasks/get with our id is a 0.3 call (the names 0.3 kept): its answer is in the 0.3 shape.
    const got = result(await alice.get(url, started.id));
    assert.equal(got.kind, 'task');
    assert.equal(got.contextId, started.contextId);

    const unknown = `kagent-9.${'0190a5f2-0000-7000-8000-000000000000'}`;
    const res = await alice.send(url, unknown, v02Message('x'));
    assert.equal(assertRpcError(res.body, -32001).message, `task ${unknown} not found`);
    // Nothing was created under that name.
    assert.equal((await alice.get(url, unknown)).body.error?.code, -32001);
  });

  test('an id reused after its task ended is refused with the state it ended in; a new id starts a new task', async () => {
    const id = clientTaskId('reuse');
    result(await alice.send(url, id, v02Message('first')));
    const again = await alice.send(url, id, v02Message('second'));
    const error = assertRpcError(again.body, -32004);
    assert.match(error.message, /is completed and accepts no further messages/);
    assert.equal(errorInfo(error).metadata.state, 'completed');
    assert.equal(result(await alice.get(url, id)).artifacts[0].parts[0].text, 'first', 'the ended task is unchanged');
  });

  test('hostile ids are refused naming params.id: huge, control characters, a colon', async () => {
    for (const id of ['x'.repeat(10_000), 'a\u0000b', 'job\r\nx-injected: 1', 'a\u202eb', 'job:cancel', '']) {
      const res = await alice.send(url, id, v02Message('x'));
      assertInvalidParams(res, 'params.id');
    }
    // tasks/get kept its name in 0.3: an id that can be no alias is a 0.3 lookup, and no task has it.
    for (const id of ['x'.repeat(10_000), 'a\u0000b', 'job:cancel']) assert.equal((await alice.get(url, id)).body.error?.code, -32001);
  });

  test('missing or garbage params are invalid params naming the field', async () => {
    assertInvalidParams(await alice.call(url, 'tasks/send', undefined), 'params');
    assertInvalidParams(await alice.call(url, 'tasks/send', {}), 'params.id');
    assertInvalidParams(await alice.call(url, 'tasks/send', { id: 42, message: v02Message('x') }), 'params.id');
    assertInvalidParams(await alice.call(url, 'tasks/send', { id: clientTaskId() }), 'params.message');
    assertInvalidParams(await alice.call(url, 'tasks/send', { id: clientTaskId(), message: { role: 'user', parts: [{ kind: 'text', text: 'x' }] } }), 'params.message.parts[0].type');
    assertInvalidParams(await alice.call(url, 'tasks/send', { id: clientTaskId(), message: { role: 'user', parts: 'x' } }), 'params.message.parts');
    assertInvalidParams(await alice.call(url, 'tasks/send', { id: clientTaskId(), sessionId: ['s'], message: v02Message('x') }), 'params.sessionId');
    assertInvalidParams(await alice.call(url, 'tasks/sendSubscribe', { id: clientTaskId(), message: null }), 'params.message');
    assertInvalidParams(await alice.call(url, 'tasks/get', {}), 'params.id');
    const array = await alice.call(url, 'tasks/send', [clientTaskId(), v02Message('x')]);
    assert.equal(array.body.error?.code, -32602);
  });

  test('push notifications: the config in tasks/send and the draft push methods answer PushNotificationNotSupported', async () => {
    const id = clientTaskId('push');
    const res = await alice.send(url, id, v02Message('x'), { pushNotification: { url: 'https://example.com/hook' } });
    assert.match(assertRpcError(res.body, -32003).message, /params\.pushNotification/);
    assert.equal((await alice.get(url, id)).body.error?.code, -32001, 'nothing ran');
    for (const method of ['tasks/pushNotification/set', 'tasks/pushNotification/get']) {
      assertRpcError((await alice.call(url, method, { id, pushNotificationConfig: { url: 'https://example.com/hook' } })).body, -32003);
    }
  });

  test('the draft method names do not exist under an A2A-Version', async () => {
    for (const version of ['0.3', '1.0']) {
      const res = await rpc(url, 'tasks/send', { id: clientTaskId(), message: v02Message('x') }, { 'A2A-Version': version, authorization: `Bearer ${keys.alice}` });
      assertRpcError(res.body, -32601);
    }
  });
});
