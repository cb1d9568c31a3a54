// What the cluster skills do when the API says no, is not there, or is slow,
// and how they find their cluster. The API server is the fake one in
// fake-api.ts, standing in for a real one (none can run on this machine).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ANONYMOUS } from '../../../src/model/model.js';
import { clusterSkills } from '../../../src/skills/cluster/index.js';
import { KubeConfigError, SERVICE_ACCOUNT_DIR, loadKubeConfig } from '../../../src/skills/cluster/kubeconfig.js';
import { SkillHarness, userMessage } from '../../support/skill-harness.js';
import { ClusterRig, dataOf, statusText } from './helpers.js';
import { waitFor } from '../../support/wait.js';

let rig: ClusterRig;

before(async () => {
  rig = await ClusterRig.start({ skills: { requestTimeoutMs: 1000 } });
});

after(async () => {
  await rig.close();
});

beforeEach(() => rig.api.reset());

describe('permission denied (403)', () => {
  test('fails naming the missing permission, its namespace and the grant that gives it', async () => {
    rig.api.forbid('list', 'pods', 'shop');
    const task = await rig.run('cluster-inspect', 'list pods in namespace shop');
    assert.equal(task.status.state, 'failed');
    const text = statusText(task);
    assert.match(text, /^Forbidden: the agent's service account may not list pods in namespace shop \(the API server said: pods is forbidden: User "system:serviceaccount:kagent:kagent" cannot list resource "pods" in API group "" in the namespace "shop"\)\./);
    assert.match(text, /Missing permission: list pods in namespace shop\./);
    assert.match(text, /RoleBinding in namespace shop to the ClusterRole kagent-cluster-skills/);
  });

  test('an apps resource is named with its group, and diagnosis fails the same way', async () => {
    rig.api.forbid('get', 'statefulsets', 'kagent');
    const task = await rig.run('cluster-diagnose', 'diagnose statefulset kagent in namespace kagent');
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), /Missing permission: get statefulsets\.apps in namespace kagent\./);
    assert.deepEqual(rig.api.calls(), ['get apps/statefulsets ns=kagent kagent'], 'nothing more is tried after the refusal');
  });

  test('listing nodes, which is cluster-wide, points at the ClusterRoleBinding', async () => {
    rig.api.forbid('list', 'nodes');
    const task = await rig.run('cluster-inspect', 'list nodes');
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), /Missing permission: list nodes \(cluster-wide\)\. Bind the ClusterRole kagent-cluster-skills-nodes/);
  });
});

test('wrong credentials (401) fail naming the server', async () => {
  const skills = clusterSkills({ kubeConfig: rig.api.kubeConfig('expired-token') });
  const harness = await SkillHarness.start(skills);
  try {
    const task = await harness.task(await harness.send('list pods in kagent'));
    assert.equal(task.status.state, 'failed');
    assert.equal(statusText(task), `The API server at ${rig.api.url} rejected the agent's credentials (401 Unauthorized) for list pods in namespace kagent`);
    assert.equal(rig.api.requests[0]!.authorization, 'Bearer expired-token');
  } finally {
    await harness.close();
  }
});

test('no API server listening: fails naming the address', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const api = rig.api;
  const kc = api.kubeConfig();
  kc.clusters[0] = { ...kc.clusters[0]!, server: `http://127.0.0.1:${port}` };
  const harness = await SkillHarness.start(clusterSkills({ kubeConfig: kc }));
  try {
    const task = await harness.task(await harness.send('diagnose namespace kagent', { metadata: { skill: 'cluster-diagnose' } }));
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), new RegExp(`^Cannot reach the API server at http://127\\.0\\.0\\.1:${port} for list deployments\\.apps in namespace kagent: .*ECONNREFUSED`));
  } finally {
    await harness.close();
  }
});

test('an API server that does not answer: the request times out and the task fails saying so', async () => {
  rig.api.hang((r) => r.resource === 'statefulsets');
  const task = await rig.run('cluster-inspect', 'rollout status statefulset kagent -n kagent');
  assert.equal(task.status.state, 'failed');
  assert.equal(statusText(task), `The API server at ${rig.api.url} did not answer get statefulsets.apps kagent in namespace kagent within 1000 ms`);
  await waitFor('the timed-out request to be closed', () => rig.api.abandoned.length === 1);
});

test('canceling a task aborts the request in flight', async () => {
  rig.api.hang((r) => r.resource === 'pods');
  const skills = clusterSkills({ kubeConfig: rig.api.kubeConfig() });
  const harness = await SkillHarness.start(skills);
  try {
    const started = await harness.service.sendMessage(ANONYMOUS, userMessage('diagnose pod kagent-0 -n kagent', { metadata: { skill: 'cluster-diagnose' } }), { returnImmediately: true });
    assert.equal(started.kind, 'task');
    const taskId = started.task.id;
    await rig.api.arrived((r) => r.resource === 'pods');
    const canceled = await harness.cancel(taskId);
    assert.equal(canceled.status.state, 'canceled');
    await waitFor('the request to be aborted', () => rig.api.abandoned.some((r) => r.resource === 'pods'));
    const task = await harness.service.getTask(ANONYMOUS, taskId);
    assert.equal(task.status.state, 'canceled');
    assert.deepEqual(task.artifacts, []);
    assert.deepEqual(rig.api.calls(), ['get pods ns=kagent kagent-0'], 'nothing is read after the cancel');
  } finally {
    await harness.close();
  }
});

describe('finding the cluster', () => {
  let dir: string;
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-kubeconfig-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const restoreEnv = () => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };

  test('outside a pod, the KUBECONFIG file: its server and token are what the skill uses', async () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const file = join(dir, 'config');
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: fake',
          'clusters:',
          `- name: fake\n  cluster:\n    server: ${rig.api.url}\n    insecure-skip-tls-verify: true`,
          'users:',
          '- name: agent\n  user:\n    token: fixture-token',
          'contexts:',
          '- name: fake\n  context:\n    cluster: fake\n    user: agent',
          '',
        ].join('\n'),
      );
      const harness = await SkillHarness.start(clusterSkills({ kubeConfig: () => loadKubeConfig({ kubeconfig: file }) }));
      try {
        const task = await harness.task(await harness.send('list statefulsets -n kagent'));
        assert.equal(dataOf(task).count, 1);
        assert.equal(rig.api.requests[0]!.authorization, 'Bearer fixture-token');
      } finally {
        await harness.close();
      }
    } finally {
      restoreEnv();
    }
  });

  test('a KUBECONFIG that does not exist, or has no current context, is an error naming the setting', () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') }), (error: unknown) => {
        assert.ok(error instanceof KubeConfigError);
        assert.equal(error.setting, 'KUBECONFIG');
        assert.equal(error.message, `KUBECONFIG: ${join(dir, 'missing')} does not exist`);
        return true;
      });
      const empty = join(dir, 'empty');
      writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      assert.throws(() => loadKubeConfig({ kubeconfig: empty }), /^KubeConfigError: KUBECONFIG: .*has no current context with a cluster/);
    } finally {
      restoreEnv();
    }
  });

  test('a load error fails the task with its message instead of crashing the agent', async () => {
    const harness = await SkillHarness.start(
      clusterSkills({
        kubeConfig: () => {
          throw new KubeConfigError('KUBECONFIG', 'not running in a pod (KUBERNETES_SERVICE_HOST is unset), KUBECONFIG is not set');
        },
      }),
    );
    try {
      const task = await harness.task(await harness.send('list pods -n kagent'));
      assert.equal(task.status.state, 'failed');
      assert.match(statusText(task), /KUBECONFIG: not running in a pod/);
    } finally {
      await harness.close();
    }
  });

  test('in a pod, the service account: the token file and the in-cluster address', () => {
    const prefix = join(dir, 'pod');
    mkdirSync(join(prefix, SERVICE_ACCOUNT_DIR), { recursive: true });
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      // The kubelet has not mounted a token: the component that turns the skills on was left out.
      assert.throws(() => loadKubeConfig({ serviceAccountPathPrefix: prefix }), (error: unknown) => {
        assert.ok(error instanceof KubeConfigError);
        assert.equal(error.setting, 'KUBERNETES_SKILLS');
        assert.match(error.message, /no service account token is mounted at .*\/token; deploy with the cluster-skills component/);
        return true;
      });
      writeFileSync(join(prefix, SERVICE_ACCOUNT_DIR, 'token'), 'projected-token');
      writeFileSync(join(prefix, SERVICE_ACCOUNT_DIR, 'namespace'), 'kagent');
      // An explicit KUBECONFIG does not win over the pod's own identity.
      const kc = loadKubeConfig({ serviceAccountPathPrefix: prefix, kubeconfig: join(dir, 'missing') });
      assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
      assert.equal(kc.getCurrentCluster()?.caFile, `${prefix}${SERVICE_ACCOUNT_DIR}/ca.crt`);
      assert.deepEqual(kc.getCurrentUser()?.authProvider, { name: 'tokenFile', config: { tokenFile: `${prefix}${SERVICE_ACCOUNT_DIR}/token` } });
    } finally {
      restoreEnv();
    }
  });
});
