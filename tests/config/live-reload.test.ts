import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { startFakePeer } from '../support/fake-peer.js';
import { readMetric } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';
import type { FakePeer } from '../support/fake-peer.js';

interface Mounted {
  configMap: ConfigMapDir;
  peer: FakePeer;
  agent: TestAgent;
}

/**
 * An agent of its own for one test, reading a mounted ConfigMap that names a
 * fake peer: no test depends on what another changed. `data` completes the
 * ConfigMap's keys (the peer's URL is added as A2A_PEERS).
 */
async function mounted(t: TestContext, data: Record<string, string> = {}): Promise<Mounted> {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-configmap-'));
  const configMap = new ConfigMapDir(join(dir, 'config'));
  const peer = await startFakePeer('vapora');
  configMap.update({ A2A_DISCOVERY_INTERVAL: '1h', A2A_PEERS: peer.url, TASK_RETENTION: '7d', ...data });
  // A long poll interval: a change must arrive through the file watch, as it does in a pod.
  const agent = await startTestAgent({}, undefined, { configPath: configMap.path, pollMs: 600_000 });
  t.after(async () => {
    await agent.dispose();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { configMap, peer, agent };
}

describe('settings from a mounted ConfigMap, applied live', () => {
  test('settings are read from the mounted directory at start', async (t) => {
    const { agent, peer } = await mounted(t);
    assert.equal(agent.config().A2A_DISCOVERY_INTERVAL, 3_600_000);
    assert.deepEqual(agent.config().A2A_PEERS, [peer.url]);
    await waitFor('the first discovery of the configured peer', () => peer.cardFetches >= 1);
  });

  test('a new discovery interval, swapped in as the kubelet does, takes effect without a restart', async (t) => {
    const { agent, peer, configMap } = await mounted(t);
    await waitFor('the first discovery', () => peer.cardFetches >= 1);
    const before = peer.cardFetches;
    configMap.update({ A2A_DISCOVERY_INTERVAL: '100ms', A2A_PEERS: peer.url, TASK_RETENTION: '7d' });
    await waitFor('the new interval to be applied', () => agent.config().A2A_DISCOVERY_INTERVAL === 100);
    // At the old pace (1h) no second fetch would come; at the new one, several do.
    await waitFor('discovery at the new pace', () => peer.cardFetches >= before + 3);
    assert.equal(await readMetric(agent.url, 'kagent_config_reloads_total', { outcome: 'applied' }), 1);
  });

  test('a bad value on reload keeps the last good settings and is counted', async (t) => {
    const { agent, peer, configMap } = await mounted(t, { A2A_DISCOVERY_INTERVAL: '100ms' });
    configMap.update({ A2A_DISCOVERY_INTERVAL: 'soon', A2A_PEERS: peer.url, TASK_RETENTION: '7d' });
    await waitFor('the rejected reload to be counted', async () => (await readMetric(agent.url, 'kagent_config_reloads_total', { outcome: 'rejected' })) === 1);
    assert.equal(agent.config().A2A_DISCOVERY_INTERVAL, 100);
    const fetches = peer.cardFetches;
    await waitFor('discovery to keep its pace', () => peer.cardFetches > fetches);
    const ready = await fetch(`http://127.0.0.1:${agent.port}/readyz`);
    assert.equal(ready.status, 200);
  });

  test('a changed restart-only setting waits for a restart, and says so', async (t) => {
    const { agent, peer, configMap } = await mounted(t, { A2A_DISCOVERY_INTERVAL: '100ms' });
    configMap.update({ A2A_DISCOVERY_INTERVAL: '100ms', A2A_PEERS: peer.url, TASK_RETENTION: '1d' });
    // A live key that changes in the same update shows the update was read.
    configMap.update({ A2A_DISCOVERY_INTERVAL: '150ms', A2A_PEERS: peer.url, TASK_RETENTION: '1d' });
    await waitFor('the live change', () => agent.config().A2A_DISCOVERY_INTERVAL === 150);
    assert.equal(agent.config().TASK_RETENTION, 7 * 24 * 3_600_000);
    assert.equal(await readMetric(agent.url, 'kagent_config_restart_pending', { setting: 'TASK_RETENTION' }), 1);
    // GET /settings (the console's view) says the same: the value in force, and the edit waiting.
    const shown = (await (await fetch(`${agent.url}/settings`)).json()) as { settings: { name: string; value: string; restartPending: boolean }[] };
    const retention = shown.settings.find((s) => s.name === 'TASK_RETENTION');
    assert.deepEqual(retention && { value: retention.value, restartPending: retention.restartPending }, { value: '604800000ms', restartPending: true });
    assert.equal(shown.settings.find((s) => s.name === 'A2A_DISCOVERY_INTERVAL')?.restartPending, false);
  });

  test('a restart-only setting the environment pins is still reported when the file changes', async (t) => {
    // The manifests pass restart-only keys both ways; an edit of the file must not go unnoticed.
    const dir = mkdtempSync(join(tmpdir(), 'kagent-configmap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pinnedDir = new ConfigMapDir(join(dir, 'pinned'));
    pinnedDir.update({ DRAIN_TIMEOUT: '20s' });
    const pinned = await startTestAgent({ DRAIN_TIMEOUT: '20s' }, undefined, { configPath: pinnedDir.path, pollMs: 600_000 });
    try {
      pinnedDir.update({ DRAIN_TIMEOUT: '5s' });
      await waitFor('the pinned restart-only edit to be reported', async () => (await readMetric(pinned.url, 'kagent_config_restart_pending', { setting: 'DRAIN_TIMEOUT' })) === 1);
      assert.equal(pinned.config().DRAIN_TIMEOUT, 20_000);
    } finally {
      await pinned.dispose();
    }
  });

  test('peers follow the list: a removed peer is no longer discovered', async (t) => {
    const { agent, peer, configMap } = await mounted(t, { A2A_DISCOVERY_INTERVAL: '100ms' });
    // A second peer stays: its fetches are the discovery rounds that the removed one must miss.
    const staying = await startFakePeer('staying');
    t.after(() => staying.close());
    configMap.update({ A2A_DISCOVERY_INTERVAL: '100ms', A2A_PEERS: staying.url, TASK_RETENTION: '7d' });
    await waitFor('the removed peer to leave the list', () => agent.discovery.list().every((p) => p.url !== peer.url) && agent.discovery.list().length === 1);
    const fetches = peer.cardFetches;
    const rounds = staying.cardFetches;
    await waitFor('three discovery rounds after the change', () => staying.cardFetches >= rounds + 3);
    assert.ok(peer.cardFetches <= fetches + 1, `a removed peer is not polled any more (${peer.cardFetches - fetches} fetches since)`);
  });
});
