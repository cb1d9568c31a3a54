// How the cluster skills read a request, and how they ask for what is missing
// instead of guessing. The cluster is the fake API server (fake-api.ts),
// standing in for a real one with recorded-shape responses.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Task } from '../../../src/model/model.js';
import { clusterSkillFor, clusterSkills } from '../../../src/skills/cluster/index.js';
import { RequestError, parseText, resolveRequest } from '../../../src/skills/cluster/request.js';
import { userMessage } from '../../support/skill-harness.js';
import { ClusterRig, dataOf, findingsOf, statusText } from './helpers.js';

describe('the text grammar', () => {
  test('reads kind, name and namespace in the forms the descriptors show', () => {
    assert.deepEqual(parseText('diagnose statefulset kagent in namespace kagent'), { action: 'diagnose', kind: 'statefulset', plural: false, name: 'kagent', namespace: 'kagent' });
    assert.deepEqual(parseText('diagnose deployment api -n shop'), { action: 'diagnose', kind: 'deployment', plural: false, name: 'api', namespace: 'shop' });
    assert.deepEqual(parseText('rollout status statefulset/kagent -n kagent'), { action: 'rollout-status', kind: 'statefulset', plural: false, name: 'kagent', namespace: 'kagent' });
    assert.deepEqual(parseText('logs kagent-0 -n kagent --tail=50'), { action: 'logs', name: 'kagent-0', namespace: 'kagent', tailLines: 50 });
    assert.deepEqual(parseText('logs pod api-7d9f -n shop container api previous'), { action: 'logs', kind: 'pod', plural: false, name: 'api-7d9f', namespace: 'shop', container: 'api', previous: true });
    assert.deepEqual(parseText('list pods in kagent'), { action: 'list', kind: 'pod', plural: true, namespace: 'kagent' });
    assert.deepEqual(parseText('diagnose namespace kagent'), { action: 'diagnose', kind: 'namespace', plural: false, namespace: 'kagent' });
    assert.deepEqual(parseText('list nodes'), { action: 'list', kind: 'node', plural: true });
  });

  test('ignores the filler of a question, not words it cannot place', () => {
    assert.deepEqual(parseText('Why is the statefulset kagent in namespace kagent not ready?'), { action: 'diagnose', kind: 'statefulset', plural: false, name: 'kagent', namespace: 'kagent' });
    assert.throws(() => parseText('diagnose statefulset kagent in namespace kagent yesterday afternoon'), (error: unknown) => {
      assert.ok(error instanceof RequestError);
      assert.equal(error.message, 'could not read "yesterday", "afternoon"');
      return true;
    });
  });

  test('rejects names Kubernetes would reject, and a tail that is not a count', () => {
    assert.throws(() => parseText('describe pod Bad_Name -n kagent'), /could not read "Bad_Name"/);
    assert.throws(() => parseText('list pods -n Kagent_1'), /namespace "Kagent_1" is not a valid Kubernetes name/);
    assert.throws(() => parseText('logs kagent-0 -n kagent --tail=-3'), /tail must be a positive whole number of lines, not "-3"/);
    assert.throws(() => parseText('list pods in'), /"in" must be followed by a value/);
  });

  test('every example in both descriptors reads as a complete request', () => {
    const skills = clusterSkills({ kubeConfig: () => assert.fail('reading a request needs no cluster') });
    for (const { descriptor } of skills) {
      assert.ok((descriptor.examples ?? []).length >= 4, descriptor.id);
      for (const example of descriptor.examples ?? []) {
        const message = example.startsWith('{') ? userMessage([{ kind: 'data', data: JSON.parse(example) }]) : userMessage(example);
        const request = resolveRequest([], message);
        assert.ok(request.kind !== undefined, `${descriptor.id}: "${example}" names no kind`);
        assert.ok(request.namespace !== undefined || request.kind === 'node', `${descriptor.id}: "${example}" names no namespace`);
        assert.ok(request.name !== undefined || request.plural === true || request.kind === 'namespace', `${descriptor.id}: "${example}" names no target`);
      }
    }
  });

  test('routing hints: which cluster skill a message is for', () => {
    assert.equal(clusterSkillFor(userMessage('diagnose statefulset kagent in namespace kagent')), 'cluster-diagnose');
    assert.equal(clusterSkillFor(userMessage('Why is deployment api down?')), 'cluster-diagnose');
    assert.equal(clusterSkillFor(userMessage('logs kagent-0 -n kagent')), 'cluster-inspect');
    assert.equal(clusterSkillFor(userMessage([{ kind: 'data', data: { action: 'diagnose', namespace: 'x', kind: 'pod', name: 'y' } }])), 'cluster-diagnose');
    assert.equal(clusterSkillFor(userMessage('rollout status statefulset/kagent -n kagent')), 'cluster-inspect');
    assert.equal(clusterSkillFor(userMessage('hello')), undefined);
    assert.equal(clusterSkillFor(userMessage('why is the sky blue')), undefined);
    assert.equal(clusterSkillFor(userMessage('show me a poem')), undefined);
  });
});

describe('asking instead of guessing', () => {
  let rig: ClusterRig;
  before(async () => {
    rig = await ClusterRig.start();
  });
  after(async () => {
    await rig.close();
  });
  beforeEach(() => rig.api.reset());

  const reply = async (task: Task, text: string, skill = 'cluster-diagnose') =>
    rig.harness.task(await rig.harness.send(text, { taskId: task.id, contextId: task.contextId, metadata: { skill } }));

  test('a missing namespace: asks, reads nothing, and the answer completes the same task', async () => {
    const task = await rig.run('cluster-diagnose', 'diagnose statefulset kagent');
    assert.equal(task.status.state, 'input-required');
    assert.equal(statusText(task), 'Which namespace is statefulset kagent in? For example: "diagnose statefulset kagent in namespace kagent".');
    assert.equal(rig.api.requests.length, 0, 'nothing is read before the namespace is known');
    const done = await reply(task, 'staging');
    assert.equal(done.id, task.id);
    assert.ok(findingsOf(done).some((f) => f.reason === 'OrderedReadyBlocked'));
    assert.equal(rig.api.requests[0]!.namespace, 'staging');
  });

  test('a missing target: asks what to diagnose; "all" diagnoses the namespace', async () => {
    const task = await rig.run('cluster-diagnose', 'diagnose in namespace staging');
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /^What should I diagnose in namespace staging\? A workload/);
    assert.deepEqual(rig.api.requests, []);
    const done = await reply(task, 'all');
    assert.equal((dataOf(done).target as { kind: string }).kind, 'namespace');
  });

  test('a kind without a name: asks which one, offering the names that exist', async () => {
    const task = await rig.run('cluster-diagnose', 'diagnose deployment -n shop');
    assert.equal(task.status.state, 'input-required');
    assert.equal(statusText(task), 'Which deployment should I diagnose? In namespace shop there are: api, frontend, worker.');
    assert.deepEqual(rig.api.calls(), ['list apps/deployments ns=shop']);
    const done = await reply(task, 'worker');
    assert.ok(findingsOf(done).some((f) => f.object === 'Pod/worker-64b5c9d7f8-r2d2x'));
  });

  test('a target that does not exist: asks again, naming what does exist', async () => {
    const task = await rig.run('cluster-diagnose', 'diagnose statefulset kagnet -n kagent');
    assert.equal(task.status.state, 'input-required');
    assert.equal(statusText(task), 'statefulset kagnet was not found in namespace kagent. Which statefulset did you mean? There are: kagent.');
    const done = await reply(task, 'kagent');
    assert.ok(findingsOf(done).some((f) => f.object === 'Pod/kagent-3'));
  });

  test('the namespace from metadata.namespace, and from a data part', async () => {
    const fromMetadata = await rig.run('cluster-inspect', 'list statefulsets', { metadata: { namespace: 'kagent' } });
    assert.equal(dataOf(fromMetadata).count, 1);
    const fromData = await rig.run('cluster-inspect', [{ kind: 'data', data: { action: 'rollout-status', kind: 'statefulset', name: 'kagent', namespace: 'staging' } }]);
    assert.equal(dataOf(fromData).message, 'Waiting for 2 pods to be ready...');
  });

  test('inspect asks for the namespace of a list, and the kind when there is none', async () => {
    const noNamespace = await rig.run('cluster-inspect', 'list pods');
    assert.equal(noNamespace.status.state, 'input-required');
    assert.equal(statusText(noNamespace), 'Which namespace should I list pods in?');
    const answered = await reply(noNamespace, 'kagent', 'cluster-inspect');
    assert.equal(dataOf(answered).count, 4);
    const nothing = await rig.run('cluster-inspect', 'list');
    assert.equal(nothing.status.state, 'input-required');
    assert.match(statusText(nothing), /^What should I inspect\?/);
  });

  test('text it cannot read: asks, quoting the words and giving examples', async () => {
    // "flux" could be a name; "capacitor" after it cannot be anything.
    const task = await rig.run('cluster-diagnose', 'diagnose the flux capacitor');
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /^I could not read that request: could not read "capacitor"\. Try for example: "diagnose statefulset kagent in namespace kagent"/);
  });

  test('a malformed data part is rejected, naming the field', async () => {
    const kind = await rig.run('cluster-diagnose', [{ kind: 'data', data: { namespace: 'kagent', kind: 'cronjob', name: 'x' } }]);
    assert.equal(kind.status.state, 'rejected');
    assert.match(statusText(kind), /^Invalid request: data\.kind "cronjob" is not one of pod, deployment, statefulset/);
    const field = await rig.run('cluster-inspect', [{ kind: 'data', data: { namespace: 'kagent', kind: 'pod', nmae: 'x' } }]);
    assert.equal(field.status.state, 'rejected');
    assert.match(statusText(field), /unknown field\(s\) in the data part: nmae/);
    const type = await rig.run('cluster-inspect', [{ kind: 'data', data: { namespace: 'kagent', kind: 'pod', name: 'kagent-0', action: 'logs', tailLines: '10' } }]);
    assert.equal(type.status.state, 'rejected');
    assert.match(statusText(type), /data\.tailLines must be a number/);
    assert.deepEqual(rig.api.requests, []);
  });

  test('each skill sends the other one\'s work back, and refuses what it cannot do', async () => {
    const toInspect = await rig.run('cluster-diagnose', 'logs kagent-0 -n kagent');
    assert.equal(toInspect.status.state, 'rejected');
    assert.match(statusText(toInspect), /use the cluster-inspect skill/);
    const toDiagnose = await rig.run('cluster-inspect', 'diagnose pod kagent-0 -n kagent');
    assert.equal(toDiagnose.status.state, 'rejected');
    assert.match(statusText(toDiagnose), /use the cluster-diagnose skill/);
    const node = await rig.run('cluster-inspect', 'describe node node-a');
    assert.equal(node.status.state, 'rejected');
    assert.match(statusText(node), /may only list nodes \(it has no permission to get one\)/);
    assert.deepEqual(rig.api.requests, []);
  });
});
