import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { AUDIENCE, ISSUER, JwksServer, newSigningKey, signToken } from '../../support/auth.js';
import type { SigningKey } from '../../support/auth.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { textMessage } from '../../support/rpc.js';

// The HTTP+JSON binding faced with what a hostile or confused client sends:
// paths that are no route, methods a route does not take, bodies that are not
// JSON or too large, path segments that try to be something else, and tenant
// prefixes that are not the caller's. Every refusal is a google.rpc.Status.

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function call(url: string, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method, headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text: the assertion below says so
  }
  return { status: res.status, headers: res.headers, body };
}

/** A path sent byte for byte, as fetch would normalize `..` and friends away. */
function rawCall(url: string, method: string, path: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // see call()
        }
        resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function assertStatus(answer: Answer, httpStatus: number, reason: string): any {
  assert.equal(answer.status, httpStatus, JSON.stringify(answer.body));
  assert.equal(answer.body?.error?.code, httpStatus, JSON.stringify(answer.body));
  assert.equal(typeof answer.body.error.status, 'string');
  const info = answer.body.error.details.find((d: { '@type': string }) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
  assert.equal(info?.reason, reason, JSON.stringify(answer.body));
  return info;
}

describe('HTTP+JSON: hostile and confused requests', () => {
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ MAX_BODY_BYTES: '4096' });
  });

  after(async () => {
    await agent.dispose();
  });

  test('a path that is no route: 404 with a Status body', async () => {
    for (const path of ['/nope', '/tasks/a/b/c/d/e', '/message:sendx', '/message', '/tasks/x:explode', '/tasks/:cancel', '/a/b/tasks']) {
      const info = assertStatus(await call(agent.url, 'POST', path, { body: '{}', headers: { 'content-type': 'application/json' } }), 404, 'METHOD_NOT_FOUND');
      assert.equal(info.domain, 'a2a-protocol.org');
    }
  });

  test('a route asked with a method it does not take: 405 naming the methods in Allow', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/message:send', 'POST'],
      ['DELETE', '/tasks', 'GET'],
      ['POST', '/tasks/abc', 'GET'],
      ['GET', '/tasks/abc:cancel', 'POST'],
      ['PUT', '/tasks/abc:subscribe', 'GET, POST'],
      ['PUT', '/tasks/abc/pushNotificationConfigs/c1', 'GET, DELETE'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await call(agent.url, method, path);
      assertStatus(answer, 405, 'HTTP_METHOD_NOT_ALLOWED');
      assert.equal(answer.headers.get('allow'), allow, `${method} ${path}`);
    }
  });

  test('a body that is not JSON, not an object, or not said to be JSON', async () => {
    const json = { 'content-type': 'application/json' };
    assertStatus(await call(agent.url, 'POST', '/message:send', { body: '{"message":', headers: json }), 400, 'PARSE_ERROR');
    assertStatus(await call(agent.url, 'POST', '/message:send', { body: '[1,2]', headers: json }), 400, 'PARSE_ERROR');
    assertStatus(await call(agent.url, 'POST', '/tasks/x:cancel', { body: 'nope', headers: json }), 400, 'PARSE_ERROR');
    // A media type the binding does not read is HTTP's own 415, with the A2A reason.
    assertStatus(await call(agent.url, 'POST', '/message:send', { body: '{}', headers: { 'content-type': 'text/plain' } }), 415, 'CONTENT_TYPE_NOT_SUPPORTED');
    const deep = `{"message":{"metadata":${'['.repeat(500)}${']'.repeat(500)}}}`;
    assertStatus(await call(agent.url, 'POST', '/message:send', { body: deep, headers: json }), 400, 'INVALID_PARAMS');
  });

  test('a body over MAX_BODY_BYTES: 413, before it is parsed', async () => {
    const body = JSON.stringify({ message: textMessage('x'.repeat(8000)) });
    const answer = await call(agent.url, 'POST', '/message:send', { body, headers: { 'content-type': 'application/a2a+json' } });
    assertStatus(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('path segments that try to be something else stay a task id, and find no task', async () => {
    const notFound = async (path: string, id: string) => {
      const info = assertStatus(await rawCall(agent.url, 'GET', path), 404, 'TASK_NOT_FOUND');
      assert.equal(info.metadata.taskId, id, path);
    };
    await notFound('/tasks/a%2Fb', 'a/b');
    await notFound('/tasks/..', '..');
    await notFound('/tasks/%2E%2E', '..');
    await notFound('/tasks/x%3Acancel', 'x:cancel');
    await notFound('/tasks/%3Csvg%3E', '<svg>');
    await notFound(`/tasks/${'a'.repeat(8000)}`, 'a'.repeat(8000));
    // A ':' inside the id is percent-encoded by every client; a second verb is no route.
    assertStatus(await rawCall(agent.url, 'POST', '/tasks/a:cancel:cancel'), 404, 'METHOD_NOT_FOUND');
    assertStatus(await rawCall(agent.url, 'GET', '/tasks/../message:send'), 404, 'METHOD_NOT_FOUND');
    assertStatus(await rawCall(agent.url, 'GET', '/tasks/%E0%A4%A'), 404, 'METHOD_NOT_FOUND');
    assertStatus(await rawCall(agent.url, 'GET', '/tasks//x'), 404, 'METHOD_NOT_FOUND');
    // Past the header limit the server refuses the request line itself (431, or the connection cut while it is still sent).
    const huge = await rawCall(agent.url, 'GET', `/tasks/${'a'.repeat(70_000)}`).then(
      (answer) => answer.status,
      (error: NodeJS.ErrnoException) => error.code,
    );
    assert.ok(huge === 431 || huge === 'ECONNRESET' || huge === 'EPIPE', String(huge));
  });

  test('list query parameters: ProtoJSON integers as strings and enums by number; bad ones name the field', async () => {
    assert.equal((await call(agent.url, 'GET', '/tasks?pageSize=3&status=3&includeArtifacts=true')).status, 200);
    const info = assertStatus(await call(agent.url, 'GET', '/tasks?pageSize=abc'), 400, 'INVALID_PARAMS');
    assert.match(info.metadata.field, /pageSize/);
    assertStatus(await call(agent.url, 'GET', '/tasks?includeArtifacts=yes'), 400, 'INVALID_PARAMS');
    assertStatus(await call(agent.url, 'GET', '/tasks?status=TASK_STATE_NOPE'), 400, 'INVALID_PARAMS');
  });

  test('answers are in the media type the client spoke: application/a2a+json to one that sent or asked for it, application/json to any other', async () => {
    const send = (contentType: string, accept: string) =>
      call(agent.url, 'POST', '/message:send', { body: JSON.stringify({ message: textMessage('typed') }), headers: { 'content-type': contentType, accept } });
    assert.equal((await send('application/json', 'application/a2a+json, application/json')).headers.get('content-type'), 'application/a2a+json');
    assert.equal((await send('application/a2a+json', '*/*')).headers.get('content-type'), 'application/a2a+json');
    assert.equal((await send('application/json', 'application/json')).headers.get('content-type'), 'application/json');
    assert.equal((await send('application/json', '*/*')).headers.get('content-type'), 'application/json');
    // Errors too: a plain client reads a plain JSON error.
    assert.equal((await call(agent.url, 'GET', '/tasks/nope', { headers: { accept: '*/*' } })).headers.get('content-type'), 'application/json');
    assert.equal((await call(agent.url, 'GET', '/tasks/nope', { headers: { accept: 'application/a2a+json' } })).headers.get('content-type'), 'application/a2a+json');
  });

  test('a 0.3 client on these 1.0 routes is told which version they speak', async () => {
    const info = assertStatus(await call(agent.url, 'GET', '/tasks', { headers: { 'A2A-Version': '0.3' } }), 400, 'VERSION_NOT_SUPPORTED');
    assert.equal(info.metadata.supportedVersions, '1.0');
  });

  test('with authentication off every caller is the anonymous one, of no tenant: a tenant prefix is refused', async () => {
    assertStatus(await call(agent.url, 'GET', '/acme/tasks'), 403, 'TENANT_NOT_ALLOWED');
    // 0.3's REST routes lived under /v1, which reads here as a tenant prefix.
    assertStatus(await call(agent.url, 'GET', '/v1/tasks'), 403, 'TENANT_NOT_ALLOWED');
    assert.equal((await call(agent.url, 'GET', '/tasks')).status, 200);
  });
});

describe('HTTP+JSON: the tenant comes from the credential, never from the path', () => {
  let agent: TestAgent;
  let jwks: JwksServer;
  let key: SigningKey;
  const tokenOf = async (org: string) => `Bearer ${await signToken(key, { subject: `user-of-${org}`, claims: { org } })}`;

  before(async () => {
    key = await newSigningKey('tenant-key');
    jwks = await new JwksServer([key.publicJwk]).start();
    agent = await startTestAgent({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_TENANT_CLAIM: 'org' });
  });

  after(async () => {
    await agent?.dispose();
    await jwks?.stop();
  });

  test("a caller reaches its tasks with or without its own tenant prefix; another tenant's prefix is refused, and its tasks stay unseen", async () => {
    const alpha = { authorization: await tokenOf('alpha'), 'content-type': 'application/json' };
    const beta = { authorization: await tokenOf('beta'), 'content-type': 'application/json' };
    const sent = await call(agent.url, 'POST', '/alpha/message:send', { body: JSON.stringify({ message: textMessage('mine') }), headers: alpha });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const id = sent.body.task.id as string;
    assert.equal((await call(agent.url, 'GET', `/tasks/${id}`, { headers: alpha })).body.id, id);
    assert.equal((await call(agent.url, 'GET', `/alpha/tasks/${id}`, { headers: alpha })).body.id, id);

    // Beta names alpha's tenant: refused, whatever the task; under its own name alpha's task does not exist.
    for (const path of [`/alpha/tasks/${id}`, '/alpha/tasks', `/alpha/tasks/${id}:cancel`, `/alpha/tasks/${id}:subscribe`]) {
      const answer = await call(agent.url, path.endsWith('cancel') || path.endsWith('subscribe') ? 'POST' : 'GET', path, { headers: beta });
      const info = assertStatus(answer, 403, 'TENANT_NOT_ALLOWED');
      assert.equal(info.domain, 'kagent.dev');
      assert.doesNotMatch(JSON.stringify(answer.body), new RegExp(id), 'the refusal says nothing of the task');
    }
    assertStatus(await call(agent.url, 'GET', `/beta/tasks/${id}`, { headers: beta }), 404, 'TASK_NOT_FOUND');
    assertStatus(await call(agent.url, 'GET', `/tasks/${id}`, { headers: beta }), 404, 'TASK_NOT_FOUND');
    assert.deepEqual((await call(agent.url, 'GET', '/beta/tasks', { headers: beta })).body.tasks ?? [], []);
    // A tenant in a send's body is held to the same rule.
    const smuggled = await call(agent.url, 'POST', '/message:send', { body: JSON.stringify({ tenant: 'alpha', message: textMessage('x') }), headers: beta });
    assertStatus(smuggled, 403, 'TENANT_NOT_ALLOWED');
  });

  test('a call without a credential: 401 with a challenge, in the Status shape', async () => {
    const answer = await call(agent.url, 'GET', '/tasks');
    assertStatus(answer, 401, 'UNAUTHENTICATED');
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
  });
});
