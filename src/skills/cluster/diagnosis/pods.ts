// Pods: image pulls, container configuration, crashes, OOM kills, probes,
// readiness and volume mounts.
import type { CoreV1Event, V1Container, V1ContainerStatus, V1Pod, V1Probe } from '@kubernetes/client-node';
import { eventCount, iso, isPodReady, podCondition } from '../objects.js';
import type { DiagnosisFinding } from './finding.js';
import { eventsFor } from './observed.js';
import type { Observed } from './observed.js';
import { unschedulable } from './scheduling.js';

const PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

interface ProbeFailure {
  probe: 'Readiness' | 'Liveness' | 'Startup';
  container: string | undefined;
  message: string;
  count: number;
  lastSeen: string | null;
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

export function analyzePod(pod: V1Pod, observed: Observed): DiagnosisFinding[] {
  const name = pod.metadata?.name ?? '';
  const object = `Pod/${name}`;
  const namespace = pod.metadata?.namespace ?? observed.namespace;
  const events = eventsFor(observed, 'Pod', name, pod.metadata?.uid);
  const probes = probeFailures(events);
  const findings: DiagnosisFinding[] = [];

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

function imagePull(pod: V1Pod, cs: V1ContainerStatus, events: CoreV1Event[]): DiagnosisFinding {
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

function containerConfig(pod: V1Pod, cs: V1ContainerStatus): DiagnosisFinding {
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

function crashLoop(pod: V1Pod, cs: V1ContainerStatus, where: string, liveness: ProbeFailure | undefined, observed: Observed, namespace: string): DiagnosisFinding {
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
