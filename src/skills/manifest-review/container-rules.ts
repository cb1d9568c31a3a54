// Rules about one pod template: its containers' resources, probes, security
// context and images, and the pod's host namespaces.
import { Review, containersOf } from './reviewed.js';
import type { Item, PodTemplate } from './reviewed.js';
import { imageParts, int, list, rec, str, tryQuantity } from './values.js';
import type { Obj } from './values.js';

const SERVING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod']);
export function containerRules(review: Review, template: PodTemplate): void {
  const { item } = template;
  const podSc = rec(template.spec.securityContext);
  for (const { container, path, name, serving } of containersOf(template)) {
    const who = `container ${name}`;

    // Resources. A missing request with a limit defaults to the limit: not a gap.
    const resources = rec(container.resources);
    const requests = rec(resources.requests);
    const limits = rec(resources.limits);
    const missing: string[] = [];
    for (const resource of ['cpu', 'memory']) {
      const request = requests[resource];
      const limit = limits[resource];
      if (request === undefined && limit === undefined) missing.push(`${resource} request and limit`);
      else if (limit === undefined) missing.push(`${resource} limit`);
      const r = tryQuantity(request);
      const l = tryQuantity(limit);
      if (r !== undefined && l !== undefined && r > l) {
        review.add(
          'resources-request-above-limit',
          item.id,
          `${path}.resources.requests.${resource}`,
          `${who}: ${resource} request ${String(request)} is above its limit ${String(limit)}; the API server rejects the pod`,
          `Lower the ${resource} request to at most ${String(limit)}, or raise the limit.`,
        );
      }
    }
    if (missing.length > 0) {
      review.add(
        'resources-missing',
        item.id,
        `${path}.resources`,
        `${who} has no ${missing.join(', no ')}: the scheduler cannot place it by need and nothing bounds what it takes`,
        'Set resources.requests (cpu, memory) to what it needs under normal load and resources.limits to its ceiling.',
      );
    }

    // Probes: serving containers of long-running workloads.
    if (serving && SERVING_KINDS.has(item.kind)) {
      const absent = (['readinessProbe', 'livenessProbe'] as const).filter((probe) => container[probe] === undefined);
      if (absent.length > 0) {
        review.add(
          'probes-missing',
          item.id,
          path,
          `${who} has no ${absent.join(' and no ')}: ${absent.includes('readinessProbe') ? 'traffic reaches it before it is ready' : 'a hung process is never restarted'}`,
          `Add ${absent.join(' and ')} (httpGet on a health endpoint, or tcpSocket on its port).`,
        );
      }
    }
    probePortRule(review, item, container, path, who);

    // Security context: container settings override the pod's.
    const sc = rec(container.securityContext);
    const scPath = `${path}.securityContext`;
    const runAsUser = int(sc.runAsUser) ?? int(podSc.runAsUser);
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (runAsUser === 0) {
      review.add('run-as-root', item.id, int(sc.runAsUser) === 0 ? `${scPath}.runAsUser` : `${template.specPath}.securityContext.runAsUser`, `${who} runs as root (runAsUser: 0)`, 'Run as a non-zero UID (runAsUser: 1000) with runAsNonRoot: true.', 'error');
    } else if (runAsNonRoot !== true && runAsUser === undefined) {
      review.add('run-as-root', item.id, `${scPath}.runAsNonRoot`, `${who} may run as root: neither runAsNonRoot: true nor a non-zero runAsUser is set`, 'Set runAsNonRoot: true (pod or container securityContext) and a non-zero runAsUser if the image has no USER.');
    }
    if (sc.readOnlyRootFilesystem !== true) {
      review.add('writable-root-filesystem', item.id, `${scPath}.readOnlyRootFilesystem`, `${who} can write to its root filesystem`, 'Set readOnlyRootFilesystem: true and mount an emptyDir where the program must write (/tmp).');
    }
    if (sc.privileged === true) {
      review.add('privileged', item.id, `${scPath}.privileged`, `${who} is privileged: it has every capability and the host’s devices`, 'Remove privileged: true; add only the capability it needs, if any.');
    }
    if (sc.allowPrivilegeEscalation !== false) {
      review.add('privilege-escalation', item.id, `${scPath}.allowPrivilegeEscalation`, `${who} allows privilege escalation (setuid binaries can gain root)`, 'Set allowPrivilegeEscalation: false.');
    }
    const capabilities = rec(sc.capabilities);
    const added = list(capabilities.add).filter((c): c is string => typeof c === 'string');
    if (added.length > 0) {
      review.add('added-capabilities', item.id, `${scPath}.capabilities.add`, `${who} adds capabilities ${added.join(', ')}`, 'Remove capabilities.add; if one is truly needed (NET_BIND_SERVICE for a port below 1024), prefer a port above 1024 instead.');
    }
    if (!list(capabilities.drop).includes('ALL')) {
      review.add('capabilities-not-dropped', item.id, `${scPath}.capabilities.drop`, `${who} keeps the runtime’s default capabilities`, 'Set capabilities.drop: [ALL].');
    }
    const containerSeccomp = str(rec(sc.seccompProfile).type);
    const seccomp = containerSeccomp ?? str(rec(podSc.seccompProfile).type);
    if (seccomp === undefined || seccomp === 'Unconfined') {
      review.add(
        'seccomp',
        item.id,
        containerSeccomp === 'Unconfined' ? `${scPath}.seccompProfile.type` : `${template.specPath}.securityContext.seccompProfile`,
        seccomp === undefined ? `${who} has no seccomp profile: it runs Unconfined unless the kubelet defaults otherwise` : `${who} runs with seccomp Unconfined`,
        'Set securityContext.seccompProfile.type: RuntimeDefault on the pod.',
      );
    }

    // Images.
    const image = str(container.image);
    if (image !== undefined && image !== '') {
      const { tag, digest } = imageParts(image);
      if (digest === undefined && tag === undefined) {
        review.add('image-untagged', item.id, `${path}.image`, `${who} uses ${image} with no tag, which means latest: what runs changes under you`, 'Pin a version tag (or a digest: image@sha256:…).');
      } else if (digest === undefined && tag === 'latest') {
        review.add('image-latest', item.id, `${path}.image`, `${who} uses ${image}: latest changes under you and makes rollbacks meaningless`, 'Pin a version tag (or a digest: image@sha256:…).');
      }
    }
  }
}

function probePortRule(review: Review, item: Item, container: Obj, path: string, who: string): void {
  const ports = list(container.ports).map(rec);
  const names = new Set(ports.map((p) => str(p.name)).filter((n): n is string => n !== undefined));
  const numbers = new Set(ports.map((p) => int(p.containerPort)).filter((n): n is number => n !== undefined));
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    const spec = rec(container[probe]);
    for (const handler of ['httpGet', 'tcpSocket', 'grpc'] as const) {
      if (spec[handler] === undefined) continue;
      const port = rec(spec[handler]).port;
      const at = `${path}.${probe}.${handler}.port`;
      if (typeof port === 'string' && !/^[0-9]+$/.test(port)) {
        if (!names.has(port)) {
          review.add(
            'probe-port',
            item.id,
            at,
            `${who}: ${probe} uses port ${port}, but the container declares no port named ${port}${names.size > 0 ? ` (it has ${[...names].join(', ')})` : ''}; the probe can never succeed`,
            `Name the container port ${port} (ports: - name: ${port}), or point the probe at a declared port.`,
            'error',
          );
        }
      } else {
        const number = typeof port === 'number' ? port : typeof port === 'string' ? Number(port) : undefined;
        if (number !== undefined && !numbers.has(number)) {
          review.add(
            'probe-port',
            item.id,
            at,
            `${who}: ${probe} uses port ${number}, which the container does not declare${numbers.size > 0 ? ` (it declares ${[...numbers].join(', ')})` : ''}`,
            `Declare containerPort ${number} (and refer to it by name), or point the probe at the port the program listens on.`,
            'warning',
          );
        }
      }
    }
  }
}

export function podRules(review: Review, template: PodTemplate): void {
  const used = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((key) => template.spec[key] === true);
  for (const key of used) {
    review.add('host-namespaces', template.item.id, `${template.specPath}.${key}`, `the pods share the host’s ${key.slice(4)} namespace (${key}: true)`, `Remove ${key}: true unless the pod is a node agent that needs it.`);
  }
}
