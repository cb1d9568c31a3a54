// The deployment decisions of the ADR, asserted on what Kustomize renders for
// each environment.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { KubeObject } from './manifests.js';
import { ofKind, only, quantity, render, selects } from './manifests.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

const overlays = {
  'overlays/dev': { replicas: 1, antiAffinity: 'preferred', logLevel: 'debug', pdb: false },
  'overlays/staging': { replicas: 2, antiAffinity: 'preferred', logLevel: 'info', pdb: false },
  'overlays/prod': { replicas: 5, antiAffinity: 'required', logLevel: 'info', pdb: true },
} as const;

let rendered: Map<string, KubeObject[]>;

before(() => {
  if (kustomize.skip === false) rendered = new Map(Object.keys(overlays).map((target) => [target, render(target)]));
});

const statefulSet = (target: string) => only<IStatefulSet>(rendered.get(target)!, 'StatefulSet', 'kagent');
const podLabels = (target: string) => statefulSet(target).spec!.template.metadata!.labels!;
const agent = (target: string) => statefulSet(target).spec!.template.spec!.containers.find((c) => c.name === 'agent')!;

for (const [target, expected] of Object.entries(overlays)) {
  describe(target, kustomize, () => {
    test(`runs ${expected.replicas} replica(s) of one StatefulSet, started in order and updated rolling`, () => {
      const sts = statefulSet(target);
      assert.equal(sts.spec!.replicas, expected.replicas);
      assert.equal(sts.spec!.podManagementPolicy, 'OrderedReady');
      assert.equal(sts.spec!.updateStrategy?.type ?? 'RollingUpdate', 'RollingUpdate');
      assert.equal(sts.spec!.updateStrategy?.rollingUpdate?.partition ?? 0, 0, 'a partition would hold pods back from every update');
    });

    test('the StatefulSet selects its own pods, and only by the shared labels', () => {
      const sts = statefulSet(target);
      assert.deepEqual(sts.spec!.selector, {
        matchLabels: { 'app.kubernetes.io/name': 'kagent', 'app.kubernetes.io/component': 'agent' },
      });
      assert.ok(selects(sts.spec!.selector, podLabels(target)));
    });

    test('the headless Service gives each pod its DNS name: it is the serviceName and selects the same pods', () => {
      const sts = statefulSet(target);
      const headless = only<IService>(rendered.get(target)!, 'Service', sts.spec!.serviceName);
      assert.equal(sts.spec!.serviceName, 'kagent-headless');
      assert.equal(headless.spec!.clusterIP, 'None');
      assert.deepEqual(headless.spec!.selector, sts.spec!.selector.matchLabels);
      assert.ok(selects({ matchLabels: headless.spec!.selector! }, podLabels(target)));
    });

    test('the ClusterIP Service kagent selects the same pods', () => {
      const service = only<IService>(rendered.get(target)!, 'Service', 'kagent');
      assert.equal(service.spec!.type ?? 'ClusterIP', 'ClusterIP');
      assert.notEqual(service.spec!.clusterIP, 'None');
      assert.deepEqual(service.spec!.selector, statefulSet(target).spec!.selector.matchLabels);
    });

    test(`pod anti-affinity per node is ${expected.antiAffinity}, selecting exactly these pods`, () => {
      const antiAffinity = statefulSet(target).spec!.template.spec!.affinity?.podAntiAffinity;
      assert.ok(antiAffinity !== undefined, 'no podAntiAffinity');
      const required = antiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      const preferred = (antiAffinity.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => p.podAffinityTerm);
      const [terms, others] = expected.antiAffinity === 'required' ? [required, preferred] : [preferred, required];
      assert.equal(terms.length, 1, `expected one ${expected.antiAffinity} term`);
      assert.deepEqual(others, [], `no ${expected.antiAffinity === 'required' ? 'preferred' : 'required'} terms expected`);
      const [term] = terms;
      assert.equal(term!.topologyKey, 'kubernetes.io/hostname');
      assert.deepEqual(term!.labelSelector, statefulSet(target).spec!.selector);
      assert.ok(selects(term!.labelSelector, podLabels(target)));
      assert.equal(term!.namespaces ?? undefined, undefined, 'the term must stay in the pods own namespace');
    });

    test(`logs at ${expected.logLevel}`, () => {
      const configMap = only<IConfigMap>(rendered.get(target)!, 'ConfigMap', 'kagent-config');
      assert.equal(configMap.data?.LOG_LEVEL, expected.logLevel);
    });

    test(expected.pdb ? 'a PodDisruptionBudget lets at most one pod be evicted at a time' : 'has no PodDisruptionBudget', () => {
      const budgets = ofKind<IPodDisruptionBudget>(rendered.get(target)!, 'PodDisruptionBudget');
      if (!expected.pdb) {
        assert.deepEqual(budgets, []);
        return;
      }
      assert.equal(budgets.length, 1);
      const pdb = budgets[0]!;
      assert.equal(pdb.metadata!.name, 'kagent');
      assert.deepEqual(pdb.spec!.selector, statefulSet(target).spec!.selector);
      assert.ok(selects(pdb.spec!.selector, podLabels(target)));
      assert.equal(allowedDisruptions(pdb, expected.replicas), 1);
    });
  });
}

/** Pods the budget lets be evicted at once when all `replicas` are healthy (percentages as the disruption controller rounds them). */
function allowedDisruptions(pdb: IPodDisruptionBudget, replicas: number): number {
  const { maxUnavailable, minAvailable } = pdb.spec!;
  const count = (value: string | number, roundUp: boolean) => {
    if (typeof value === 'number') return value;
    const percent = Number(/^(\d+)%$/.exec(value)?.[1] ?? NaN);
    assert.ok(Number.isFinite(percent), `not an int or percentage: ${value}`);
    return roundUp ? Math.ceil((percent * replicas) / 100) : Math.floor((percent * replicas) / 100);
  };
  assert.ok((maxUnavailable === undefined) !== (minAvailable === undefined), 'exactly one of maxUnavailable and minAvailable');
  if (maxUnavailable !== undefined) return count(maxUnavailable, true);
  return replicas - count(minAvailable!, true);
}

describe('prod is sized above dev', kustomize, () => {
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      test(`${resource} ${kind}`, () => {
        const dev = quantity(agent('overlays/dev').resources?.[kind]?.[resource]);
        const prod = quantity(agent('overlays/prod').resources?.[kind]?.[resource]);
        assert.ok(prod > dev, `prod ${resource} ${kind} ${prod} is not above dev's ${dev}`);
      });
    }
  }

  test('the per-pod data volume', () => {
    const size = (target: string) => {
      const claim = statefulSet(target).spec!.volumeClaimTemplates!.find((c) => c.metadata?.name === 'data')!;
      return quantity(claim.spec!.resources!.requests!.storage);
    };
    assert.ok(size('overlays/prod') > size('overlays/dev'));
  });
});

test('the PodDisruptionBudget arithmetic counts percentages as Kubernetes does', () => {
  const pdb = (spec: IPodDisruptionBudget['spec']) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', spec }) as IPodDisruptionBudget;
  assert.equal(allowedDisruptions(pdb({ maxUnavailable: 1 }), 5), 1);
  assert.equal(allowedDisruptions(pdb({ maxUnavailable: '20%' }), 5), 1);
  assert.equal(allowedDisruptions(pdb({ maxUnavailable: '30%' }), 5), 2);
  assert.equal(allowedDisruptions(pdb({ minAvailable: 4 }), 5), 1);
  assert.equal(allowedDisruptions(pdb({ minAvailable: '80%' }), 5), 1);
  assert.equal(allowedDisruptions(pdb({ minAvailable: '70%' }), 5), 1);
  assert.equal(allowedDisruptions(pdb({ minAvailable: '50%' }), 5), 2);
});
