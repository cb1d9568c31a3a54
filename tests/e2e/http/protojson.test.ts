import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertInvalidParams, ok } from './helpers.js';

// What a ProtoJSON writer (the official SDKs, protobuf's own JSON printers) may
// put on the wire besides the canonical form: enum numbers, int32 as strings,
// URL-safe or unpadded base64. Every parser accepts them, and so do we.
describe('ProtoJSON inputs over HTTP', () => {
  let agent: TestAgent;
  let url: string;
  const contextId = `ctx-protojson-${Math.random().toString(36).slice(2)}`;
  const ids: string[] = [];

  before(async () => {
    agent = await startTestAgent();
    url = agent.url;
    for (let i = 0; i < 4; i++) {
      // role 1 is ROLE_USER in a2a.proto.
      const message = textMessage(`turn ${i}`, { role: 1, contextId, metadata: { skill: 'echo' } });
      ids.push(ok(await rpc(url, 'SendMessage', { message })).task.id);
    }
  });

  after(async () => {
    await agent.dispose();
  });

  test('a message whose role is the enum number 1 is a user message', async () => {
    const task = ok(await rpc(url, 'GetTask', { id: ids[0] }));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(task.history[0].role, 'ROLE_USER');
  });

  test('ListTasks takes status: 3 (COMPLETED) and pageSize: "3"', async () => {
    const page = ok(await rpc(url, 'ListTasks', { contextId, status: 3, pageSize: '3' }));
    assert.equal(page.tasks.length, 3);
    assert.equal(page.pageSize, 3);
    assert.equal(page.totalSize, 4);
    for (const task of page.tasks) assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(ok(await rpc(url, 'ListTasks', { contextId, status: 4 })).tasks.length, 0, 'status 4 is FAILED: none');
  });

  test('GetTask takes historyLength: "0" and historyLength: "1"', async () => {
    assert.equal(ok(await rpc(url, 'GetTask', { id: ids[0], historyLength: '0' })).history, undefined);
    assert.equal(ok(await rpc(url, 'GetTask', { id: ids[0], historyLength: '1' })).history.length, 1);
  });

  test('bytes sent URL-safe and unpadded come back as standard padded base64', async () => {
    // 0xfb 0xff 0xbf 0x68 0x69: URL-safe "-_-_aGk" is standard "+/+/aGk=".
    const message = { role: 'ROLE_USER', messageId: `m-raw-${Math.random()}`, parts: [{ raw: '-_-_aGk', mediaType: 'application/octet-stream' }], metadata: { skill: 'echo' } };
    const task = ok(await rpc(url, 'SendMessage', { message })).task;
    assert.equal(task.history[0].parts[0].raw, '+/+/aGk=');
    assert.equal(task.artifacts[0].parts[0].raw, '+/+/aGk=');
  });

  test('an enum number outside the proto, or a string that is no integer, is still -32602 naming the field', async () => {
    assertInvalidParams(await rpc(url, 'ListTasks', { status: 42 }), 'params.status');
    assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: '3 tasks' }), 'params.pageSize');
    assertInvalidParams(await rpc(url, 'SendMessage', { message: textMessage('x', { role: 7 }) }), 'params.message.role');
  });
});
