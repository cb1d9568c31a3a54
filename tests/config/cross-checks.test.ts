import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkSettingsTogether } from '../../src/config/cross-checks.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { startFakePeer } from '../support/fake-peer.js';
import { readMetric } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';
import type { FakePeer } from '../support/fake-peer.js';

function refusal(env: Record<string, string>): ConfigError | undefined {
  try {
    checkSettingsTogether(loadConfig({ env }));
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
}

describe('settings that only make sense together', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['readiness on a VAPORA that is not named', { READY_REQUIRES_VAPORA: 'true' }, 'READY_REQUIRES_VAPORA'],
    ['replicas with nowhere to find them', { A2A_REPLICAS: '3' }, 'A2A_REPLICAS'],
    ['headers allowed longer than the whole request', { HEADERS_TIMEOUT: '60s', REQUEST_TIMEOUT: '30s' }, 'HEADERS_TIMEOUT'],
    ['a shared store without a database', { STORE: 'postgres' }, 'DATABASE_URL'],
    ['a first push retry wait longer than the longest', { PUSH_RETRY_BASE: '10m', PUSH_RETRY_MAX: '1m' }, 'PUSH_RETRY_BASE'],
    ['signed push deliveries without a key to sign with', { PUSH_SIGN_DELIVERIES: 'true' }, 'PUSH_SIGN_DELIVERIES'],
    ['a model endpoint without a model', { LLM_URL: 'http://127.0.0.1:9/v1' }, 'LLM_MODEL'],
    ['gRPC on the HTTP port', { PORT: '9000', GRPC_PORT: '9000' }, 'GRPC_PORT'],
    [
      'authenticated per-pod replicas without a shared secret',
      { AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: '/nonexistent', A2A_POD_URL_TEMPLATE: 'http://127.0.0.1:{ordinal}', A2A_REPLICAS: '2' },
      'AUTH_CLUSTER_SECRET_FILE',
    ],
  ];
  for (const [what, env, key] of cases) {
    test(`${what} is refused, naming ${key}`, () => {
      const error = refusal(env);
      assert.equal(error?.key, key, error?.message);
    });
  }

  test('the same settings, completed, pass', () => {
    assert.equal(refusal({ READY_REQUIRES_VAPORA: 'true', VAPORA_URL: 'http://vapora:8080' }), undefined);
    assert.equal(refusal({ A2A_REPLICAS: '3', A2A_POD_URL_TEMPLATE: 'http://127.0.0.1:{ordinal}' }), undefined);
    assert.equal(refusal({ STORE: 'postgres', DATABASE_URL_FILE: '/secrets/db' }), undefined);
    assert.equal(refusal({ LLM_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: 'm' }), undefined);
    assert.equal(refusal({}), undefined);
  });
});

describe('a live change is held to the rules a start applies', () => {
  let dir: string;
  let configMap: ConfigMapDir;
  let vapora: FakePeer;
  let agent: TestAgent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-cross-checks-'));
    configMap = new ConfigMapDir(join(dir, 'config'));
    vapora = await startFakePeer('vapora');
    configMap.update({ READY_REQUIRES_VAPORA: 'true', VAPORA_URL: vapora.url });
    agent = await startTestAgent({}, undefined, { configPath: configMap.path, pollMs: 600_000 });
  });

  after(async () => {
    await agent.dispose();
    await vapora.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('removing VAPORA_URL while readiness requires VAPORA is rejected, and the last good settings stay', async () => {
    const rejected = () => readMetric(`http://127.0.0.1:${agent.port}`, 'kagent_config_reloads_total', { outcome: 'rejected' });
    const before = await rejected();
    configMap.update({ READY_REQUIRES_VAPORA: 'true' });
    await waitFor('the reload to be rejected', async () => (await rejected()) > before);
    assert.equal(agent.config().VAPORA_URL, vapora.url);
    assert.equal(agent.config().READY_REQUIRES_VAPORA, true);
  });
});
