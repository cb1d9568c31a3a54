// The manifests agree with the code they run: every setting they pass exists and
// parses with the service's own loader, live settings are not pinned by the
// environment, the probes hit routes the server serves, the ports and paths
// match, and the image is the one this package builds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { loadConfig, parseDuration, readSettingsPath, SKILLS_KEY } from '../../src/config/load.js';
import { parseSkillsFile } from '../../src/config/skills-file.js';
import { SETTINGS } from '../../src/config/schema.js';
import type { SettingName } from '../../src/config/schema.js';
import { startTestAgent } from '../support/agent.js';
import { assertNoWarnings } from '../support/process-warnings.js';
import { ConfigMapVolume } from './configmap-volume.js';
import { readDockerfile } from './dockerfile.js';
import type { KubeObject } from './manifests.js';
import { kustomizeTargets, only, ofKind, REPO_ROOT, renderAll } from './manifests.js';
import { needKustomize } from '../support/prerequisites.js';
import { PATIENCE_MS } from '../support/patience.js';
import { once } from 'node:events';
import { connect } from 'node:net';
import { within } from '../support/wait.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; scripts: Record<string, string> };
const LIVE = new Set(Object.entries(SETTINGS).filter(([, spec]) => spec.live).map(([name]) => name));
const isSetting = (name: string): name is SettingName => Object.hasOwn(SETTINGS, name);
/** The ConfigMap's settings: every key but skills.yaml, the skills file. */
const settingsOf = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).filter(([key]) => key !== SKILLS_KEY));

let rendered: Map<string, KubeObject[]>;
const volumes: ConfigMapVolume[] = [];

before(() => {
  if (kustomize.skip === false) rendered = renderAll();
});

after(() => {
  for (const volume of volumes) volume.dispose();
});

interface Pod {
  objects: KubeObject[];
  statefulSet: IStatefulSet;
  container: IContainer;
  configMap: IConfigMap & { data: Record<string, string> };
}

function podOf(target: string): Pod {
  const objects = rendered.get(target)!;
  const statefulSet = only<IStatefulSet>(objects, 'StatefulSet', 'kagent');
  const container = statefulSet.spec!.template.spec!.containers.find((c) => c.name === 'agent');
  assert.ok(container, `${target}: the StatefulSet has no container named agent`);
  const configMap = only<IConfigMap & { data: Record<string, string> }>(objects, 'ConfigMap', 'kagent-config');
  return { objects, statefulSet, container, configMap };
}

/**
 * The environment the kubelet would give the container, with the names each
 * variable came from. fieldRefs resolve for the first pod, kagent-0.
 */
function podEnvironment({ objects, statefulSet, container }: Pod): Record<string, string> {
  const env: Record<string, string> = {};
  const configMapData = (name: string) => {
    const found = ofKind<IConfigMap>(objects, 'ConfigMap').find((c) => c.metadata?.name === name);
    assert.ok(found, `the container refers to ConfigMap ${name}, which is not rendered`);
    return found.data ?? {};
  };
  for (const source of container.envFrom ?? []) {
    assert.ok(source.configMapRef, `envFrom other than a ConfigMap cannot be checked: ${JSON.stringify(source)}`);
    for (const [key, value] of Object.entries(configMapData(source.configMapRef.name!))) env[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from === undefined) env[variable.name] = variable.value ?? '';
    else if (from.configMapKeyRef !== undefined) {
      const value = configMapData(from.configMapKeyRef.name!)[from.configMapKeyRef.key];
      assert.ok(value !== undefined || from.configMapKeyRef.optional === true, `${variable.name}: ConfigMap ${from.configMapKeyRef.name} has no key ${from.configMapKeyRef.key}`);
      if (value !== undefined) env[variable.name] = value;
    } else if (from.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = `${statefulSet.metadata!.name}-0`;
    else if (from.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = statefulSet.metadata!.namespace!;
    else assert.fail(`${variable.name}: a source this test cannot resolve: ${JSON.stringify(from)}`);
  }
  return env;
}

function mountedConfigMap(pod: Pod): ConfigMapVolume {
  const volume = new ConfigMapVolume(pod.configMap.data);
  volumes.push(volume);
  return volume;
}

/** The port number a probe or Service targets: a number, or the name of a container port. */
function resolvePort(container: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

const probesOf = (container: IContainer) =>
  (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).map((kind) => [kind, container[kind]] as [string, IProbe | undefined]);

for (const target of kustomizeTargets()) {
  describe(target, kustomize, () => {
    test('every ConfigMap key is a setting of the service', () => {
      const unknown = Object.keys(settingsOf(podOf(target).configMap.data)).filter((key) => !isSetting(key));
      assert.deepEqual(unknown, [], `not settings: ${unknown.join(', ')}`);
    });

    test('the ConfigMap, mounted as the kubelet mounts it, loads with the service loader, alone and with the pod environment', () => {
      const pod = podOf(target);
      const volume = mountedConfigMap(pod);
      const values = readSettingsPath(volume.dir);
      assert.deepEqual(values, settingsOf(pod.configMap.data), 'the service reads back exactly the ConfigMap data (the skills file apart)');
      const file = { path: volume.dir, values };
      assert.doesNotThrow(() => loadConfig({ file }));
      assert.doesNotThrow(() => loadConfig({ file, env: podEnvironment(pod) }));
    });

    test('no live setting comes from the environment, so every live key follows the ConfigMap', () => {
      const pod = podOf(target);
      const env = podEnvironment(pod);
      const pinned = Object.keys(env).filter((name) => LIVE.has(name));
      assert.deepEqual(pinned, [], `live settings set through env/envFrom: ${pinned.join(', ')}`);
      // And as the loader sees it: with the pod's environment in force, the live values are the file's.
      const file = { path: 'kagent-config', values: settingsOf(pod.configMap.data) };
      const fromFile = loadConfig({ file });
      const inPod = loadConfig({ file, env });
      for (const name of LIVE) assert.deepEqual(inPod[name as SettingName], fromFile[name as SettingName], name);
    });

    test('a skills.yaml key is a valid skills file', () => {
      const text = podOf(target).configMap.data[SKILLS_KEY];
      if (text === undefined) return;
      const file = parseSkillsFile(text, `${target} ConfigMap key ${SKILLS_KEY}`);
      assert.ok(file.skills.length > 0, 'an example declares a skill');
    });

    test('restart-only ConfigMap keys also reach the container as environment variables of the same name', () => {
      const pod = podOf(target);
      for (const key of Object.keys(settingsOf(pod.configMap.data)).filter((k) => !LIVE.has(k))) {
        const variable = pod.container.env?.find((e) => e.name === key);
        assert.ok(variable, `${key} is not passed as an environment variable`);
        assert.deepEqual(variable.valueFrom?.configMapKeyRef, { name: pod.configMap.metadata!.name, key }, `${key} does not come from the ConfigMap`);
      }
    });

    test('every environment variable is a setting the service reads (a misspelled name would do nothing)', () => {
      const unknown = Object.keys(podEnvironment(podOf(target))).filter((name) => !isSetting(name));
      assert.deepEqual(unknown, []);
    });

    test('CONFIG_PATH is where the whole ConfigMap is mounted, read-only and updatable', () => {
      const pod = podOf(target);
      const configPath = podEnvironment(pod).CONFIG_PATH;
      assert.ok(configPath, 'CONFIG_PATH is not set');
      const mount = pod.container.volumeMounts?.find((m) => m.mountPath === configPath);
      assert.ok(mount, `nothing is mounted at CONFIG_PATH ${configPath}`);
      // A subPath mount is a copy the kubelet never updates: live settings would never change.
      assert.equal(mount.subPath, undefined);
      assert.equal(mount.readOnly, true);
      const volume = pod.statefulSet.spec!.template.spec!.volumes?.find((v) => v.name === mount.name);
      assert.equal(volume?.configMap?.name, pod.configMap.metadata!.name);
      assert.equal(volume?.configMap?.items, undefined, 'every key must be mounted');
    });

    test("DATA_DIR is where each pod's own ReadWriteOnce volume is mounted", () => {
      const pod = podOf(target);
      const dataDir = podEnvironment(pod).DATA_DIR;
      assert.ok(dataDir, 'DATA_DIR is not set: the default ./data is on the read-only root filesystem');
      const mount = pod.container.volumeMounts?.find((m) => m.mountPath === dataDir);
      assert.ok(mount, `nothing is mounted at DATA_DIR ${dataDir}`);
      assert.notEqual(mount.readOnly, true);
      const claim = pod.statefulSet.spec!.volumeClaimTemplates?.find((c) => c.metadata?.name === mount.name);
      assert.ok(claim, `the volume at DATA_DIR (${mount.name}) is not a volumeClaimTemplate, so it is not per pod`);
      assert.equal(mount.name, 'data');
      assert.deepEqual(claim.spec!.accessModes, ['ReadWriteOnce']);
      assert.ok(
        !(pod.statefulSet.spec!.template.spec!.volumes ?? []).some((v) => v.name === mount.name),
        'a pod volume of the same name would shadow the claim',
      );
    });

    test('the container ports, probes and Services all use the ports the service listens on', () => {
      const pod = podOf(target);
      const listening = Number(podEnvironment(pod).PORT ?? SETTINGS.PORT.default);
      const grpcListening = Number(podEnvironment(pod).GRPC_PORT ?? SETTINGS.GRPC_PORT.default);
      const http = pod.container.ports?.find((p) => p.name === 'http');
      assert.equal(http?.containerPort, listening);
      const grpc = pod.container.ports?.find((p) => p.name === 'grpc');
      assert.equal(grpc?.containerPort, grpcListening, 'the gRPC container port is GRPC_PORT');
      for (const [kind, probe] of probesOf(pod.container)) {
        assert.equal(resolvePort(pod.container, probe?.httpGet?.port), listening, `${kind} port`);
      }
      for (const service of ofKind<IService>(pod.objects, 'Service')) {
        for (const port of service.spec!.ports!) {
          // The card names the gRPC port as the pod listens on it; the agent advertises http://<SERVICE_NAME>.<namespace>.svc.cluster.local:<its own port>.
          const expected = port.name === 'grpc' ? grpcListening : listening;
          assert.equal(resolvePort(pod.container, port.targetPort ?? port.port), expected, `${service.metadata!.name} targetPort`);
          assert.equal(port.port, expected, `${service.metadata!.name} port`);
        }
      }
    });

    test('both A2A Services expose the gRPC port, named grpc with appProtocol grpc', () => {
      const pod = podOf(target);
      for (const name of ['kagent', 'kagent-headless']) {
        const port = only<IService>(pod.objects, 'Service', name).spec!.ports!.find((p) => p.name === 'grpc');
        assert.equal(port?.appProtocol, 'grpc', `${name}:grpc`);
        assert.equal(port?.targetPort, 'grpc', `${name}:grpc targets the container port by name`);
      }
    });

    test('the pod identity settings name the real Services and come from the downward API', () => {
      const pod = podOf(target);
      const env = pod.container.env ?? [];
      const value = (name: string) => env.find((e) => e.name === name);
      assert.equal(value('HEADLESS_SERVICE')?.value, pod.statefulSet.spec!.serviceName);
      assert.ok(value('SERVICE_NAME')?.value, 'SERVICE_NAME is not set');
      assert.equal(only<IService>(pod.objects, 'Service', value('SERVICE_NAME')?.value).spec!.clusterIP, undefined);
      assert.deepEqual(value('POD_NAME')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
      assert.deepEqual(value('POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
    });

    test('the grace period outlasts the preStop pause plus the drain', () => {
      const pod = podOf(target);
      const command = pod.container.lifecycle?.preStop?.exec?.command ?? [];
      assert.equal(command[0], '/bin/sleep', 'the preStop hook is a pause');
      const pause = parseDuration(`${command[1]}s`);
      assert.ok(pause !== undefined && pause > 0, `preStop sleeps ${command[1]}`);
      const drain = loadConfig({ file: { path: 'kagent-config', values: settingsOf(pod.configMap.data) }, env: podEnvironment(pod) }).DRAIN_TIMEOUT;
      const grace = (pod.statefulSet.spec!.template.spec!.terminationGracePeriodSeconds ?? 30) * 1000;
      assert.ok(grace >= pause + drain + 5000, `grace ${grace}ms does not cover pause ${pause}ms + drain ${drain}ms + 5s to close`);
    });

    test('the image is this package at its version', () => {
      assert.equal(podOf(target).container.image, `ghcr.io/kagent-dev/kagent-a2a:${packageJson.version}`);
    });

    test('the probes hit routes the real agent serves, configured as this overlay configures it', async () => {
      const pod = podOf(target);
      const settings = { ...pod.configMap.data };
      delete settings.LOG_LEVEL;
      const agent = await startTestAgent(settings);
      try {
        for (const [kind, probe] of probesOf(pod.container)) {
          const path = probe?.httpGet?.path;
          assert.ok(path, `${kind} is not an HTTP GET`);
          const response = await fetch(`http://127.0.0.1:${agent.port}${path}`, { signal: AbortSignal.timeout(PATIENCE_MS) });
          await response.body?.cancel();
          // The kubelet counts 200..399 as success.
          assert.ok(response.status >= 200 && response.status < 400, `${kind} GET ${path} answered ${response.status}`);
        }
      } finally {
        await agent.dispose();
      }
    });
  });
}

describe('the container as the dev pod runs it', kustomize, () => {
  test('serves its probes, applies a live ConfigMap edit without a restart, and drains on SIGTERM', async () => {
    const pod = podOf('overlays/dev');
    const volume = mountedConfigMap(pod);
    const dataDir = mkdtempSync(join(tmpdir(), 'kagent-pod-data-'));
    const env = {
      ...podEnvironment(pod),
      // What differs from the cluster: a free loopback port, a temporary volume, the mount's stand-in.
      PORT: '0',
      GRPC_PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      CONFIG_PATH: volume.dir,
    };
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), ...(pod.container.args ?? [])], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    // 'close': the process has exited and all it wrote has been read.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const logs: Record<string, unknown>[] = [];
    const waiters: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(line);
      for (const waiter of [...waiters]) if (waiter.match(line)) waiter.resolve(line);
    });
    const logged = (match: (line: Record<string, unknown>) => boolean, what: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const earlier = logs.find(match);
        if (earlier) return resolve(earlier);
        const timer = setTimeout(() => reject(new Error(`no log line "${what}" within ${PATIENCE_MS} ms; stderr: ${stderr.join('')}`)), PATIENCE_MS);
        timer.unref();
        waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then((code) => reject(new Error(`the agent exited (${code}) before "${what}"; stderr: ${stderr.join('')}`)));
      });
    try {
      const serving = await logged((l) => l.msg === 'kagent-a2a serving', 'kagent-a2a serving');
      assert.equal(serving.podUrl, `http://kagent-0.kagent-headless.kagent.svc.cluster.local:${serving.port}`);
      for (const [kind, probe] of probesOf(pod.container)) {
        const response = await fetch(`http://127.0.0.1:${serving.port}${probe!.httpGet!.path}`, { signal: AbortSignal.timeout(PATIENCE_MS) });
        await response.body?.cancel();
        assert.equal(response.status, 200, `${kind} ${probe!.httpGet!.path}`);
      }
      // dev logs at debug; an edit to info must be applied by the running process. A connection
      // that sends garbage is logged at debug only; a JSON-RPC call at info.
      const garbage = async () => {
        const socket = connect(serving.port as number, '127.0.0.1');
        socket.on('error', () => undefined);
        // Read (and drop) the answer: a socket nobody reads never sees its end, nor closes.
        socket.resume();
        socket.end('NOT HTTP\r\n\r\n');
        await within(PATIENCE_MS, 'the server to close a garbage connection', once(socket, 'close'));
      };
      const call = (id: string) =>
        fetch(`http://127.0.0.1:${serving.port}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id } }),
          signal: AbortSignal.timeout(PATIENCE_MS),
        }).then((res) => res.arrayBuffer());
      const isGarbageLine = (l: Record<string, unknown>) => l.msg === 'client connection closed';
      assert.equal(pod.configMap.data.LOG_LEVEL, 'debug');
      await garbage();
      await logged(isGarbageLine, 'client connection closed (at debug)');
      volume.write({ ...pod.configMap.data, LOG_LEVEL: 'info' });
      const applied = await logged((l) => l.msg === 'settings changed and applied', 'settings changed and applied');
      assert.deepEqual(applied.settings, ['LOG_LEVEL']);
      const since = logs.length;
      await garbage();
      // The info line of a call made after the garbage was closed: had the debug line been written, it would be before it.
      await call('level-probe');
      await logged((l) => logs.indexOf(l) >= since && (l.msg === 'a2a request' || l.msg === 'request not authenticated'), 'an info line after the change');
      assert.deepEqual(logs.slice(since).filter(isGarbageLine), [], 'a debug line was written after the level became info');
    } finally {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), PATIENCE_MS)))]);
      clearTimeout(timer);
      if (code === 'timeout') child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      assert.equal(code, 0, `exit after SIGTERM; stderr: ${stderr.join('')}`);
      assertNoWarnings('the dev pod', stderr.join(''));
    }
  });
});

describe('the image the Dockerfile builds', kustomize, () => {
  const { instructions: dockerfile, runtime, runtimeEnv } = readDockerfile();
  const stage = runtime[0]!.stage;
  const jsonArgs = (keyword: string) => JSON.parse(runtime.find((i) => i.keyword === keyword)?.args ?? 'null') as string[] | null;

  test('is built in stages and runs on node:20-bookworm-slim', () => {
    assert.ok(stage >= 1, 'a build stage and a runtime stage');
    assert.equal(runtime[0]!.args, 'node:20-bookworm-slim');
  });

  test('DATA_DIR of the image is the DATA_DIR of every overlay', () => {
    assert.ok(runtimeEnv.DATA_DIR, 'the image sets no DATA_DIR');
    for (const target of kustomizeTargets()) assert.equal(podEnvironment(podOf(target)).DATA_DIR, runtimeEnv.DATA_DIR, target);
  });

  test('EXPOSE names the container ports (HTTP, then gRPC)', () => {
    const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.trim().split(/\s+/).map((port) => Number.parseInt(port, 10)));
    for (const target of kustomizeTargets()) {
      const ports = podOf(target).container.ports!;
      assert.deepEqual(exposed, ['http', 'grpc'].map((name) => ports.find((p) => p.name === name)!.containerPort), target);
    }
  });

  test('runs as node, uid and gid 1000 in that image, which the pods run as', () => {
    assert.equal(runtime.filter((i) => i.keyword === 'USER').at(-1)?.args, 'node');
    for (const target of kustomizeTargets()) {
      const podSc = podOf(target).statefulSet.spec!.template.spec!.securityContext!;
      assert.equal(podSc.runAsUser, 1000, target);
      assert.equal(podSc.runAsGroup, 1000, target);
      assert.equal(podSc.fsGroup, 1000, `${target}: the data volume must be writable by the node group`);
    }
  });

  test("its ENTRYPOINT is the package's CLI, which the build emits, and CMD is the pods' args", () => {
    const entrypoint = jsonArgs('ENTRYPOINT');
    assert.deepEqual(entrypoint, ['node', packageJson.bin['kagent-a2a']]);
    assert.ok(existsSync(join(REPO_ROOT, entrypoint![1]!)), `${entrypoint![1]} is not where the build puts the CLI`);
    for (const target of kustomizeTargets()) {
      const { container } = podOf(target);
      assert.equal(container.command, undefined, `${target}: the pod must not replace the ENTRYPOINT`);
      assert.deepEqual(container.args ?? jsonArgs('CMD'), jsonArgs('CMD'));
    }
    assert.deepEqual(jsonArgs('CMD'), ['serve']);
  });

  test('the image runs node with the V8 flags `npm start` passes, and no pod replaces them', () => {
    const flags = runtimeEnv.NODE_OPTIONS;
    assert.match(flags ?? '', /--max-semi-space-size=\d+/, 'the image sets no young-generation size');
    assert.equal(packageJson.scripts.start, `node ${flags} ${packageJson.bin['kagent-a2a']} serve`);
    for (const target of kustomizeTargets()) assert.equal(podEnvironment(podOf(target)).NODE_OPTIONS, undefined, target);
  });

  test('the runtime stage carries only package.json, production node_modules, the compiled service, the built console and Kustomize', () => {
    const copied = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0]);
    assert.deepEqual(copied.sort(), ['/app/dist/console', '/app/dist/src', '/app/node_modules', '/app/package.json', '/usr/local/bin/kustomize']);
    const build = dockerfile.filter((i) => i.stage === 0 && i.keyword === 'RUN').map((i) => i.args).join('\n');
    assert.match(build, /npm ci\b/);
    assert.match(build, /npm run build\b/);
    assert.match(build, /npm prune --omit=dev\b/);
  });

  test('the build context leaves out local builds, dependencies, data and git', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.git']) assert.ok(ignored.includes(entry), `${entry} is not in .dockerignore`);
  });
});
