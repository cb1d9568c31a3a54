import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { postRaw, rpc, textMessage } from '../../support/rpc.js';
import { assertInvalidParams, assertRpcError, errorInfo, ok, rawPost, totalTasks } from './helpers.js';

const MAX_BODY = 4096;
const JSON_HEADERS = { 'content-type': 'application/json', 'A2A-Version': '1.0' };

describe('JSON-RPC error handling over HTTP', () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent({ MAX_BODY_BYTES: String(MAX_BODY) });
    url = agent.url;
    // One stored task, so "nothing was stored" is checked against a non-empty store.
    ok(await rpc(url, 'SendMessage', { message: textMessage('seed') }));
  });

  after(async () => {
    await agent.dispose();
  });

  async function post(body: string, headers: Record<string, string> = JSON_HEADERS) {
    const res = await postRaw(url, body, headers);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return { status: res.status, body: JSON.parse(res.text) };
  }

  describe('envelope', () => {
    test('malformed JSON is -32700 with a null id', async () => {
      const res = await post('{"jsonrpc":"2.0","id":7,"method":"GetTask",');
      assert.equal(res.status, 200);
      const error = assertRpcError(res.body, -32700, null);
      assert.equal(errorInfo(error).reason, 'PARSE_ERROR');
    });

    test('an empty body is -32700', async () => {
      assertRpcError((await post('')).body, -32700, null);
    });

    test('an array (batch) body is -32600', async () => {
      const res = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }]));
      const error = assertRpcError(res.body, -32600, null);
      assert.match(error.message, /batch/);
    });

    test('a body that is JSON but not an object is -32600', async () => {
      for (const body of ['"GetTask"', '42', 'null', 'true']) {
        const res = await post(body);
        assertRpcError(res.body, -32600, null);
      }
    });

    test('a missing or wrong jsonrpc member is -32600 and the id is echoed', async () => {
      const missing = await post(JSON.stringify({ id: 'r-1', method: 'GetTask', params: { id: 'x' } }));
      assert.match(assertRpcError(missing.body, -32600, 'r-1').message, /jsonrpc/);
      const wrong = await post(JSON.stringify({ jsonrpc: '1.0', id: 12, method: 'GetTask', params: { id: 'x' } }));
      assertRpcError(wrong.body, -32600, 12);
    });

    test('a missing or empty method is -32600', async () => {
      const missing = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, params: {} }));
      assert.match(assertRpcError(missing.body, -32600, 3).message, /method/);
      const empty = await post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: '' }));
      assertRpcError(empty.body, -32600, 4);
      const notString = await post(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 17 }));
      assertRpcError(notString.body, -32600, 5);
    });

    test('params that are not an object or an array are -32600', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'GetTask', params: 'x' }));
      assert.match(assertRpcError(res.body, -32600, 'p').message, /params/);
    });

    test('params given by position (an array) are -32602 naming params', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'GetTask', params: ['x'] }));
      const error = assertRpcError(res.body, -32602, 'p');
      assert.match(error.message, /not an array/);
      assert.equal(errorInfo(error).reason, 'INVALID_PARAMS');
    });

    test('a request without an id is answered (A2A has no notifications) with -32600 saying the id is missing', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', method: 'GetTask', params: { id: 'x' } }));
      assert.match(assertRpcError(res.body, -32600, null).message, /"id" is missing/);
    });

    test('an unknown method is -32601 naming it', async () => {
      const res = await rpc(url, 'tasks/doSomething', {});
      assert.equal(res.status, 200);
      const error = assertRpcError(res.body, -32601, res.body.id);
      assert.match(error.message, /tasks\/doSomething/);
      assert.equal(errorInfo(error).reason, 'METHOD_NOT_FOUND');
      const noHeader = await rpc(url, 'NoSuchMethod', {}, {});
      assertRpcError(noHeader.body, -32601);
    });

    test('the id of a request is echoed on errors, strings and numbers alike', async () => {
      const withString = await post(JSON.stringify({ jsonrpc: '2.0', id: 'abc-123', method: 'GetTask', params: { id: 'nope' } }));
      assertRpcError(withString.body, -32001, 'abc-123');
      const withNumber = await post(JSON.stringify({ jsonrpc: '2.0', id: 991, method: 'GetTask', params: { id: 'nope' } }));
      assertRpcError(withNumber.body, -32001, 991);
    });
  });

  describe('invalid params name the offending field', () => {
    test('SendMessage without a message', async () => {
      const error = assertInvalidParams(await rpc(url, 'SendMessage', {}), 'params.message');
      assert.match(error.message, /params\.message/);
    });

    test('SendMessage with no params at all', async () => {
      assertInvalidParams(await rpc(url, 'SendMessage'), 'params');
    });

    test('a message with no parts', async () => {
      const error = assertInvalidParams(await rpc(url, 'SendMessage', { message: textMessage('x', { parts: [] }) }), 'params.message.parts');
      assert.match(error.message, /at least one part/);
    });

    test('a message with a 0.3-style role', async () => {
      const error = assertInvalidParams(await rpc(url, 'SendMessage', { message: textMessage('x', { role: 'user' }) }), 'params.message.role');
      assert.match(error.message, /ROLE_USER/);
    });

    test('a message from the agent role is refused, naming params.message.role', async () => {
      const res = await rpc(url, 'SendMessage', { message: textMessage('x', { role: 'ROLE_AGENT' }) });
      const error = assertInvalidParams(res, 'params.message.role');
      assert.match(error.message, /role/);
    });

    test('a part with two contents', async () => {
      const message = textMessage('x', { parts: [{ text: 'a' }, { text: 'b', data: { k: 1 } }] });
      const error = assertInvalidParams(await rpc(url, 'SendMessage', { message }), 'params.message.parts[1]');
      assert.match(error.message, /text and data/);
    });

    test('a part with no content', async () => {
      const message = textMessage('x', { parts: [{ mediaType: 'text/plain' }] });
      assertInvalidParams(await rpc(url, 'SendMessage', { message }), 'params.message.parts[0]');
    });

    test('a message without a messageId', async () => {
      const message = { role: 'ROLE_USER', parts: [{ text: 'x' }] };
      assertInvalidParams(await rpc(url, 'SendMessage', { message }), 'params.message.messageId');
    });

    test('a text part whose text is not a string', async () => {
      const message = textMessage('x', { parts: [{ text: 5 }] });
      assertInvalidParams(await rpc(url, 'SendMessage', { message }), 'params.message.parts[0].text');
    });

    test('returnImmediately that is not a boolean', async () => {
      const params = { message: textMessage('x'), configuration: { returnImmediately: 'yes' } };
      assertInvalidParams(await rpc(url, 'SendMessage', params), 'params.configuration.returnImmediately');
    });

    test('GetTask with a negative historyLength', async () => {
      const error = assertInvalidParams(await rpc(url, 'GetTask', { id: 'whatever', historyLength: -1 }), 'params.historyLength');
      assert.match(error.message, /-1/);
    });

    test('GetTask without an id', async () => {
      assertInvalidParams(await rpc(url, 'GetTask', {}), 'params.id');
    });

    test('ListTasks pageSize outside 1..100', async () => {
      assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: 0 }), 'params.pageSize');
      assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: 101 }), 'params.pageSize');
      assertInvalidParams(await rpc(url, 'ListTasks', { pageSize: 2.5 }), 'params.pageSize');
    });

    test('ListTasks with an unknown status', async () => {
      const error = assertInvalidParams(await rpc(url, 'ListTasks', { status: 'TASK_STATE_BOGUS' }), 'params.status');
      assert.match(error.message, /TASK_STATE_BOGUS/);
    });

    test('ListTasks with a page token the server never issued', async () => {
      assertInvalidParams(await rpc(url, 'ListTasks', { pageToken: 'not-a-token' }), 'params.pageToken');
    });

    test('snake_case names are read as their camelCase fields', async () => {
      assertInvalidParams(await rpc(url, 'ListTasks', { page_size: 0 }), 'params.pageSize');
    });

    test('an unknown skill names params.message.metadata.skill', async () => {
      const res = await rpc(url, 'SendMessage', { message: textMessage('x', { metadata: { skill: 'no-such-skill' } }) });
      const error = assertInvalidParams(res, 'params.message.metadata.skill', 'UNKNOWN_SKILL');
      assert.match(error.message, /no-such-skill/);
    });
  });

  describe('transport refusals', () => {
    test('Content-Type text/plain is -32005 even when the body is not JSON', async () => {
      const res = await post('this is not json {', { 'content-type': 'text/plain', 'A2A-Version': '1.0' });
      assert.notEqual(res.body.error?.code, -32700);
      const error = assertRpcError(res.body, -32005, null);
      assert.match(error.message, /text\/plain/);
    });

    test('a missing Content-Type is -32005', async () => {
      const res = await fetch(url, { method: 'POST', body: new Uint8Array(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"GetTask"}')) });
      assertRpcError((await res.json()) as any, -32005);
    });

    test('application/*+json is accepted as JSON', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'nope' } }), {
        'content-type': 'application/a2a+json; charset=utf-8',
        'A2A-Version': '1.0',
      });
      assertRpcError(res.body, -32001, 1);
    });

    test('an unsupported A2A-Version is -32009', async () => {
      const res = await rpc(url, 'SendMessage', { message: textMessage('x') }, { 'A2A-Version': '99.0' });
      const error = assertRpcError(res.body, -32009);
      assert.match(error.message, /99\.0/);
      assert.equal(errorInfo(error).reason, 'VERSION_NOT_SUPPORTED');
    });

    test('an empty A2A-Version header means 0.3 (spec 3.6.2): a 0.3 name is served, a 1.0 name is -32601', async () => {
      assertRpcError((await rpc(url, 'tasks/get', { id: 'nope' }, { 'A2A-Version': '' })).body, -32001);
      const res = await rpc(url, 'GetTask', { id: 'nope' }, { 'A2A-Version': '' });
      assert.match(assertRpcError(res.body, -32601).message, /A2A-Version: 1\.0/);
    });

    test('A2A-Version with a patch number is the same version', async () => {
      const res = await rpc(url, 'GetTask', { id: 'nope' }, { 'A2A-Version': '1.0.1' });
      assertRpcError(res.body, -32001);
    });
  });

  describe('body size limit', () => {
    const oversized = () =>
      JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'SendMessage', params: { message: textMessage('y'.repeat(MAX_BODY * 3)) } });

    function assertTooLarge(res: { status: number; text: string }): void {
      assert.equal(res.status, 413);
      const body = JSON.parse(res.text);
      const error = assertRpcError(body, -32600, null);
      const info = errorInfo(error);
      assert.equal(info.reason, 'PAYLOAD_TOO_LARGE');
      assert.equal(info.metadata.limitBytes, String(MAX_BODY));
    }

    test('a body over the limit with Content-Length is 413 / -32600 and stores nothing', async () => {
      const before = await totalTasks(url);
      const res = await rawPost(url, [Buffer.from(oversized())], JSON_HEADERS, { chunked: false });
      assertTooLarge(res);
      assert.equal(await totalTasks(url), before);
    });

    test('a chunked body that grows over the limit is 413 / -32600 and stores nothing', async () => {
      const before = await totalTasks(url);
      const body = Buffer.from(oversized());
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += 512) chunks.push(body.subarray(i, i + 512));
      const res = await rawPost(url, chunks, JSON_HEADERS, { chunked: true });
      assertTooLarge(res);
      assert.equal(await totalTasks(url), before);
    });

    test('a client still sending an oversized chunked body receives the 413 answer, not a reset', async () => {
      // The answer goes out while the client is still writing. Closing the
      // connection with unread request bytes makes the kernel send a reset,
      // which can reach the client before it reads the answer; the race is
      // lost only now and then, so it is run many times.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < 30; i++) {
        let outcome: string;
        try {
          outcome = String((await rawPost(url, [chunk, chunk, chunk, chunk], JSON_HEADERS, { chunked: true })).status);
        } catch (error) {
          outcome = (error as NodeJS.ErrnoException).code ?? String(error);
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      assert.deepEqual(outcomes, { '413': 30 });
    });

    test('a body just under the limit is served', async () => {
      const envelope = (text: string) =>
        JSON.stringify({ jsonrpc: '2.0', id: 'fits', method: 'SendMessage', params: { message: textMessage(text, { messageId: 'fits-1' }) } });
      const overhead = Buffer.byteLength(envelope(''));
      const body = envelope('z'.repeat(MAX_BODY - overhead));
      assert.equal(Buffer.byteLength(body), MAX_BODY);
      const chunked = await rawPost(url, [Buffer.from(body.slice(0, 1000)), Buffer.from(body.slice(1000))], JSON_HEADERS, { chunked: true });
      assert.equal(chunked.status, 200);
      assert.equal(JSON.parse(chunked.text).result.task.status.state, 'TASK_STATE_COMPLETED');
    });
  });

  describe('unknown fields', () => {
    test('are neither echoed back nor stored', async () => {
      const message = {
        ...textMessage('keep me'),
        bogusField: 'drop me',
        kind: 'message',
        parts: [{ text: 'keep me', alsoBogus: 42 }],
      };
      const sent = ok(await rpc(url, 'SendMessage', { message, surplus: true, configuration: { unknownOption: 1 } }));
      const check = (task: any) => {
        const user = task.history.find((m: any) => m.role === 'ROLE_USER');
        assert.ok(user, 'the user message is in the history');
        assert.equal(user.bogusField, undefined);
        assert.equal(user.kind, undefined);
        assert.deepEqual(user.parts, [{ text: 'keep me' }]);
        assert.deepEqual(task.artifacts[0].parts, [{ text: 'keep me' }]);
        assert.equal(JSON.stringify(task).includes('bogus'), false);
        assert.equal(JSON.stringify(task).includes('drop me'), false);
      };
      check(sent.task);
      check(ok(await rpc(url, 'GetTask', { id: sent.task.id })));
    });
  });

  test('after all of the above the agent still serves requests', async () => {
    const sent = ok(await rpc(url, 'SendMessage', { message: textMessage('still alive') }));
    assert.equal(sent.task.status.state, 'TASK_STATE_COMPLETED');
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
  });
});
