import { promises as dns } from 'node:dns';
import { podUrlFor } from './identity.js';

/** The DNS lookups sibling discovery needs; Node's resolver in production, a stand-in where no cluster DNS exists. */
export interface SiblingResolver {
  resolveSrv(name: string): Promise<{ name: string; port: number }[]>;
}

export interface SiblingOptions {
  /** This pod's name (kagent-3): the StatefulSet's name is what precedes the ordinal. */
  pod: string;
  namespace: string | undefined;
  headlessService: string;
  /** Per-pod URL template ({pod}, {ordinal}, {namespace}). */
  podUrlTemplate: string;
  /** A2A_REPLICAS: when set, the siblings are ordinals 0..N-1 and DNS is not asked. */
  replicas: number | undefined;
  /** Named port of the headless Service, for its SRV records. */
  portName?: string;
  resolver?: SiblingResolver;
}

export interface Sibling {
  pod: string;
  url: string;
}

/** "kagent-3" → "kagent". */
export function statefulSetName(pod: string): string {
  return pod.replace(/-\d+$/, '');
}

/** Ordinals as Kubernetes writes them: decimal, no leading zero, well inside a safe integer. */
const ORDINAL = /^(0|[1-9][0-9]{0,8})$/;

/**
 * Which names are replicas of this StatefulSet — the only pods this one may
 * ever call. With A2A_REPLICAS: exactly `<statefulset>-0` … `<statefulset>-(N-1)`.
 * With DNS discovery (in Kubernetes): any `<statefulset>-<ordinal>`, since the
 * headless Service lists ready pods only and a pod being restarted still owns
 * its tasks; the default URL template keeps such a name inside the headless
 * Service's domain. Otherwise (no replicas known): this pod alone.
 */
export function siblingNames(options: { pod: string; replicas: number | undefined; discovered: boolean }): (name: string) => boolean {
  const set = statefulSetName(options.pod);
  const prefix = `${set}-`;
  return (name) => {
    if (name === options.pod) return true;
    if (!name.startsWith(prefix)) return false;
    const ordinal = name.slice(prefix.length);
    if (!ORDINAL.test(ordinal)) return false;
    if (options.replicas !== undefined) return Number(ordinal) < options.replicas;
    return options.discovered;
  };
}

/**
 * The replicas of this StatefulSet, this one included. With A2A_REPLICAS they
 * are computed; otherwise they come from the SRV records Kubernetes publishes
 * for the headless Service's named port (one per ready pod, named
 * <pod>.<service>.<namespace>.svc.cluster.local). Outside Kubernetes without
 * A2A_REPLICAS there are none.
 */
export async function findSiblings(options: SiblingOptions): Promise<Sibling[]> {
  const sibling = (pod: string): Sibling => ({ pod, url: podUrlFor(options.podUrlTemplate, pod, options.namespace) });
  if (options.replicas !== undefined) {
    const set = statefulSetName(options.pod);
    return Array.from({ length: options.replicas }, (_, i) => sibling(`${set}-${i}`));
  }
  if (options.namespace === undefined) return [];
  const resolver = options.resolver ?? dns;
  const name = `_${options.portName ?? 'http'}._tcp.${options.headlessService}.${options.namespace}.svc.cluster.local`;
  const records = await resolver.resolveSrv(name);
  const pods = new Set(records.map((record) => record.name.split('.')[0]!).filter((pod) => pod !== ''));
  return [...pods].sort().map(sibling);
}
