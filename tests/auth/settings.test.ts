import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import { ok } from '../e2e/http/helpers.js';
import { startTestAgent } from '../support/agent.js';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import { waitFor } from '../support/wait.js';

describe('auth settings are checked at start', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kagent-auth-settings-'));
    writeFileSync(join(root, 'short-token'), 'abc');
    writeFileSync(join(root, 'secret.jwk'), JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }));
  });

  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['apikey without a key directory', { AUTH_MODE: 'apikey' }, 'AUTH_API_KEYS_DIR', /needs the directory/],
    ['a key directory that does not exist', { AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: '/nonexistent/keys' }, 'AUTH_API_KEYS_DIR', /ENOENT/],
    ['jwt without an issuer', { AUTH_MODE: 'jwt', AUTH_AUDIENCE: 'a', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks' }, 'AUTH_ISSUER', /issuer/],
    ['jwt without an audience', { AUTH_MODE: 'jwt', AUTH_ISSUER: 'i', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks' }, 'AUTH_AUDIENCE', /audience/],
    ['jwt without keys', { AUTH_MODE: 'jwt', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }, 'AUTH_JWKS_URL', /exactly one/],
    ['a symmetric key file', { AUTH_MODE: 'jwt', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', AUTH_JWT_PUBLIC_KEY_FILE: 'secret.jwk' }, 'AUTH_JWT_PUBLIC_KEY_FILE', /symmetric/],
    ['trusted-proxy without proxies', { AUTH_MODE: 'trusted-proxy' }, 'AUTH_TRUSTED_PROXIES', /addresses the proxy connects from/],
    ['a malformed proxy address', { AUTH_MODE: 'trusted-proxy', AUTH_TRUSTED_PROXIES: 'proxy.local' }, 'AUTH_TRUSTED_PROXIES', /not an IP/],
    ['a malformed rate', { RATE_LIMIT: 'lots' }, 'RATE_LIMIT', /20\/s,burst=40/],
    ['a malformed permission', { SKILL_PERMISSIONS: 'cluster-inspect' }, 'SKILL_PERMISSIONS', /skill=scope/],
    ['a short metrics token', { METRICS_TOKEN_FILE: 'short-token' }, 'METRICS_TOKEN_FILE', /at least 16/],
    ['a peer credential directory that does not exist', { A2A_PEER_CREDENTIALS_DIR: '/nonexistent/peers' }, 'A2A_PEER_CREDENTIALS_DIR', /ENOENT/],
  ];
  for (const [what, settings, key, detail] of cases) {
    test(`${what}: the start fails naming ${key}`, async () => {
      const resolved = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, /_FILE$/.test(k) ? join(root, v) : v]));
      await assert.rejects(startTestAgent(resolved), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.key, key);
        assert.match(error.message, detail);
        return true;
      });
    });
  }
});

describe('AUTH_MODE=none, the default', () => {
  test('serves anyone, and says so with a warning at start', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kagent-auth-none-'));
    const service = await startService(join(root, 'data'), { LOG_LEVEL: 'warn' });
    try {
      ok(await rpc(service.url, 'ListTasks', {}));
      const card = (await (await fetch(`${service.url}/.well-known/agent-card.json`)).json()) as any;
      assert.equal(card.capabilities.extendedAgentCard, false);
      assert.equal(card.securitySchemes, undefined);
      await waitFor('the log line "level":"warn".*AUTH_MODE=none', () => /"level":"warn".*AUTH_MODE=none/.test(service.output()));
    } finally {
      await service.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
