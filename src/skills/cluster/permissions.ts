// Every Kubernetes API call the cluster skills may make, declared once.
//
// The reader (reader.ts) refuses a call that is not listed here, and a test
// renders the RBAC of kubernetes/kagent/components/cluster-skills and proves
// its rules grant exactly these verbs on exactly these resources: adding a
// call means adding it here and to the manifests, or the tests fail.

export type ApiVerb = 'get' | 'list';

export interface ApiPermission {
  /** API group: '' for the core group. */
  readonly group: '' | 'apps';
  /** Resource as RBAC names it ("pods/log" for a subresource). */
  readonly resource: string;
  readonly verbs: readonly ApiVerb[];
  /** Namespaced resources are granted per namespace; nodes need a cluster-wide grant. */
  readonly scope: 'namespace' | 'cluster';
  /** What the skills use it for. */
  readonly why: string;
}

export const API_PERMISSIONS: readonly ApiPermission[] = Object.freeze([
  { group: '', resource: 'pods', verbs: ['get', 'list'], scope: 'namespace', why: 'describe a pod; the pods of a workload (by its selector) or of a namespace' },
  { group: '', resource: 'pods/log', verbs: ['get'], scope: 'namespace', why: 'a bounded tail of a container log (tailLines, limitBytes)' },
  { group: '', resource: 'events', verbs: ['list'], scope: 'namespace', why: 'probe failures, pull errors, mount and provisioning failures' },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'list'], scope: 'namespace', why: 'claims that are not bound' },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list'], scope: 'namespace', why: 'describe, rollout status, diagnosis' },
  { group: 'apps', resource: 'statefulsets', verbs: ['get', 'list'], scope: 'namespace', why: 'describe, rollout status, diagnosis (OrderedReady)' },
  { group: 'apps', resource: 'replicasets', verbs: ['list'], scope: 'namespace', why: "a Deployment's ReplicaSets: its pods and ReplicaFailure" },
  { group: '', resource: 'nodes', verbs: ['list'], scope: 'cluster', why: 'count schedulable nodes when a pod is unschedulable' },
] satisfies ApiPermission[]);

/** "list pods", "get pods/log", "list deployments.apps": how RBAC messages and kubectl auth can-i name a permission. */
export function describePermission(group: string, resource: string, verb: ApiVerb): string {
  return `${verb} ${resource}${group === '' ? '' : `.${group}`}`;
}

/** Whether a call is declared; the reader asks before every request. */
export function isDeclared(group: string, resource: string, verb: ApiVerb): boolean {
  return API_PERMISSIONS.some((p) => p.group === group && p.resource === resource && p.verbs.includes(verb));
}

/** The declaration as flat "group/resource:verb" keys, sorted: what the RBAC test compares. */
export function permissionKeys(scope?: ApiPermission['scope']): string[] {
  return API_PERMISSIONS.filter((p) => scope === undefined || p.scope === scope)
    .flatMap((p) => p.verbs.map((verb) => `${p.group}/${p.resource}:${verb}`))
    .sort();
}
