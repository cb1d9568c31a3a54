// The review's rule catalogue: every rule, what it looks for and how serious it
// usually is, and what a review reports. The rules themselves are in review.ts
// (each object alone), container-rules.ts (one pod template) and
// topology-rules.ts (how the objects fit together).

export type ReviewSeverity = 'error' | 'warning' | 'info';

export interface ReviewFinding {
  severity: ReviewSeverity;
  rule: RuleId;
  /** "Kind/namespace/name" ("Kind/name" for an object without a namespace, "document N of <source>" for a non-object). */
  object: string;
  /** Field path in the object: spec.template.spec.containers[0].resources ("" for the object as a whole). */
  path: string;
  message: string;
  fix: string;
}

export interface ReviewOptions {
  /** How many nodes pods can schedule on, when the caller knows. */
  nodeCount?: number;
}

export interface ReviewResult {
  findings: ReviewFinding[];
  /** Documents reviewed (Kubernetes objects and documents that should have been). */
  objects: number;
  /** Every reviewed object's name, in input order. */
  names: string[];
}

/** Every rule, what it looks for, and how serious it usually is. */
export const RULES = {
  schema: { severity: 'error', summary: 'a value of the wrong type, outside its enum, or a required field missing (the Kubernetes OpenAPI schema)' },
  'unknown-field': { severity: 'error', summary: 'a field the kind’s schema does not declare (the API server drops it or rejects the object)' },
  'unknown-kind': { severity: 'error', summary: 'an apiVersion/kind of a built-in Kubernetes group that does not exist' },
  'not-validated': { severity: 'info', summary: 'a custom resource: no schema here to check it against' },
  'duplicate-object': { severity: 'error', summary: 'the same kind, namespace and name twice' },
  'resources-missing': { severity: 'warning', summary: 'a container without CPU/memory requests or limits' },
  'resources-request-above-limit': { severity: 'error', summary: 'a request above its limit (the API server rejects it)' },
  'probes-missing': { severity: 'warning', summary: 'a serving container without a readiness or liveness probe' },
  'probe-port': { severity: 'error', summary: 'a probe aimed at a port the container does not declare (error for a port name, warning for a number)' },
  'run-as-root': { severity: 'warning', summary: 'a container that may run as root (error when runAsUser is 0)' },
  'writable-root-filesystem': { severity: 'warning', summary: 'readOnlyRootFilesystem is not true' },
  'privilege-escalation': { severity: 'warning', summary: 'allowPrivilegeEscalation is not false' },
  privileged: { severity: 'error', summary: 'a privileged container' },
  'added-capabilities': { severity: 'warning', summary: 'Linux capabilities added' },
  'capabilities-not-dropped': { severity: 'info', summary: 'capabilities not dropped (drop: [ALL])' },
  seccomp: { severity: 'warning', summary: 'no seccomp profile, or Unconfined' },
  'host-namespaces': { severity: 'warning', summary: 'hostNetwork, hostPID or hostIPC' },
  'image-latest': { severity: 'warning', summary: 'an image tagged latest' },
  'image-untagged': { severity: 'warning', summary: 'an image with neither tag nor digest (means latest)' },
  'service-selector': { severity: 'warning', summary: 'a Service whose selector matches no pod template' },
  'service-target-port': { severity: 'error', summary: 'a Service targetPort name no selected container declares' },
  'statefulset-service': { severity: 'error', summary: 'a StatefulSet serviceName without a matching headless Service' },
  'anti-affinity-replicas': { severity: 'error', summary: 'required pod anti-affinity per node with more replicas than nodes (info when no node count is stated)' },
  'pdb-blocks-eviction': { severity: 'error', summary: 'a PodDisruptionBudget that allows no voluntary disruption (drains hang)' },
  'pdb-protects-nothing': { severity: 'warning', summary: 'a PodDisruptionBudget that protects no pod' },
  'hpa-target-missing': { severity: 'error', summary: 'a HorizontalPodAutoscaler whose scale target is not among the objects' },
  'hpa-replica-range': { severity: 'error', summary: 'a HorizontalPodAutoscaler with minReplicas above maxReplicas' },
} as const satisfies Record<string, { severity: ReviewSeverity; summary: string }>;

export type RuleId = keyof typeof RULES;
