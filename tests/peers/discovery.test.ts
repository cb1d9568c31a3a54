import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PeerDiscovery } from '../../src/peers/discovery.js';
import type { PeerStatus } from '../../src/peers/discovery.js';
import { startTestAgent } from '../support/agent.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { startFakePeer, startSilentPeer } from '../support/fake-peer.js';
import { waitFor } from '../support/wait.js';
import type { FakePeer } from '../support/fake-peer.js';
import { PATIENCE_MS } from '../support/patience.js';
import { freePort, startService } from '../support/service-process.js';
import { scrape } from '../support/metrics.js';

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
    const before = Date.now();
    await discovery.checkAll();
    const status = discovery.get(p.url)!;
    // When the check ended and how long it took, for the console's peer table.
    assert.ok(Date.parse(status.lastCheckAt!) >= before - 1 && Date.parse(status.lastCheckAt!) <= Date.now(), status.lastCheckAt);
    assert.ok(Number.isInteger(status.lastCheckMs) && status.lastCheckMs! >= 0 && status.lastCheckMs! <= Date.now() - before + 1, String(status.lastCheckMs));
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
      await waitFor('the peer to be healthy', () => discovery.get(p.url)?.state === 'healthy');
      await p.close();
      await waitFor('the peer to be unreachable', () => discovery.get(p.url)?.state === 'unreachable');
      const down = discovery.get(p.url)!;
      assert.match(down.lastError ?? '', /ECONNREFUSED|connect/i);
      assert.ok(down.lastErrorAt !== undefined);
      await peer('flaky', port);
      // Backoff doubles the wait after each failure, up to 8 intervals: allow for it.
      await waitFor('the peer to be healthy again', () => discovery.get(p.url)?.state === 'healthy');
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
      await waitFor('VAPORA healthy and the dead peer unreachable in /peers', async () => {
        const body = (await (await fetch(`http://127.0.0.1:${agent.port}/peers`)).json()) as { peers: { url: string; state: string }[] };
        const states = new Map(body.peers.map((x) => [x.url, x.state]));
        return states.get(p.url) === 'healthy' && states.get('http://127.0.0.1:1') === 'unreachable';
      });
      const metrics = await scrape(agent.url);
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
      await waitFor('ready once VAPORA answers', async () => (await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status === 200);
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
      await waitFor('ready once the first VAPORA answers', ready, 10_000);
      // The new VAPORA does not answer: the old one's answer no longer counts.
      configMap.update({ VAPORA_URL: goneUrl, A2A_DISCOVERY_INTERVAL: '100ms' });
      await waitFor('the new VAPORA_URL to apply', async () => agent.config().VAPORA_URL === goneUrl, 10_000);
      await waitFor('not ready while the new VAPORA has not answered', async () => !(await ready()), 10_000);
      configMap.update({ VAPORA_URL: second.url, A2A_DISCOVERY_INTERVAL: '100ms' });
      await waitFor('ready again once the next VAPORA answers', ready, 10_000);
    } finally {
      await agent.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('READY_REQUIRES_VAPORA without VAPORA_URL is refused at start, naming the setting', async () => {
    await assert.rejects(startTestAgent({ READY_REQUIRES_VAPORA: 'true' }), /READY_REQUIRES_VAPORA/);
  });
});

/** Process warnings emitted while `run` goes on (a timer given Infinity or more than 2^31-1 ms warns). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on('warning', listener);
  try {
    await run();
    // Warnings are emitted on the next tick: let any pending one arrive.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

/** Counts the timers created while `run` goes on: a scheduler that spins creates one per turn. */
async function timersDuring(run: () => Promise<void>): Promise<number> {
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') created++;
    },
  });
  hook.enable();
  try {
    await run();
  } finally {
    hook.disable();
  }
  return created;
}

/** Resolves when `condition` holds after a check; the deadline timer is made here, before any counting starts. */
function afterChecks(condition: () => boolean, what: string): { done: Promise<void>; checked: () => void } {
  let checked = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`timed out after ${PATIENCE_MS} ms waiting for ${what}`)), PATIENCE_MS);
    checked = () => {
      if (!condition()) return;
      clearTimeout(deadline);
      resolve();
    };
  });
  return { done, checked };
}

describe('discovery never spins', () => {
  // Short interval and timeout so that a few checks take well under a second; the bounds below
  // are "at most", which a slow machine only makes easier to meet.
  const INTERVAL_MS = 100;
  const TIMEOUT_MS = 300;

  test('a peer that accepts and never answers: one check at a time, each ending at its deadline; no timer storm, no warning', async () => {
    const silent = await startSilentPeer();
    const checks: PeerStatus[] = [];
    // Waited for through the checks themselves: a polling wait would add timers of its own to the count.
    const three = afterChecks(() => checks.length >= 3, 'three checks of the silent peer to end');
    const discovery = new PeerDiscovery({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      jitter: 0,
      onChecked: (peer) => {
        checks.push(peer);
        three.checked();
      },
    });
    discovery.setPeers([{ url: silent.url, source: 'vapora' }]);
    let elapsed = 0;
    let timers = 0;
    try {
      const warnings = await warningsDuring(async () => {
        timers = await timersDuring(async () => {
          const started = Date.now();
          discovery.start();
          // While its only peer is mid-check the scheduler has nothing due: this is where it used to spin.
          await three.done;
          discovery.stop();
          elapsed = Date.now() - started;
        });
      });
      assert.deepEqual(warnings, [], 'no process warning');
      for (const check of checks) {
        assert.equal(check.state, 'unreachable');
        assert.equal(check.lastError, 'timed out');
      }
      // Each check holds one connection until its deadline, and the next starts only after it ended.
      assert.ok(silent.connections <= checks.length + 1, `${silent.connections} connections for ${checks.length} checks`);
      assert.ok(silent.connections <= Math.floor(elapsed / TIMEOUT_MS) + 1, `${silent.connections} checks in ${elapsed} ms with a ${TIMEOUT_MS} ms deadline`);
      // A handful of timers per check (the schedule, the deadline, the HTTP client's own); a spinning scheduler makes hundreds.
      assert.ok(timers <= 10 * (checks.length + 1), `${timers} timers created for ${checks.length} checks`);
    } finally {
      discovery.stop();
      await silent.close();
    }
  });

  test('a silent, a healthy and a down peer together: each checked at most once per interval, no warning', async () => {
    const silent = await startSilentPeer();
    const healthy = await peer('healthy');
    const down = `http://127.0.0.1:${await freePort()}`;
    const checks = new Map<string, PeerStatus[]>();
    const count = (url: string) => checks.get(url)?.length ?? 0;
    const several = afterChecks(() => count(silent.url) >= 3 && count(healthy.url) >= 5 && count(down) >= 3, 'several checks of every peer');
    const discovery = new PeerDiscovery({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      jitter: 0,
      onChecked: (p) => {
        checks.set(p.url, [...(checks.get(p.url) ?? []), p]);
        several.checked();
      },
    });
    discovery.setPeers([
      { url: silent.url, source: 'vapora' },
      { url: healthy.url, source: 'config' },
      { url: down, source: 'config' },
    ]);
    let elapsed = 0;
    let timers = 0;
    try {
      const warnings = await warningsDuring(async () => {
        timers = await timersDuring(async () => {
          const started = Date.now();
          discovery.start();
          await several.done;
          discovery.stop();
          elapsed = Date.now() - started;
        });
      });
      assert.deepEqual(warnings, [], 'no process warning');
      const most = Math.floor(elapsed / INTERVAL_MS) + 1;
      for (const url of [silent.url, healthy.url, down]) assert.ok(count(url) <= most, `${url}: ${count(url)} checks in ${elapsed} ms, at most ${most}`);
      assert.ok(silent.connections <= Math.floor(elapsed / TIMEOUT_MS) + 1, `the silent peer: ${silent.connections} checks in ${elapsed} ms`);
      // One card fetch per check of the healthy peer; a check still in flight at stop() reached the peer but records nothing.
      const fetches = healthy.cardFetches;
      assert.ok(fetches >= count(healthy.url) && fetches <= count(healthy.url) + 1, `${fetches} card fetches for ${count(healthy.url)} checks`);
      assert.ok(checks.get(healthy.url)!.every((p) => p.state === 'healthy'));
      assert.ok(checks.get(down)!.every((p) => p.state === 'unreachable' && /ECONNREFUSED|connect/i.test(p.lastError ?? '')));
      const total = count(silent.url) + count(healthy.url) + count(down);
      assert.ok(timers <= 10 * (total + 1), `${timers} timers created for ${total} checks`);
    } finally {
      discovery.stop();
      await silent.close();
    }
  });

  test('stop() ends a check in flight and records nothing more', async () => {
    const silent = await startSilentPeer();
    const checks: PeerStatus[] = [];
    const discovery = new PeerDiscovery({ intervalMs: INTERVAL_MS, timeoutMs: 600_000, onChecked: (p) => checks.push(p) });
    discovery.setPeers([{ url: silent.url, source: 'vapora' }]);
    try {
      discovery.start();
      await waitFor('the check to connect', () => silent.connections >= 1);
      discovery.stop();
      // The check ended when stop() aborted it (it would otherwise hold its socket for ten minutes).
      await discovery.checkAll();
      assert.equal(discovery.get(silent.url)!.state, 'pending');
    } finally {
      discovery.stop();
      await silent.close();
    }
  });

  test('a service whose VAPORA never answers: bounded checks, no warning on its stderr', async () => {
    const silent = await startSilentPeer();
    const dir = mkdtempSync(join(tmpdir(), 'kagent-silent-vapora-'));
    const service = await startService(dir, { VAPORA_URL: silent.url, A2A_DISCOVERY_INTERVAL: '200ms', LOG_LEVEL: 'error' });
    try {
      const started = Date.now();
      let peers: { url: string; state: string; lastError?: string }[] = [];
      await waitFor('VAPORA to have been checked, and timed out, several times', async () => {
        peers = ((await (await fetch(`${service.url}/peers`)).json()) as { peers: typeof peers }).peers;
        return silent.connections >= 3 && peers[0]?.lastError === 'timed out';
      });
      const elapsed = Date.now() - started;
      assert.equal(peers[0]!.state, 'unreachable');
      // The per-check deadline is the interval (200 ms): at most one check per 200 ms, plus the one at start.
      assert.ok(silent.connections <= Math.floor(elapsed / 200) + 2, `${silent.connections} checks in ${elapsed} ms`);
      assert.doesNotMatch(service.output(), /Warning/, 'the service wrote no process warning');
    } finally {
      await service.dispose();
      await silent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
