// Workloads: StatefulSets and Deployments short of ready replicas, and
// which of their pods' problems holds them back.
import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { JsonObject } from '../../../model/model.js';
import { eventCount, isPodReady, ordinalOf, ownedBy, podStatusText } from '../objects.js';
import type { DiagnosisFinding } from './finding.js';
import { SEVERITY_ORDER } from './finding.js';
import { eventsFor } from './observed.js';
import type { Observed } from './observed.js';

/** The most severe problem of a pod, by name: "Unschedulable". */
function firstReason(findings: DiagnosisFinding[] | undefined): string | undefined {
  return [...(findings ?? [])].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])[0]?.reason;
}

export function analyzeStatefulSet(set: V1StatefulSet, observed: Observed, podFindings: Map<string, DiagnosisFinding[]>): DiagnosisFinding[] {
  const name = set.metadata?.name ?? '';
  const object = `StatefulSet/${name}`;
  const replicas = set.spec?.replicas ?? 1;
  const ready = set.status?.readyReplicas ?? 0;
  if (ready >= replicas) return [];
  const policy = set.spec?.podManagementPolicy ?? 'OrderedReady';
  const pods = new Map<number, V1Pod>();
  for (const pod of observed.pods) {
    if (!ownedBy(pod, set.metadata?.uid)) continue;
    const ordinal = ordinalOf(pod.metadata?.name ?? '', name);
    if (ordinal !== undefined) pods.set(ordinal, pod);
  }
  const evidence = [
    `replicas ${replicas}, ready ${ready}, pods ${pods.size} (${[...pods.keys()].sort((a, b) => a - b).map((o) => `${name}-${o}`).join(', ') || 'none'})`,
    `podManagementPolicy ${policy}, updateStrategy ${set.spec?.updateStrategy?.type ?? 'RollingUpdate'}`,
  ];
  if (set.status?.currentRevision !== set.status?.updateRevision) evidence.push(`rolling update from ${set.status?.currentRevision ?? '?'} to ${set.status?.updateRevision ?? '?'}`);
  const createFailure = eventsFor(observed, 'StatefulSet', name, set.metadata?.uid).find((e) => e.reason === 'FailedCreate');

  let blocked: number | undefined;
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const pod = pods.get(ordinal);
    if (pod === undefined || !isPodReady(pod)) {
      blocked = ordinal;
      break;
    }
  }
  if (blocked === undefined) return [];
  const blockedName = `${name}-${blocked}`;
  const blockedPod = pods.get(blocked);

  if (blockedPod === undefined) {
    if (createFailure === undefined) return [];
    return [
      {
        severity: 'critical',
        reason: 'FailedCreate',
        object,
        cause: `the StatefulSet controller cannot create pod ${blockedName}: ${(createFailure.message ?? '').trim()}.`,
        fix: /exceeded quota/i.test(createFailure.message ?? '')
          ? 'Raise the namespace ResourceQuota or lower the pod template requests/limits.'
          : 'Fix what the message names (admission policy, quota, a missing ServiceAccount); the controller retries by itself.',
        evidence: [...evidence, `event FailedCreate ×${eventCount(createFailure)}: ${(createFailure.message ?? '').trim()}`],
      },
    ];
  }

  const missing = [];
  for (let ordinal = blocked + 1; ordinal < replicas; ordinal++) if (!pods.has(ordinal)) missing.push(`${name}-${ordinal}`);
  const reason = firstReason(podFindings.get(blockedName));
  const why = reason !== undefined ? `${reason}, see its finding` : `it is ${podStatusText(blockedPod)} and not ready`;
  const updating = set.status?.updateRevision !== undefined && set.status?.currentRevision !== set.status?.updateRevision;
  if (policy === 'OrderedReady' && missing.length > 0) {
    return [
      {
        severity: 'critical',
        reason: 'OrderedReadyBlocked',
        object,
        cause:
          `${ready} of ${replicas} pods are ready and the StatefulSet is stuck at ${blockedName}: with podManagementPolicy OrderedReady it creates ` +
          `${missing.length === 1 ? missing[0] : `${missing[0]}…${missing.at(-1)}`} only after ${blockedName} is Running and Ready, and ${blockedName} is not (${why}).`,
        fix:
          `Fix ${blockedName} first (see the Pod/${blockedName} finding); the controller then creates the rest in order. If ${blockedName} runs a broken revision, correct the pod template ` +
          `and delete pod ${blockedName}: an OrderedReady StatefulSet does not replace a pod that never becomes ready.`,
        evidence: [...evidence, `not created yet: ${missing.join(', ')}`],
      },
    ];
  }
  if (updating && policy === 'OrderedReady') {
    return [
      {
        severity: 'critical',
        reason: 'RollingUpdateBlocked',
        object,
        cause: `the rolling update to ${set.status?.updateRevision} waits for ${blockedName}, which is not ready (${why}); no other pod is updated meanwhile.`,
        fix: `Fix ${blockedName} (see the Pod/${blockedName} finding). If the new revision itself is broken, revert the template and delete ${blockedName} so it is recreated at the working revision.`,
        evidence,
      },
    ];
  }
  return [];
}

export function analyzeDeployment(deployment: V1Deployment, observed: Observed, podFindings: Map<string, DiagnosisFinding[]>): DiagnosisFinding[] {
  const name = deployment.metadata?.name ?? '';
  const object = `Deployment/${name}`;
  const findings: DiagnosisFinding[] = [];
  const conditions = deployment.status?.conditions ?? [];
  const sets = observed.replicaSets.filter((rs) => ownedBy(rs, deployment.metadata?.uid));
  const failure = [
    ...conditions.filter((c) => c.type === 'ReplicaFailure' && c.status === 'True'),
    ...sets.flatMap((rs) => (rs.status?.conditions ?? []).filter((c) => c.type === 'ReplicaFailure' && c.status === 'True')),
  ][0];
  if (failure !== undefined) {
    findings.push({
      severity: 'critical',
      reason: 'ReplicaFailure',
      object,
      cause: `pods cannot be created: ${failure.message ?? failure.reason ?? 'ReplicaFailure'}.`,
      fix: /exceeded quota/i.test(failure.message ?? '')
        ? 'Raise the namespace ResourceQuota or lower the pod template requests/limits.'
        : 'Fix what the message names (admission policy, quota, a missing ServiceAccount); the ReplicaSet retries by itself.',
      evidence: [`condition ReplicaFailure=True, reason ${failure.reason ?? ''}: ${failure.message ?? ''}`],
    });
  }
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    const pods = observed.pods.filter((p) => sets.some((rs) => ownedBy(p, rs.metadata?.uid)));
    const causes = [...new Set(pods.map((p) => firstReason(podFindings.get(p.metadata?.name ?? ''))).filter((c) => c !== undefined))];
    findings.push({
      severity: 'critical',
      reason: 'ProgressDeadlineExceeded',
      object,
      cause:
        `the rollout made no progress for progressDeadlineSeconds (${deployment.spec?.progressDeadlineSeconds ?? 600}s): ` +
        `${deployment.status?.availableReplicas ?? 0} of ${deployment.spec?.replicas ?? 1} replicas available, ${deployment.status?.updatedReplicas ?? 0} updated` +
        `${causes.length > 0 ? `; its pods fail with ${causes.join(', ')}` : ''}.`,
      fix: `Fix the new pods (see their findings) and the rollout resumes; to go back to the previous revision meanwhile: kubectl rollout undo deployment/${name} -n ${deployment.metadata?.namespace}.`,
      evidence: [`condition Progressing=False, reason ProgressDeadlineExceeded: ${progressing.message ?? ''}`],
    });
  }
  return findings;
}

/** One line per workload for the report header. */
export function workloadLine(object: V1Deployment | V1StatefulSet, kind: 'Deployment' | 'StatefulSet'): JsonObject {
  return {
    kind,
    name: object.metadata?.name ?? '',
    replicas: object.spec?.replicas ?? 1,
    ready: object.status?.readyReplicas ?? 0,
    ...(kind === 'StatefulSet' ? { current: object.status?.replicas ?? 0, podManagementPolicy: (object as V1StatefulSet).spec?.podManagementPolicy ?? 'OrderedReady' } : {}),
  };
}
