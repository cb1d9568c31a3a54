import { hostname } from 'node:os';
import { withoutTrailingSlashes } from '../model/text.js';

/** Who this replica is and where it can be reached. */
export interface PodIdentity {
  /** Replica name: the StatefulSet pod name (kagent-3), or the host's first DNS label outside Kubernetes. */
  pod: string;
  /** The StatefulSet ordinal, when the name ends in one. */
  ordinal: number | undefined;
  namespace: string | undefined;
  /** This pod's stable URL (through the headless Service); the local URL outside Kubernetes. */
  podUrl: string;
  /** The URL clients should use: PUBLIC_URL, else the ClusterIP Service in Kubernetes, else this host. */
  publicUrl: string;
  /** How any replica's stable URL is made from its pod name; undefined outside Kubernetes unless configured. */
  podUrlTemplate: string | undefined;
  inKubernetes: boolean;
}

export interface IdentityInput {
  podName: string | undefined;
  namespace: string | undefined;
  headlessService: string;
  serviceName: string;
  podUrlTemplate: string | undefined;
  publicUrl: string | undefined;
  /** The interface the server listens on and its actual port. */
  host: string;
  port: number;
}

/** "kagent-3" → 3; names without a trailing ordinal have none. */
export function parseOrdinal(podName: string): number | undefined {
  const match = /-(\d+)$/.exec(podName);
  return match === null ? undefined : Number(match[1]);
}

export function defaultPodUrlTemplate(headlessService: string, port: number): string {
  return `http://{pod}.${headlessService}.{namespace}.svc.cluster.local:${port}`;
}

/** Fills {pod}, {ordinal} and {namespace} in a per-pod URL template. */
export function podUrlFor(template: string, pod: string, namespace: string | undefined): string {
  const ordinal = parseOrdinal(pod);
  return withoutTrailingSlashes(
    template
      .replaceAll('{pod}', pod)
      .replaceAll('{ordinal}', ordinal === undefined ? '' : String(ordinal))
      .replaceAll('{namespace}', namespace ?? 'default'),
  );
}

export function resolveIdentity(input: IdentityInput): PodIdentity {
  const inKubernetes = input.namespace !== undefined && input.podName !== undefined;
  const pod = input.podName ?? hostname().split('.')[0]!;
  const localUrl = `http://${reachableHost(input.host)}:${input.port}`;
  const template = input.podUrlTemplate ?? (inKubernetes ? defaultPodUrlTemplate(input.headlessService, input.port) : undefined);
  const podUrl = template === undefined ? localUrl : podUrlFor(template, pod, input.namespace);
  const clusterUrl = inKubernetes ? `http://${input.serviceName}.${input.namespace}.svc.cluster.local:${input.port}` : undefined;
  return {
    pod,
    ordinal: parseOrdinal(pod),
    namespace: input.namespace,
    podUrl,
    publicUrl: input.publicUrl ?? clusterUrl ?? localUrl,
    podUrlTemplate: template,
    inKubernetes,
  };
}

/** A listen address as others can dial it: the wildcard means "this host's name". */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}
