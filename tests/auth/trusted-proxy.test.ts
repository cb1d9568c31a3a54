import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, ok } from '../e2e/http/helpers.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';

const V1 = { 'A2A-Version': '1.0' };

/** A POST whose headers may repeat (fetch would join repeated values into one). */
function postWithHeaders(url: string, method: string, headers: Record<string, string | string[]>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} });
    const target = new URL(url);
    const req = request(
      { host: target.hostname, port: target.port, path: '/', method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('AUTH_MODE=trusted-proxy with loopback listed as the proxy', () => {
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ AUTH_MODE: 'trusted-proxy', AUTH_TRUSTED_PROXIES: '127.0.0.1/32,::1' });
  });

  after(async () => {
    await agent?.dispose();
  });

  test('the header names the caller, and callers stay apart', async () => {
    const alice = { ...V1, 'x-forwarded-user': 'alice@example.com' };
    const bob = { ...V1, 'x-forwarded-user': 'bob@example.com' };
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi') }, alice)).task;
    ok(await rpc(agent.url, 'GetTask', { id: task.id }, alice));
    assertRpcError((await rpc(agent.url, 'GetTask', { id: task.id }, bob)).body, -32001);
    assert.equal(ok(await rpc(agent.url, 'ListTasks', {}, bob)).totalSize, 0);
  });

  test('no header, an empty one or a repeated one is 401', async () => {
    for (const headers of [V1, { ...V1, 'x-forwarded-user': '  ' }]) {
      const res = await rpc(agent.url, 'ListTasks', {}, headers);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      assertRpcError(res.body, -32051);
    }
    const repeated = await postWithHeaders(agent.url, 'ListTasks', { 'x-forwarded-user': ['alice@example.com', 'bob@example.com'] });
    assert.equal(repeated.status, 401);
  });

  test('the Authorization header belongs to the proxy and is not read', async () => {
    const res = await rpc(agent.url, 'ListTasks', {}, { ...V1, 'x-forwarded-user': 'carol', authorization: 'Basic Y2Fyb2w6c2VjcmV0' });
    ok(res);
  });
});

describe('AUTH_MODE=trusted-proxy when the caller is not the proxy', () => {
  let agent: TestAgent;

  before(async () => {
    // The proxy lives elsewhere; loopback is not trusted unless listed.
    agent = await startTestAgent({ AUTH_MODE: 'trusted-proxy', AUTH_TRUSTED_PROXIES: '10.0.0.0/8' });
  });

  after(async () => {
    await agent?.dispose();
  });

  test('an identity header set by the caller itself gets a 401', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: textMessage('let me in') }, { ...V1, 'x-forwarded-user': 'admin' });
    assert.equal(res.status, 401);
    assert.match(assertRpcError(res.body, -32051).message, /through its authenticating proxy/);
  });
});

describe('AUTH_MODE=trusted-proxy with Istio’s x-forwarded-client-cert', () => {
  let agent: TestAgent;
  const SELF = 'By=spiffe://cluster.local/ns/kagent/sa/kagent';
  const xfcc = (uri: string) => `${SELF};Hash=0123abcd;Subject="CN=client,O=Example\\, Inc.";URI=${uri}`;

  before(async () => {
    agent = await startTestAgent({ AUTH_MODE: 'trusted-proxy', AUTH_TRUSTED_PROXIES: '127.0.0.0/8', AUTH_PROXY_HEADER: 'x-forwarded-client-cert' });
  });

  after(async () => {
    await agent?.dispose();
  });

  test('the client SPIFFE id of the last element is the caller; By= (this service) never is', async () => {
    const vapora = { ...V1, 'x-forwarded-client-cert': xfcc('spiffe://cluster.local/ns/vapora/sa/orchestrator') };
    const other = { ...V1, 'x-forwarded-client-cert': xfcc('spiffe://cluster.local/ns/other/sa/default') };
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi') }, vapora)).task;
    ok(await rpc(agent.url, 'GetTask', { id: task.id }, vapora));
    assertRpcError((await rpc(agent.url, 'GetTask', { id: task.id }, other)).body, -32001);
    // An element the client put in front of the proxy's own is not the one that counts.
    const forged = { ...V1, 'x-forwarded-client-cert': `URI=spiffe://cluster.local/ns/vapora/sa/orchestrator,${xfcc('spiffe://cluster.local/ns/other/sa/default')}` };
    assertRpcError((await rpc(agent.url, 'GetTask', { id: task.id }, forged)).body, -32001);
    // A client header that leaves a quote open would swallow the proxy's element (a proxy that appends, as
    // Envoy's APPEND_FORWARD does): the whole header is malformed, not a caller named by the client.
    // Istio's own element, with its empty Subject="". Before, each such header named a caller of the
    // client's choosing (a new one per request: a fresh rate-limit bucket each time).
    const proxyElement = `${SELF};Hash=0123abcd;Subject="";URI=spiffe://cluster.local/ns/other/sa/default`;
    for (const open of ['URI="spiffe://cluster.local/ns/vapora/sa/orchestrator', `URI="spiffe://cluster.local/ns/vapora/sa/orchestrator-${Date.now()}`]) {
      const swallowing = { ...V1, 'x-forwarded-client-cert': `${open},${proxyElement}` };
      assert.equal((await rpc(agent.url, 'ListTasks', {}, swallowing)).status, 401);
    }
    // Only By= and no client identity: refused.
    const res = await rpc(agent.url, 'ListTasks', {}, { ...V1, 'x-forwarded-client-cert': `${SELF};Hash=0123abcd` });
    assert.equal(res.status, 401);
  });

  test('the card declares mutual TLS', async () => {
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as any;
    assert.deepEqual(Object.keys(card.securitySchemes), ['mtls']);
    assert.ok(card.securitySchemes.mtls.mtlsSecurityScheme);
    assert.deepEqual(card.securityRequirements, [{ schemes: { mtls: { list: [] } } }]);
  });
});
