// Scheduling: why a pod found no node, read from the scheduler's message,
// the nodes and the pod's workload.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { ownedBy } from '../objects.js';
import type { DiagnosisFinding } from './finding.js';
import type { Observed } from './observed.js';

interface ScheduleReason {
  count: number | undefined;
  text: string;
}

/** "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match pod anti-affinity rules. preemption: …" */
function parseSchedulerMessage(message: string): { available?: number; total?: number; reasons: ScheduleReason[] } {
  const head = /^(\d+)\/(\d+) nodes are available:\s*/.exec(message);
  let body = head ? message.slice(head[0].length) : message;
  body = body.split(/\.\s*preemption:/)[0]!.replace(/\.\s*$/, '');
  const reasons = body
    .split(/,\s*(?=\d+ )/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const counted = /^(\d+)\s+(.*)$/s.exec(part);
      return counted ? { count: Number(counted[1]), text: counted[2]! } : { count: undefined, text: part };
    });
  return head ? { available: Number(head[1]), total: Number(head[2]), reasons } : { reasons };
}

interface WorkloadOf {
  kind: string;
  name: string;
  replicas: number;
}

function workloadOf(pod: V1Pod, observed: Observed): WorkloadOf | undefined {
  for (const ref of pod.metadata?.ownerReferences ?? []) {
    if (ref.kind === 'StatefulSet') {
      const set = observed.statefulSets.find((s) => s.metadata?.uid === ref.uid || s.metadata?.name === ref.name);
      if (set) return { kind: 'StatefulSet', name: set.metadata?.name ?? ref.name, replicas: set.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'ReplicaSet') {
      const rs = observed.replicaSets.find((r) => r.metadata?.uid === ref.uid || r.metadata?.name === ref.name);
      const deployment = observed.deployments.find((d) => (rs !== undefined && ownedBy(rs, d.metadata?.uid)) || deploymentNameOf(pod) === d.metadata?.name);
      if (deployment) return { kind: 'Deployment', name: deployment.metadata?.name ?? '', replicas: deployment.spec?.replicas ?? 1 };
    }
  }
  return undefined;
}

/** A Deployment's ReplicaSet is named <deployment>-<pod-template-hash>. */
export function deploymentNameOf(pod: V1Pod): string | undefined {
  const rs = pod.metadata?.ownerReferences?.find((r) => r.kind === 'ReplicaSet')?.name;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  return rs !== undefined && hash !== undefined && rs.endsWith(`-${hash}`) ? rs.slice(0, -hash.length - 1) : undefined;
}

function schedulableNodes(nodes: V1Node[]): V1Node[] {
  return nodes.filter(
    (n) =>
      n.spec?.unschedulable !== true &&
      n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' &&
      !(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
  );
}

export function unschedulable(pod: V1Pod, message: string, observed: Observed): DiagnosisFinding {
  const name = pod.metadata?.name ?? '';
  const parsed = parseSchedulerMessage(message);
  const causes: string[] = [];
  const fixes: string[] = [];
  const evidence = [`condition PodScheduled=False, reason Unschedulable: ${message}`];
  const workload = workloadOf(pod, observed);
  const nodes = Array.isArray(observed.nodes) ? observed.nodes : undefined;
  if (typeof observed.nodes === 'string') evidence.push(`nodes not listed: ${observed.nodes}`);
  const requests = (pod.spec?.containers ?? []).map((c) => `${c.name}: cpu ${c.resources?.requests?.cpu ?? '–'}, memory ${c.resources?.requests?.memory ?? '–'}`);

  for (const { count, text } of parsed.reasons) {
    const on = count === undefined ? '' : `on ${count} node(s) `;
    if (/didn't match pod anti-affinity rules|didn't satisfy existing pods anti-affinity rules/.test(text)) {
      const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      const key = terms[0]?.topologyKey ?? 'kubernetes.io/hostname';
      let domains: number | undefined;
      if (nodes !== undefined) {
        const usable = schedulableNodes(nodes);
        domains = new Set(usable.map((n) => n.metadata?.labels?.[key]).filter((v) => v !== undefined)).size;
        evidence.push(
          `nodes: ${nodes.length} in the cluster, ${usable.length} schedulable (${usable.map((n) => n.metadata?.name).join(', ') || 'none'}), ${domains} distinct ${key}`,
        );
      } else if (parsed.total !== undefined) {
        domains = parsed.total;
      }
      if (terms.length > 0) evidence.push(`required pod anti-affinity: one pod per ${key}, selecting ${JSON.stringify(terms[0]?.labelSelector?.matchLabels ?? {})}`);
      if (workload !== undefined && domains !== undefined && workload.replicas > domains) {
        causes.push(
          `its required pod anti-affinity allows one ${workload.name} pod per ${key}; ${workload.kind} ${workload.name} asks for ${workload.replicas} replicas ` +
            `but the cluster has only ${domains} schedulable ${key === 'kubernetes.io/hostname' ? 'node(s)' : `${key} domain(s)`}, each already running one`,
        );
        fixes.push(
          `Give the cluster at least ${workload.replicas} schedulable nodes (${workload.replicas - domains} more), or scale ${workload.kind} ${workload.name} to ${domains} replica(s), ` +
            `or relax the rule to preferredDuringSchedulingIgnoredDuringExecution if two ${workload.name} pods may share a node.`,
        );
      } else {
        causes.push(`${on}placing it would break a pod anti-affinity rule (its own or a running pod's)`.trim());
        fixes.push('Free a node of the pods the anti-affinity rule selects, add nodes, or relax the rule to preferredDuringSchedulingIgnoredDuringExecution.');
      }
    } else if (/^Insufficient (\S+)/.test(text)) {
      const resource = /^Insufficient (\S+)/.exec(text)![1]!;
      causes.push(`${count ?? 'the'} node(s) lack free ${resource} for its requests`);
      fixes.push(`Lower the pod's ${resource} request if it asks for more than it uses, free capacity, or add nodes (requests: ${requests.join('; ')}).`);
    } else if (/untolerated taint|had taint/.test(text)) {
      causes.push(`${count ?? 'some'} node(s) ${text.replace(/^node\(s\) /, '')}`);
      fixes.push('Add a matching toleration to the pod if it may run there, or make untainted nodes available.');
    } else if (/node affinity\/selector|didn't match node selector|node\(s\) didn't match Pod's node affinity/.test(text)) {
      causes.push(`${count ?? 'the'} node(s) do not match its nodeSelector or node affinity`);
      fixes.push(`Label nodes to match, or correct the pod's nodeSelector/affinity (nodeSelector: ${JSON.stringify(pod.spec?.nodeSelector ?? {})}).`);
    } else if (/unbound immediate PersistentVolumeClaims/.test(text)) {
      const claims = (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
      causes.push(`its PersistentVolumeClaim(s) ${claims.join(', ')} are not bound`);
      fixes.push('Get the claim bound first (see its finding).');
    } else if (/were unschedulable/.test(text)) {
      causes.push(`${count ?? 'some'} node(s) are cordoned (unschedulable)`);
      fixes.push('Uncordon the nodes (kubectl uncordon) once their maintenance is over.');
    } else if (/volume node affinity conflict/.test(text)) {
      causes.push(`its volume is bound to a zone or node the pod cannot reach (${count ?? 'some'} node(s))`);
      fixes.push('Schedule the pod in the volume’s zone (node affinity), or use a StorageClass with volumeBindingMode: WaitForFirstConsumer.');
    } else if (/didn't match pod affinity rules/.test(text)) {
      causes.push(`${count ?? 'the'} node(s) do not run the pods its pod affinity requires`);
      fixes.push('Start the pods it must run next to, or relax the pod affinity.');
    } else if (/Too many pods/.test(text)) {
      causes.push(`${count ?? 'the'} node(s) already run their maximum number of pods`);
      fixes.push('Add nodes or raise the kubelet maxPods.');
    } else {
      causes.push(count === undefined ? text : `${count} ${text}`);
    }
  }
  if (causes.length === 0) causes.push(message || 'the scheduler gave no reason');
  const header = parsed.total !== undefined ? `pod ${name} cannot be scheduled on any of the ${parsed.total} node(s)` : `pod ${name} cannot be scheduled`;
  return {
    severity: 'critical',
    reason: 'Unschedulable',
    object: `Pod/${name}`,
    cause: `${header}: ${causes.join('; ')}.`,
    fix: fixes.length > 0 ? [...new Set(fixes)].join(' ') : 'Read the scheduler message in the evidence.',
    evidence,
  };
}
