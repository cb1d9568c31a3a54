import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PeerDiscovery } from '../../src/peers/discovery.js';
import { startTestAgent } from '../support/agent.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { eventually, startFakePeer } from '../support/fake-peer.js';
import type { FakePeer } from '../support/fake-peer.js';

const peers: FakePeer[] = [];
async function peer(name?: string, port?: number): Promise<FakePeer> {
  const p = await startFakePeer(name, undefined, port);
  peers.push(p);
  return p;
}
after(async () => {
  await Promise.all(peers.map((p) => p.close().catch(() => undefined)));
});

describe('peer discovery', () => {
  test('a reachable peer becomes healthy with its name, versions and skills', async () => {
    const p = await peer('alpha');
    const discovery = new PeerDiscovery({ intervalMs: 60_000 });
    discovery.setPeers([{ url: `${p.url}/`, source: 'config' }]);
    await discovery.checkAll();
    const status = discovery.get(p.url)!;
    assert.equal(status.state, 'healthy');
    assert.equal(status.name, 'alpha');
    assert.deepEqual(status.protocolVersions, ['1.0']);
    assert.deepEqual(status.skills, [{ id: 'summarize', name: 'summarize', tags: ['text'] }]);
    assert.ok(status.lastSeen !== undefined);
  });

  test('the card is fetched again with If-None-Match, and 304 keeps the peer healthy', async () => {
    const p = await peer();
    const discovery = new PeerDiscovery({ intervalMs: 60_000 });
    discovery.setPeers([{ url: p.url, source: 'config' }]);
    await discovery.checkAll();
    await discovery.checkAll();
    assert.equal(p.notModified, 1);
    assert.equal(discovery.get(p.url)!.state, 'healthy');
  });

  test('an agent serving only the 0.2-era card path (as VAPORA does) is discovered', async () => {
    const p = await peer('vapora');
    p.legacyPathOnly = true;
    const discovery = new PeerDiscovery({ intervalMs: 60_000 });
    discovery.setPeers([{ url: p.url, source: 'vapora' }]);
    await discovery.checkAll();
    assert.equal(discovery.get(p.url)!.state, 'healthy');
    assert.equal(discovery.get(p.url)!.name, 'vapora');
  });

  test('a peer that goes away is unreachable within about one interval, and healthy again when it returns', async () => {
    const p = await peer('flaky');
    const port = Number(new URL(p.url).port);
    const discovery = new PeerDiscovery({ intervalMs: 200, jitter: 0 });
    discovery.setPeers([{ url: p.url, source: 'config' }]);
    discovery.start();
    try {
      await eventually(() => discovery.get(p.url)?.state === 'healthy', 'the peer to be healthy');
      await p.close();
      await eventually(() => discovery.get(p.url)?.state === 'unreachable', 'the peer to be unreachable', 2000);
      const down = discovery.get(p.url)!;
      assert.match(down.lastError ?? '', /ECONNREFUSED|connect/i);
      assert.ok(down.lastErrorAt !== undefined);
      await peer('flaky', port);
      // Backoff doubles the wait after each failure, up to 8 intervals: allow for it.
      await eventually(() => discovery.get(p.url)?.state === 'healthy', 'the peer to be healthy again', 4000);
      assert.equal(discovery.get(p.url)!.consecutiveFailures, 0);
    } finally {
      discovery.stop();
    }
  });

  test('a failing peer is retried with backoff, never sooner than the interval', async () => {
    const p = await peer();
    await p.close();
    const discovery = new PeerDiscovery({ intervalMs: 1000, jitter: 0 });
    discovery.setPeers([{ url: p.url, source: 'config' }]);
    await discovery.checkAll();
    let status = discovery.get(p.url)!;
    assert.equal(status.consecutiveFailures, 1);
    assert.ok(Date.parse(status.nextCheckAt) - Date.parse(status.lastErrorAt!) >= 1000 - 5);
    await discovery.checkAll();
    await discovery.checkAll();
    status = discovery.get(p.url)!;
    assert.equal(status.consecutiveFailures, 3);
    assert.ok(Date.parse(status.nextCheckAt) - Date.parse(status.lastErrorAt!) >= 4000 - 5, 'the third failure waits four intervals');
  });

  test('a peer whose card turns unusable is stale and keeps its last good card', async () => {
    const p = await peer('beta');
    const discovery = new PeerDiscovery({ intervalMs: 60_000 });
    discovery.setPeers([{ url: p.url, source: 'config' }]);
    await discovery.checkAll();
    p.override = '{"not":"a card"';
    await discovery.checkAll();
    const status = discovery.get(p.url)!;
    assert.equal(status.state, 'stale');
    assert.equal(status.name, 'beta');
    assert.match(status.lastError ?? '', /not JSON/);
  });

  test('a peer that never gave a usable card is unreachable, not stale', async () => {
    const p = await peer();
    p.override = '[]';
    const discovery = new PeerDiscovery({ intervalMs: 60_000 });
    discovery.setPeers([{ url: p.url, source: 'config' }]);
    await discovery.checkAll();
    assert.equal(discovery.get(p.url)!.state, 'unreachable');
    assert.match(discovery.get(p.url)!.lastError ?? '', /not a JSON object/);
  });
});

describe('discovery in the service', () => {
  test('GET /peers lists the configured peers with their state', async () => {
    const p = await peer('vapora');
    const agent = await startTestAgent({ VAPORA_URL: p.url, A2A_PEERS: 'http://127.0.0.1:1', A2A_DISCOVERY_INTERVAL: '100ms' });
    try {
      await eventually(async () => {
        const body = (await (await fetch(`http://127.0.0.1:${agent.port}/peers`)).json()) as { peers: { url: string; state: string }[] };
        const states = new Map(body.peers.map((x) => [x.url, x.state]));
        return states.get(p.url) === 'healthy' && states.get('http://127.0.0.1:1') === 'unreachable';
      }, 'VAPORA healthy and the dead peer unreachable in /peers');
      const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
      assert.match(metrics, /a2a_peers\{state="healthy"\} 1/);
      assert.match(metrics, /a2a_peers\{state="unreachable"\} 1/);
      assert.match(metrics, /a2a_peer_discovery_duration_seconds_count \d+/);
    } finally {
      await agent.dispose();
    }
  });

  test('with READY_REQUIRES_VAPORA the agent is not ready until VAPORA answered once', async () => {
    const vapora = await peer('vapora');
    const port = Number(new URL(vapora.url).port);
    await vapora.close();
    const agent = await startTestAgent({ VAPORA_URL: vapora.url, READY_REQUIRES_VAPORA: 'true', A2A_DISCOVERY_INTERVAL: '100ms' });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status, 503);
      assert.equal((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status, 200, 'alive while not ready');
      await peer('vapora', port);
      await eventually(async () => (await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status === 200, 'ready once VAPORA answers', 4000);
    } finally {
      await agent.dispose();
    }
  });

  test('with READY_REQUIRES_VAPORA, a live change of VAPORA_URL waits for the new VAPORA to answer', async () => {
    const first = await peer('vapora');
    const gone = await peer('vapora-gone');
    const goneUrl = gone.url;
    await gone.close();
    const second = await peer('vapora-2');
    const dir = mkdtempSync(join(tmpdir(), 'kagent-vapora-change-'));
    const configMap = new ConfigMapDir(join(dir, 'config'));
    configMap.update({ VAPORA_URL: first.url, A2A_DISCOVERY_INTERVAL: '100ms' });
    const agent = await startTestAgent({ READY_REQUIRES_VAPORA: 'true' }, undefined, { configPath: configMap.path, pollMs: 600_000 });
    const ready = async () => (await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status === 200;
    try {
      await eventually(ready, 'ready once the first VAPORA answers', 10_000);
      // The new VAPORA does not answer: the old one's answer no longer counts.
      configMap.update({ VAPORA_URL: goneUrl, A2A_DISCOVERY_INTERVAL: '100ms' });
      await eventually(async () => agent.config().VAPORA_URL === goneUrl, 'the new VAPORA_URL to apply', 10_000);
      await eventually(async () => !(await ready()), 'not ready while the new VAPORA has not answered', 10_000);
      configMap.update({ VAPORA_URL: second.url, A2A_DISCOVERY_INTERVAL: '100ms' });
      await eventually(ready, 'ready again once the next VAPORA answers', 10_000);
    } finally {
      await agent.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('READY_REQUIRES_VAPORA without VAPORA_URL is refused at start, naming the setting', async () => {
    await assert.rejects(startTestAgent({ READY_REQUIRES_VAPORA: 'true' }), /READY_REQUIRES_VAPORA/);
  });
});
