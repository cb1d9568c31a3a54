// cluster-inspect against recorded API responses. No Kubernetes API server
// can run on this machine: the fake server in fake-api.ts stands in for one
// (fixtures shaped like real API output, real HTTP, the real client).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { JsonObject } from '../../../src/model/model.js';
import { clusterInspectSkill, rolloutStatus } from '../../../src/skills/cluster/inspect.js';
import { ClusterReader } from '../../../src/skills/cluster/reader.js';
import { SkillHarness } from '../../support/skill-harness.js';
import { ClusterRig, dataOf, loadCluster, markdownOf, statusText } from './helpers.js';

let rig: ClusterRig;

before(async () => {
  const cluster = loadCluster();
  // A pod with a sidecar, to ask which container's log is wanted.
  const shop = cluster.namespaces.get('shop')!;
  const base = structuredClone(shop.pods!.items.find((p) => p.metadata.name === 'worker-64b5c9d7f8-r2d2x')!);
  base.metadata.name = 'worker-64b5c9d7f8-s1d3c';
  base.spec.containers.push({ name: 'proxy', image: 'envoyproxy/envoy:v1.31.2', resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } } });
  shop.pods!.items.push(base);
  cluster.logs['shop/worker-64b5c9d7f8-s1d3c/proxy'] = '[info] starting envoy\n[info] all clusters initialized\n';
  rig = await ClusterRig.start({ cluster });
});

after(async () => {
  await rig.close();
});

beforeEach(() => rig.api.reset());

const inspect = (text: string) => rig.run('cluster-inspect', text);
const items = (data: JsonObject) => data.items as JsonObject[];

describe('list', () => {
  test('pods: name, readiness, status as kubectl shows it, restarts, node', async () => {
    const data = dataOf(await inspect('list pods in namespace shop'));
    const byName = new Map(items(data).map((p) => [p.name as string, p]));
    assert.equal(byName.get('api-7d9f8b6c5-x2k4p')!.status, 'CrashLoopBackOff');
    assert.equal(byName.get('api-7d9f8b6c5-x2k4p')!.restarts, 14);
    assert.equal(byName.get('frontend-5c6b7d8f9-abcde')!.status, 'ImagePullBackOff');
    assert.equal(byName.get('frontend-6f7d9c8b4-mnbvc')!.ready, '1/1');
    assert.equal(byName.get('db-0')!.node, null);
    assert.equal(data.truncated, false);
    assert.deepEqual(rig.api.calls(), ['list pods ns=shop']);
    assert.equal(rig.api.requests[0]!.query.limit, '500', 'lists are bounded');
  });

  test('each kind the skill lists, with the one call it needs', async () => {
    const cases: [string, string, number][] = [
      ['list deployments -n shop', 'list apps/deployments ns=shop', 3],
      ['list statefulsets in kagent', 'list apps/statefulsets ns=kagent', 1],
      ['list replicasets in shop', 'list apps/replicasets ns=shop', 4],
      ['list pvcs in kagent', 'list persistentvolumeclaims ns=kagent', 4],
      ['list events in staging', 'list events ns=staging', 2],
      ['list nodes', 'list nodes', 3],
    ];
    for (const [text, call, count] of cases) {
      rig.api.reset();
      const data = dataOf(await inspect(text));
      assert.equal(data.count, count, text);
      assert.deepEqual(rig.api.calls(), [call], text);
    }
  });

  test('events come newest first, with their count and object', async () => {
    const data = dataOf(await inspect('list events in namespace shop'));
    const events = items(data);
    const times = events.map((e) => Date.parse(e.lastSeen as string));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.ok(events.some((e) => e.reason === 'ProvisioningFailed' && e.object === 'PersistentVolumeClaim/data-db-0' && e.count === 75));
  });

  test('the Markdown report is a table, and an empty namespace says the namespace may not exist', async () => {
    assert.match(markdownOf(await inspect('list statefulsets in kagent')), /\| kagent \| 3\/5 \| 4 \| OrderedReady \|/);
    const empty = await inspect('list pods in namespace nowhere');
    assert.match(markdownOf(empty), /No pods in namespace nowhere \(an empty list also means the namespace may not exist\)/);
    assert.equal(statusText(empty), '0 pods in namespace nowhere.');
  });

  test('a list cut at its limit says so', async () => {
    const small = await ClusterRig.start({ skills: { listLimit: 2 } });
    try {
      const task = await small.run('cluster-inspect', 'list pods in kagent');
      const data = dataOf(task);
      assert.equal(data.count, 2);
      assert.equal(data.truncated, true);
      assert.equal(small.api.requests[0]!.query.limit, '2');
      assert.match(statusText(task), /list cut at its limit/);
    } finally {
      await small.close();
    }
  });
});

describe('describe', () => {
  test('a pod: containers with their last termination, conditions, and its own events', async () => {
    const task = await inspect('describe pod api-7d9f8b6c5-q9z7m -n shop');
    const data = dataOf(task);
    const object = data.object as JsonObject;
    const [container] = object.containers as JsonObject[];
    assert.deepEqual(container!.lastTermination, { reason: 'OOMKilled', exitCode: 137, finishedAt: '2025-11-24T10:38:44.000Z' });
    assert.deepEqual((data.events as JsonObject[]).map((e) => e.reason), ['BackOff']);
    assert.deepEqual(rig.api.calls(), ['get pods ns=shop api-7d9f8b6c5-q9z7m', 'list events ns=shop']);
    assert.equal(rig.api.requests[1]!.query.fieldSelector, 'involvedObject.kind=Pod,involvedObject.name=api-7d9f8b6c5-q9z7m');
    assert.match(markdownOf(task), /\| api \| false \| waiting \| CrashLoopBackOff \| 6 \| OOMKilled \(exit 137\) \|/);
  });

  test('a Deployment: its ReplicaSets, the pods of all of them, its events', async () => {
    const data = dataOf(await inspect('describe deployment frontend in shop'));
    assert.deepEqual((data.replicaSets as JsonObject[]).map((r) => r.name).sort(), ['frontend-5c6b7d8f9', 'frontend-6f7d9c8b4']);
    assert.deepEqual((data.pods as JsonObject[]).map((p) => p.name).sort(), ['frontend-5c6b7d8f9-abcde', 'frontend-6f7d9c8b4-mnbvc']);
    assert.deepEqual((data.events as JsonObject[]).map((e) => e.reason), ['ScalingReplicaSet']);
    assert.deepEqual(rig.api.calls(), ['get apps/deployments ns=shop frontend', 'list apps/replicasets ns=shop', 'list pods ns=shop', 'list events ns=shop']);
  });

  test('a StatefulSet by kind/name, and a claim', async () => {
    const sts = dataOf(await inspect('get statefulset/kagent -n staging'));
    assert.equal((sts.object as JsonObject).podManagementPolicy, 'OrderedReady');
    assert.deepEqual((sts.pods as JsonObject[]).map((p) => p.name), ['kagent-0', 'kagent-1']);
    const claim = dataOf(await inspect('describe pvc data-db-0 in shop'));
    assert.equal((claim.object as JsonObject).phase, 'Pending');
    assert.equal((claim.object as JsonObject).storageClass, 'fast-ssd');
    assert.match(((claim.events as JsonObject[])[0]!.message as string), /"fast-ssd" not found/);
  });

  test('a name without an action means describe; a plural kind means list', async () => {
    assert.equal(dataOf(await inspect('pod kagent-0 in kagent')).action, 'describe');
    assert.equal(dataOf(await inspect('get pods -n kagent')).action, 'list');
  });
});

describe('logs', () => {
  test('a bounded tail: tailLines and limitBytes are always sent, and the log comes back whole', async () => {
    const task = await inspect('logs kagent-0 -n kagent --tail=3');
    const data = dataOf(task);
    assert.equal(data.lines, 3);
    assert.equal(data.container, 'agent');
    assert.match(data.log as string, /task completed/);
    assert.deepEqual(rig.api.calls(), ['get pods ns=kagent kagent-0', 'get pods/log ns=kagent kagent-0']);
    assert.deepEqual(rig.api.requests[1]!.query, { container: 'agent', tailLines: '3', limitBytes: '262144' });
    assert.match(markdownOf(task), /```\n\{"level":30/);
  });

  test('no tail asked: the default; a tail above the maximum is cut to it and says so', async () => {
    await inspect('logs kagent-0 -n kagent');
    assert.equal(rig.api.requests[1]!.query.tailLines, '100');
    rig.api.reset();
    const data = dataOf(await inspect('logs pod kagent-0 in kagent tail 50000'));
    assert.equal(rig.api.requests[1]!.query.tailLines, '1000');
    assert.deepEqual(data.notes, ['50000 lines were asked for; at most 1000 are read']);
  });

  test('a byte cap smaller than the log cuts it, and the result says it was cut', async () => {
    const skill = clusterInspectSkill({ reader: new ClusterReader({ kubeConfig: rig.api.kubeConfig() }), logLimitBytes: 100 });
    const harness = await SkillHarness.start([skill]);
    try {
      const data = dataOf(await harness.task(await harness.send('logs kagent-0 -n kagent')));
      assert.equal(rig.api.requests.at(-1)!.query.limitBytes, '100');
      assert.equal(Buffer.byteLength(data.log as string), 100);
      assert.equal(data.truncatedByBytes, true);
      assert.deepEqual(data.notes, ['the log was cut at 100 bytes']);
    } finally {
      await harness.close();
    }
  });

  test('the previous container of a crashed pod', async () => {
    const data = dataOf(await inspect('logs api-7d9f8b6c5-x2k4p -n shop previous'));
    assert.equal(data.previous, true);
    assert.match(data.log as string, /ECONNREFUSED/);
    assert.equal(rig.api.requests[1]!.query.previous, 'true');
  });

  test('a pod with two containers: asks which one, naming them, before reading any log', async () => {
    const task = await inspect('logs worker-64b5c9d7f8-s1d3c -n shop');
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /has 2 containers \(worker, proxy\): which one's log should I read\?/);
    assert.deepEqual(rig.api.calls(), ['get pods ns=shop worker-64b5c9d7f8-s1d3c']);
    const answered = await rig.harness.send('proxy', { taskId: task.id, contextId: task.contextId, metadata: { skill: 'cluster-inspect' } });
    const data = dataOf(await rig.harness.task(answered));
    assert.equal(data.container, 'proxy');
    assert.match(data.log as string, /all clusters initialized/);
  });

  test('a container the pod does not have: asks, listing the ones it has', async () => {
    const task = await inspect('logs kagent-0 -n kagent container sidecar');
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /Pod kagent-0 has no container sidecar; its containers are agent/);
  });

  test('an API error for the log itself fails with the server message', async () => {
    const task = await inspect('logs kagent-1 -n kagent previous');
    assert.equal(task.status.state, 'failed');
    assert.equal(statusText(task), 'The API server answered HTTP 400 to get pods/log kagent-1 in namespace kagent: previous terminated container "agent" in pod "kagent-1" not found');
  });
});

describe('rollout status', () => {
  test('a StatefulSet waiting for pods, and a Deployment past its deadline, as kubectl words them', async () => {
    const sts = await inspect('rollout status statefulset/kagent -n kagent');
    assert.deepEqual({ done: dataOf(sts).done, message: dataOf(sts).message }, { done: false, message: 'Waiting for 2 pods to be ready...' });
    const dep = await inspect('rollout status deployment frontend in shop');
    assert.equal(dataOf(dep).message, 'deployment "frontend" exceeded its progress deadline');
    assert.deepEqual(rig.api.calls(), ['get apps/statefulsets ns=kagent kagent', 'get apps/deployments ns=shop frontend']);
  });

  test('the decision follows kubectl for each state of the objects', () => {
    const deployment = (spec: object, status: object, generation = 1): V1Deployment => ({ metadata: { name: 'd', generation }, spec: spec as V1Deployment['spec'], status });
    assert.equal(rolloutStatus('deployment', deployment({ replicas: 3 }, { observedGeneration: 1 }, 2)).message, 'Waiting for deployment "d" spec update to be observed...');
    assert.equal(rolloutStatus('deployment', deployment({ replicas: 3 }, { observedGeneration: 1, updatedReplicas: 1 })).message, 'Waiting for deployment "d" rollout to finish: 1 out of 3 new replicas have been updated...');
    assert.equal(rolloutStatus('deployment', deployment({ replicas: 3 }, { observedGeneration: 1, updatedReplicas: 3, replicas: 4 })).message, 'Waiting for deployment "d" rollout to finish: 1 old replicas are pending termination...');
    assert.equal(rolloutStatus('deployment', deployment({ replicas: 3 }, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).message, 'Waiting for deployment "d" rollout to finish: 2 of 3 updated replicas are available...');
    assert.deepEqual(rolloutStatus('deployment', deployment({ replicas: 3 }, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })), { done: true, message: 'deployment "d" successfully rolled out' });

    const set = (spec: object, status: object): V1StatefulSet => ({ metadata: { name: 's', generation: 1 }, spec: { selector: {}, serviceName: 's', template: {}, ...spec } as V1StatefulSet['spec'], status: status as V1StatefulSet['status'] });
    assert.equal(rolloutStatus('statefulset', set({ updateStrategy: { type: 'OnDelete' } }, { replicas: 1 })).done, true);
    assert.equal(rolloutStatus('statefulset', set({ replicas: 3 }, { replicas: 3, observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })).message, 'waiting for statefulset rolling update to complete 1 pods at revision b...');
    assert.equal(
      rolloutStatus('statefulset', set({ replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { replicas: 3, observedGeneration: 1, readyReplicas: 3, updatedReplicas: 0 })).message,
      'Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...',
    );
    assert.deepEqual(rolloutStatus('statefulset', set({ replicas: 3 }, { replicas: 3, observedGeneration: 1, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: 'b', updateRevision: 'b' })), {
      done: true,
      message: 'statefulset rolling update complete 3 pods at revision b...',
    });
  });
});
