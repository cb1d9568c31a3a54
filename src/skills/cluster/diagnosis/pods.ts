// Turns what was read from the API into findings: a cause, a fix and the
// evidence for each problem. Pure functions over the objects; reading them is
// the skill's job (diagnose.ts).
import type {
  CoreV1Event,
  V1Container,
  V1ContainerStatus,
  V1Deployment,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Probe,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { JsonObject } from '../../model/model.js';
import { byTimeDesc, eventCount, iso, isPodReady, ordinalOf, ownedBy, podCondition, podStatusText } from './objects.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** A stable name for the kind of problem: CrashLoopBackOff, OOMKilled, Unschedulable… */
  reason: string;
  /** "Pod/kagent-3", "StatefulSet/kagent". */
  object: string;
  cause: string;
  fix: string;
  evidence: string[];
}

/** Everything the skill read for one diagnosis. */
export interface Observed {
  namespace: string;
  pods: V1Pod[];
  statefulSets: V1StatefulSet[];
  deployments: V1Deployment[];
  replicaSets: V1ReplicaSet[];
  /** Warning events of the namespace, plus every event of the claims that are not bound. */
  events: CoreV1Event[];
  pvcs: V1PersistentVolumeClaim[];
  /** Read only when a pod cannot be scheduled; a string says why they could not be read. */
  nodes?: V1Node[] | string;
  /** Last lines of a crashed container's previous run, by "pod/container"; a string error when unreadable. */
  logs: Map<string, { text: string } | { error: string }>;
  /** The workloads were read only as the context of a pod (its replica count), not to be diagnosed themselves. */
  workloadsAsContext?: boolean;
  /** What limited the reading (a list cut at its limit…), for the report. */
  notes: string[];
}

export const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { critical: 0, warning: 1, info: 2 };

const PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export function diagnose(observed: Observed): Finding[] {
  const findings: Finding[] = [];
  const podFindings = new Map<string, Finding[]>();
  for (const pod of observed.pods) {
    const found = analyzePod(pod, observed);
    podFindings.set(pod.metadata?.name ?? '', found);
    findings.push(...found);
  }
  for (const claim of claimsToReport(observed)) findings.push(...analyzeClaim(claim, observed));
  if (observed.workloadsAsContext !== true) {
    for (const set of observed.statefulSets) findings.push(...analyzeStatefulSet(set, observed, podFindings));
    for (const deployment of observed.deployments) findings.push(...analyzeDeployment(deployment, observed, podFindings));
  }
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => SEVERITY_ORDER[a.finding.severity] - SEVERITY_ORDER[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
}

// ---------------------------------------------------------------- pods

interface ProbeFailure {
  probe: 'Readiness' | 'Liveness' | 'Startup';
  container: string | undefined;
  message: string;
  count: number;
  lastSeen: string | null;
}

/** Events about one object, newest first. */
export function eventsFor(observed: Observed, kind: string, name: string, uid?: string): CoreV1Event[] {
  return observed.events
    .filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name && (uid === undefined || e.involvedObject.uid === undefined || e.involvedObject.uid === uid))
    .sort(byTimeDesc);
}

/** The container an event is about: involvedObject.fieldPath "spec.containers{agent}". */
function eventContainer(event: CoreV1Event): string | undefined {
  return /\{([^{}]+)\}/.exec(event.involvedObject.fieldPath ?? '')?.[1];
}

function probeFailures(events: CoreV1Event[]): ProbeFailure[] {
  const failures = new Map<string, ProbeFailure>();
  for (const event of events) {
    if (event.reason !== 'Unhealthy') continue;
    const match = /^(Readiness|Liveness|Startup) probe (?:failed|errored):?\s*(.*)$/s.exec((event.message ?? '').trim());
    if (match === null) continue;
    const probe = match[1] as ProbeFailure['probe'];
    const container = eventContainer(event);
    const key = `${probe}/${container ?? ''}`;
    const known = failures.get(key);
    // Newest first: the first event seen carries the latest message.
    if (known === undefined) failures.set(key, { probe, container, message: match[2]!.trim(), count: eventCount(event), lastSeen: iso(event.lastTimestamp ?? event.eventTime) });
    else known.count += eventCount(event);
  }
  return [...failures.values()];
}

function specOf(pod: V1Pod, container: string): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === container);
}

function describeProbe(probe: V1Probe | undefined): string {
  if (probe === undefined) return 'not defined';
  const action = probe.httpGet
    ? `HTTP GET ${probe.httpGet.path ?? '/'} on port ${probe.httpGet.port}`
    : probe.tcpSocket
      ? `TCP connect to port ${probe.tcpSocket.port}`
      : probe.grpc
        ? `gRPC health check on port ${probe.grpc.port}`
        : probe.exec
          ? `exec ${JSON.stringify(probe.exec.command ?? [])}`
          : 'no action';
  return `${action}, every ${probe.periodSeconds ?? 10}s, timeout ${probe.timeoutSeconds ?? 1}s, failureThreshold ${probe.failureThreshold ?? 3}, initialDelaySeconds ${probe.initialDelaySeconds ?? 0}`;
}

function exitMeaning(code: number | undefined): string {
  switch (code) {
    case undefined:
      return 'exit code unknown';
    case 0:
      return 'exit code 0: the process finished although it is expected to keep running';
    case 1:
      return 'exit code 1: an application error';
    case 2:
      return 'exit code 2: bad usage or arguments';
    case 126:
      return 'exit code 126: the command is not executable';
    case 127:
      return 'exit code 127: the command was not found in the image';
    case 137:
      return 'exit code 137: killed with SIGKILL';
    case 139:
      return 'exit code 139: segmentation fault';
    case 143:
      return 'exit code 143: stopped with SIGTERM';
    default:
      return code > 128 ? `exit code ${code}: killed by signal ${code - 128}` : `exit code ${code}`;
  }
}

function memoryLimit(pod: V1Pod, container: string): string | undefined {
  return specOf(pod, container)?.resources?.limits?.memory;
}

function analyzePod(pod: V1Pod, observed: Observed): Finding[] {
  const name = pod.metadata?.name ?? '';
  const object = `Pod/${name}`;
  const namespace = pod.metadata?.namespace ?? observed.namespace;
  const events = eventsFor(observed, 'Pod', name, pod.metadata?.uid);
  const probes = probeFailures(events);
  const findings: Finding[] = [];

  const scheduled = podCondition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') findings.push(unschedulable(pod, scheduled.message ?? '', observed));

  if (pod.status?.reason === 'Evicted') {
    findings.push({
      severity: 'warning',
      reason: 'Evicted',
      object,
      cause: `the kubelet evicted the pod: ${pod.status.message ?? 'no message'}`,
      fix: 'Evictions come from node pressure (memory, disk): set requests that match real use so the scheduler places the pod where it fits, and delete the evicted pod record.',
      evidence: [`status.reason: Evicted`, `status.message: ${pod.status.message ?? ''}`],
    });
  }

  const statuses: { status: V1ContainerStatus; init: boolean }[] = [
    ...(pod.status?.initContainerStatuses ?? []).map((status) => ({ status, init: true })),
    ...(pod.status?.containerStatuses ?? []).map((status) => ({ status, init: false })),
  ];
  const explained = new Set<string>();
  for (const { status: cs, init } of statuses) {
    const where = `${init ? 'init container' : 'container'} ${cs.name}`;
    const waiting = cs.state?.waiting;
    const last = cs.lastState?.terminated;
    const current = cs.state?.terminated;
    const liveness = probes.find((p) => p.container === cs.name && (p.probe === 'Liveness' || p.probe === 'Startup'));

    if (waiting?.reason !== undefined && PULL_REASONS.has(waiting.reason)) {
      findings.push(imagePull(pod, cs, events));
      explained.add(cs.name);
      continue;
    }
    if (waiting?.reason !== undefined && CONFIG_REASONS.has(waiting.reason)) {
      findings.push(containerConfig(pod, cs));
      explained.add(cs.name);
      continue;
    }
    const oom = current?.reason === 'OOMKilled' ? current : last?.reason === 'OOMKilled' ? last : undefined;
    if (oom !== undefined) {
      const limit = memoryLimit(pod, cs.name);
      findings.push({
        severity: 'critical',
        reason: 'OOMKilled',
        object,
        cause:
          `${where} was killed for running out of memory (OOMKilled, exit code ${oom.exitCode}) ` +
          `${limit === undefined ? 'with no memory limit set (the node ran out)' : `at its memory limit of ${limit}`}; ` +
          `it has restarted ${cs.restartCount} time(s)${waiting?.reason === 'CrashLoopBackOff' ? ' and is now in CrashLoopBackOff' : ''}.`,
        fix:
          limit === undefined
            ? `Set resources.requests.memory (and a limit) for ${cs.name} to its real peak use so the pod lands on a node with room, or find what makes it grow.`
            : `Raise resources.limits.memory of ${cs.name} above its peak use (now ${limit}; raise the request with it), or reduce the process's memory use (heap size flags such as --max-old-space-size must stay below the limit).`,
        evidence: [
          `last termination: OOMKilled, exit code ${oom.exitCode}${oom.finishedAt ? `, finished ${iso(oom.finishedAt)}` : ''}`,
          `restarts: ${cs.restartCount}`,
          ...(waiting ? [`state: waiting ${waiting.reason ?? ''}${waiting.message ? ` (${waiting.message})` : ''}`] : []),
          `memory limit: ${limit ?? 'none'}, request: ${specOf(pod, cs.name)?.resources?.requests?.memory ?? 'none'}`,
        ],
      });
      explained.add(cs.name);
      continue;
    }
    if (waiting?.reason === 'CrashLoopBackOff' || (current !== undefined && current.exitCode !== 0 && pod.spec?.restartPolicy !== 'Never' && !init)) {
      findings.push(crashLoop(pod, cs, where, liveness, observed, namespace));
      explained.add(cs.name);
      continue;
    }
  }

  // Probe failures not already the cause of a crash above.
  const running = pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
  for (const failure of probes) {
    if (failure.container !== undefined && explained.has(failure.container)) continue;
    const cs = statuses.find((s) => s.status.name === failure.container)?.status;
    if (failure.probe === 'Readiness' && (cs?.ready === true || !running)) continue;
    const spec = failure.container === undefined ? undefined : specOf(pod, failure.container);
    const probe = failure.probe === 'Readiness' ? spec?.readinessProbe : failure.probe === 'Liveness' ? spec?.livenessProbe : spec?.startupProbe;
    const container = failure.container ?? 'a container';
    findings.push({
      severity: failure.probe === 'Readiness' ? 'warning' : 'critical',
      reason: `${failure.probe}ProbeFailed`,
      object,
      cause:
        failure.probe === 'Readiness'
          ? `${container} is running but its readiness probe fails (${failure.message}), ${failure.count} time(s): the pod gets no Service traffic` +
            `${ownerKind(pod) === 'StatefulSet' ? ' and, under OrderedReady, holds back the pods after it' : ''}.`
          : `the ${failure.probe.toLowerCase()} probe of ${container} fails (${failure.message}), ${failure.count} time(s): the kubelet restarts the container each time it reaches failureThreshold.`,
      fix: probeFix(failure, probe, spec),
      evidence: [
        `events: Unhealthy ×${failure.count}, last ${failure.lastSeen ?? 'unknown'}: ${failure.probe} probe failed: ${failure.message}`,
        `${failure.probe.toLowerCase()}Probe: ${describeProbe(probe)}`,
        ...(cs ? [`container ${cs.name}: ready=${cs.ready}, restarts=${cs.restartCount}`] : []),
      ],
    });
    if (failure.container !== undefined) explained.add(failure.container);
  }

  // Running but not ready with no recorded reason.
  if (running && !isPodReady(pod)) {
    for (const { status: cs, init } of statuses) {
      if (init || cs.ready || explained.has(cs.name) || cs.state?.running === undefined) continue;
      findings.push({
        severity: 'warning',
        reason: 'NotReady',
        object,
        cause: `container ${cs.name} is running but not ready, and no probe failure is recorded in the events (they expire after an hour by default).`,
        fix: `Check its readiness probe (${describeProbe(specOf(pod, cs.name)?.readinessProbe)}) against what the application serves, and read its log: kubectl logs -n ${namespace} ${name} -c ${cs.name}.`,
        evidence: [`container ${cs.name}: running since ${iso(cs.state.running.startedAt) ?? 'unknown'}, ready=false`],
      });
    }
  }

  for (const event of events) {
    if (event.reason !== 'FailedMount' && event.reason !== 'FailedAttachVolume') continue;
    if (findings.some((f) => f.reason === 'FailedMount')) break;
    findings.push({
      severity: pod.status?.phase === 'Pending' ? 'critical' : 'warning',
      reason: 'FailedMount',
      object,
      cause: `a volume cannot be mounted: ${(event.message ?? '').trim()}`,
      fix: mountFix(event.message ?? ''),
      evidence: [`event ${event.reason} ×${eventCount(event)}: ${(event.message ?? '').trim()}`],
    });
  }
  return findings;
}

function ownerKind(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.controller)?.kind ?? pod.metadata?.ownerReferences?.[0]?.kind;
}

function probeFix(failure: ProbeFailure, probe: V1Probe | undefined, container: V1Container | undefined): string {
  const status = /statuscode: (\d+)/.exec(failure.message)?.[1];
  const refused = /connection refused/i.test(failure.message);
  const timeout = /timeout|deadline exceeded|Client\.Timeout/i.test(failure.message);
  const target = probe?.httpGet ? `${probe.httpGet.path ?? '/'} on port ${probe.httpGet.port}` : 'the probed port';
  if (refused) {
    const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
    const declared = (container?.ports ?? []).map((p) => p.containerPort);
    if (typeof port === 'number' && declared.length > 0 && !declared.includes(port)) {
      return `The probe targets port ${port} but the container declares ${declared.join(', ')}: point the probe at the port the application listens on (a named port such as "${container?.ports?.[0]?.name ?? 'http'}" keeps them together).`;
    }
    return `Nothing listens on ${target}: make the probe's port match the port the application listens on (and that it binds 0.0.0.0, not 127.0.0.1).`;
  }
  if (timeout) return `The probe times out after ${probe?.timeoutSeconds ?? 1}s: raise timeoutSeconds, or find why ${target} answers slowly (CPU throttling, a blocked event loop, a slow dependency it checks).`;
  if (status !== undefined && failure.probe === 'Readiness') {
    return `${target} answers ${status}: the application reports itself not ready. Check what its readiness depends on (storage, a peer, configuration) in its log; if it is only slow to start, add a startupProbe or raise failureThreshold.`;
  }
  if (status !== undefined) return `${target} answers ${status}: fix the handler, or point the probe at a path that reports liveness only (not dependencies); give slow starts a startupProbe.`;
  return `Make the probe (${describeProbe(probe)}) match what the application serves, or fix the application so it passes.`;
}

function mountFix(message: string): string {
  const missing = /(configmap|secret) "([^"]+)" not found/i.exec(message);
  if (missing) return `Create the ${missing[1]!.toLowerCase()} ${missing[2]} in the pod's namespace, or mark the volume optional: true if the pod can run without it.`;
  if (multiAttach(message)) {
    return 'A ReadWriteOnce volume is still attached to another node (often a pod that was moved): wait for the old attachment to be released, or delete the pod stuck on the old node.';
  }
  return 'Check the volume source named in the message exists and is reachable from the node; the CSI driver or node log has the details.';
}

/** "Multi-Attach error", "already attached", "exclusively attached"; without /already.*attached/, whose cost grows with the square of the message. */
function multiAttach(message: string): boolean {
  const lower = message.toLowerCase();
  const already = lower.indexOf('already');
  return lower.includes('multi-attach') || lower.includes('exclusively attached') || (already >= 0 && lower.includes('attached', already + 7));
}

function imagePull(pod: V1Pod, cs: V1ContainerStatus, events: CoreV1Event[]): Finding {
  const waiting = cs.state!.waiting!;
  const image = specOf(pod, cs.name)?.image ?? cs.image;
  const failed = events.filter((e) => e.reason === 'Failed' && (eventContainer(e) === undefined || eventContainer(e) === cs.name) && /pull|image/i.test(e.message ?? ''));
  const detail = [waiting.message ?? '', ...failed.map((e) => e.message ?? '')].join('\n');
  let cause: string;
  let fix: string;
  if (waiting.reason === 'InvalidImageName') {
    cause = `the image reference "${image}" of container ${cs.name} is not valid`;
    fix = 'Correct the image field: registry/repository:tag or @sha256 digest, lowercase repository.';
  } else if (/not found|manifest unknown|does not exist|NotFound/i.test(detail)) {
    cause = `the image "${image}" of container ${cs.name} does not exist in its registry: wrong name or tag, or not pushed yet`;
    fix = `Correct the image name or tag in the pod template, or push ${image} to the registry.`;
  } else if (/unauthorized|authentication required|denied|forbidden|401|403/i.test(detail)) {
    cause = `the registry refuses to serve "${image}" to the node: it needs credentials the pod does not have`;
    fix = `Create a docker-registry Secret with access to ${registryOf(image)} and list it in the pod's imagePullSecrets (or in its ServiceAccount's).`;
  } else if (/toomanyrequests|rate limit/i.test(detail)) {
    cause = `the registry rate-limits pulls of "${image}"`;
    fix = 'Pull with authenticated credentials (imagePullSecrets) or from a mirror or cache.';
  } else if (/no such host|i\/o timeout|connection refused|dial tcp|TLS handshake|x509/i.test(detail)) {
    cause = `the node cannot reach the registry ${registryOf(image)} to pull "${image}"`;
    fix = 'Check DNS, network policy, proxy and certificates between the nodes and the registry, or use a registry the nodes can reach.';
  } else {
    cause = `the image "${image}" of container ${cs.name} cannot be pulled`;
    fix = 'Read the pull error in the evidence; check the image reference, the registry and the pull credentials.';
  }
  return {
    severity: 'critical',
    reason: 'ImagePullBackOff',
    object: `Pod/${pod.metadata?.name ?? ''}`,
    cause: `${cause} (${waiting.reason}).`,
    fix,
    evidence: [
      `state: waiting ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
      ...failed.slice(0, 2).map((e) => `event Failed ×${eventCount(e)}: ${(e.message ?? '').trim()}`),
    ],
  };
}

function registryOf(image: string | undefined): string {
  const first = (image ?? '').split('/')[0] ?? '';
  return (image ?? '').includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
}

function containerConfig(pod: V1Pod, cs: V1ContainerStatus): Finding {
  const waiting = cs.state!.waiting!;
  const message = waiting.message ?? '';
  const missing = /(configmap|secret) "([^"]+)" not found/i.exec(message);
  const missingKey = /couldn't find key (\S+) in (ConfigMap|Secret) ([^/\s]+)\/(\S+)/i.exec(message);
  let fix = 'Fix what the message names in the container spec (env, volume mounts, command), then let the pod retry.';
  if (missing) fix = `Create the ${missing[1]!.toLowerCase()} ${missing[2]} in namespace ${pod.metadata?.namespace}, or mark the reference optional: true.`;
  else if (missingKey) fix = `Add key ${missingKey[1]} to ${missingKey[2]} ${missingKey[4]}, or fix the key name the container refers to.`;
  return {
    severity: 'critical',
    reason: waiting.reason ?? 'CreateContainerConfigError',
    object: `Pod/${pod.metadata?.name ?? ''}`,
    cause: `container ${cs.name} cannot be created: ${message || waiting.reason}.`,
    fix,
    evidence: [`state: waiting ${waiting.reason}${message ? `: ${message}` : ''}`],
  };
}

function crashLoop(pod: V1Pod, cs: V1ContainerStatus, where: string, liveness: ProbeFailure | undefined, observed: Observed, namespace: string): Finding {
  const name = pod.metadata?.name ?? '';
  const terminated = cs.lastState?.terminated ?? cs.state?.terminated;
  const code = terminated?.exitCode;
  const lastExit = terminated ? `${terminated.reason ?? 'terminated'} (${exitMeaning(code)})` : 'unknown (no previous termination recorded)';
  const evidence = [
    ...(cs.state?.waiting ? [`state: waiting ${cs.state.waiting.reason ?? ''}${cs.state.waiting.message ? `: ${cs.state.waiting.message}` : ''}`] : []),
    `last termination: ${terminated?.reason ?? 'unknown'}, exit code ${code ?? 'unknown'}${terminated?.finishedAt ? `, finished ${iso(terminated.finishedAt)}` : ''}`,
    `restarts: ${cs.restartCount}`,
  ];
  if (terminated?.message) evidence.push(`termination message: ${terminated.message.trim()}`);
  const log = observed.logs.get(`${name}/${cs.name}`);
  if (log !== undefined) evidence.push('text' in log ? `previous log (last lines):\n${log.text.trimEnd()}` : `previous log unavailable: ${log.error}`);

  let cause = `${where} keeps crashing and is restarted with back-off (${cs.restartCount} restarts); last exit: ${lastExit}.`;
  let fix: string;
  if (liveness !== undefined) {
    cause = `${where} is killed by its failing ${liveness.probe.toLowerCase()} probe (${liveness.message}, ${liveness.count} time(s)) and restarted with back-off (${cs.restartCount} restarts); last exit: ${lastExit}.`;
    const spec = specOf(pod, cs.name);
    fix = probeFix(liveness, liveness.probe === 'Liveness' ? spec?.livenessProbe : spec?.startupProbe, spec);
    evidence.push(`${liveness.probe.toLowerCase()}Probe: ${describeProbe(liveness.probe === 'Liveness' ? spec?.livenessProbe : spec?.startupProbe)}`);
  } else if (code === 127 || code === 126) {
    fix = `The command cannot run: check the image's entrypoint and the container's command/args (${JSON.stringify(specOf(pod, cs.name)?.command ?? [])} ${JSON.stringify(specOf(pod, cs.name)?.args ?? [])}).`;
  } else if (code === 0) {
    fix = 'The process exits although the pod expects it to keep running: check command/args; a program that runs to completion belongs in a Job.';
  } else if (code === 137) {
    fix = `Killed with SIGKILL but not recorded as OOMKilled: check the node's events and memory pressure, and whether something else kills it; the previous log may show the last thing it did: kubectl logs -n ${namespace} ${name} -c ${cs.name} --previous.`;
  } else {
    fix = `Read why it exits — the previous run's log (below, or kubectl logs -n ${namespace} ${name} -c ${cs.name} --previous) — and fix the application error or the configuration it reads (env, ConfigMap, Secret, a dependency it cannot reach).`;
  }
  return { severity: 'critical', reason: 'CrashLoopBackOff', object: `Pod/${name}`, cause, fix, evidence };
}

// ---------------------------------------------------------------- scheduling

interface ScheduleReason {
  count: number | undefined;
  text: string;
}

/** "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match pod anti-affinity rules. preemption: …" */
export function parseSchedulerMessage(message: string): { available?: number; total?: number; reasons: ScheduleReason[] } {
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

function unschedulable(pod: V1Pod, message: string, observed: Observed): Finding {
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

// ---------------------------------------------------------------- claims

function claimsToReport(observed: Observed): V1PersistentVolumeClaim[] {
  return observed.pvcs.filter((c) => c.status?.phase !== 'Bound');
}

function analyzeClaim(claim: V1PersistentVolumeClaim, observed: Observed): Finding[] {
  const name = claim.metadata?.name ?? '';
  const object = `PersistentVolumeClaim/${name}`;
  const events = eventsFor(observed, 'PersistentVolumeClaim', name, claim.metadata?.uid);
  const consumers = observed.pods.filter((p) => (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name));
  const phase = claim.status?.phase ?? 'Pending';
  const storageClass = claim.spec?.storageClassName;
  const evidence = [
    `phase: ${phase}, storageClassName: ${storageClass ?? '(none: the default class, if any)'}, requested ${claim.spec?.resources?.requests?.storage ?? '?'}`,
    ...events.slice(0, 3).map((e) => `event ${e.reason} ×${eventCount(e)}: ${(e.message ?? '').trim()}`),
    ...(consumers.length > 0 ? [`used by: ${consumers.map((p) => `Pod/${p.metadata?.name} (${podStatusText(p)})`).join(', ')}`] : []),
  ];
  if (phase === 'Lost') {
    return [{ severity: 'critical', reason: 'ClaimLost', object, cause: `the PersistentVolume ${claim.spec?.volumeName ?? ''} behind the claim is gone.`, fix: 'Restore the volume from a backup or recreate the claim (its data is lost).', evidence }];
  }
  const latest = events[0];
  const message = (latest?.message ?? '').trim();
  if (latest?.reason === 'WaitForFirstConsumer' || /waiting for first consumer/i.test(message)) {
    const blocked = consumers.filter((p) => podCondition(p, 'PodScheduled')?.status === 'False');
    if (consumers.length > 0 && blocked.length === 0) return [];
    return [
      {
        severity: 'info',
        reason: 'WaitForFirstConsumer',
        object,
        cause:
          blocked.length > 0
            ? `the claim binds only once its pod is scheduled (volumeBindingMode WaitForFirstConsumer), and ${blocked.map((p) => p.metadata?.name).join(', ')} cannot be scheduled: the claim is a consequence, not the cause.`
            : 'the claim binds only once a pod using it is scheduled (volumeBindingMode WaitForFirstConsumer), and no pod uses it yet.',
        fix: blocked.length > 0 ? 'Fix the scheduling problem of the pod; the claim then binds by itself.' : 'Nothing to do until a pod uses it.',
        evidence,
      },
    ];
  }
  let cause: string;
  let fix: string;
  const missingClass = /storageclass(?:\.storage\.k8s\.io)? "([^"]+)" not found/i.exec(message);
  if (missingClass) {
    cause = `the claim asks for StorageClass ${missingClass[1]}, which does not exist, so no volume is provisioned`;
    fix = `Create StorageClass ${missingClass[1]}, or set storageClassName to one that exists (kubectl get storageclass). storageClassName cannot change on an existing claim: delete and recreate it (for a StatefulSet, fix volumeClaimTemplates, then delete the claim and its pod).`;
  } else if (/no persistent volumes available for this claim and no storage class is set/i.test(message)) {
    cause = 'the claim names no StorageClass, the cluster has no default one, and no PersistentVolume matches it';
    fix = 'Set storageClassName to an existing class, mark a StorageClass as default (storageclass.kubernetes.io/is-default-class: "true"), or create a matching PersistentVolume.';
  } else if (latest?.reason === 'ExternalProvisioning' || /external provisioner/i.test(message)) {
    const provisioner = /provisioner "([^"]+)"/.exec(message)?.[1];
    cause = `the claim waits for the external provisioner${provisioner ? ` ${provisioner}` : ''} to create a volume, and none has been created`;
    fix = `Check that the CSI driver${provisioner ? ` ${provisioner}` : ''} controller is running and read its log (quota, permissions, unsupported parameters).`;
  } else if (latest?.reason === 'ProvisioningFailed') {
    cause = `provisioning a volume failed: ${message}`;
    fix = 'Fix what the provisioner reports (quota, parameters of the StorageClass, cloud permissions) and it retries by itself.';
  } else if (message !== '') {
    cause = `the claim is ${phase}: ${message}`;
    fix = 'Read the event in the evidence; check the StorageClass and its provisioner.';
  } else {
    cause = `the claim is ${phase} and no event says why (events expire after an hour by default)`;
    fix = `Check its StorageClass ${storageClass ?? '(default)'} exists and its provisioner runs: kubectl describe pvc -n ${claim.metadata?.namespace} ${name}.`;
  }
  return [{ severity: consumers.length > 0 ? 'critical' : 'warning', reason: 'ClaimPending', object, cause: `${cause}.`, fix, evidence }];
}

// ---------------------------------------------------------------- workloads

/** The most severe problem of a pod, by name: "Unschedulable". */
function firstReason(findings: Finding[] | undefined): string | undefined {
  return [...(findings ?? [])].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])[0]?.reason;
}

function analyzeStatefulSet(set: V1StatefulSet, observed: Observed, podFindings: Map<string, Finding[]>): Finding[] {
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

function analyzeDeployment(deployment: V1Deployment, observed: Observed, podFindings: Map<string, Finding[]>): Finding[] {
  const name = deployment.metadata?.name ?? '';
  const object = `Deployment/${name}`;
  const findings: Finding[] = [];
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
