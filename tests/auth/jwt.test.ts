import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, importJWK, SignJWT } from 'jose';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { AUDIENCE, bearer, ISSUER, JwksServer, newSigningKey, signToken, unsignedToken } from '../support/auth.js';
import type { SigningKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { waitFor, within } from '../support/wait.js';

/** 401, a Bearer challenge with error="invalid_token", and the description the token's fault deserves. */
function assertInvalidToken(res: { status: number; headers: Headers; body: any }, description: RegExp): void {
  assert.equal(res.status, 401, JSON.stringify(res.body));
  const challenge = res.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer realm="kagent", error="invalid_token", error_description="[^"]+"$/);
  assert.match(challenge, description);
  const error = assertRpcError(res.body, -32051);
  assert.equal(errorInfo(error).reason, 'UNAUTHENTICATED');
  assert.match(error.message, description);
}

describe('AUTH_MODE=jwt against a JWKS endpoint (a real service process)', () => {
  let root: string;
  let jwks: JwksServer;
  let service: ServiceProcess;
  let rsa: SigningKey;
  let ec: SigningKey;
  let stranger: SigningKey;

  const send = (token: string, text = 'hello') => rpc(service.url, 'SendMessage', { message: textMessage(text) }, bearer(token));

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-jwt-'));
    [rsa, ec, stranger] = await Promise.all([newSigningKey('rsa-1', 'RS256'), newSigningKey('ec-1', 'ES256'), newSigningKey('stranger', 'RS256')]);
    jwks = await new JwksServer([rsa.publicJwk, ec.publicJwk]).start();
    service = await startService(join(root, 'data'), {
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_COOLDOWN: '1s',
      // Keys go stale quickly here, so the outage below is met with a stale cache.
      AUTH_JWKS_MAX_AGE: '1s',
      SKILL_PERMISSIONS: 'manifest-review=kagent:review',
    });
  });

  after(async () => {
    await service?.dispose();
    await jwks?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('valid tokens (RS256 and ES256) are served', async () => {
    assert.equal(ok(await send(await signToken(rsa))).task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(ok(await send(await signToken(ec))).task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('an expired token is 401 invalid_token; one expired within the clock skew is still served', async () => {
    assertInvalidToken(await send(await signToken(rsa, { expiresIn: -120 })), /expired/);
    ok(await send(await signToken(rsa, { expiresIn: -10 })));
  });

  test('a token valid for longer than AUTH_MAX_TOKEN_LIFETIME (24 h by default) is 401; one just inside it is served', async () => {
    assertInvalidToken(await send(await signToken(rsa, { expiresIn: 48 * 3600 })), /longer than this agent accepts/);
    assertInvalidToken(await send(await signToken(rsa, { expiresIn: 1e12 })), /longer than this agent accepts/);
    ok(await send(await signToken(rsa, { expiresIn: 23 * 3600 })));
  });

  test('a token that is not valid yet is 401', async () => {
    assertInvalidToken(await send(await signToken(rsa, { notBefore: 600 })), /not valid yet/);
  });

  test('a token for another audience or from another issuer is 401', async () => {
    assertInvalidToken(await send(await signToken(rsa, { audience: 'some-other-service' })), /not meant for this agent/);
    assertInvalidToken(await send(await signToken(rsa, { issuer: 'https://evil.example' })), /not from the issuer/);
  });

  test('a token signed by a key the issuer does not publish is 401', async () => {
    assertInvalidToken(await send(await signToken(stranger)), /key this agent does not know/);
    // The same kid as a published key, but another key's signature.
    const forged = await signToken({ ...stranger, kid: rsa.kid });
    assertInvalidToken(await send(forged), /signature does not verify/);
  });

  test('alg "none", and HS256 keyed with the public key, are 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'vapora', iat: now, exp: now + 300 };
    assertInvalidToken(await send(unsignedToken(claims)), /algorithm is not accepted|malformed/);
    const pem = await exportSPKI(await publicKeyOf(rsa));
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(pem));
    assertInvalidToken(await send(confused), /algorithm is not accepted/);
  });

  test('a token without exp, or without the principal claim, is 401', async () => {
    const noExp = await new SignJWT({ sub: 'vapora' }).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).sign(rsa.privateKey);
    assertInvalidToken(await send(noExp), /malformed|required claim/);
    const now = Math.floor(Date.now() / 1000);
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now + 300).sign(rsa.privateKey);
    assertInvalidToken(await send(noSub), /does not name its subject/);
    // A subject with control characters (a forged log line, a NUL) names nobody, as a proxy's header would not.
    for (const subject of ['vapora\n{"level":"info","msg":"forged"}', 'vapora\u0000admin']) {
      assertInvalidToken(await send(await signToken(rsa, { subject })), /does not name its subject/);
    }
  });

  test('scopes come from "scope" (space-separated) and "scp" (an array); a missing one is a 403 naming the skill and the scope', async () => {
    const review = (token: string) =>
      rpc(service.url, 'SendMessage', { message: textMessage('review this', { metadata: { skill: 'manifest-review' } }) }, bearer(token));
    ok(await review(await signToken(rsa, { claims: { scope: 'openid kagent:review' } })));
    ok(await review(await signToken(rsa, { claims: { scp: ['kagent:review'] } })));
    const refused = await review(await signToken(rsa, { claims: { scope: 'openid kagent:llm' } }));
    assert.equal(refused.status, 403);
    const error = assertRpcError(refused.body, -32052);
    assert.equal(errorInfo(error).reason, 'SKILL_NOT_ALLOWED');
    assert.deepEqual(errorInfo(error).metadata, { skill: 'manifest-review', requiredScopes: 'kagent:review' });
    assert.match(error.message, /manifest-review.*kagent:review/);
  });

  test('the card declares a JWT bearer scheme; the extended card shows the scope a restricted skill needs', async () => {
    const card = (await (await fetch(`${service.url}/.well-known/agent-card.json`)).json()) as any;
    assert.deepEqual(card.securitySchemes, {
      bearer: { httpAuthSecurityScheme: { description: 'an OAuth 2.0 / OIDC access token (JWT) from the trusted issuer', scheme: 'Bearer', bearerFormat: 'JWT' } },
    });
    assert.equal(card.skills.some((s: any) => s.id === 'manifest-review'), false);
    const extended = ok(await rpc(service.url, 'GetExtendedAgentCard', {}, bearer(await signToken(rsa, { claims: { scope: 'kagent:review' } }))));
    const review = extended.skills.find((s: any) => s.id === 'manifest-review');
    assert.deepEqual(review.securityRequirements, [{ schemes: { bearer: { list: ['kagent:review'] } } }]);
    const plain = ok(await rpc(service.url, 'GetExtendedAgentCard', {}, bearer(await signToken(rsa))));
    assert.equal(plain.skills.some((s: any) => s.id === 'manifest-review'), false);
  });

  test('a key added to the JWKS (rotation) is fetched when a token names it', async () => {
    const rotated = await newSigningKey('rsa-2', 'RS256');
    jwks.keys = [...jwks.keys, rotated.publicJwk];
    const token = await signToken(rotated);
    // Within the refetch cooldown an unknown kid is refused without a fetch; after it, one fetch finds the key.
    await waitFor('the rotated key to be accepted', async () => ((await send(token)).status === 200 ? true : undefined), 20_000, 250);
  });

  test('with the JWKS endpoint failing or down, callers whose key is cached are still served', async () => {
    const before = jwks.fetches;
    assert.ok(before >= 1, 'the service fetched the keys');
    jwks.failing = true;
    // Served all along, until the stale key set has been refreshed in the background and the refresh failed.
    let served = 0;
    await waitFor(
      'a refresh of the stale keys to be tried',
      async () => {
        ok(await send(await signToken(rsa), `while the issuer fails ${served++}`));
        return jwks.fetches > before ? true : undefined;
      },
      20_000,
      250,
    );
    ok(await send(await signToken(rsa), 'after the failed refresh'));
    await jwks.stop();
    for (let i = 0; i < 5; i++) ok(await send(await signToken(rsa), `while the issuer is down ${i}`));
    // An unknown key now cannot be looked up: refused, promptly, and the known keys keep working.
    const unknown = await within(15_000, 'an unknown-key token to be refused', send(await signToken(stranger)));
    assert.equal(unknown.status, 401);
    ok(await send(await signToken(ec)));
  });
});

async function publicKeyOf(key: SigningKey): Promise<Parameters<typeof exportSPKI>[0]> {
  return (await importJWK(key.publicJwk, 'RS256', { extractable: true })) as Parameters<typeof exportSPKI>[0];
}

describe('AUTH_MODE=jwt with a static key file', () => {
  let root: string;
  let agent: TestAgent;
  let key: SigningKey;
  let other: SigningKey;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-jwt-file-'));
    [key, other] = await Promise.all([newSigningKey('file-1', 'RS256'), newSigningKey('file-2', 'RS256')]);
    writeFileSync(join(root, 'issuer.pem'), await exportSPKI(await publicKeyOf(key)));
    agent = await startTestAgent({
      AUTH_MODE: 'jwt',
      AUTH_JWT_PUBLIC_KEY_FILE: join(root, 'issuer.pem'),
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_TENANT_CLAIM: 'org',
    });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a token signed by the file key is served; any other key is 401', async () => {
    ok(await rpc(agent.url, 'ListTasks', {}, bearer(await signToken(key, { claims: { org: 'team-a' } }))));
    assertInvalidToken(await rpc(agent.url, 'ListTasks', {}, bearer(await signToken(other, { claims: { org: 'team-a' } }))), /signature does not verify/);
  });

  test('the tenant claim scopes tasks: the same subject in another tenant sees none of them', async () => {
    const teamA = bearer(await signToken(key, { subject: 'alice', claims: { org: 'team-a' } }));
    const teamB = bearer(await signToken(key, { subject: 'alice', claims: { org: 'team-b' } }));
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('tenant a') }, teamA)).task;
    ok(await rpc(agent.url, 'GetTask', { id: task.id }, teamA));
    assertRpcError((await rpc(agent.url, 'GetTask', { id: task.id }, teamB)).body, -32001);
    // Without the tenant claim the token is refused rather than put in the empty tenant.
    assertInvalidToken(await rpc(agent.url, 'ListTasks', {}, bearer(await signToken(key, { subject: 'alice' }))), /malformed/);
  });
});
