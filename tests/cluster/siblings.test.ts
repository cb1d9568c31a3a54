import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findSiblings, siblingNames, statefulSetName } from '../../src/cluster/siblings.js';
import { waitFor } from '../support/wait.js';
import { freePortDecade, startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

describe('sibling replicas', () => {
  test('the StatefulSet name is the pod name without its ordinal', () => {
    assert.equal(statefulSetName('kagent-3'), 'kagent');
    assert.equal(statefulSetName('my-agent-12'), 'my-agent');
  });

  test('with A2A_REPLICAS the siblings are ordinals 0..N-1 through the template, this pod included', async () => {
    const siblings = await findSiblings({
      pod: 'kagent-1',
      namespace: 'prod',
      headlessService: 'kagent-headless',
      podUrlTemplate: 'http://{pod}.kagent-headless.{namespace}.svc.cluster.local:8080',
      replicas: 3,
    });
    assert.deepEqual(
      siblings.map((s) => s.url),
      [0, 1, 2].map((i) => `http://kagent-${i}.kagent-headless.prod.svc.cluster.local:8080`),
    );
  });

  // No cluster DNS runs here: this resolver stands in for it, answering with
  // SRV records shaped as Kubernetes publishes them for a headless Service.
  test('without A2A_REPLICAS the siblings come from the headless Service SRV records', async () => {
    const asked: string[] = [];
    const siblings = await findSiblings({
      pod: 'kagent-0',
      namespace: 'prod',
      headlessService: 'kagent-headless',
      podUrlTemplate: 'http://{pod}.kagent-headless.{namespace}.svc.cluster.local:8080',
      replicas: undefined,
      resolver: {
        async resolveSrv(name) {
          asked.push(name);
          return [
            { name: 'kagent-1.kagent-headless.prod.svc.cluster.local', port: 8080 },
            { name: 'kagent-0.kagent-headless.prod.svc.cluster.local', port: 8080 },
            { name: 'kagent-1.kagent-headless.prod.svc.cluster.local', port: 8080 },
          ];
        },
      },
    });
    assert.deepEqual(asked, ['_http._tcp.kagent-headless.prod.svc.cluster.local']);
    assert.deepEqual(
      siblings.map((s) => s.pod),
      ['kagent-0', 'kagent-1'],
    );
  });

  test('the names this pod may call: the ordinal range with A2A_REPLICAS, any ordinal of the set with DNS, else itself', () => {
    const counted = siblingNames({ pod: 'kagent-1', replicas: 3, discovered: true });
    assert.deepEqual(['kagent-0', 'kagent-1', 'kagent-2'].map(counted), [true, true, true]);
    for (const name of ['kagent-3', 'kagent-99', 'kagent-01', 'kagent--1', 'Kagent-1', 'other-1', 'kagent', 'kagent-1x', 'kagent-1e2', '2130706433']) {
      assert.equal(counted(name), false, name);
    }
    const discovered = siblingNames({ pod: 'my-agent-0', replicas: undefined, discovered: true });
    assert.equal(discovered('my-agent-57'), true, 'a pod DNS does not list (not ready) still owns its tasks');
    assert.equal(discovered('my-agent-007'), false);
    assert.equal(discovered('my-agent-1234567890'), false);
    assert.equal(discovered('agent-1'), false);
    const alone = siblingNames({ pod: 'laptop', replicas: undefined, discovered: false });
    assert.equal(alone('laptop'), true);
    assert.equal(alone('laptop-1'), false);
  });

  test('outside Kubernetes, without A2A_REPLICAS, there are no siblings', async () => {
    const siblings = await findSiblings({ pod: 'laptop', namespace: undefined, headlessService: 'h', podUrlTemplate: 'http://{pod}', replicas: undefined });
    assert.deepEqual(siblings, []);
  });
});

describe('two replicas discover each other', () => {
  const processes: ServiceProcess[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(processes.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function replica(ordinal: number, ports: { prefix: string; port: (o: number) => number }): Promise<ServiceProcess> {
    const dir = mkdtempSync(join(tmpdir(), `kagent-replica-${ordinal}-`));
    dirs.push(dir);
    const service = await startService(dir, {
      POD_NAME: `kagent-${ordinal}`,
      PORT: String(ports.port(ordinal)),
      A2A_REPLICAS: '2',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
      A2A_DISCOVERY_INTERVAL: '300ms',
    });
    processes.push(service);
    return service;
  }

  async function peers(service: ServiceProcess): Promise<Map<string, string>> {
    const body = (await (await fetch(`${service.url}/peers`)).json()) as { peers: { url: string; state: string; source: string }[] };
    return new Map(body.peers.filter((p) => p.source === 'sibling').map((p) => [p.url, p.state]));
  }

  test('each lists both, goes unreachable when the other stops, and healthy when it returns', async () => {
    const ports = await freePortDecade();
    const urls = [0, 1].map((o) => `http://127.0.0.1:${ports.port(o)}`);
    const first = await replica(0, ports);
    let second = await replica(1, ports);
    for (const service of [first, second]) {
      await waitFor(`${service.url} to list both replicas as healthy`, async () => {
        const seen = await peers(service);
        return seen.get(urls[0]!) === 'healthy' && seen.get(urls[1]!) === 'healthy';
      });
    }

    await second.dispose();
    // One interval is 300 ms; allow a few for the first failure to be noticed.
    await waitFor('the stopped replica to be unreachable', async () => (await peers(first)).get(urls[1]!) === 'unreachable');

    second = await replica(1, ports);
    // Backoff after failures may stretch the wait up to eight intervals.
    await waitFor('the returned replica to be healthy again', async () => (await peers(first)).get(urls[1]!) === 'healthy');
  });
});
