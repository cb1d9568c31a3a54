// The objects under review, their pod templates and containers, and the
// findings collected about them.
import { RULES } from './rules.js';
import type { ReviewFinding, ReviewOptions, ReviewSeverity, RuleId } from './rules.js';
import { labelsOf, list, rec, str } from './values.js';
import type { Obj } from './values.js';

/** A reviewed Kubernetes object. */
export interface Item {
  value: Obj;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  id: string;
  order: number;
}

/** A pod template and where it sits in its object. */
export interface PodTemplate {
  item: Item;
  labels: Record<string, string>;
  spec: Obj;
  /** Path of the pod spec: spec.template.spec, spec.jobTemplate.spec.template.spec, or spec for a Pod. */
  specPath: string;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export function podTemplateOf(item: Item): PodTemplate | undefined {
  const spec = rec(item.value.spec);
  if (TEMPLATE_KINDS.has(item.kind)) {
    const template = rec(spec.template);
    return { item, labels: labelsOf(rec(template.metadata).labels), spec: rec(template.spec), specPath: 'spec.template.spec' };
  }
  if (item.kind === 'CronJob') {
    const template = rec(rec(rec(spec.jobTemplate).spec).template);
    return { item, labels: labelsOf(rec(template.metadata).labels), spec: rec(template.spec), specPath: 'spec.jobTemplate.spec.template.spec' };
  }
  if (item.kind === 'Pod') return { item, labels: labelsOf(rec(item.value.metadata).labels), spec, specPath: 'spec' };
  return undefined;
}

interface ContainerAt {
  container: Obj;
  path: string;
  name: string;
  /** A regular container, or a sidecar (an init container that keeps running). */
  serving: boolean;
}

export function containersOf(template: PodTemplate): ContainerAt[] {
  const found: ContainerAt[] = [];
  list(template.spec.initContainers).forEach((container, i) => {
    const c = rec(container);
    found.push({ container: c, path: `${template.specPath}.initContainers[${i}]`, name: str(c.name) ?? `#${i}`, serving: c.restartPolicy === 'Always' });
  });
  list(template.spec.containers).forEach((container, i) => {
    const c = rec(container);
    found.push({ container: c, path: `${template.specPath}.containers[${i}]`, name: str(c.name) ?? `#${i}`, serving: true });
  });
  return found;
}

export const sameNamespace = (a: Item, b: Item) => a.namespace === b.namespace || a.namespace === undefined || b.namespace === undefined;

export class Review {
  readonly findings: ReviewFinding[] = [];
  readonly items: Item[] = [];
  readonly templates: PodTemplate[] = [];

  constructor(readonly options: ReviewOptions) {}

  add(rule: RuleId, object: string, path: string, message: string, fix: string, severity: ReviewSeverity = RULES[rule].severity): void {
    this.findings.push({ severity, rule, object, path, message, fix });
  }

  find(kind: string, name: string, near: Item): Item | undefined {
    return this.items.find((other) => other.kind === kind && other.name === name && sameNamespace(other, near));
  }
}
