import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { rpc, textMessage } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait.js';
import { scrape } from '../support/metrics.js';

/**
 * A POST with each header sent as many times as it has values: fetch would
 * join repeated values into one line, and the point is several lines.
 */
function postRepeatedHeaders(url: string, path: string, headers: Record<string, string | string[]>, body = ''): Promise<{ status: number; headers: Headers; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: body === '' ? 'GET' : 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') answer.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: answer, body: text.startsWith('{') ? JSON.parse(text) : text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The 401 every refused credential gets: a challenge, and a JSON-RPC error envelope that is not a 200. */
async function assertUnauthenticated(res: Response | { status: number; headers: Headers; body: any }, tokenError?: string): Promise<any> {
  assert.equal(res.status, 401);
  const challenge = res.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer realm="kagent"/);
  if (tokenError === undefined) assert.doesNotMatch(challenge, /error=/);
  else assert.match(challenge, new RegExp(`error="${tokenError}"`));
  const body = res instanceof Response ? await res.json() : res.body;
  const error = assertRpcError(body, -32051);
  assert.equal(errorInfo(error).reason, 'UNAUTHENTICATED');
  return error;
}

describe('AUTH_MODE=apikey (a real service process, keys in a Secret-like directory)', () => {
  let root: string;
  let keys: ConfigMapDir;
  let service: ServiceProcess;
  const vapora = newApiKey();
  const ops = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-apikeys-'));
    keys = new ConfigMapDir(join(root, 'keys'));
    keys.update({ vapora, ops });
    service = await startService(join(root, 'data'), {
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: keys.path,
      // Everything the service says, so the test can check no key ever shows.
      LOG_LEVEL: 'debug',
    });
  });

  after(async () => {
    await service?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a request without a credential is 401 with a Bearer challenge and no error code', async () => {
    const res = await rpc(service.url, 'SendMessage', { message: textMessage('hi') });
    const error = await assertUnauthenticated(res);
    assert.match(error.message, /Authorization: Bearer/);
  });

  test('a wrong key is 401 invalid_token, and the answer is the same whatever part of it is wrong', async () => {
    const near = `${vapora.slice(0, -1)}${vapora.endsWith('0') ? '1' : '0'}`;
    const answers: string[] = [];
    for (const wrong of [newApiKey(), near, vapora.slice(0, 20), `${vapora}x`]) {
      const res = await rpc(service.url, 'GetTask', { id: 'kagent-0.x' }, bearer(wrong));
      const error = await assertUnauthenticated(res, 'invalid_token');
      answers.push(JSON.stringify({ error, challenge: res.headers.get('www-authenticate') }));
    }
    assert.equal(new Set(answers).size, 1, `every wrong key must get the same answer: ${answers.join('\n')}`);
  });

  test('a valid key as a bearer token or in X-API-Key is served', async () => {
    const viaBearer = ok(await rpc(service.url, 'SendMessage', { message: textMessage('bearer') }, bearer(vapora)));
    assert.equal(viaBearer.task.status.state, 'TASK_STATE_COMPLETED');
    const viaHeader = ok(await rpc(service.url, 'SendMessage', { message: textMessage('x-api-key') }, { 'A2A-Version': '1.0', 'x-api-key': ops }));
    assert.equal(viaHeader.task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('0.3 methods and the /a2a path are guarded the same way', async () => {
    const message = { kind: 'message', role: 'user', messageId: 'm-03', parts: [{ kind: 'text', text: 'hi' }] };
    await assertUnauthenticated(await rpc(`${service.url}/a2a`, 'message/send', { message }, { 'A2A-Version': '0.3' }));
    const served = ok(await rpc(`${service.url}/a2a`, 'message/send', { message }, { 'A2A-Version': '0.3', authorization: `Bearer ${vapora}` }));
    assert.equal(served.status.state, 'completed');
  });

  test('two credentials at once, or another Authorization scheme, are refused as malformed', async () => {
    await assertUnauthenticated(await rpc(service.url, 'ListTasks', {}, bearer(vapora, { 'x-api-key': ops })), 'invalid_request');
    const basic = Buffer.from(`vapora:${vapora}`).toString('base64');
    await assertUnauthenticated(await rpc(service.url, 'ListTasks', {}, { 'A2A-Version': '1.0', authorization: `Basic ${basic}` }), 'invalid_request');
  });

  test('two Authorization headers are refused as malformed, whichever of them holds a valid key', async () => {
    // Node keeps only the first of several; a proxy in front may have judged the request by another.
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} });
    for (const pair of [[`Bearer ${vapora}`, `Bearer ${newApiKey()}`], [`Bearer ${newApiKey()}`, `Bearer ${vapora}`], [`Bearer ${vapora}`, `Bearer ${ops}`]]) {
      const res = await postRepeatedHeaders(service.url, '/', { 'content-type': 'application/json', 'a2a-version': '1.0', authorization: pair }, body);
      const error = await assertUnauthenticated(res, 'invalid_request');
      assert.match(error.message, /exactly one Authorization header/);
    }
  });

  test('a refused request is answered before its body is read, and the connection stays usable', async () => {
    // Not JSON, and large: the answer is still the 401, not a parse or size error.
    const res = await fetch(service.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(200_000) });
    await assertUnauthenticated(res);
  });

  test('health, readiness and both cards stay open; /peers needs a caller', async () => {
    for (const path of ['/healthz', '/readyz', '/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const res = await fetch(`${service.url}${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    await assertUnauthenticated(await fetch(`${service.url}/peers`));
    const peers = await fetch(`${service.url}/peers`, { headers: { authorization: `Bearer ${ops}` } });
    assert.equal(peers.status, 200);
    assert.ok(Array.isArray(((await peers.json()) as { peers: unknown }).peers));
  });

  test('a key removed from the Secret is refused once the change is read; a new key works', async () => {
    const fresh = newApiKey();
    keys.update({ vapora, fresh });
    await waitFor(
      'the removed key to be refused',
      async () => ((await rpc(service.url, 'ListTasks', {}, bearer(ops))).status === 401 ? true : undefined),
      20_000,
    );
    await waitFor('the new key to be accepted', async () => ((await rpc(service.url, 'ListTasks', {}, bearer(fresh))).status === 200 ? true : undefined), 20_000);
    await assertUnauthenticated(await rpc(service.url, 'ListTasks', {}, bearer(ops)), 'invalid_token');
    ok(await rpc(service.url, 'ListTasks', {}, bearer(vapora)));
  });

  test('no key appears in the logs or the metrics', async () => {
    const metrics = await scrape(service.url);
    assert.match(metrics, /kagent_auth_failures_total\{reason="missing"\} [1-9]/);
    assert.match(metrics, /kagent_auth_failures_total\{reason="rejected"\} [1-9]/);
    for (const key of [vapora, ops]) {
      assert.equal(service.output().includes(key), false, 'a key was logged');
      assert.equal(service.output().includes(key.slice(0, 20)), false, 'part of a key was logged');
      assert.equal(metrics.includes(key), false);
    }
    await waitFor('the log line AUTH_MODE|request not authenticated', () => /AUTH_MODE|request not authenticated/.test(service.output()));
  });
});

describe('METRICS_TOKEN_FILE', () => {
  let root: string;
  let service: ServiceProcess;
  const token = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-metrics-token-'));
    writeFileSync(join(root, 'metrics-token'), `${token}\n`);
    service = await startService(join(root, 'data'), { METRICS_TOKEN_FILE: join(root, 'metrics-token') });
  });

  after(async () => {
    await service?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('/metrics needs the token; A2A calls are unaffected (AUTH_MODE stays none)', async () => {
    const bare = await fetch(`${service.url}/metrics`);
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    await bare.arrayBuffer();
    const wrong = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${newApiKey()}` } });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const right = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /a2a_requests_total|kagent_auth_failures_total/);
    ok(await rpc(service.url, 'ListTasks', {}));
  });

  test('/metrics refuses two Authorization headers, even when the first holds the token', async () => {
    const twice = await postRepeatedHeaders(service.url, '/metrics', { authorization: [`Bearer ${token}`, `Bearer ${newApiKey()}`] });
    assert.equal(twice.status, 401);
  });
});
