import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyAgentCardSignature } from '@a2a-js/sdk';
import type { AgentCard } from '@a2a-js/sdk';
import { calculateJwkThumbprint } from 'jose';
import type { JWK } from 'jose';
import { ConfigError } from '../../src/config/load.js';
import { verifyCardSignature } from '../../src/peers/client/index.js';
import { ok } from '../e2e/http/helpers.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { bearer, newApiKey } from '../support/auth.js';
import { joseVerifyCard, writeCardKey } from '../support/card-keys.js';
import type { CardKeyFiles } from '../support/card-keys.js';
import { rpc } from '../support/rpc.js';

const V1_PATH = '/.well-known/agent-card.json';
const V03_PATH = '/.well-known/agent.json';
const JWKS_PATH = '/.well-known/jwks.json';

async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return res.json();
}

function header(card: any): Record<string, unknown> {
  return JSON.parse(Buffer.from(card.signatures[0].protected, 'base64url').toString('utf8'));
}

/** The official SDK's verifier, taking the key from the JWKS the signature's jku names (here: the agent's own, on loopback). */
function sdkVerifier(jkuMustBe: string) {
  return verifyAgentCardSignature(async (kid, jku) => {
    assert.equal(jku, jkuMustBe);
    const set = (await getJson(jku!)) as { keys: JWK[] };
    const key = set.keys.find((k) => k.kid === kid);
    if (key === undefined) throw new Error(`no key ${kid}`);
    return createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  });
}

describe('signed agent cards', () => {
  let root: string;
  let agent: TestAgent;
  let key: CardKeyFiles;
  let other: CardKeyFiles;
  const apiKey = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-card-signing-'));
    key = writeCardKey(root, 'card', 'ec');
    other = writeCardKey(root, 'other', 'ec');
    const keys = join(root, 'api-keys');
    mkdirp(keys);
    writeFileSync(join(keys, 'alice'), apiKey);
    agent = await startTestAgent({ CARD_SIGNING_KEY_FILE: key.privateFile, AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: keys, AGENT_NAME: 'signed' });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('the 1.0 card carries one ES256 JWS naming kid (the RFC 7638 thumbprint), typ JOSE and our JWKS, and the official SDK verifies it', async () => {
    const card = await getJson(agent.url + V1_PATH);
    assert.equal(card.signatures.length, 1);
    assert.deepEqual(Object.keys(card.signatures[0]).sort(), ['protected', 'signature']);
    const thumbprint = await calculateJwkThumbprint(key.publicJwk, 'sha256');
    assert.deepEqual(header(card), { alg: 'ES256', typ: 'JOSE', kid: thumbprint, jku: agent.url + JWKS_PATH });
    await sdkVerifier(agent.url + JWKS_PATH)(card as AgentCard);
    await joseVerifyCard(card, key.publicKey);
  });

  test('the JWKS holds the public key only, with kid, alg and use, and revalidates like the card', async () => {
    const res = await fetch(agent.url + JWKS_PATH);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/jwk-set+json');
    const set = (await res.json()) as { keys: JWK[] };
    assert.equal(set.keys.length, 1);
    const [jwk] = set.keys;
    assert.equal(jwk!.d, undefined, 'no private part');
    assert.deepEqual({ kid: jwk!.kid, alg: jwk!.alg, use: jwk!.use, x: jwk!.x }, { kid: await calculateJwkThumbprint(key.publicJwk), alg: 'ES256', use: 'sig', x: key.publicJwk.x });
    const etag = res.headers.get('etag')!;
    assert.equal((await fetch(agent.url + JWKS_PATH, { headers: { 'if-none-match': etag } })).status, 304);
  });

  test('the 0.3 card is signed the same way and verifies with plain jose over an independently computed canonical form', async () => {
    const card = await getJson(agent.url + V03_PATH);
    assert.equal(card.protocolVersion, '0.3.0');
    const protectedHeader = await joseVerifyCard(card, key.publicKey);
    assert.equal(protectedHeader.kid, header(await getJson(agent.url + V1_PATH)).kid);
    await verifyCardSignature(card, key.publicKey, 'the test agent');
  });

  test('the extended card (1.0 and 0.3) is signed too, and the official SDK verifies the 1.0 one', async () => {
    const extended = ok(await rpc(agent.url, 'GetExtendedAgentCard', {}, bearer(apiKey)));
    assert.equal(extended.name, 'signed');
    await sdkVerifier(agent.url + JWKS_PATH)(extended as AgentCard);
    const v03 = ok(await rpc(agent.url, 'agent/getAuthenticatedExtendedCard', undefined, { 'A2A-Version': '0.3', authorization: `Bearer ${apiKey}` }));
    assert.equal(v03.protocolVersion, '0.3.0');
    await joseVerifyCard(v03, key.publicKey);
  });

  test('a card with one field changed fails verification, in the SDK and in our client', async () => {
    const card = await getJson(agent.url + V1_PATH);
    for (const tampered of [
      { ...card, name: 'evil' },
      { ...card, supportedInterfaces: [{ url: 'http://attacker.invalid', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] },
      { ...card, capabilities: { ...card.capabilities, streaming: false } },
    ]) {
      await assert.rejects(sdkVerifier(agent.url + JWKS_PATH)(tampered as AgentCard), /No valid signatures/);
      await assert.rejects(verifyCardSignature(tampered, key.publicKey, 'the test agent'), (error: any) => error.kind === 'untrusted-card' && /does not match the card/.test(error.message));
    }
    const v03 = await getJson(agent.url + V03_PATH);
    await assert.rejects(joseVerifyCard({ ...v03, url: 'http://attacker.invalid' }, key.publicKey));
  });

  test('another key does not verify the card', async () => {
    const card = await getJson(agent.url + V1_PATH);
    const wrong = verifyAgentCardSignature(async () => other.publicKey);
    await assert.rejects(wrong(card as AgentCard), /No valid signatures/);
    await assert.rejects(verifyCardSignature(card, other.publicKey), (error: any) => error.kind === 'untrusted-card');
  });

  test("a signature claiming alg 'none' (or an HMAC) is refused", async () => {
    const card = await getJson(agent.url + V1_PATH);
    const forged = (alg: string, signature = '') => ({
      ...card,
      signatures: [{ protected: Buffer.from(JSON.stringify({ ...header(card), alg })).toString('base64url'), signature }],
    });
    await assert.rejects(verifyCardSignature(forged('none'), key.publicKey), (error: any) => error.kind === 'untrusted-card' && /algorithm "none" is not accepted/.test(error.message));
    await assert.rejects(verifyCardSignature(forged('HS256', 'AAAA'), key.publicKey), /algorithm "HS256" is not accepted/);
    await assert.rejects(sdkVerifier(agent.url + JWKS_PATH)(forged('none') as AgentCard), /No valid signatures/);
    // A card with no signature at all is refused when a key is required.
    await assert.rejects(verifyCardSignature({ ...card, signatures: [] }, key.publicKey), /not signed/);
  });

  test('signed cards keep their ETag: the same bytes on every fetch, and If-None-Match gets 304', async () => {
    for (const path of [V1_PATH, V03_PATH]) {
      const first = await fetch(agent.url + path);
      const body = await first.text();
      const etag = first.headers.get('etag')!;
      const second = await fetch(agent.url + path);
      assert.equal(await second.text(), body, 'signed once, not per request');
      assert.equal(second.headers.get('etag'), etag);
      assert.equal((await fetch(agent.url + path, { headers: { 'if-none-match': etag } })).status, 304);
    }
  });
});

describe('card signing keys of other kinds', () => {
  let root: string;
  const agents: TestAgent[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kagent-card-keys-'));
  });

  after(async () => {
    for (const agent of agents) await agent.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test("an Ed25519 JWK signs with EdDSA under the JWK's own kid; the SDK verifies it", async () => {
    const key = writeCardKey(root, 'ed', 'ed25519', 'jwk', { kid: 'card-2026' });
    const agent = await startTestAgent({ CARD_SIGNING_KEY_FILE: key.privateFile });
    agents.push(agent);
    const card = await getJson(agent.url + V1_PATH);
    assert.deepEqual([header(card).alg, header(card).kid], ['EdDSA', 'card-2026']);
    await sdkVerifier(agent.url + JWKS_PATH)(card as AgentCard);
  });

  test('an RSA key signs with RS256 under CARD_SIGNING_KEY_ID', async () => {
    const key = writeCardKey(root, 'rsa', 'rsa');
    const agent = await startTestAgent({ CARD_SIGNING_KEY_FILE: key.privateFile, CARD_SIGNING_KEY_ID: 'rsa-1' });
    agents.push(agent);
    const card = await getJson(agent.url + V1_PATH);
    assert.deepEqual([header(card).alg, header(card).kid], ['RS256', 'rsa-1']);
    assert.equal(((await getJson(agent.url + JWKS_PATH)) as { keys: JWK[] }).keys[0]!.kid, 'rsa-1');
    await sdkVerifier(agent.url + JWKS_PATH)(card as AgentCard);
  });

  test('without a signing key the card has no signatures and there is no JWKS', async () => {
    const agent = await startTestAgent();
    agents.push(agent);
    assert.equal('signatures' in (await getJson(agent.url + V1_PATH)), false);
    assert.equal((await fetch(agent.url + JWKS_PATH)).status, 404);
  });
});

describe('a card signing key that cannot be used refuses the start, naming the setting', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kagent-card-badkeys-'));
    writeFileSync(join(root, 'garbage.pem'), '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n');
    const ec = writeCardKey(root, 'public-only', 'ec');
    writeFileSync(join(root, 'public.pem'), ec.publicKey.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(root, 'public.jwk'), JSON.stringify(ec.publicJwk));
    // Malformed JSON around the private part: the refusal must not echo it.
    writeFileSync(join(root, 'broken.jwk'), '{"kty":"EC","crv":"P-256","d": PRIVATEPARTNOTQUOTED}');
    writeFileSync(join(root, 'secret.jwk'), JSON.stringify({ kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0', d: 'x' }));
    writeFileSync(join(root, 'rsa1024.pem'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(root, 'k256.pem'), generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['a file that does not exist', { CARD_SIGNING_KEY_FILE: 'missing.pem' }, 'CARD_SIGNING_KEY_FILE', /ENOENT/],
    ['a malformed PEM', { CARD_SIGNING_KEY_FILE: 'garbage.pem' }, 'CARD_SIGNING_KEY_FILE', /not a usable private key/],
    ['a public key (PEM)', { CARD_SIGNING_KEY_FILE: 'public.pem' }, 'CARD_SIGNING_KEY_FILE', /not a usable private key/],
    ['a public JWK', { CARD_SIGNING_KEY_FILE: 'public.jwk' }, 'CARD_SIGNING_KEY_FILE', /no private part/],
    ['a JWK that is not JSON, not quoted back', { CARD_SIGNING_KEY_FILE: 'broken.jwk' }, 'CARD_SIGNING_KEY_FILE', /^(?!.*PRIVATE).*not valid JSON/s],
    ['a symmetric JWK', { CARD_SIGNING_KEY_FILE: 'secret.jwk' }, 'CARD_SIGNING_KEY_FILE', /symmetric/],
    ['a 1024-bit RSA key', { CARD_SIGNING_KEY_FILE: 'rsa1024.pem' }, 'CARD_SIGNING_KEY_FILE', /too short/],
    ['a curve JWS does not sign with', { CARD_SIGNING_KEY_FILE: 'k256.pem' }, 'CARD_SIGNING_KEY_FILE', /secp256k1/],
    ['a key id without a key', { CARD_SIGNING_KEY_ID: 'k1' }, 'CARD_SIGNING_KEY_ID', /CARD_SIGNING_KEY_FILE is not/],
  ];
  for (const [what, settings, setting, detail] of cases) {
    test(`${what}: ${setting}`, async () => {
      const resolved = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, k.endsWith('_FILE') ? join(root, v) : v]));
      await assert.rejects(startTestAgent(resolved), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.key, setting);
        assert.match(error.message, detail);
        return true;
      });
    });
  }
});

function mkdirp(dir: string): void {
  mkdirSync(dir, { recursive: true });
}
