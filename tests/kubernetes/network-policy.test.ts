// The NetworkPolicies each target renders, judged by what they let through
// (network.ts evaluates them the way the NetworkPolicy API defines), plus the
// components that widen them: each component's egress exists with it only.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { KubeObject } from './manifests.js';
import { kustomizeTargets, ofKind, only, renderAll, renderWith } from './manifests.js';
import type { Connection, Endpoint } from './network.js';
import { egressAllowed, ingressAllowed, policiesFor } from './network.js';
import { schemaProblems } from './schema.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let rendered: Map<string, KubeObject[]>;

/** Renders base plus the given components, as an overlay using them would. */
const withComponents = (...components: string[]): KubeObject[] => renderWith('base', components);

before(() => {
  if (kustomize.skip !== false) return;
  rendered = renderAll();
  rendered.set('base+cluster-skills', withComponents('cluster-skills'));
  rendered.set('base+shared-postgres+cluster-skills', withComponents('shared-postgres', 'cluster-skills'));
  rendered.set('base+tracing', withComponents('tracing'));
});


interface Agent {
  objects: KubeObject[];
  pod: Connection['pod'];
  vaporaNamespace: string;
}

function agentOf(objects: KubeObject[]): Agent {
  const sts = only<IStatefulSet>(objects, 'StatefulSet', 'kagent');
  const container = sts.spec!.template.spec!.containers.find((c) => c.name === 'agent')!;
  const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name!, p.containerPort]));
  const vapora = new URL(only<IConfigMap>(objects, 'ConfigMap', 'kagent-config').data!.VAPORA_URL!);
  // <service>.<namespace>.svc.cluster.local
  const vaporaNamespace = vapora.hostname.split('.')[1]!;
  return { objects, pod: { namespace: sts.metadata!.namespace!, labels: sts.spec!.template.metadata!.labels!, ports }, vaporaNamespace };
}

const A2A_PORT = 8080;
const GRPC_PORT = 8081;
const own = (a: Agent): Endpoint => ({ namespace: a.pod.namespace, podLabels: a.pod.labels });
const caller: Endpoint = { namespace: 'team-a', namespaceLabels: { 'kagent.dev/a2a-caller': 'true' }, podLabels: { app: 'orchestrator' } };
const stranger: Endpoint = { namespace: 'team-b', podLabels: { app: 'orchestrator' } };
const kubeDns: Endpoint = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
const outside: Endpoint = { external: '203.0.113.10' };

const into = (a: Agent, peer: Endpoint, port = A2A_PORT, protocol: 'TCP' | 'UDP' = 'TCP') => ingressAllowed(a.objects, { pod: a.pod, peer, port, protocol });
const out = (a: Agent, peer: Endpoint, port: number, protocol: 'TCP' | 'UDP' = 'TCP') => egressAllowed(a.objects, { pod: a.pod, peer, port, protocol, peerPorts: a.pod.ports });

describe('every target isolates the agent with a NetworkPolicy', kustomize, () => {
  for (const target of [...kustomizeTargets(), 'base+cluster-skills', 'base+shared-postgres+cluster-skills', 'base+tracing']) {
    describe(target, () => {
      const agent = () => agentOf(rendered.get(target)!);

      test('the policy kagent selects exactly the agent pods, for both directions', () => {
        const a = agent();
        const policy = only<INetworkPolicy>(a.objects, 'NetworkPolicy', 'kagent');
        assert.deepEqual(policy.spec!.podSelector, only<IStatefulSet>(a.objects, 'StatefulSet', 'kagent').spec!.selector);
        assert.deepEqual(policy.spec!.policyTypes, ['Ingress', 'Egress']);
        for (const p of ofKind<INetworkPolicy>(a.objects, 'NetworkPolicy')) {
          assert.deepEqual(p.spec!.podSelector, policy.spec!.podSelector, `${p.metadata!.name} selects other pods`);
          assert.equal(p.metadata!.namespace, a.pod.namespace);
        }
        const peers = policiesFor(a.objects, a.pod.namespace, a.pod.labels).flatMap((p) => [...(p.spec!.ingress ?? []).flatMap((r) => r.from ?? []), ...(p.spec!.egress ?? []).flatMap((r) => r.to ?? [])]);
        assert.ok(peers.every((peer) => peer.ipBlock === undefined), 'no ipBlock (the evaluator does not model them)');
      });

      test('the A2A ports (HTTP and gRPC) are the only ports open, and only to labelled caller namespaces, VAPORA and the agent pods', () => {
        const a = agent();
        assert.equal(a.pod.ports.http, A2A_PORT);
        assert.equal(a.pod.ports.grpc, GRPC_PORT);
        assert.ok(into(a, caller, GRPC_PORT), 'gRPC from a labelled caller namespace');
        assert.ok(into(a, { namespace: a.vaporaNamespace, podLabels: { app: 'vapora' } }, GRPC_PORT), 'gRPC from VAPORA');
        assert.ok(!into(a, stranger, GRPC_PORT), 'not gRPC from an unlabelled namespace');
        assert.ok(into(a, caller), 'a namespace labelled kagent.dev/a2a-caller=true');
        assert.ok(into(a, { namespace: a.vaporaNamespace, podLabels: { app: 'vapora' } }), "VAPORA's namespace, without a label");
        assert.ok(into(a, own(a)), 'pod to pod: owner routing');
        assert.ok(!into(a, stranger), 'an unlabelled namespace');
        assert.ok(!into(a, { namespace: a.pod.namespace, podLabels: { app: 'debug-shell' } }), 'another pod of the agent namespace');
        assert.ok(!into(a, { namespace: 'team-c', namespaceLabels: { 'kagent.dev/a2a-caller': 'false' }, podLabels: {} }));
        assert.ok(!into(a, outside), 'outside the cluster');
        for (const port of [22, 80, 443, 5432, 8082, 9090]) {
          for (const from of [caller, own(a)]) assert.ok(!into(a, from, port), `port ${port} must be closed`);
        }
        assert.ok(!into(a, caller, A2A_PORT, 'UDP'));
      });

      test('egress: DNS, the sibling pods, VAPORA and labelled peer namespaces', () => {
        const a = agent();
        assert.ok(out(a, kubeDns, 53, 'UDP') && out(a, kubeDns, 53, 'TCP'), 'cluster DNS');
        assert.ok(!out(a, { namespace: 'kube-system', podLabels: { app: 'other' } }, 53, 'UDP'), 'DNS means kube-dns only');
        assert.ok(out(a, own(a), A2A_PORT), 'pod to pod: owner routing and sibling discovery');
        assert.ok(out(a, { namespace: a.vaporaNamespace, podLabels: { app: 'vapora' } }, 8080), "VAPORA_URL's namespace");
        assert.ok(out(a, { namespace: 'agents', namespaceLabels: { 'kagent.dev/a2a-peer': 'true' }, podLabels: {} }, 9000), 'a labelled peer namespace');
        assert.ok(!out(a, stranger, 8080), 'an unlabelled namespace');
        assert.ok(!out(a, { namespace: a.pod.namespace, podLabels: { app: 'other' } }, 8080), 'other pods of the agent namespace');
      });
    });
  }
});

describe("each component's opening comes with that component only", kustomize, () => {
  const postgres = { namespace: 'db', podLabels: { app: 'postgres' } };
  const prometheus: Endpoint = { namespace: 'monitoring', podLabels: { app: 'prometheus' } };
  const labelledScraper: Endpoint = { namespace: 'observability', namespaceLabels: { 'kagent.dev/metrics-scraper': 'true' }, podLabels: { app: 'prometheus' } };
  const collector: Endpoint = { namespace: 'observability', podLabels: { app: 'otel-collector' } };
  const labelledCollector: Endpoint = { namespace: 'telemetry', namespaceLabels: { 'kagent.dev/otel-collector': 'true' }, podLabels: { app: 'otel-collector' } };
  const cases: [string, { postgres: boolean; apiServer: boolean; scraper: boolean; collector: boolean }][] = [
    ['base', { postgres: false, apiServer: false, scraper: false, collector: false }],
    ['overlays/dev', { postgres: false, apiServer: false, scraper: false, collector: false }],
    ['overlays/staging', { postgres: false, apiServer: false, scraper: true, collector: false }],
    ['overlays/prod', { postgres: false, apiServer: false, scraper: true, collector: false }],
    ['overlays/prod-shared', { postgres: true, apiServer: false, scraper: true, collector: false }],
    ['base+cluster-skills', { postgres: false, apiServer: true, scraper: false, collector: false }],
    ['base+shared-postgres+cluster-skills', { postgres: true, apiServer: true, scraper: false, collector: false }],
    ['base+tracing', { postgres: false, apiServer: false, scraper: false, collector: true }],
  ];
  for (const [target, expected] of cases) {
    const says = (open: boolean) => (open ? 'reachable' : 'closed');
    test(`${target}: PostgreSQL ${says(expected.postgres)}, the API server ${says(expected.apiServer)}, the agent ${says(expected.scraper)} to Prometheus`, () => {
      const a = agentOf(rendered.get(target)!);
      assert.equal(out(a, postgres, 5432), expected.postgres, 'PostgreSQL in the cluster');
      assert.equal(out(a, { external: '198.51.100.7' }, 5432), expected.postgres, 'a managed PostgreSQL');
      assert.equal(out(a, outside, 443), expected.apiServer, 'the API server on 443');
      assert.equal(out(a, outside, 6443), expected.apiServer, 'the API server on 6443');
      assert.equal(into(a, prometheus), expected.scraper, 'Prometheus in the monitoring namespace');
      assert.equal(into(a, labelledScraper), expected.scraper, 'Prometheus in a namespace labelled as the scraper');
      assert.equal(out(a, collector, 4318), expected.collector, 'the OpenTelemetry collector in observability');
      assert.equal(out(a, labelledCollector, 4318), expected.collector, 'a collector in a namespace labelled as one');
      assert.ok(!out(a, collector, 4317), 'OTLP/gRPC is not what the agent sends');
      // The scraper reaches the A2A port (where /metrics is) and nothing else.
      assert.ok(!into(a, prometheus, 9090), 'another port from Prometheus');
      // Neither opens anything else.
      for (const port of [80, 3306, 8443]) assert.ok(!out(a, outside, port), `port ${port} outside`);
      const names = ofKind<INetworkPolicy>(a.objects, 'NetworkPolicy').map((p) => p.metadata!.name).sort();
      const expectedNames = ['kagent', ...(expected.apiServer ? ['kagent-api-server'] : []), ...(expected.postgres ? ['kagent-postgres'] : []), ...(expected.scraper ? ['kagent-metrics'] : []), ...(expected.collector ? ['kagent-otel'] : [])];
      assert.deepEqual(names, expectedNames.sort());
    });
  }
});

test('the renders with the components (no overlay uses cluster-skills) are valid by the schemas', kustomize, async () => {
  const problems: string[] = [];
  for (const target of ['base+cluster-skills', 'base+shared-postgres+cluster-skills']) {
    for (const object of rendered.get(target)!) {
      for (const problem of await schemaProblems(object)) problems.push(`${target} ${object.kind}/${object.metadata.name}: ${problem}`);
    }
  }
  assert.deepEqual(problems, []);
});

describe('the evaluator itself', () => {
  const pod = { namespace: 'kagent', labels: { app: 'a' }, ports: { http: 8080 } };
  const policy = (spec: INetworkPolicy['spec']): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'kagent' }, spec });
  const from = (peer: Endpoint, port = 8080) => ({ pod, peer, port });

  test('no policy selecting the pod allows everything; an empty rule list allows nothing', () => {
    assert.ok(ingressAllowed([], from(outside)));
    assert.ok(!ingressAllowed([policy({ podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'] })], from(caller)));
    assert.ok(ingressAllowed([policy({ podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'] })], from(caller)), 'a policy for other pods');
  });

  test('a rule without peers admits every source on its ports; named ports resolve against the pod', () => {
    const objects = [policy({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http' }] }] })];
    assert.ok(ingressAllowed(objects, from(outside)));
    assert.ok(!ingressAllowed(objects, from(outside, 8081)));
  });

  test('a peer with namespace and pod selectors needs both; a pod selector alone means the same namespace', () => {
    const objects = [
      policy({
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { role: 'client' } } }, { podSelector: { matchLabels: { role: 'sibling' } } }] }],
      }),
    ];
    assert.ok(ingressAllowed(objects, from({ namespace: 'n', namespaceLabels: { team: 'x' }, podLabels: { role: 'client' } })));
    assert.ok(!ingressAllowed(objects, from({ namespace: 'n', namespaceLabels: { team: 'x' }, podLabels: { role: 'other' } })));
    assert.ok(ingressAllowed(objects, from({ namespace: 'kagent', podLabels: { role: 'sibling' } })));
    assert.ok(!ingressAllowed(objects, from({ namespace: 'elsewhere', podLabels: { role: 'sibling' } })));
  });
});
