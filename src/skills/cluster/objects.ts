// Reading Kubernetes objects as the client returns them (timestamps as Date),
// and summarizing them into plain JSON for artifacts.
import type {
  CoreV1Event,
  V1ContainerStatus,
  V1Deployment,
  V1LabelSelector,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { JsonObject } from '../../model/model.js';

export type Timestamp = Date | string | undefined | null;

export function iso(value: Timestamp): string | null {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function millis(value: Timestamp): number {
  const text = iso(value);
  return text === null ? 0 : Date.parse(text);
}

/** A label selector as the API's labelSelector query parameter. */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) parts.push(`${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.join(',');
}

export function ownedBy(object: { metadata?: { ownerReferences?: { uid: string }[] } }, uid: string | undefined): boolean {
  return uid !== undefined && (object.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid);
}

export function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

export function podCondition(pod: V1Pod, type: string) {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isPodReady(pod: V1Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

export function restartCount(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, cs) => sum + (cs.restartCount ?? 0), 0);
}

/** The ordinal of a StatefulSet pod ("kagent-3" of "kagent" is 3). */
export function ordinalOf(podName: string, setName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** What kubectl shows in the STATUS column: a waiting or terminated reason beats the phase. */
export function podStatusText(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  if (pod.status?.reason) return pod.status.reason;
  for (const cs of pod.status?.initContainerStatuses ?? []) {
    if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') return `Init:${cs.state.waiting.reason}`;
    if (cs.state?.terminated && cs.state.terminated.exitCode !== 0) return `Init:${cs.state.terminated.reason ?? 'Error'}`;
  }
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason) return cs.state.terminated.reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

export function podSummary(pod: V1Pod): JsonObject {
  const statuses = pod.status?.containerStatuses ?? [];
  return {
    kind: 'Pod',
    name: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    status: podStatusText(pod),
    ready: `${statuses.filter((cs) => cs.ready).length}/${pod.spec?.containers.length ?? statuses.length}`,
    restarts: restartCount(pod),
    node: pod.spec?.nodeName ?? null,
    owner: pod.metadata?.ownerReferences?.[0] ? `${pod.metadata.ownerReferences[0].kind}/${pod.metadata.ownerReferences[0].name}` : null,
    created: iso(pod.metadata?.creationTimestamp),
    containers: containerStatuses(pod).map((cs) => ({
      name: cs.name,
      image: cs.image,
      ready: cs.ready,
      restarts: cs.restartCount,
      state: cs.state?.running ? 'running' : cs.state?.terminated ? 'terminated' : 'waiting',
      reason: cs.state?.waiting?.reason ?? cs.state?.terminated?.reason ?? null,
      lastTermination: cs.lastState?.terminated
        ? { reason: cs.lastState.terminated.reason ?? null, exitCode: cs.lastState.terminated.exitCode, finishedAt: iso(cs.lastState.terminated.finishedAt) }
        : null,
    })),
    conditions: (pod.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? null, message: c.message ?? null })),
  };
}

const condition = (c: { type: string; status: string; reason?: string; message?: string }) => ({
  type: c.type,
  status: c.status,
  reason: c.reason ?? null,
  message: c.message ?? null,
});

export function deploymentSummary(d: V1Deployment): JsonObject {
  return {
    kind: 'Deployment',
    name: d.metadata?.name ?? '',
    namespace: d.metadata?.namespace ?? '',
    replicas: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    strategy: d.spec?.strategy?.type ?? 'RollingUpdate',
    selector: selectorString(d.spec?.selector),
    images: (d.spec?.template.spec?.containers ?? []).map((c) => c.image ?? ''),
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    conditions: (d.status?.conditions ?? []).map(condition),
  };
}

export function statefulSetSummary(s: V1StatefulSet): JsonObject {
  return {
    kind: 'StatefulSet',
    name: s.metadata?.name ?? '',
    namespace: s.metadata?.namespace ?? '',
    replicas: s.spec?.replicas ?? 1,
    current: s.status?.replicas ?? 0,
    ready: s.status?.readyReplicas ?? 0,
    updated: s.status?.updatedReplicas ?? 0,
    available: s.status?.availableReplicas ?? 0,
    podManagementPolicy: s.spec?.podManagementPolicy ?? 'OrderedReady',
    updateStrategy: s.spec?.updateStrategy?.type ?? 'RollingUpdate',
    serviceName: s.spec?.serviceName ?? null,
    selector: selectorString(s.spec?.selector),
    images: (s.spec?.template.spec?.containers ?? []).map((c) => c.image ?? ''),
    currentRevision: s.status?.currentRevision ?? null,
    updateRevision: s.status?.updateRevision ?? null,
    conditions: (s.status?.conditions ?? []).map(condition),
  };
}

export function replicaSetSummary(r: V1ReplicaSet): JsonObject {
  return {
    kind: 'ReplicaSet',
    name: r.metadata?.name ?? '',
    namespace: r.metadata?.namespace ?? '',
    replicas: r.spec?.replicas ?? 1,
    ready: r.status?.readyReplicas ?? 0,
    available: r.status?.availableReplicas ?? 0,
    owner: r.metadata?.ownerReferences?.[0] ? `${r.metadata.ownerReferences[0].kind}/${r.metadata.ownerReferences[0].name}` : null,
    revision: r.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? null,
    conditions: (r.status?.conditions ?? []).map(condition),
  };
}

export function pvcSummary(c: V1PersistentVolumeClaim): JsonObject {
  return {
    kind: 'PersistentVolumeClaim',
    name: c.metadata?.name ?? '',
    namespace: c.metadata?.namespace ?? '',
    phase: c.status?.phase ?? 'Unknown',
    volume: c.spec?.volumeName ?? null,
    storageClass: c.spec?.storageClassName ?? null,
    requested: c.spec?.resources?.requests?.storage ?? null,
    capacity: c.status?.capacity?.storage ?? null,
    accessModes: c.spec?.accessModes ?? [],
  };
}

export function eventSummary(e: CoreV1Event): JsonObject {
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    object: `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}`,
    message: (e.message ?? '').trim(),
    count: eventCount(e),
    lastSeen: iso(eventTime(e)),
  };
}

export function eventTime(e: CoreV1Event): Timestamp {
  return e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
}

export function eventCount(e: CoreV1Event): number {
  return e.series?.count ?? e.count ?? 1;
}

/** Newest first. */
export function byTimeDesc(a: CoreV1Event, b: CoreV1Event): number {
  return millis(eventTime(b)) - millis(eventTime(a));
}

export function nodeSummary(n: V1Node): JsonObject {
  return {
    kind: 'Node',
    name: n.metadata?.name ?? '',
    ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    unschedulable: n.spec?.unschedulable === true,
    taints: (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    cpu: n.status?.allocatable?.cpu ?? null,
    memory: n.status?.allocatable?.memory ?? null,
    version: n.status?.nodeInfo?.kubeletVersion ?? null,
  };
}

/** A Markdown table; cells are escaped so a message with "|" stays in its column. */
export function table(headers: string[], rows: (string | number | boolean | null)[][]): string {
  const cell = (value: string | number | boolean | null) => String(value ?? '–').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
