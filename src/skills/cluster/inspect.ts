import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { JsonObject } from '../../model/model.js';
import type { Skill, SkillContext } from '../skill.js';
import { AskUser, askWhich, emit, endWithError, kindLabel, readRequest, targetData } from './common.js';
import {
  byTimeDesc,
  deploymentSummary,
  eventSummary,
  nodeSummary,
  ownedBy,
  podSummary,
  pvcSummary,
  replicaSetSummary,
  selectorString,
  statefulSetSummary,
  table,
} from './objects.js';
import type { ClusterReader } from './reader.js';
import type { ClusterRequest } from './request.js';
import { describeTarget } from './request.js';

export interface InspectOptions {
  reader: ClusterReader;
  /** Log lines returned when the request names no tail. */
  defaultTailLines?: number;
  /** Most log lines one request may ask for; a larger tail is cut to this. */
  maxTailLines?: number;
  /** Byte cap on one log read (limitBytes). */
  logLimitBytes?: number;
  /** Events shown for one object. */
  eventLimit?: number;
}

const EXAMPLES = [
  'list pods in namespace kagent',
  'describe statefulset kagent -n kagent',
  'logs kagent-0 -n kagent --tail=50',
  'logs pod api-7d9f -n shop container api previous',
  'rollout status statefulset/kagent -n kagent',
  'list events in kagent',
  'list nodes',
];

const LISTABLE = ['pod', 'deployment', 'statefulset', 'replicaset', 'event', 'pvc', 'node'];
const DESCRIBABLE = ['pod', 'deployment', 'statefulset', 'pvc'];

/** Lists and describes workloads, pods, events, claims and nodes, tails pod logs and reports rollout status. Read-only. */
export function clusterInspectSkill(options: InspectOptions): Skill {
  const { reader } = options;
  const defaultTail = options.defaultTailLines ?? 100;
  const maxTail = options.maxTailLines ?? 1000;
  const limitBytes = options.logLimitBytes ?? 256 * 1024;
  const eventLimit = options.eventLimit ?? 50;
  return {
    descriptor: {
      id: 'cluster-inspect',
      name: 'Inspect a Kubernetes cluster',
      description:
        'Read-only look at the cluster the agent runs in (its service account) or the one KUBECONFIG names: list pods, deployments, statefulsets, replicasets, ' +
        'events, persistentvolumeclaims and nodes; describe a pod, deployment, statefulset or claim with its pods and events; tail a pod log (bounded: ' +
        `${maxTail} lines, ${Math.round(limitBytes / 1024)} KiB at most); rollout status of a Deployment or StatefulSet. ` +
        'Input: text "<action> <kind> [<name>] in namespace <ns>" (actions list, describe, logs, rollout status) or a data part {namespace, kind, name, action, container, tailLines, previous}; ' +
        'asks for a missing namespace or name. Output: a data artifact with the objects summarized, and a Markdown report.',
      tags: ['kubernetes', 'inspect', 'logs', 'rollout', 'read-only'],
      examples: [...EXAMPLES, '{"action": "logs", "kind": "pod", "name": "kagent-0", "namespace": "kagent", "tailLines": 50}'],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['application/json', 'text/markdown'],
    },
    // Read-only: looking again is harmless.
    resumable: true,
    async execute(ctx: SkillContext): Promise<void> {
      const parsed = await readRequest(ctx, EXAMPLES);
      if (parsed === undefined) return;
      const request = normalize(parsed);
      try {
        if (request.action === 'diagnose') {
          await ctx.reject('cluster-inspect reads and describes; to diagnose use the cluster-diagnose skill.');
          return;
        }
        if (request.kind === undefined) {
          await ctx.requireInput(`What should I inspect? For example: ${EXAMPLES.slice(0, 4).map((e) => `"${e}"`).join(', ')}.`);
          return;
        }
        if (request.kind === 'namespace') {
          await ctx.requireInput(`What should I look at in ${request.namespace === undefined ? 'which namespace' : `namespace ${request.namespace}`}: pods, deployments, statefulsets, events or persistentvolumeclaims?`);
          return;
        }
        const action = request.action!;
        const unsupported = unsupportedReason(action, request);
        if (unsupported !== undefined) {
          await ctx.reject(unsupported);
          return;
        }
        const namespace = request.namespace;
        if (namespace === undefined && request.kind !== 'node') {
          await ctx.requireInput(`Which namespace ${action === 'list' ? `should I list ${kindLabel(request.kind)}s in` : `is ${describeTarget(request)} in`}?`);
          return;
        }
        if (action !== 'list' && request.name === undefined) {
          throw await askWhich(reader, request, namespace!, ctx.signal, action === 'logs' ? 'read the log of' : action === 'rollout-status' ? 'report the rollout of' : 'describe');
        }
        await ctx.working(`Reading ${describeTarget(request)}${namespace === undefined ? '' : ` in namespace ${namespace}`}`);
        const result =
          action === 'list'
            ? await list(reader, request, namespace, ctx.signal)
            : action === 'describe'
              ? await describe(reader, request, namespace!, ctx.signal, eventLimit)
              : action === 'logs'
                ? await logs(reader, request, namespace!, ctx.signal, { defaultTail, maxTail, limitBytes })
                : await rollout(reader, request, namespace!, ctx.signal);
        await emit(ctx, 'inspection', `${action} ${describeTarget(request)}`, { target: targetData(request), action, ...result.data }, result.markdown);
        await ctx.complete(result.summary);
      } catch (error) {
        await endWithError(ctx, error, request, reader);
      }
    },
  };
}

/** The action a request implies when it names none: a name means describe, a kind alone means list. */
function normalize(request: ClusterRequest): ClusterRequest {
  let action = request.action;
  if (action === undefined) action = request.name !== undefined ? 'describe' : 'list';
  if (action === 'describe' && request.name === undefined && request.plural === true) action = 'list';
  if (action === 'logs' && request.kind === undefined) return { ...request, action, kind: 'pod' };
  return { ...request, action };
}

function unsupportedReason(action: NonNullable<ClusterRequest['action']>, request: ClusterRequest): string | undefined {
  const kind = request.kind!;
  if (action === 'list' && !LISTABLE.includes(kind)) return `cluster-inspect cannot list ${kindLabel(kind)}s.`;
  if (action === 'describe' && !DESCRIBABLE.includes(kind)) {
    return kind === 'node'
      ? 'cluster-inspect may only list nodes (it has no permission to get one); ask "list nodes".'
      : `cluster-inspect describes pods, deployments, statefulsets and persistentvolumeclaims, not ${kindLabel(kind)}s; ask to list them instead.`;
  }
  if (action === 'logs' && kind !== 'pod') return `Logs come from one pod: name the pod (for example "logs ${request.name ?? 'kagent-0'}-… in namespace …"), not a ${kindLabel(kind)}.`;
  if (action === 'rollout-status' && kind !== 'deployment' && kind !== 'statefulset') return `Rollout status applies to a deployment or statefulset, not a ${kindLabel(kind)}.`;
  return undefined;
}

interface Result {
  data: JsonObject;
  markdown: string;
  summary: string;
}

async function list(reader: ClusterReader, request: ClusterRequest, namespace: string | undefined, signal: AbortSignal): Promise<Result> {
  const ns = namespace ?? '';
  const where = namespace === undefined ? 'the cluster' : `namespace ${namespace}`;
  let items: JsonObject[];
  let truncated: boolean;
  let headers: string[];
  let rows: (string | number | boolean | null)[][];
  switch (request.kind) {
    case 'pod': {
      const listed = await reader.listPods(ns, signal);
      items = listed.items.map(podSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'NODE'];
      rows = items.map((p) => [p.name as string, p.ready as string, p.status as string, p.restarts as number, p.node as string | null]);
      break;
    }
    case 'deployment': {
      const listed = await reader.listDeployments(ns, signal);
      items = listed.items.map(deploymentSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'];
      rows = items.map((d) => [d.name as string, `${d.ready}/${d.replicas}`, d.updated as number, d.available as number]);
      break;
    }
    case 'statefulset': {
      const listed = await reader.listStatefulSets(ns, signal);
      items = listed.items.map(statefulSetSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'READY', 'CURRENT', 'POLICY'];
      rows = items.map((s) => [s.name as string, `${s.ready}/${s.replicas}`, s.current as number, s.podManagementPolicy as string]);
      break;
    }
    case 'replicaset': {
      const listed = await reader.listReplicaSets(ns, signal);
      items = listed.items.map(replicaSetSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'DESIRED', 'READY', 'OWNER'];
      rows = items.map((r) => [r.name as string, r.replicas as number, r.ready as number, r.owner as string | null]);
      break;
    }
    case 'event': {
      const listed = await reader.listEvents(ns, signal);
      items = [...listed.items].sort(byTimeDesc).map(eventSummary);
      truncated = listed.truncated;
      headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'MESSAGE'];
      rows = items.map((e) => [e.lastSeen as string | null, e.type as string, e.reason as string, e.object as string, e.count as number, e.message as string]);
      break;
    }
    case 'pvc': {
      const listed = await reader.listPersistentVolumeClaims(ns, signal);
      items = listed.items.map(pvcSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'STATUS', 'VOLUME', 'CAPACITY', 'STORAGECLASS'];
      rows = items.map((c) => [c.name as string, c.phase as string, c.volume as string | null, (c.capacity ?? c.requested) as string | null, c.storageClass as string | null]);
      break;
    }
    default: {
      const listed = await reader.listNodes(signal);
      items = listed.items.map(nodeSummary);
      truncated = listed.truncated;
      headers = ['NAME', 'READY', 'SCHEDULABLE', 'TAINTS', 'VERSION'];
      rows = items.map((n) => [n.name as string, n.ready as boolean, !(n.unschedulable as boolean), (n.taints as string[]).join(', ') || null, n.version as string | null]);
    }
  }
  const label = `${kindLabel(request.kind)}s`;
  const title = `${label.charAt(0).toUpperCase()}${label.slice(1)}`;
  const markdown = [
    `# ${title} in ${where}`,
    '',
    items.length === 0 ? `No ${label} in ${where}${namespace === undefined ? '' : ' (an empty list also means the namespace may not exist)'}.` : table(headers, rows),
    ...(truncated ? ['', `_Only the first ${reader.listLimit} are shown._`] : []),
  ].join('\n');
  return { data: { items, count: items.length, truncated }, markdown: `${markdown}\n`, summary: `${items.length} ${label} in ${where}${truncated ? ' (list cut at its limit)' : ''}.` };
}

async function objectEvents(reader: ClusterReader, namespace: string, kind: string, name: string, signal: AbortSignal, limit: number) {
  const listed = await reader.listEvents(namespace, signal, { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return [...listed.items].sort(byTimeDesc).slice(0, limit).map(eventSummary);
}

function eventsTable(events: JsonObject[]): string {
  if (events.length === 0) return 'No events (they expire after an hour by default).';
  return table(
    ['LAST SEEN', 'TYPE', 'REASON', 'COUNT', 'MESSAGE'],
    events.map((e) => [e.lastSeen as string | null, e.type as string, e.reason as string, e.count as number, e.message as string]),
  );
}

function podsTable(pods: JsonObject[]): string {
  if (pods.length === 0) return 'No pods.';
  return table(
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'NODE'],
    pods.map((p) => [p.name as string, p.ready as string, p.status as string, p.restarts as number, p.node as string | null]),
  );
}

async function describe(reader: ClusterReader, request: ClusterRequest, namespace: string, signal: AbortSignal, eventLimit: number): Promise<Result> {
  const name = request.name!;
  const lines: string[] = [];
  let data: JsonObject;
  let summary: string;
  switch (request.kind) {
    case 'pod': {
      const pod = podSummary(await reader.getPod(namespace, name, signal));
      const events = await objectEvents(reader, namespace, 'Pod', name, signal, eventLimit);
      data = { object: pod, events };
      summary = `Pod ${name}: ${pod.status}, ${pod.ready} ready, ${pod.restarts} restart(s).`;
      lines.push(`# Pod ${name} (namespace ${namespace})`, '', `- Status: ${pod.status} (phase ${pod.phase}), ready ${pod.ready}, restarts ${pod.restarts}`, `- Node: ${pod.node ?? 'not scheduled'}`, `- Owner: ${pod.owner ?? 'none'}`);
      lines.push('', '## Containers', '', table(['NAME', 'READY', 'STATE', 'REASON', 'RESTARTS', 'LAST TERMINATION', 'IMAGE'], (pod.containers as JsonObject[]).map((c) => {
        const last = c.lastTermination as JsonObject | null;
        return [c.name as string, c.ready as boolean, c.state as string, c.reason as string | null, c.restarts as number, last ? `${last.reason} (exit ${last.exitCode})` : null, c.image as string];
      })));
      lines.push('', '## Conditions', '', table(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], (pod.conditions as JsonObject[]).map((c) => [c.type as string, c.status as string, c.reason as string | null, c.message as string | null])));
      lines.push('', '## Events', '', eventsTable(events));
      break;
    }
    case 'pvc': {
      const claim = pvcSummary(await reader.getPersistentVolumeClaim(namespace, name, signal));
      const events = await objectEvents(reader, namespace, 'PersistentVolumeClaim', name, signal, eventLimit);
      data = { object: claim, events };
      summary = `PersistentVolumeClaim ${name}: ${claim.phase}.`;
      lines.push(
        `# PersistentVolumeClaim ${name} (namespace ${namespace})`,
        '',
        `- Status: ${claim.phase}`,
        `- Volume: ${claim.volume ?? 'none'}`,
        `- StorageClass: ${claim.storageClass ?? '(default)'}`,
        `- Requested: ${claim.requested ?? '?'}, capacity: ${claim.capacity ?? '–'}`,
        '',
        '## Events',
        '',
        eventsTable(events),
      );
      break;
    }
    default: {
      const kind = request.kind === 'deployment' ? 'Deployment' : 'StatefulSet';
      const workload: V1Deployment | V1StatefulSet =
        request.kind === 'deployment' ? await reader.getDeployment(namespace, name, signal) : await reader.getStatefulSet(namespace, name, signal);
      const selector = selectorString(workload.spec?.selector);
      const object = request.kind === 'deployment' ? deploymentSummary(workload as V1Deployment) : statefulSetSummary(workload as V1StatefulSet);
      let owners = [workload.metadata?.uid];
      let replicaSets: JsonObject[] = [];
      if (request.kind === 'deployment') {
        const sets = (await reader.listReplicaSets(namespace, signal, { labelSelector: selector })).items.filter((rs) => ownedBy(rs, workload.metadata?.uid));
        replicaSets = sets.map(replicaSetSummary);
        owners = sets.map((rs) => rs.metadata?.uid);
      }
      const pods = (await reader.listPods(namespace, signal, { labelSelector: selector })).items.filter((p) => owners.some((uid) => ownedBy(p, uid))).map(podSummary);
      const events = await objectEvents(reader, namespace, kind, name, signal, eventLimit);
      data = { object, pods, events, ...(request.kind === 'deployment' ? { replicaSets } : {}) };
      summary = `${kind} ${name}: ${object.ready}/${object.replicas} ready.`;
      lines.push(`# ${kind} ${name} (namespace ${namespace})`, '', `- Replicas: ${object.replicas}, ready ${object.ready}, updated ${object.updated}, available ${object.available}`);
      if (kind === 'StatefulSet') lines.push(`- Pod management: ${object.podManagementPolicy}, update strategy ${object.updateStrategy}, revision ${object.currentRevision} → ${object.updateRevision}`);
      else lines.push(`- Strategy: ${object.strategy}`);
      lines.push(`- Selector: ${selector}`, `- Images: ${(object.images as string[]).join(', ')}`);
      const conditions = object.conditions as JsonObject[];
      if (conditions.length > 0) lines.push('', '## Conditions', '', table(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], conditions.map((c) => [c.type as string, c.status as string, c.reason as string | null, c.message as string | null])));
      if (request.kind === 'deployment') {
        lines.push('', '## ReplicaSets', '', replicaSets.length === 0 ? 'None.' : table(['NAME', 'REVISION', 'DESIRED', 'READY'], replicaSets.map((r) => [r.name as string, r.revision as string | null, r.replicas as number, r.ready as number])));
      }
      lines.push('', '## Pods', '', podsTable(pods), '', '## Events', '', eventsTable(events));
    }
  }
  return { data, markdown: `${lines.join('\n')}\n`, summary };
}

async function logs(
  reader: ClusterReader,
  request: ClusterRequest,
  namespace: string,
  signal: AbortSignal,
  bounds: { defaultTail: number; maxTail: number; limitBytes: number },
): Promise<Result> {
  const name = request.name!;
  const pod = await reader.getPod(namespace, name, signal);
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const initContainers = (pod.spec?.initContainers ?? []).map((c) => c.name);
  let container = request.container;
  if (container === undefined) {
    if (containers.length !== 1) throw new AskUser(`Pod ${name} has ${containers.length} containers (${containers.join(', ')}): which one's log should I read?`);
    container = containers[0]!;
  } else if (!containers.includes(container) && !initContainers.includes(container)) {
    throw new AskUser(`Pod ${name} has no container ${container}; its containers are ${[...initContainers, ...containers].join(', ')}. Which one?`);
  }
  const requested = request.tailLines ?? bounds.defaultTail;
  const tailLines = Math.min(requested, bounds.maxTail);
  const text = await reader.podLog(namespace, name, { container, previous: request.previous, tailLines, limitBytes: bounds.limitBytes }, signal);
  const lines = text === '' ? 0 : text.replace(/\n$/, '').split('\n').length;
  const cutByBytes = Buffer.byteLength(text) >= bounds.limitBytes;
  const notes = [
    ...(requested > tailLines ? [`${requested} lines were asked for; at most ${bounds.maxTail} are read`] : []),
    ...(cutByBytes ? [`the log was cut at ${bounds.limitBytes} bytes`] : []),
  ];
  const which = `${request.previous === true ? 'previous ' : ''}log of ${name}/${container}`;
  const markdown = [
    `# ${request.previous === true ? 'Previous log' : 'Log'} of pod ${name}, container ${container} (namespace ${namespace})`,
    '',
    `Last ${lines} line(s) (tail ${tailLines}, at most ${bounds.limitBytes} bytes).`,
    '',
    '```',
    text.replace(/```/g, '`\u200b``').trimEnd(),
    '```',
    ...notes.map((n) => `\n_Note: ${n}._`),
  ].join('\n');
  return {
    data: { pod: name, namespace, container, previous: request.previous === true, tailLines, limitBytes: bounds.limitBytes, lines, truncatedByBytes: cutByBytes, notes, log: text },
    markdown: `${markdown}\n`,
    summary: `${lines} line(s) of the ${which}.`,
  };
}

/** As `kubectl rollout status` decides it, from the object's spec and status alone. */
export function rolloutStatus(kind: 'deployment' | 'statefulset', object: V1Deployment | V1StatefulSet): { done: boolean; message: string } {
  const name = object.metadata?.name ?? '';
  const generation = object.metadata?.generation ?? 0;
  const observed = object.status?.observedGeneration ?? 0;
  if (kind === 'deployment') {
    const d = object as V1Deployment;
    if (generation > observed) return { done: false, message: `Waiting for deployment "${name}" spec update to be observed...` };
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') return { done: false, message: `deployment "${name}" exceeded its progress deadline` };
    const replicas = d.spec?.replicas ?? 1;
    const updated = d.status?.updatedReplicas ?? 0;
    const total = d.status?.replicas ?? 0;
    const available = d.status?.availableReplicas ?? 0;
    if (updated < replicas) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...` };
    if (total > updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...` };
    if (available < updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
    return { done: true, message: `deployment "${name}" successfully rolled out` };
  }
  const s = object as V1StatefulSet;
  if ((s.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') {
    return { done: true, message: `rollout status is only available for RollingUpdate strategy type (statefulset "${name}" uses ${s.spec?.updateStrategy?.type})` };
  }
  if (observed === 0 || generation > observed) return { done: false, message: 'Waiting for statefulset spec update to be observed...' };
  const replicas = s.spec?.replicas ?? 1;
  const ready = s.status?.readyReplicas ?? 0;
  if (ready < replicas) return { done: false, message: `Waiting for ${replicas - ready} pods to be ready...` };
  const partition = s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  const updated = s.status?.updatedReplicas ?? 0;
  if (partition > 0) {
    if (updated < replicas - partition) {
      return { done: false, message: `Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...` };
    }
    return { done: true, message: `partitioned roll out complete: ${updated} new pods have been updated...` };
  }
  if (s.status?.updateRevision !== s.status?.currentRevision) {
    return { done: false, message: `waiting for statefulset rolling update to complete ${updated} pods at revision ${s.status?.updateRevision}...` };
  }
  return { done: true, message: `statefulset rolling update complete ${s.status?.currentReplicas ?? ready} pods at revision ${s.status?.currentRevision}...` };
}

async function rollout(reader: ClusterReader, request: ClusterRequest, namespace: string, signal: AbortSignal): Promise<Result> {
  const name = request.name!;
  const kind = request.kind as 'deployment' | 'statefulset';
  const object = kind === 'deployment' ? await reader.getDeployment(namespace, name, signal) : await reader.getStatefulSet(namespace, name, signal);
  const status = rolloutStatus(kind, object);
  const summary = kind === 'deployment' ? deploymentSummary(object as V1Deployment) : statefulSetSummary(object as V1StatefulSet);
  const markdown = [
    `# Rollout of ${kind} ${name} (namespace ${namespace})`,
    '',
    `**${status.done ? 'Complete' : 'In progress'}:** ${status.message}`,
    '',
    `- Replicas ${summary.replicas}, ready ${summary.ready}, updated ${summary.updated}, available ${summary.available}`,
  ].join('\n');
  return { data: { done: status.done, message: status.message, object: summary }, markdown: `${markdown}\n`, summary: status.message };
}
