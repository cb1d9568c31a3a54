// What the rendered NetworkPolicies let through, computed the way the
// NetworkPolicy API defines it: a pod selected by a policy of a direction
// accepts only what some rule of such a policy allows; rules and policies add
// up. ipBlock peers are not modelled (the manifests use none, and a test says so).
import type { IIoK8sApimachineryPkgApisMetaV1LabelSelector as LabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { KubeObject } from './manifests.js';
import { ofKind, selects } from './manifests.js';

/** The other end of a connection: a pod (namespace and labels) or an address outside the cluster. */
export type Endpoint =
  | { namespace: string; namespaceLabels?: Record<string, string>; podLabels: Record<string, string> }
  | { external: string };

export interface Connection {
  /** The pod the policies are about (the agent), its namespace and labels. */
  pod: { namespace: string; labels: Record<string, string>; ports: Record<string, number> };
  peer: Endpoint;
  port: number;
  protocol?: 'TCP' | 'UDP';
  /** Named ports of the pod on the far end (egress to a named port). */
  peerPorts?: Record<string, number>;
}

export function policiesFor(objects: KubeObject[], namespace: string, labels: Record<string, string>): INetworkPolicy[] {
  return ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter(
    (p) => (p.metadata?.namespace ?? namespace) === namespace && matches(p.spec!.podSelector, labels),
  );
}

/** An empty selector selects everything in its scope. */
function isEmpty(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

function matches(selector: LabelSelector, labels: Record<string, string>): boolean {
  return isEmpty(selector) || selects(selector, labels);
}

function typesOf(policy: INetworkPolicy): string[] {
  if (policy.spec!.policyTypes !== undefined) return policy.spec!.policyTypes;
  return policy.spec!.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
}

function peerMatches(peer: INetworkPolicyPeer, endpoint: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock !== undefined) throw new Error('ipBlock peers are not evaluated by this test');
  if ('external' in endpoint) return false;
  const labels = { 'kubernetes.io/metadata.name': endpoint.namespace, ...(endpoint.namespaceLabels ?? {}) };
  const namespaceOk = peer.namespaceSelector === undefined ? endpoint.namespace === policyNamespace : matches(peer.namespaceSelector, labels);
  const podOk = peer.podSelector === undefined || matches(peer.podSelector, endpoint.podLabels);
  return namespaceOk && podOk;
}

function portMatches(ports: INetworkPolicyPort[] | undefined, port: number, protocol: string, named: Record<string, number>): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : named[p.port];
    if (number === undefined) return false;
    return p.endPort === undefined ? number === port : port >= number && port <= p.endPort;
  });
}

/** Whether a connection into the pod is allowed. */
export function ingressAllowed(objects: KubeObject[], c: Connection): boolean {
  const policies = policiesFor(objects, c.pod.namespace, c.pod.labels).filter((p) => typesOf(p).includes('Ingress'));
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    (policy.spec!.ingress ?? []).some(
      (rule) =>
        portMatches(rule.ports, c.port, c.protocol ?? 'TCP', c.pod.ports) &&
        (rule.from === undefined || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, c.peer, c.pod.namespace))),
    ),
  );
}

/** Whether a connection from the pod is allowed. */
export function egressAllowed(objects: KubeObject[], c: Connection): boolean {
  const policies = policiesFor(objects, c.pod.namespace, c.pod.labels).filter((p) => typesOf(p).includes('Egress'));
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    (policy.spec!.egress ?? []).some(
      (rule) =>
        portMatches(rule.ports, c.port, c.protocol ?? 'TCP', c.peerPorts ?? {}) &&
        (rule.to === undefined || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, c.peer, c.pod.namespace))),
    ),
  );
}
