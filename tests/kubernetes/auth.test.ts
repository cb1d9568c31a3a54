// prod and prod-shared run with authentication on, their credentials mounted
// from Secrets the operator creates (none is rendered, none comes through the
// environment); dev and base keep AUTH_MODE=none. The prod settings, with the
// Secret volumes stood in by files, start a real agent that refuses a caller
// without a key.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { AllowList } from '../../src/peers/egress/index.js';
import { startTestAgent } from '../support/agent.js';
import { bearer, newApiKey } from '../support/auth.js';
import { rpc, textMessage } from '../support/rpc.js';
import type { KubeObject } from './manifests.js';
import { kustomizeTargets, only, renderAll } from './manifests.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let rendered: Map<string, KubeObject[]>;

before(() => {
  if (kustomize.skip === false) rendered = renderAll();
});

interface Pod {
  objects: KubeObject[];
  container: IContainer;
  volumes: IVolume[];
  /** The container's plain env values (the auth settings are plain values; secrets are files). */
  env: Record<string, string>;
  configMap: Record<string, string>;
}

function podOf(target: string): Pod {
  const objects = rendered.get(target)!;
  const spec = only<IStatefulSet>(objects, 'StatefulSet', 'kagent').spec!.template.spec!;
  const container = spec.containers.find((c) => c.name === 'agent')!;
  const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  return { objects, container, volumes: spec.volumes ?? [], env, configMap: only<IConfigMap>(objects, 'ConfigMap', 'kagent-config').data ?? {} };
}

/** The Secret volume mounted, whole and read-only, at exactly this directory. */
function secretDirectory(pod: Pod, path: string): NonNullable<IVolume['secret']> {
  const mount = pod.container.volumeMounts?.find((m) => m.mountPath === path);
  assert.ok(mount, `nothing is mounted at ${path}`);
  assert.equal(mount.readOnly, true, `${path} is not read-only`);
  // A subPath mount is a copy the kubelet never updates: a rotated key would never arrive.
  assert.equal(mount.subPath, undefined, `${path} is a subPath mount`);
  const volume = pod.volumes.find((v) => v.name === mount.name);
  assert.ok(volume?.secret?.secretName, `${path} is not a Secret volume`);
  return volume.secret;
}

const PROD = ['overlays/prod', 'overlays/prod-shared'];

describe('prod overlays run with authentication on', kustomize, () => {
  test('every overlay named prod* is covered here', () => {
    assert.deepEqual(kustomizeTargets().filter((t) => t.startsWith('overlays/prod')), PROD);
  });

  for (const target of PROD) {
    describe(target, () => {
      test('AUTH_MODE is apikey (or apikey+jwt), and the loaded config says so', () => {
        const pod = podOf(target);
        assert.ok(['apikey', 'apikey+jwt'].includes(pod.env.AUTH_MODE ?? ''), `AUTH_MODE=${pod.env.AUTH_MODE}`);
        const config = loadConfig({ file: { path: 'kagent-config', values: pod.configMap }, env: pod.env });
        assert.equal(config.AUTH_MODE, pod.env.AUTH_MODE);
      });

      test('the console stays on, behind that authentication', () => {
        const pod = podOf(target);
        const config = loadConfig({ file: { path: 'kagent-config', values: pod.configMap }, env: pod.env });
        assert.equal(config.CONSOLE, true);
        assert.notEqual(config.AUTH_MODE, 'none');
      });

      test('AUTH_API_KEYS_DIR is a whole Secret mounted there: every key of it is a principal', () => {
        const pod = podOf(target);
        const secret = secretDirectory(pod, pod.env.AUTH_API_KEYS_DIR!);
        assert.equal(secret.secretName, 'kagent-api-keys');
        assert.equal(secret.items, undefined, 'items would hide keys added later');
        assert.notEqual(secret.optional, true, 'without its keys the pod must not start');
      });

      test('AUTH_CLUSTER_SECRET_FILE is a key of a Secret mounted in its directory (required: 5 replicas with per-pod stores relay callers)', () => {
        const pod = podOf(target);
        const file = pod.env.AUTH_CLUSTER_SECRET_FILE;
        assert.ok(file, 'AUTH_CLUSTER_SECRET_FILE is not set');
        const secret = secretDirectory(pod, dirname(file));
        assert.equal(secret.secretName, 'kagent-cluster-secret');
        assert.ok(secret.items?.some((item) => item.path === basename(file)), `no item of the Secret is mounted as ${basename(file)}`);
        assert.notEqual(secret.optional, true);
      });

      test('A2A_PEER_CREDENTIALS_DIR is a whole, optional Secret mounted there', () => {
        const pod = podOf(target);
        const secret = secretDirectory(pod, pod.env.A2A_PEER_CREDENTIALS_DIR!);
        assert.equal(secret.secretName, 'kagent-peer-credentials');
        assert.equal(secret.items, undefined);
        assert.equal(secret.optional, true, 'a deployment without peers needs no credentials');
      });

      test('every *_FILE and *_DIR setting names a mounted Secret path; no Secret is rendered or read into the environment', () => {
        const pod = podOf(target);
        for (const [name, value] of Object.entries(pod.env)) {
          if (name.endsWith('_FILE')) secretDirectory(pod, dirname(value));
          else if (name.endsWith('_DIR') && name !== 'DATA_DIR') secretDirectory(pod, value);
        }
        assert.deepEqual(pod.objects.filter((o) => o.kind === 'Secret'), [], 'Secrets are the operator\'s, never committed');
        const fromSecrets = (pod.container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef !== undefined).map((e) => e.name);
        assert.deepEqual(fromSecrets, [], 'secrets reach the agent as files, not environment variables');
        assert.ok(!(pod.container.envFrom ?? []).some((e) => e.secretRef !== undefined));
      });

      test('per-caller limits are on: a rate, running tasks and open streams per principal', () => {
        const pod = podOf(target);
        const config = loadConfig({ file: { path: 'kagent-config', values: pod.configMap }, env: pod.env });
        assert.notEqual(config.RATE_LIMIT, '', 'RATE_LIMIT');
        assert.ok(config.MAX_TASKS_PER_PRINCIPAL !== undefined, 'MAX_TASKS_PER_PRINCIPAL');
        assert.ok(config.MAX_STREAMS_PER_PRINCIPAL !== undefined, 'MAX_STREAMS_PER_PRINCIPAL');
      });

      test("EGRESS_ALLOW admits VAPORA_URL's host, so VAPORA's card may name an in-cluster address", () => {
        const pod = podOf(target);
        const config = loadConfig({ file: { path: 'kagent-config', values: pod.configMap }, env: pod.env });
        const vapora = new URL(config.VAPORA_URL!).hostname;
        // The guard's own allowlist decides.
        assert.ok(new AllowList(config.EGRESS_ALLOW).admitsHost(vapora), `${vapora} is not in EGRESS_ALLOW (${config.EGRESS_ALLOW.join(', ')})`);
      });
    });
  }
});

describe('dev and base keep authentication off', kustomize, () => {
  for (const target of ['base', 'overlays/dev']) {
    test(target, () => {
      const pod = podOf(target);
      assert.equal(loadConfig({ file: { path: 'kagent-config', values: pod.configMap }, env: pod.env }).AUTH_MODE, 'none');
      assert.equal(pod.volumes.filter((v) => v.secret !== undefined).length, 0, 'no Secret to create for a development cluster');
    });
  }
});

describe("prod's settings start a real agent that authenticates, its Secrets stood in by files", kustomize, () => {
  let root: string;
  const key = newApiKey();

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kagent-prod-auth-'));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  /** prod's ConfigMap and auth settings, with each Secret path moved under the temporary root. */
  function prodSettings(withClusterSecret: boolean): Record<string, string> {
    const pod = podOf('overlays/prod');
    const settings: Record<string, string> = { ...pod.configMap, LOG_LEVEL: 'silent' };
    for (const [name, value] of Object.entries(pod.env)) {
      if (!/^AUTH_|^A2A_PEER_CREDENTIALS_DIR$/.test(name)) continue;
      settings[name] = name.endsWith('_FILE') || name.endsWith('_DIR') ? join(root, value) : value;
    }
    mkdirSync(settings.AUTH_API_KEYS_DIR!, { recursive: true });
    writeFileSync(join(settings.AUTH_API_KEYS_DIR!, 'vapora'), `${key}\n`);
    mkdirSync(settings.A2A_PEER_CREDENTIALS_DIR!, { recursive: true });
    mkdirSync(dirname(settings.AUTH_CLUSTER_SECRET_FILE!), { recursive: true });
    writeFileSync(settings.AUTH_CLUSTER_SECRET_FILE!, newApiKey() + newApiKey());
    if (!withClusterSecret) delete settings.AUTH_CLUSTER_SECRET_FILE;
    // Five replicas with per-pod stores, found at addresses nobody listens on.
    return { ...settings, POD_NAME: 'kagent-0', A2A_REPLICAS: '5', A2A_POD_URL_TEMPLATE: 'http://127.0.0.1:9/{pod}' };
  }

  test('a caller without a key gets 401; the key of the principal vapora is served', async () => {
    const agent = await startTestAgent(prodSettings(true));
    try {
      const url = `http://127.0.0.1:${agent.port}`;
      assert.equal((await rpc(url, 'SendMessage', { message: textMessage('hi') })).status, 401);
      const served = await rpc(url, 'SendMessage', { message: textMessage('hi') }, bearer(key));
      assert.equal(served.status, 200, JSON.stringify(served.body));
    } finally {
      await agent.dispose();
    }
  });

  test('without the cluster secret the replicas could not relay callers: the start fails naming AUTH_CLUSTER_SECRET_FILE', async () => {
    await assert.rejects(startTestAgent(prodSettings(false)), (error: unknown) => error instanceof ConfigError && error.key === 'AUTH_CLUSTER_SECRET_FILE');
  });
});
