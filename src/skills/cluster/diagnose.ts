import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { JsonObject, JsonValue } from '../../model/model.js';
import type { Skill, SkillContext } from '../skill.js';
import { AskUser, askWhich, emit, endWithError, readRequest, targetData } from './common.js';
import type { DiagnosisFinding, Observed } from './diagnosis/index.js';
import { deploymentNameOf, diagnose, workloadLine } from './diagnosis/index.js';
import { containerStatuses, isPodReady, ownedBy, podCondition, podStatusText, selectorString } from './objects.js';
import type { ClusterReader } from './reader.js';
import { ClusterApiError } from './reader.js';
import type { ClusterRequest } from './request.js';
import { describeTarget } from './request.js';

export interface DiagnoseOptions {
  reader: ClusterReader;
  /** Lines of a crashed container's previous log read as evidence. */
  logTailLines?: number;
  /** Byte cap on each of those reads. */
  logLimitBytes?: number;
  /** Crashed containers whose logs are read in one diagnosis. */
  maxLogs?: number;
}

const EXAMPLES = [
  'diagnose statefulset kagent in namespace kagent',
  'diagnose deployment api -n shop',
  'diagnose pod kagent-1 in kagent',
  'diagnose namespace kagent',
];

/**
 * Reads a workload, its pods, their events and claims (and the nodes when a
 * pod cannot be scheduled, and the last log lines of a crashed container),
 * and reports what is wrong, why, and how to fix it.
 */
export function clusterDiagnoseSkill(options: DiagnoseOptions): Skill {
  const { reader } = options;
  const logTailLines = options.logTailLines ?? 20;
  const logLimitBytes = options.logLimitBytes ?? 8 * 1024;
  const maxLogs = options.maxLogs ?? 3;
  return {
    descriptor: {
      id: 'cluster-diagnose',
      name: 'Diagnose a Kubernetes workload',
      description:
        'Read-only diagnosis of a Deployment, StatefulSet, pod, PersistentVolumeClaim or whole namespace: finds CrashLoopBackOff (with the last exit reason and log lines), ' +
        'OOMKilled, ImagePullBackOff, unschedulable pods (including required pod anti-affinity with too few nodes), failing probes, unbound claims, ' +
        'a StatefulSet blocked on an OrderedReady pod and stalled rollouts, each with its cause, a fix and the evidence. ' +
        'Input: text ("diagnose <kind> <name> in namespace <ns>") or a data part {namespace, kind, name}; asks for a missing namespace or target. ' +
        'Output: a data artifact {findings: [{severity, reason, object, cause, fix, evidence}]} and a Markdown report.',
      tags: ['kubernetes', 'diagnosis', 'troubleshooting', 'read-only'],
      examples: [...EXAMPLES, '{"kind": "statefulset", "name": "kagent", "namespace": "kagent"}'],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['application/json', 'text/markdown'],
    },
    // Read-only: looking again is harmless.
    resumable: true,
    async execute(ctx: SkillContext): Promise<void> {
      const request = await readRequest(ctx, EXAMPLES);
      if (request === undefined) return;
      try {
        if (request.action !== undefined && request.action !== 'diagnose') {
          await ctx.reject(`cluster-diagnose only diagnoses; to ${request.action.replace('-', ' ')} use the cluster-inspect skill.`);
          return;
        }
        if (request.kind === 'event' || request.kind === 'node' || request.kind === 'replicaset') {
          await ctx.reject(
            `cluster-diagnose works on a pod, deployment, statefulset, persistentvolumeclaim or a whole namespace, not on ${request.kind}s; to list them use the cluster-inspect skill.`,
          );
          return;
        }
        const namespace = request.namespace;
        if (namespace === undefined) {
          await ctx.requireInput(
            `Which namespace is ${request.kind === undefined ? 'it' : describeTarget(request)} in? For example: "diagnose statefulset kagent in namespace kagent".`,
          );
          return;
        }
        if (request.kind === undefined) {
          await ctx.requireInput(
            `What should I diagnose in namespace ${namespace}? A workload ("statefulset kagent", "deployment api"), a pod ("pod kagent-1"), or "all" for the whole namespace.`,
          );
          return;
        }
        if (request.kind !== 'namespace' && request.name === undefined && request.plural !== true) {
          throw await askWhich(reader, request, namespace, ctx.signal, 'diagnose');
        }
        await ctx.working(`Reading ${describeTarget(request)} in namespace ${namespace}`);
        const observed = await gather(reader, request, namespace, ctx.signal, { logTailLines, logLimitBytes, maxLogs });
        const findings = diagnose(observed);
        const data = report(request, observed, findings);
        await emit(ctx, 'diagnosis', `diagnosis of ${describeTarget(request)}`, data, markdown(request, observed, findings));
        await ctx.complete(summaryLine(request, observed, findings));
      } catch (error) {
        await endWithError(ctx, error, request, reader);
      }
    },
  };
}

interface LogBudget {
  logTailLines: number;
  logLimitBytes: number;
  maxLogs: number;
}

async function gather(reader: ClusterReader, request: ClusterRequest, namespace: string, signal: AbortSignal, budget: LogBudget): Promise<Observed> {
  const observed: Observed = { namespace, pods: [], statefulSets: [], deployments: [], replicaSets: [], events: [], pvcs: [], logs: new Map(), notes: [] };
  let truncated = false;
  const take = <T>(listed: { items: T[]; truncated: boolean }): T[] => {
    truncated ||= listed.truncated;
    return listed.items;
  };

  switch (request.kind) {
    case 'pod': {
      if (request.name !== undefined) {
        const pod = await reader.getPod(namespace, request.name, signal);
        observed.pods = [pod];
        observed.workloadsAsContext = true;
        await addOwner(reader, pod, observed, signal);
      } else observed.pods = take(await reader.listPods(namespace, signal));
      break;
    }
    case 'statefulset': {
      observed.statefulSets = request.name !== undefined ? [await reader.getStatefulSet(namespace, request.name, signal)] : take(await reader.listStatefulSets(namespace, signal));
      observed.pods = await podsOf(reader, namespace, observed.statefulSets, signal, take, (pod, set) => ownedBy(pod, set.metadata?.uid));
      break;
    }
    case 'deployment': {
      observed.deployments = request.name !== undefined ? [await reader.getDeployment(namespace, request.name, signal)] : take(await reader.listDeployments(namespace, signal));
      const selector = observed.deployments.length === 1 ? selectorString(observed.deployments[0]!.spec?.selector) : undefined;
      observed.replicaSets = take(await reader.listReplicaSets(namespace, signal, selector ? { labelSelector: selector } : {})).filter((rs) =>
        observed.deployments.some((d) => ownedBy(rs, d.metadata?.uid)),
      );
      observed.pods = await podsOf(reader, namespace, observed.deployments, signal, take, (pod) => observed.replicaSets.some((rs) => ownedBy(pod, rs.metadata?.uid)));
      break;
    }
    case 'pvc': {
      observed.pvcs = request.name !== undefined ? [await reader.getPersistentVolumeClaim(namespace, request.name, signal)] : take(await reader.listPersistentVolumeClaims(namespace, signal));
      const names = new Set(observed.pvcs.map((c) => c.metadata?.name));
      observed.pods = take(await reader.listPods(namespace, signal)).filter((p) => (p.spec?.volumes ?? []).some((v) => names.has(v.persistentVolumeClaim?.claimName)));
      break;
    }
    case 'namespace': {
      const [deployments, statefulSets, replicaSets, pods] = await Promise.all([
        reader.listDeployments(namespace, signal),
        reader.listStatefulSets(namespace, signal),
        reader.listReplicaSets(namespace, signal),
        reader.listPods(namespace, signal),
      ]);
      observed.deployments = take(deployments);
      observed.statefulSets = take(statefulSets);
      observed.replicaSets = take(replicaSets);
      observed.pods = take(pods);
      break;
    }
    default:
      throw new AskUser(`I cannot diagnose ${request.kind}s.`);
  }

  // Warning events say why: probe failures, pull errors, scheduling, mounts, FailedCreate.
  observed.events = take(await reader.listEvents(namespace, signal, { fieldSelector: 'type=Warning' }));

  // Claims: those the pods use (a StatefulSet's claims are its pods' volumes), or the ones asked about.
  if (request.kind !== 'pvc') {
    const claimNames = new Set(observed.pods.flatMap((p) => (p.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []))));
    if (claimNames.size > 0 || request.kind === 'namespace') {
      const claims = take(await reader.listPersistentVolumeClaims(namespace, signal));
      observed.pvcs = request.kind === 'namespace' ? claims : claims.filter((c) => claimNames.has(c.metadata?.name ?? ''));
    }
  }
  // A claim's binding is told by Normal events too (WaitForFirstConsumer, ExternalProvisioning): read all of its own.
  for (const claim of observed.pvcs.filter((c) => c.status?.phase !== 'Bound').slice(0, 5)) {
    const own = take(
      await reader.listEvents(namespace, signal, { fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${claim.metadata?.name ?? ''}`, limit: 20 }),
    );
    const known = new Set(observed.events.map((e) => e.metadata?.uid ?? e.metadata?.name));
    observed.events.push(...own.filter((e) => !known.has(e.metadata?.uid ?? e.metadata?.name)));
  }

  // Nodes only matter when pod anti-affinity keeps a pod from being placed: counting them tells whether there are too few.
  if (observed.pods.some((p) => podCondition(p, 'PodScheduled')?.reason === 'Unschedulable' && /anti-affinity/.test(podCondition(p, 'PodScheduled')?.message ?? ''))) {
    try {
      observed.nodes = take(await reader.listNodes(signal));
    } catch (error) {
      if (!(error instanceof ClusterApiError)) throw error;
      observed.nodes = `${error.message}; the scheduler's own count is used instead`;
    }
  }

  // The last lines of a crashed container's previous run usually say why it exits.
  const crashed = observed.pods.flatMap((pod) =>
    containerStatuses(pod)
      .filter((cs) => cs.state?.waiting?.reason === 'CrashLoopBackOff' && cs.lastState?.terminated?.reason !== 'OOMKilled')
      .map((cs) => ({ pod, container: cs.name })),
  );
  for (const { pod, container } of crashed.slice(0, budget.maxLogs)) {
    const key = `${pod.metadata?.name}/${container}`;
    try {
      const text = await reader.podLog(namespace, pod.metadata?.name ?? '', { container, previous: true, tailLines: budget.logTailLines, limitBytes: budget.logLimitBytes }, signal);
      observed.logs.set(key, { text });
    } catch (error) {
      if (!(error instanceof ClusterApiError)) throw error;
      observed.logs.set(key, { error: error.message });
    }
  }
  if (crashed.length > budget.maxLogs) observed.notes.push(`logs were read for the first ${budget.maxLogs} of ${crashed.length} crashed containers`);
  if (truncated) observed.notes.push('some lists were cut at the list limit; the diagnosis covers the objects read');
  return observed;
}

/** The pod's controller, for its replica count (anti-affinity arithmetic, OrderedReady). */
async function addOwner(reader: ClusterReader, pod: V1Pod, observed: Observed, signal: AbortSignal): Promise<void> {
  const owner = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  const namespace = pod.metadata?.namespace ?? observed.namespace;
  try {
    if (owner?.kind === 'StatefulSet') observed.statefulSets = [await reader.getStatefulSet(namespace, owner.name, signal)];
    const deployment = deploymentNameOf(pod);
    if (owner?.kind === 'ReplicaSet' && deployment !== undefined) observed.deployments = [await reader.getDeployment(namespace, deployment, signal)];
  } catch (error) {
    // A vanished owner leaves the pod's own findings intact.
    if (!(error instanceof ClusterApiError) || error.kind !== 'not-found') throw error;
  }
}

async function podsOf<W extends V1StatefulSet | V1Deployment>(
  reader: ClusterReader,
  namespace: string,
  workloads: W[],
  signal: AbortSignal,
  take: <T>(listed: { items: T[]; truncated: boolean }) => T[],
  owns: (pod: V1Pod, workload: W) => boolean,
): Promise<V1Pod[]> {
  if (workloads.length === 0) return [];
  const selector = workloads.length === 1 ? selectorString(workloads[0]!.spec?.selector) : '';
  const pods = take(await reader.listPods(namespace, signal, selector === '' ? {} : { labelSelector: selector }));
  return pods.filter((pod) => workloads.some((w) => owns(pod, w)));
}

function report(request: ClusterRequest, observed: Observed, findings: DiagnosisFinding[]): JsonObject {
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    target: targetData(request),
    summary: {
      workloads: [
        ...(observed.workloadsAsContext ? [] : observed.statefulSets.map((s) => workloadLine(s, 'StatefulSet'))),
        ...(observed.workloadsAsContext ? [] : observed.deployments.map((d) => workloadLine(d, 'Deployment'))),
      ],
      pods: observed.pods.map((p) => ({ name: p.metadata?.name ?? '', status: podStatusText(p), ready: isPodReady(p) })),
      findings: counts,
    },
    findings: findings.map((f) => ({ ...f }) as unknown as JsonValue),
    notes: observed.notes,
  };
}

const BADGE: Record<DiagnosisFinding['severity'], string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' };

function markdown(request: ClusterRequest, observed: Observed, findings: DiagnosisFinding[]): string {
  const lines = [`# Diagnosis: ${request.kind === 'namespace' ? `namespace ${observed.namespace}` : `${describeTarget(request)} in namespace ${observed.namespace}`}`, ''];
  for (const s of observed.workloadsAsContext ? [] : observed.statefulSets) {
    lines.push(`- StatefulSet **${s.metadata?.name}**: ${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1} ready, ${s.status?.replicas ?? 0} created, ${s.spec?.podManagementPolicy ?? 'OrderedReady'}`);
  }
  for (const d of observed.workloadsAsContext ? [] : observed.deployments) {
    lines.push(`- Deployment **${d.metadata?.name}**: ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready, ${d.status?.updatedReplicas ?? 0} updated, ${d.status?.availableReplicas ?? 0} available`);
  }
  if (observed.pods.length > 0) lines.push(`- Pods: ${observed.pods.map((p) => `${p.metadata?.name} (${podStatusText(p)}${isPodReady(p) ? ', ready' : ''})`).join(', ')}`);
  lines.push('');
  if (findings.length === 0) {
    lines.push(observed.pods.length === 0 && observed.pvcs.length === 0 ? `Nothing found to diagnose in namespace ${observed.namespace}.` : 'No problems found.');
  }
  for (const f of findings) {
    lines.push(`## ${BADGE[f.severity]} ${f.object}: ${f.reason}`, '', `**Cause:** ${f.cause}`, '', `**Fix:** ${f.fix}`, '', '**Evidence:**', '');
    for (const item of f.evidence) {
      const [first, ...rest] = item.split('\n');
      lines.push(rest.length === 0 ? `- ${first}` : `- ${first}\n\n  \`\`\`\n${rest.map((l) => `  ${l}`).join('\n')}\n  \`\`\``);
    }
    lines.push('');
  }
  for (const note of observed.notes) lines.push(`_Note: ${note}._`);
  return `${lines.join('\n').trimEnd()}\n`;
}

function summaryLine(request: ClusterRequest, observed: Observed, findings: DiagnosisFinding[]): string {
  const target = request.kind === 'namespace' ? `namespace ${observed.namespace}` : `${describeTarget(request)} in namespace ${observed.namespace}`;
  if (findings.length === 0) return observed.pods.length === 0 && observed.pvcs.length === 0 ? `Nothing found to diagnose for ${target}.` : `No problems found in ${target}.`;
  const critical = findings.filter((f) => f.severity === 'critical').length;
  const top = findings[0]!;
  return `${findings.length} finding(s) for ${target} (${critical} critical). First: ${top.object} ${top.reason}: ${top.cause}`;
}
