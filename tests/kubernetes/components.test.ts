// The components any overlay can include (hpa, monitoring, istio), on their
// own and in combination with every overlay where that makes sense: rendered
// with a real Kustomize, validated offline against the Kubernetes schemas and
// the custom resources' own (Prometheus Operator, Istio), and checked for what
// they must do.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IService } from 'kubernetes-models/v1/Service';
import { loadConfig } from '../../src/config/load.js';
import { parse } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';
import type { KubeObject } from './manifests.js';
import { ofKind, only, render, renderWith, selects } from './manifests.js';
import { schemaProblems } from './schema.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

type Component = 'hpa' | 'monitoring' | 'istio' | 'tracing';

/**
 * Each overlay with the components it may add. Dev runs one pod (nothing to
 * autoscale); staging has monitoring and keeps a fixed size; prod and
 * prod-shared have hpa and monitoring. Istio and tracing go with any of them.
 */
const COMBINATIONS: readonly { target: string; add: Component[] }[] = [
  { target: 'base', add: ['hpa'] },
  { target: 'base', add: ['monitoring'] },
  { target: 'base', add: ['istio'] },
  { target: 'base', add: ['hpa', 'monitoring', 'istio'] },
  { target: 'overlays/dev', add: ['monitoring'] },
  { target: 'overlays/dev', add: ['istio'] },
  { target: 'overlays/dev', add: ['monitoring', 'istio'] },
  { target: 'overlays/staging', add: ['istio'] },
  { target: 'overlays/prod', add: ['istio'] },
  { target: 'overlays/prod-shared', add: ['istio'] },
  { target: 'overlays/staging', add: ['tracing'] },
  { target: 'overlays/prod', add: ['tracing', 'istio'] },
];

const label = (c: { target: string; add: Component[] }) => `${c.target} + ${c.add.join(' + ')}`;

const rendered = new Map<string, KubeObject[]>();

before(() => {
  if (kustomize.skip !== false) return;
  for (const target of ['overlays/dev', 'overlays/staging', 'overlays/prod', 'overlays/prod-shared']) rendered.set(target, render(target));
  for (const combination of COMBINATIONS) rendered.set(label(combination), renderWith(combination.target, combination.add));
});


const statefulSet = (objects: KubeObject[]) => only<IStatefulSet>(objects, 'StatefulSet', 'kagent');

describe('every overlay × component combination renders and is valid, custom resources included', kustomize, () => {
  for (const combination of COMBINATIONS) {
    test(label(combination), async () => {
      const objects = rendered.get(label(combination))!;
      const problems: string[] = [];
      for (const object of objects) {
        for (const problem of await schemaProblems(object)) problems.push(`${object.kind}/${object.metadata.name}: ${problem}`);
      }
      assert.deepEqual(problems, []);
      const kinds = new Set(objects.map((o) => o.kind));
      if (combination.add.includes('hpa')) assert.ok(kinds.has('HorizontalPodAutoscaler'));
      if (combination.add.includes('monitoring')) for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.ok(kinds.has(kind), kind);
      if (combination.add.includes('istio')) for (const kind of ['PeerAuthentication', 'DestinationRule', 'AuthorizationPolicy']) assert.ok(kinds.has(kind), kind);
      for (const object of objects) if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'kagent', `${object.kind}/${object.metadata.name}`);
    });
  }

  test('the custom resources\' schemas catch a misspelt field and a wrong type, as the built-in ones do', async () => {
    const objects = rendered.get('base + hpa + monitoring + istio')!;
    const monitor = structuredClone(only(objects, 'ServiceMonitor')) as KubeObject & { spec: any };
    monitor.spec.endpoint = monitor.spec.endpoints;
    assert.deepEqual(await schemaProblems(monitor), ['/spec/endpoint: unknown field (not in the ServiceMonitor schema)']);
    const policy = structuredClone(only(objects, 'AuthorizationPolicy')) as KubeObject & { spec: any };
    policy.spec.rules[0].from[0].source.principal = ['x'];
    assert.deepEqual(await schemaProblems(policy), ['/spec/rules/0/from/0/source/principal: unknown field (not in the AuthorizationPolicy schema)']);
    const rule = structuredClone(only(objects, 'PrometheusRule')) as KubeObject & { spec: any };
    rule.spec.groups[0].rules[0].for = 10;
    assert.ok((await schemaProblems(rule)).some((p) => /for/.test(p)), 'a number where a duration string belongs');
  });
});

describe('hpa', kustomize, () => {
  const hpaOf = (objects: KubeObject[]) => only<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');

  for (const target of ['base + hpa', 'overlays/prod', 'overlays/prod-shared']) {
    test(`${target}: the HPA targets the StatefulSet by name`, () => {
      const objects = rendered.get(target) ?? rendered.get(label({ target: 'base', add: ['hpa'] }))!;
      const hpa = hpaOf(objects);
      const sts = statefulSet(objects);
      assert.deepEqual(hpa.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata!.name });
    });
  }

  for (const target of ['overlays/prod', 'overlays/prod-shared']) {
    test(`${target}: the HPA's minimum is prod's replicas`, () => {
      const objects = rendered.get(target)!;
      assert.equal(hpaOf(objects).spec!.minReplicas, statefulSet(objects).spec!.replicas);
      assert.equal(statefulSet(objects).spec!.replicas, 5);
      assert.ok(hpaOf(objects).spec!.maxReplicas > 5);
    });
  }

  test('scale-down waits, then removes at most one pod per period; scale-up is not held back by it', () => {
    const hpa = hpaOf(rendered.get('overlays/prod')!);
    const down = hpa.spec!.behavior!.scaleDown!;
    assert.ok((down.stabilizationWindowSeconds ?? 0) >= 300, 'at least five minutes of lower load first');
    assert.ok(down.policies!.length > 0);
    for (const policy of down.policies!) {
      assert.equal(policy.type, 'Pods');
      assert.equal(policy.value, 1);
    }
    assert.equal(down.selectPolicy ?? 'Max', 'Min');
    assert.ok(hpa.spec!.behavior!.scaleUp!.policies!.every((p) => p.value >= 1));
  });

  test('it scales on CPU and on the tasks each pod runs, a metric the agent exports', () => {
    const hpa = hpaOf(rendered.get('overlays/prod')!);
    const metrics = hpa.spec!.metrics!;
    assert.ok(metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization'));
    const pods = metrics.find((m) => m.type === 'Pods');
    assert.ok(pods, 'a Pods metric');
    assert.equal(pods.pods!.target.type, 'AverageValue');
    const name = pods.pods!.metric.name;
    assert.equal(name, 'kagent_tasks_running');
    assert.ok(new Metrics().registry.getSingleMetric(name), `${name} is one of the agent's metrics`);
  });

  test('dev and staging do not autoscale', () => {
    for (const target of ['overlays/dev', 'overlays/staging']) assert.deepEqual(ofKind(rendered.get(target)!, 'HorizontalPodAutoscaler'), [], target);
  });
});

/** Whether an ALLOW policy admits a caller by its mesh identity (principal) on a path. */
function admits(policy: KubeObject, principal: string, path: string): boolean {
  const spec = policy.spec as { action?: string; rules?: { from?: { source: { principals?: string[]; namespaces?: string[] } }[]; to?: { operation: { paths?: string[] } }[] }[] };
  assert.equal(spec.action ?? 'ALLOW', 'ALLOW');
  const namespace = /^[^/]+\/ns\/([^/]+)\/sa\//.exec(principal)?.[1];
  return (spec.rules ?? []).some((rule) => {
    const from = rule.from === undefined || rule.from.some(({ source }) => source.principals?.includes(principal) || (namespace !== undefined && source.namespaces?.includes(namespace)));
    const to = rule.to === undefined || rule.to.some(({ operation }) => operation.paths === undefined || operation.paths.includes(path));
    return from && to;
  });
}

describe('istio', kustomize, () => {
  const targets = COMBINATIONS.filter((c) => c.add.includes('istio')).map(label);

  for (const target of targets) {
    test(`${target}: mTLS is STRICT and the AuthorizationPolicy admits the StatefulSet's own service account (owner routing) and VAPORA`, () => {
      const objects = rendered.get(target)!;
      const sts = statefulSet(objects);
      const pods = sts.spec!.template.metadata!.labels!;
      const peer = only(objects, 'PeerAuthentication') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; mtls: { mode: string } } };
      assert.equal(peer.spec.mtls.mode, 'STRICT');
      assert.ok(selects(peer.spec.selector, pods), 'PeerAuthentication selects the agent pods');
      const policy = only(objects, 'AuthorizationPolicy') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } };
      assert.ok(selects(policy.spec.selector, pods), 'AuthorizationPolicy selects the agent pods');
      const own = `cluster.local/ns/${sts.metadata!.namespace}/sa/${sts.spec!.template.spec!.serviceAccountName}`;
      assert.ok(admits(policy, own, '/'), `${own} is admitted`);
      assert.ok(admits(policy, 'cluster.local/ns/vapora/sa/vapora', '/'), 'VAPORA is admitted');
    });
  }

  test('the policy check is not vacuous: a stranger, another namespace\'s kagent and Prometheus off /metrics are refused', () => {
    const policy = only(rendered.get('overlays/prod + istio')!, 'AuthorizationPolicy');
    assert.equal(admits(policy, 'cluster.local/ns/default/sa/default', '/'), false);
    assert.equal(admits(policy, 'cluster.local/ns/other/sa/kagent', '/'), false);
    assert.equal(admits(policy, 'cluster.local/ns/monitoring/sa/prometheus', '/'), false);
    assert.equal(admits(policy, 'cluster.local/ns/monitoring/sa/prometheus', '/metrics'), true);
  });

  test('every port of every Service of the agent says its protocol: HTTP (JSON-RPC, HTTP+JSON and SSE) or gRPC', () => {
    const objects = rendered.get('overlays/staging + istio')!;
    const pods = statefulSet(objects).spec!.template.metadata!.labels!;
    const services = ofKind<IService>(objects, 'Service').filter((s) => s.spec?.selector !== undefined && selects({ matchLabels: s.spec.selector }, pods));
    assert.ok(services.length >= 3, 'kagent, kagent-headless, kagent-metrics');
    for (const service of services) {
      for (const port of service.spec!.ports!) {
        const protocol = port.name === 'grpc' ? 'grpc' : 'http';
        assert.equal(port.appProtocol, protocol, `${service.metadata!.name}:${port.name}`);
        assert.match(port.name ?? '', new RegExp(`^${protocol}(-|$)`), `${service.metadata!.name}: Istio reads the protocol from the name too`);
      }
    }
  });

  test('the sidecar starts before the agent and outlasts its drain, inside the grace period', () => {
    const sts = statefulSet(rendered.get('overlays/prod + istio')!);
    const template = sts.spec!.template;
    assert.equal(template.metadata!.labels!['sidecar.istio.io/inject'], 'true');
    const proxy = parse(template.metadata!.annotations!['proxy.istio.io/config']!) as { holdApplicationUntilProxyStarts: boolean; terminationDrainDuration: string };
    assert.equal(proxy.holdApplicationUntilProxyStarts, true);
    const drainSeconds = Number(/^(\d+)s$/.exec(proxy.terminationDrainDuration)?.[1]);
    const configMap = only(rendered.get('overlays/prod + istio')!, 'ConfigMap', 'kagent-config') as KubeObject & { data: Record<string, string> };
    const agentDrain = Number(/^(\d+)s$/.exec(configMap.data.DRAIN_TIMEOUT!)?.[1]);
    const preStop = 5;
    assert.ok(drainSeconds >= agentDrain + preStop, `the sidecar (${drainSeconds}s) outlasts preStop + DRAIN_TIMEOUT (${preStop + agentDrain}s)`);
    assert.ok(drainSeconds < template.spec!.terminationGracePeriodSeconds!, 'and ends inside the grace period');
  });

  test('long streams and long blocking sends survive the sidecar: no route timeout, long idle timeouts, HTTP/1.1 kept', () => {
    const objects = rendered.get('overlays/prod + istio')!;
    const route = only(objects, 'VirtualService') as KubeObject & { spec: { http: { timeout?: string; retries?: { retryOn?: string } }[] } };
    for (const http of route.spec.http) {
      assert.equal(http.timeout, '0s');
      assert.doesNotMatch(http.retries?.retryOn ?? '', /5xx|gateway-error|retriable-status-codes/, 'the mesh must not deliver a message twice');
    }
    for (const rule of ofKind(objects, 'DestinationRule') as (KubeObject & { spec: { host: string; trafficPolicy: any } })[]) {
      assert.ok(ofKind<IService>(objects, 'Service').some((s) => s.metadata!.name === rule.spec.host), `${rule.spec.host} is a Service`);
      assert.equal(rule.spec.trafficPolicy.tls.mode, 'ISTIO_MUTUAL');
      assert.ok(Number.parseInt(rule.spec.trafficPolicy.connectionPool.http.idleTimeout, 10) >= 3600, 'idle timeout of an hour or more');
    }
  });
});

describe('overlays/staging', kustomize, () => {
  test('two pods, spread over nodes where possible, monitored, not autoscaled', () => {
    const objects = rendered.get('overlays/staging')!;
    const sts = statefulSet(objects);
    assert.equal(sts.spec!.replicas, 2);
    const antiAffinity = sts.spec!.template.spec!.affinity!.podAntiAffinity!;
    assert.equal(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined);
    assert.ok(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution!.length > 0);
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.equal(ofKind(objects, kind).length, 1, kind);
    assert.deepEqual(ofKind(objects, 'HorizontalPodAutoscaler'), []);
  });
});

describe('monitoring', kustomize, () => {
  test('the ServiceMonitor scrapes /metrics on a named port of a Service that selects the agent pods', () => {
    const objects = rendered.get('overlays/prod')!;
    const monitor = only(objects, 'ServiceMonitor') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
    const services = ofKind<IService>(objects, 'Service').filter((s) => selects(monitor.spec.selector, s.metadata!.labels ?? {}));
    assert.equal(services.length, 1, 'exactly one Service, so each pod is scraped once');
    const [service] = services;
    assert.ok(selects({ matchLabels: service!.spec!.selector! }, statefulSet(objects).spec!.template.metadata!.labels!));
    assert.equal(service!.spec!.publishNotReadyAddresses, true, 'a pod that is not ready is still scraped');
    for (const endpoint of monitor.spec.endpoints) {
      assert.equal(endpoint.path, '/metrics');
      assert.ok(service!.spec!.ports!.some((p) => p.name === endpoint.port));
    }
  });

  test('the dashboard ConfigMap carries the Grafana sidecar label and a fixed name', () => {
    const dashboard = only(rendered.get('overlays/prod')!, 'ConfigMap', 'kagent-dashboard');
    assert.equal(dashboard.metadata.labels?.grafana_dashboard, '1');
  });
});

describe('tracing', kustomize, () => {
  test("its settings are the service's own, valid as given, and turn tracing on", () => {
    const objects = rendered.get(label({ target: 'overlays/staging', add: ['tracing'] }))!;
    const container = statefulSet(objects).spec!.template.spec!.containers.find((c) => c.name === 'agent')!;
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.name.startsWith('OTEL_')).map((e) => [e.name, e.value!]));
    const config = loadConfig({ env });
    assert.ok(config.OTEL_EXPORTER_OTLP_ENDPOINT?.startsWith('http://otel-collector.observability.svc.cluster.local:4318'));
    assert.equal(config.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    assert.equal(config.OTEL_SERVICE_NAME, 'kagent-a2a');
    // The port the NetworkPolicy opens is the endpoint's.
    const policy = only<INetworkPolicy>(objects, 'NetworkPolicy', 'kagent-otel');
    assert.deepEqual(policy.spec!.egress!.flatMap((rule) => rule.ports ?? []).map((p) => p.port), [Number(new URL(config.OTEL_EXPORTER_OTLP_ENDPOINT!).port)]);
  });
});
