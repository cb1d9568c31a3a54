// Rules about how the objects fit together: replicas and nodes, Services and
// the pods they select, StatefulSets and their Service, disruption budgets, autoscalers.
import { Review, containersOf, sameNamespace } from './reviewed.js';
import type { Item } from './reviewed.js';
import { int, isEmptySelector, labelsOf, list, mapSelects, plural, rec, scaled, selects, str } from './values.js';

const SCALABLE_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
/** The replica range of a scalable workload: spec.replicas, widened by an autoscaler that targets it. */
function replicaRange(review: Review, item: Item): { min: number; max: number } | undefined {
  if (!SCALABLE_KINDS.has(item.kind)) return item.kind === 'Pod' ? { min: 1, max: 1 } : undefined;
  const replicas = int(rec(item.value.spec).replicas) ?? 1;
  const hpa = review.items.find((other) => {
    if (other.kind !== 'HorizontalPodAutoscaler' || !sameNamespace(other, item)) return false;
    const target = rec(rec(other.value.spec).scaleTargetRef);
    return target.kind === item.kind && target.name === item.name;
  });
  if (hpa === undefined) return { min: replicas, max: replicas };
  const spec = rec(hpa.value.spec);
  return { min: int(spec.minReplicas) ?? 1, max: Math.max(int(spec.maxReplicas) ?? replicas, replicas) };
}

export function antiAffinityRule(review: Review): void {
  const nodes = review.options.nodeCount;
  for (const template of review.templates) {
    const range = replicaRange(review, template.item);
    if (range === undefined || template.item.kind === 'Pod') continue;
    const terms = list(rec(rec(template.spec.affinity).podAntiAffinity).requiredDuringSchedulingIgnoredDuringExecution);
    terms.forEach((term, i) => {
      const t = rec(term);
      if (t.topologyKey !== 'kubernetes.io/hostname' || !selects(t.labelSelector, template.labels)) return;
      const namespaces = list(t.namespaces);
      if (namespaces.length > 0 && template.item.namespace !== undefined && !namespaces.includes(template.item.namespace)) return;
      const path = `${template.specPath}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[${i}]`;
      const replicas = range.max === range.min ? plural(range.max, 'replica') : `up to ${range.max} replicas (autoscaled)`;
      if (nodes !== undefined) {
        if (range.max > nodes) {
          review.add(
            'anti-affinity-replicas',
            template.item.id,
            path,
            `${replicas} with required anti-affinity per node, but only ${plural(nodes, 'node')}: ${range.max - nodes} stay Pending`,
            `Run at most ${nodes} replicas, add nodes, or use preferredDuringSchedulingIgnoredDuringExecution (or topologySpreadConstraints) instead.`,
          );
        }
      } else if (range.max > 1) {
        review.add(
          'anti-affinity-replicas',
          template.item.id,
          path,
          `${replicas} with required anti-affinity per node need at least ${plural(range.max, 'node')}; no node count was stated, so this was not checked`,
          'State nodeCount with the request to check it.',
          'info',
        );
      }
    });
  }
}

export function serviceRules(review: Review): void {
  for (const service of review.items.filter((item) => item.kind === 'Service')) {
    const spec = rec(service.value.spec);
    if (spec.type === 'ExternalName') continue;
    const selector = labelsOf(spec.selector);
    if (Object.keys(selector).length === 0) continue;
    const matched = review.templates.filter((t) => sameNamespace(t.item, service) && mapSelects(selector, t.labels));
    if (matched.length === 0) {
      const pairs = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(', ');
      review.add(
        'service-selector',
        service.id,
        'spec.selector',
        `the selector ${pairs} matches no pod template among the reviewed objects: the Service would have no endpoints`,
        'Make spec.selector a subset of the workload’s spec.template.metadata.labels.',
      );
      continue;
    }
    list(spec.ports).forEach((port, i) => {
      const target = rec(port).targetPort;
      if (typeof target !== 'string' || /^[0-9]+$/.test(target)) return;
      const declared = matched.some((t) => containersOf(t).some(({ container }) => list(container.ports).some((p) => rec(p).name === target)));
      if (!declared) {
        review.add(
          'service-target-port',
          service.id,
          `spec.ports[${i}].targetPort`,
          `targetPort ${target} is a port name no container of the selected pods declares: the Service sends traffic nowhere`,
          `Name the container port ${target}, or set targetPort to the port it listens on.`,
        );
      }
    });
  }
}

export function statefulSetRule(review: Review): void {
  for (const sts of review.items.filter((item) => item.kind === 'StatefulSet')) {
    const serviceName = str(rec(sts.value.spec).serviceName);
    if (serviceName === undefined || serviceName === '') continue;
    const service = review.find('Service', serviceName, sts);
    if (service === undefined) {
      review.add(
        'statefulset-service',
        sts.id,
        'spec.serviceName',
        `serviceName ${serviceName} names no Service among the reviewed objects: the pods get no stable DNS names`,
        `Add a headless Service ${serviceName} (clusterIP: None) selecting the StatefulSet's pods.`,
      );
    } else if (rec(service.value.spec).clusterIP !== 'None') {
      review.add(
        'statefulset-service',
        sts.id,
        'spec.serviceName',
        `Service ${serviceName} is not headless (clusterIP is not None): the pods get no per-pod DNS names`,
        `Set spec.clusterIP: None on Service ${serviceName} (a headless Service; keep a separate one for load-balanced traffic).`,
      );
    }
  }
}

export function pdbRule(review: Review): void {
  for (const pdb of review.items.filter((item) => item.kind === 'PodDisruptionBudget')) {
    const spec = rec(pdb.value.spec);
    // policy/v1: an empty selector selects every pod of the namespace.
    const everything = isEmptySelector(spec.selector) && pdb.apiVersion === 'policy/v1';
    const matched = review.templates.filter((t) => sameNamespace(t.item, pdb) && (everything || selects(spec.selector, t.labels)));
    if (matched.length === 0) {
      review.add(
        'pdb-protects-nothing',
        pdb.id,
        'spec.selector',
        'the selector matches no pod template among the reviewed objects: the budget protects nothing',
        'Make spec.selector match the labels of the workload it protects.',
      );
      continue;
    }
    // The fewest pods the budget can see; unknown when a DaemonSet or Job is among them and no node count is known.
    let pods = 0;
    for (const t of matched) {
      const range = replicaRange(review, t.item);
      if (range !== undefined) pods += range.min;
      else if (t.item.kind === 'DaemonSet' && review.options.nodeCount !== undefined) pods += review.options.nodeCount;
      else return;
    }
    const field = spec.minAvailable !== undefined ? 'minAvailable' : spec.maxUnavailable !== undefined ? 'maxUnavailable' : undefined;
    if (field === undefined) continue;
    const value = scaled(spec[field], pods);
    if (value === undefined) continue;
    const shown = JSON.stringify(spec[field]);
    const of = `of ${plural(pods, 'pod')}`;
    if (field === 'minAvailable' ? value >= pods : value <= 0) {
      review.add(
        'pdb-blocks-eviction',
        pdb.id,
        `spec.${field}`,
        `${field} ${shown} ${of} allows no voluntary disruption: node drains and cluster upgrades hang on these pods`,
        pods > 1 ? `Use maxUnavailable: 1 (or minAvailable: ${pods - 1}).` : 'Run at least 2 replicas, or use maxUnavailable: 1.',
      );
    } else if (field === 'minAvailable' ? value <= 0 : value >= pods) {
      review.add(
        'pdb-protects-nothing',
        pdb.id,
        `spec.${field}`,
        `${field} ${shown} ${of} lets every pod be evicted at once: the budget protects nothing`,
        pods > 1 ? 'Use maxUnavailable: 1 so at most one pod is down at a time.' : 'Run at least 2 replicas and use maxUnavailable: 1.',
      );
    }
  }
}

export function hpaRules(review: Review): void {
  for (const hpa of review.items.filter((item) => item.kind === 'HorizontalPodAutoscaler')) {
    const spec = rec(hpa.value.spec);
    const target = rec(spec.scaleTargetRef);
    const kind = str(target.kind);
    const name = str(target.name);
    if (kind !== undefined && name !== undefined && review.find(kind, name, hpa) === undefined) {
      review.add(
        'hpa-target-missing',
        hpa.id,
        'spec.scaleTargetRef',
        `the scale target ${kind}/${name} is not among the reviewed objects: the autoscaler scales nothing`,
        `Point scaleTargetRef at the workload (kind and name exactly as in its manifest), or include ${kind}/${name}.`,
      );
    }
    const min = int(spec.minReplicas) ?? 1;
    const max = int(spec.maxReplicas);
    if (max !== undefined && min > max) {
      review.add(
        'hpa-replica-range',
        hpa.id,
        'spec.minReplicas',
        `minReplicas ${min} is above maxReplicas ${max}: the API server rejects it`,
        `Set minReplicas ≤ maxReplicas (e.g. minReplicas: ${max}, or maxReplicas: ${min}).`,
      );
    }
  }
}
