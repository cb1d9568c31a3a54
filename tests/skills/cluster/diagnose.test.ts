// cluster-diagnose against recorded API responses. No Kubernetes API server
// can run on this machine: the fake server in fake-api.ts stands in for one,
// serving fixtures shaped like the real API's output (fixtures.test.ts checks
// them against the Kubernetes schemas) over real HTTP, through the real
// @kubernetes/client-node and the real TaskService.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Task } from '../../../src/model/model.js';
import { ClusterRig, dataOf, finding, findingsOf, markdownOf, statusText } from './helpers.js';

let rig: ClusterRig;

before(async () => {
  rig = await ClusterRig.start();
});

after(async () => {
  await rig.close();
});

const diagnose = (text: string) => rig.run('cluster-diagnose', text);

describe('the prod overlay on a three-node cluster: required anti-affinity, five replicas', () => {
  let task: Task;
  before(async () => {
    rig.api.reset();
    task = await diagnose('diagnose statefulset kagent in namespace kagent');
  });

  test('the pending pod is unschedulable because of anti-affinity with too few nodes, with the arithmetic and the fix', () => {
    const f = finding(findingsOf(task), 'Pod/kagent-3', 'Unschedulable');
    assert.equal(f.severity, 'critical');
    assert.match(f.cause, /required pod anti-affinity allows one kagent pod per kubernetes\.io\/hostname/);
    assert.match(f.cause, /StatefulSet kagent asks for 5 replicas but the cluster has only 3 schedulable node\(s\)/);
    assert.match(f.fix, /at least 5 schedulable nodes \(2 more\)/);
    assert.match(f.fix, /scale StatefulSet kagent to 3 replica\(s\)/);
    assert.match(f.fix, /preferredDuringSchedulingIgnoredDuringExecution/);
    assert.ok(f.evidence.some((e) => e.includes("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules")), f.evidence.join('\n'));
    assert.ok(f.evidence.includes('nodes: 3 in the cluster, 3 schedulable (node-a, node-b, node-c), 3 distinct kubernetes.io/hostname'), f.evidence.join('\n'));
  });

  test('the StatefulSet is reported blocked on that pod under OrderedReady, naming the pod it does not create', () => {
    const f = finding(findingsOf(task), 'StatefulSet/kagent', 'OrderedReadyBlocked');
    assert.equal(f.severity, 'critical');
    assert.match(f.cause, /3 of 5 pods are ready and the StatefulSet is stuck at kagent-3/);
    assert.match(f.cause, /creates kagent-4 only after kagent-3 is Running and Ready/);
    assert.match(f.cause, /Unschedulable/);
    assert.ok(f.evidence.includes('not created yet: kagent-4'));
  });

  test('the unbound claim of the pending pod is a consequence (WaitForFirstConsumer), not a second cause', () => {
    const f = finding(findingsOf(task), 'PersistentVolumeClaim/data-kagent-3', 'WaitForFirstConsumer');
    assert.equal(f.severity, 'info');
    assert.match(f.cause, /consequence, not the cause/);
    assert.equal(findingsOf(task).length, 3, findingsOf(task).map((x) => `${x.object} ${x.reason}`).join('; '));
  });

  test('it read the StatefulSet, its pods by selector, warning events, the claims, the claim events and the nodes — nothing else', () => {
    assert.deepEqual(rig.api.calls(), [
      'get apps/statefulsets ns=kagent kagent',
      'list pods ns=kagent',
      'list events ns=kagent',
      'list persistentvolumeclaims ns=kagent',
      'list events ns=kagent',
      'list nodes',
    ]);
    const [, pods, warnings, , claimEvents] = rig.api.requests;
    assert.equal(pods!.query.labelSelector, 'app.kubernetes.io/name=kagent,app.kubernetes.io/component=agent');
    assert.equal(warnings!.query.fieldSelector, 'type=Warning');
    assert.equal(claimEvents!.query.fieldSelector, 'involvedObject.kind=PersistentVolumeClaim,involvedObject.name=data-kagent-3');
    assert.ok(rig.api.requests.every((r) => r.method === 'GET' && r.authorization === 'Bearer fixture-token'));
  });

  test('the report says the same in Markdown, and the summary names the first finding', () => {
    const md = markdownOf(task);
    assert.match(md, /^# Diagnosis: statefulset kagent in namespace kagent/);
    assert.match(md, /StatefulSet \*\*kagent\*\*: 3\/5 ready, 4 created, OrderedReady/);
    assert.match(md, /## CRITICAL Pod\/kagent-3: Unschedulable/);
    assert.match(md, /\*\*Fix:\*\* Give the cluster at least 5 schedulable nodes/);
    assert.match(statusText(task), /^3 finding\(s\) for statefulset kagent in namespace kagent \(2 critical\)\. First: Pod\/kagent-3 Unschedulable/);
  });
});

describe('a StatefulSet stuck on a pod that never becomes ready (OrderedReady)', () => {
  let task: Task;
  before(async () => {
    rig.api.reset();
    task = await diagnose('diagnose statefulset kagent in namespace staging');
  });

  test('kagent-1 fails its readiness probe: the probe, its result and what to check', () => {
    const f = finding(findingsOf(task), 'Pod/kagent-1', 'ReadinessProbeFailed');
    assert.equal(f.severity, 'warning');
    assert.match(f.cause, /readiness probe fails \(HTTP probe failed with statuscode: 503\), 42 time\(s\)/);
    assert.match(f.cause, /holds back the pods after it/);
    assert.match(f.fix, /\/readyz on port http answers 503/);
    assert.ok(f.evidence.includes('readinessProbe: HTTP GET /readyz on port http, every 5s, timeout 2s, failureThreshold 2, initialDelaySeconds 0'), f.evidence.join('\n'));
  });

  test('the StatefulSet waits at kagent-1 and kagent-2 is never created; the fix says to delete a pod stuck on a bad revision', () => {
    const f = finding(findingsOf(task), 'StatefulSet/kagent', 'OrderedReadyBlocked');
    assert.match(f.cause, /1 of 3 pods are ready and the StatefulSet is stuck at kagent-1/);
    assert.match(f.cause, /creates kagent-2 only after kagent-1 is Running and Ready, and kagent-1 is not \(ReadinessProbeFailed/);
    assert.match(f.fix, /delete pod kagent-1: an OrderedReady StatefulSet does not replace a pod that never becomes ready/);
    assert.equal(findingsOf(task).length, 2);
  });

  test('no nodes and no logs are read: nothing is unschedulable and nothing crashed', () => {
    assert.deepEqual(rig.api.calls(), [
      'get apps/statefulsets ns=staging kagent',
      'list pods ns=staging',
      'list events ns=staging',
      'list persistentvolumeclaims ns=staging',
    ]);
  });
});

describe('a namespace of broken Deployments and a StatefulSet with a missing StorageClass', () => {
  let task: Task;
  before(async () => {
    rig.api.reset();
    task = await diagnose('diagnose all in namespace shop');
  });

  test('CrashLoopBackOff with the last exit reason, and the last log lines of the crashed run', () => {
    const f = finding(findingsOf(task), 'Pod/api-7d9f8b6c5-x2k4p', 'CrashLoopBackOff');
    assert.equal(f.severity, 'critical');
    assert.match(f.cause, /container api keeps crashing and is restarted with back-off \(14 restarts\); last exit: Error \(exit code 1: an application error\)/);
    assert.match(f.fix, /kubectl logs -n shop api-7d9f8b6c5-x2k4p -c api --previous/);
    assert.ok(f.evidence.includes('last termination: Error, exit code 1, finished 2025-11-24T10:35:53.000Z'), f.evidence.join('\n'));
    const log = f.evidence.find((e) => e.startsWith('previous log (last lines):'));
    assert.ok(log, 'no log evidence');
    assert.match(log, /Error: connect ECONNREFUSED 10\.96\.14\.2:5432/);
  });

  test('OOMKilled is told apart from a plain crash, with the memory limit to raise', () => {
    const f = finding(findingsOf(task), 'Pod/api-7d9f8b6c5-q9z7m', 'OOMKilled');
    assert.match(f.cause, /killed for running out of memory \(OOMKilled, exit code 137\) at its memory limit of 256Mi/);
    assert.match(f.cause, /now in CrashLoopBackOff/);
    assert.match(f.fix, /Raise resources\.limits\.memory of api above its peak use \(now 256Mi/);
    assert.ok(!findingsOf(task).some((x) => x.object === 'Pod/api-7d9f8b6c5-q9z7m' && x.reason === 'CrashLoopBackOff'), 'the OOM is the cause, not a second crash finding');
  });

  test('ImagePullBackOff: the tag does not exist, read from the pull error event', () => {
    const f = finding(findingsOf(task), 'Pod/frontend-5c6b7d8f9-abcde', 'ImagePullBackOff');
    assert.match(f.cause, /the image "registry\.example\.com\/shop\/frontend:1\.4\.2" of container frontend does not exist in its registry/);
    assert.match(f.fix, /Correct the image name or tag/);
    assert.ok(f.evidence.some((e) => e.startsWith('event Failed ×24: Failed to pull image') && e.endsWith(': not found')), f.evidence.join('\n'));
  });

  test('the Deployment whose rollout timed out names what its new pods fail with and how to roll back', () => {
    const f = finding(findingsOf(task), 'Deployment/frontend', 'ProgressDeadlineExceeded');
    assert.match(f.cause, /no progress for progressDeadlineSeconds \(600s\)/);
    assert.match(f.cause, /its pods fail with ImagePullBackOff/);
    assert.match(f.fix, /kubectl rollout undo deployment\/frontend -n shop/);
  });

  test('a readiness probe aimed at a port the container does not declare', () => {
    const f = finding(findingsOf(task), 'Pod/worker-64b5c9d7f8-r2d2x', 'ReadinessProbeFailed');
    assert.match(f.cause, /connect: connection refused/);
    assert.match(f.fix, /The probe targets port 8080 but the container declares 9090/);
  });

  test('a claim that is not bound because its StorageClass does not exist, and the pod waiting for it', () => {
    const claim = finding(findingsOf(task), 'PersistentVolumeClaim/data-db-0', 'ClaimPending');
    assert.equal(claim.severity, 'critical');
    assert.match(claim.cause, /asks for StorageClass fast-ssd, which does not exist/);
    assert.match(claim.fix, /Create StorageClass fast-ssd, or set storageClassName to one that exists/);
    const pod = finding(findingsOf(task), 'Pod/db-0', 'Unschedulable');
    assert.match(pod.cause, /its PersistentVolumeClaim\(s\) data-db-0 are not bound/);
  });

  test('findings come most severe first, and the healthy pod has none', () => {
    const order = { critical: 0, warning: 1, info: 2 } as Record<string, number>;
    const severities = findingsOf(task).map((f) => order[f.severity]!);
    assert.deepEqual(severities, [...severities].sort((a, b) => a - b));
    assert.ok(!findingsOf(task).some((f) => f.object === 'Pod/frontend-6f7d9c8b4-mnbvc'));
    const summary = dataOf(task).summary as { findings: Record<string, number> };
    assert.deepEqual(summary.findings, { critical: 6, warning: 1, info: 0 });
  });

  test('the log read is a bounded tail of the previous container, and only for the crash that is not an OOM', () => {
    const logs = rig.api.requests.filter((r) => r.resource === 'pods/log');
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.name, 'api-7d9f8b6c5-x2k4p');
    assert.deepEqual(logs[0]!.query, { container: 'api', previous: 'true', tailLines: '20', limitBytes: '8192' });
  });

  test('nodes are not listed: no pod is held back by anti-affinity', () => {
    assert.ok(!rig.api.requests.some((r) => r.resource === 'nodes'));
    assert.ok(rig.api.requests.every((r) => r.method === 'GET'));
  });
});

describe('targets', () => {
  beforeEach(() => rig.api.reset());

  test('a Deployment: its ReplicaSets and pods by its selector, only its own pods diagnosed', async () => {
    const task = await diagnose('diagnose deployment api -n shop');
    const objects = new Set(findingsOf(task).map((f) => f.object));
    assert.deepEqual([...objects].sort(), ['Pod/api-7d9f8b6c5-q9z7m', 'Pod/api-7d9f8b6c5-x2k4p']);
    assert.deepEqual(rig.api.calls().slice(0, 3), ['get apps/deployments ns=shop api', 'list apps/replicasets ns=shop', 'list pods ns=shop']);
    assert.equal(rig.api.requests[1]!.query.labelSelector, 'app=api');
    assert.equal(rig.api.requests[2]!.query.labelSelector, 'app=api');
  });

  test('one pod: the pod and its controller (for the replica count), not its siblings', async () => {
    const task = await diagnose('diagnose pod kagent-3 in kagent');
    const f = finding(findingsOf(task), 'Pod/kagent-3', 'Unschedulable');
    assert.match(f.cause, /StatefulSet kagent asks for 5 replicas/);
    assert.ok(!findingsOf(task).some((x) => x.object === 'StatefulSet/kagent'), 'the StatefulSet is context here, not a target');
    assert.deepEqual(rig.api.calls().slice(0, 2), ['get pods ns=kagent kagent-3', 'get apps/statefulsets ns=kagent kagent']);
  });

  test('a claim by name, from a data part', async () => {
    const task = await rig.run('cluster-diagnose', [{ kind: 'data', data: { namespace: 'shop', kind: 'pvc', name: 'data-db-0' } }]);
    finding(findingsOf(task), 'PersistentVolumeClaim/data-db-0', 'ClaimPending');
    assert.equal(rig.api.calls()[0], 'get persistentvolumeclaims ns=shop data-db-0');
  });

  test('a healthy pod: no findings, and the report says so', async () => {
    const task = await diagnose('diagnose pod kagent-0 -n kagent');
    assert.deepEqual(findingsOf(task), []);
    assert.match(markdownOf(task), /No problems found\./);
    assert.equal(statusText(task), 'No problems found in pod kagent-0 in namespace kagent.');
  });

  test('a namespace with nothing in it is reported as such, not as healthy', async () => {
    const task = await diagnose('diagnose namespace quiet');
    assert.deepEqual(findingsOf(task), []);
    assert.equal(statusText(task), 'Nothing found to diagnose for namespace quiet.');
  });

  test('without permission to list nodes the diagnosis still completes, on the scheduler count, and says why', async () => {
    rig.api.forbid('list', 'nodes');
    const task = await diagnose('diagnose statefulset kagent in namespace kagent');
    const f = finding(findingsOf(task), 'Pod/kagent-3', 'Unschedulable');
    assert.match(f.cause, /only 3 schedulable node\(s\)/);
    const note = f.evidence.find((e) => e.startsWith('nodes not listed:'));
    assert.ok(note, f.evidence.join('\n'));
    assert.match(note, /may not list nodes \(cluster-wide\)/);
  });

  test('without permission to read a log, the crash is still diagnosed and the evidence says the log was unreadable', async () => {
    rig.api.forbid('get', 'pods/log', 'shop');
    const task = await diagnose('diagnose deployment api -n shop');
    const f = finding(findingsOf(task), 'Pod/api-7d9f8b6c5-x2k4p', 'CrashLoopBackOff');
    assert.ok(f.evidence.some((e) => /^previous log unavailable: forbidden: .*get pods\/log in namespace shop/.test(e)), f.evidence.join('\n'));
  });
});
