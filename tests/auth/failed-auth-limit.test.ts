import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressKey, clientAddress } from '../../src/auth/client-address.js';
import { FailedAuthLimit } from '../../src/auth/failed-auth-limit.js';
import { RateLimiter } from '../../src/auth/rate-limit.js';
import { TrustedNetworks } from '../../src/auth/trusted-proxy.js';
import { assertRpcError, errorInfo } from '../e2e/http/helpers.js';
import { metricValue } from '../support/metrics.js';
import { newApiKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: any;
}

/**
 * A JSON-RPC call from a chosen loopback source address (127.0.0.0/8 is all
 * loopback on Linux), so one test can be several clients.
 */
function callFrom(source: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', localAddress: source, agent: false, headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: text === '' ? undefined : JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const statuses = (answers: readonly Answer[]) => answers.map((answer) => answer.status);

describe('RATE_LIMIT_UNAUTHENTICATED: failed authentications per client address', () => {
  let root: string;
  let agent: TestAgent;
  const key = newApiKey();
  const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-failed-auth-'));
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'vapora'), key);
    agent = await startTestAgent({
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      // One token an hour: within the test a bucket holds exactly its burst.
      RATE_LIMIT_UNAUTHENTICATED: '1/h,burst=5',
      // 127.0.0.9 plays a load balancer in front of the agent.
      AUTH_TRUSTED_PROXIES: '127.0.0.9',
    });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a guessing flood gets 401 up to the burst, then 429 with Retry-After, even for a right guess', async () => {
    const flood: Answer[] = [];
    for (let i = 0; i < 12; i++) flood.push(await callFrom('127.0.0.2', agent.url, bearer(newApiKey())));
    assert.deepEqual(statuses(flood), [401, 401, 401, 401, 401, ...Array(7).fill(429)]);
    for (const answer of flood.slice(5)) {
      assert.ok(Number(answer.retryAfter) >= 1, `Retry-After: ${answer.retryAfter}`);
      const error = assertRpcError(answer.body, -32053);
      assert.equal(errorInfo(error).reason, 'RATE_LIMITED');
    }
    // Blocked means the credential is not even looked at: a right guess gets the same 429.
    const rightGuess = await callFrom('127.0.0.2', agent.url, bearer(key));
    assert.equal(rightGuess.status, 429);
    // No credential at all counts the same way.
    assert.equal((await callFrom('127.0.0.2', agent.url)).status, 429);
  });

  test('an authenticated caller at another address is unaffected, and its successes take no token', async () => {
    const served: Answer[] = [];
    for (let i = 0; i < 20; i++) served.push(await callFrom('127.0.0.3', agent.url, bearer(key)));
    assert.deepEqual(statuses(served), Array(20).fill(200));
    // Its own failures have their own bucket: the full burst is still there.
    const own: Answer[] = [];
    for (let i = 0; i < 6; i++) own.push(await callFrom('127.0.0.3', agent.url, bearer(newApiKey())));
    assert.deepEqual(statuses(own), [401, 401, 401, 401, 401, 429]);
    assert.equal((await callFrom('127.0.0.4', agent.url, bearer(key))).status, 200);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.ok((metricValue(text, 'kagent_limited_total', { limit: 'unauthenticated' }) ?? 0) >= 9);
  });

  test('behind a trusted proxy each forwarded client has its own bucket', async () => {
    const viaProxy = (client: string, credential: string) => callFrom('127.0.0.9', agent.url, { ...bearer(credential), 'x-forwarded-for': client });
    const first: Answer[] = [];
    for (let i = 0; i < 6; i++) first.push(await viaProxy('198.51.100.7', newApiKey()));
    assert.deepEqual(statuses(first), [401, 401, 401, 401, 401, 429]);
    // Another client behind the same proxy is not blocked with it.
    assert.equal((await viaProxy('198.51.100.8', key)).status, 200);
    assert.equal((await viaProxy('198.51.100.8', newApiKey())).status, 401);
    // What the client itself put in front of the proxy's entry is not believed.
    assert.equal((await viaProxy('203.0.113.1, 198.51.100.7', key)).status, 429);
  });

  test('from an untrusted peer X-Forwarded-For is ignored: rotating it does not buy a fresh bucket', async () => {
    const rotating: Answer[] = [];
    for (let i = 0; i < 6; i++) rotating.push(await callFrom('127.0.0.5', agent.url, { ...bearer(newApiKey()), 'x-forwarded-for': `198.51.100.${100 + i}` }));
    assert.deepEqual(statuses(rotating), [401, 401, 401, 401, 401, 429]);
  });
});

describe('with authentication off, a metrics token guessed wrong does not shut an address out of A2A', () => {
  let root: string;
  let agent: TestAgent;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-failed-metrics-'));
    writeFileSync(join(root, 'metrics-token'), newApiKey());
    agent = await startTestAgent({ METRICS_TOKEN_FILE: join(root, 'metrics-token'), RATE_LIMIT_UNAUTHENTICATED: '1/h,burst=2' });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  function metricsFrom(source: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(`${agent.url}/metrics`, { localAddress: source, agent: false, headers: { authorization: 'Bearer wrong' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('/metrics goes to 429 for the guessing address; its A2A calls, which need no credential, are still served', async () => {
    const source = '127.0.0.41';
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) answers.push(await metricsFrom(source));
    assert.deepEqual(answers, [401, 401, 429, 429]);
    const a2a = await callFrom(source, agent.url);
    assert.equal(a2a.status, 200, JSON.stringify(a2a.body));
    assert.ok(a2a.body.result, JSON.stringify(a2a.body));
  });
});

describe('the client address and its bucket', () => {
  const facts = (remoteAddress: string, forwardedFor?: string) => ({
    headers: {},
    headersDistinct: forwardedFor === undefined ? {} : { 'x-forwarded-for': [forwardedFor] },
    remoteAddress,
  });
  const proxies = TrustedNetworks.parse(['10.0.0.0/8']);

  test('X-Forwarded-For is walked from the right past trusted proxies only', () => {
    assert.equal(clientAddress(facts('192.0.2.1', '198.51.100.7'), proxies), '192.0.2.1');
    assert.equal(clientAddress(facts('10.0.0.1', '198.51.100.7'), proxies), '198.51.100.7');
    assert.equal(clientAddress(facts('10.0.0.1', '203.0.113.5, 198.51.100.7, 10.0.0.2'), proxies), '198.51.100.7');
    assert.equal(clientAddress(facts('10.0.0.1'), proxies), '10.0.0.1');
    // A forged entry that is no address stops the walk at the proxy that vouched last.
    assert.equal(clientAddress(facts('10.0.0.1', 'not-an-ip, 10.0.0.2'), proxies), '10.0.0.2');
    assert.equal(clientAddress(facts('::ffff:10.0.0.1', '2001:db8::1'), proxies), '2001:db8::1');
  });

  test('IPv6 clients are counted by /64, IPv4-mapped ones as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('2001:db8::1.2.3.4'), '2001:db8:0:0::/64');
  });

  test('the tracked addresses stay bounded under a flood of new ones; idle ones are forgotten first', () => {
    let now = 0;
    const limit = new FailedAuthLimit(new RateLimiter({ perSecond: 1, burst: 2 }, 100, () => now), TrustedNetworks.parse([]));
    for (let i = 0; i < 5000; i++) limit.failed(facts(`198.51.${Math.floor(i / 250)}.${i % 250}`));
    assert.equal(limit.size, 100);
    const blocked = facts('192.0.2.1');
    limit.failed(blocked);
    limit.failed(blocked);
    assert.equal(limit.admit(blocked).allowed, false);
    now += 60_000;
    assert.equal(limit.admit(blocked).allowed, true, 'a bucket refills with time');
    limit.failed(facts('192.0.2.2'));
    assert.ok(limit.size <= 2, `idle, refilled buckets are dropped when room is needed (size ${limit.size})`);
  });
});
