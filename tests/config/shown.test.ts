import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { shownSettings } from '../../src/config/shown.js';
import { SETTINGS } from '../../src/config/schema.js';
import { startTestAgent } from '../support/agent.js';
import { bearer, newApiKey } from '../support/auth.js';

test('every setting is shown, credentials never: a credential-valued setting is withheld, URL credentials blanked', () => {
  const config = loadConfig({
    env: {
      DATABASE_URL: 'postgres://app:hunter2-secret@db.internal:5432/kagent?password=hunter2-secret',
      VAPORA_URL: 'http://svc:peer-secret@vapora.vapora.svc:8080',
      A2A_PEERS: 'http://a.example, http://b.example',
      DRAIN_TIMEOUT: '20s',
    },
  });
  const shown = shownSettings(config, new Set(['DRAIN_TIMEOUT']));
  assert.deepEqual(shown.map((s) => s.name), Object.keys(SETTINGS));
  const text = JSON.stringify(shown);
  assert.ok(!text.includes('hunter2') && !text.includes('peer-secret'), text);
  const by = (name: string) => shown.find((s) => s.name === name)!;
  assert.equal(by('DATABASE_URL').value, '(set, not shown)');
  assert.equal(by('VAPORA_URL').value, 'http://***@vapora.vapora.svc:8080');
  assert.equal(by('A2A_PEERS').value, 'http://a.example,http://b.example');
  assert.deepEqual(by('DRAIN_TIMEOUT'), { name: 'DRAIN_TIMEOUT', value: '20000ms', default: '20s', live: false, restartPending: true });
  assert.equal(by('OTEL_EXPORTER_OTLP_ENDPOINT').value, undefined);
  assert.equal(by('LOG_LEVEL').live, true);
});

test('GET /settings: this pod and its settings, behind the same authentication as A2A', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kagent-settings-'));
  mkdirSync(join(root, 'keys'));
  const key = newApiKey();
  writeFileSync(join(root, 'keys', 'operator'), key);
  const agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys'), POD_NAME: 'kagent-4' });
  try {
    const refused = await fetch(`${agent.url}/settings`);
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers.get('www-authenticate')), /^Bearer realm=/);
    await refused.arrayBuffer();
    const wrong = await fetch(`${agent.url}/settings`, { headers: bearer(newApiKey()) });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();

    const res = await fetch(`${agent.url}/settings`, { headers: bearer(key) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { pod: { name: string; ordinal: number; podUrl: string }; settings: { name: string; value?: string }[] };
    assert.equal(body.pod.name, 'kagent-4');
    assert.equal(body.pod.ordinal, 4);
    assert.equal(body.pod.podUrl, agent.url);
    assert.equal(body.settings.find((s) => s.name === 'AUTH_MODE')?.value, 'apikey');
    assert.ok(!JSON.stringify(body).includes(key), 'no key in the answer');
  } finally {
    await agent.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});
