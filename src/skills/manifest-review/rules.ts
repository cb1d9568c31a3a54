// The review: each rule looks at the objects and says what is wrong, where,
// and how to fix it. Everything here works offline, on the objects alone.
import { builtInApiVersion, checkSchema } from './schema.js';
import type { Segment } from './schema.js';
import type { ManifestDocument } from './parse.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
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
  findings: Finding[];
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
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type RuleId = keyof typeof RULES;

type Obj = Record<string, unknown>;
const rec = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const int = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
const labelsOf = (value: unknown): Record<string, string> => {
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(rec(value))) if (typeof v === 'string') labels[key] = v;
  return labels;
};

/** spec.template.spec.containers[0] from segments. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** A reviewed Kubernetes object. */
interface Item {
  value: Obj;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  id: string;
  order: number;
}

/** A pod template and where it sits in its object. */
interface PodTemplate {
  item: Item;
  labels: Record<string, string>;
  spec: Obj;
  /** Path of the pod spec: spec.template.spec, spec.jobTemplate.spec.template.spec, or spec for a Pod. */
  specPath: string;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);
const SERVING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod']);
const SCALABLE_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

function podTemplateOf(item: Item): PodTemplate | undefined {
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

function containersOf(template: PodTemplate): ContainerAt[] {
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

/** Does a label selector ({matchLabels, matchExpressions}) select these labels? An empty selector selects nothing here. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  const sel = rec(selector);
  const matchLabels = labelsOf(sel.matchLabels);
  const expressions = list(sel.matchExpressions).map(rec);
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  for (const expression of expressions) {
    const key = str(expression.key) ?? '';
    const values = list(expression.values).filter((v): v is string => typeof v === 'string');
    const present = Object.hasOwn(labels, key);
    switch (expression.operator) {
      case 'In':
        if (!present || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isEmptySelector(selector: unknown): boolean {
  const sel = rec(selector);
  return Object.keys(rec(sel.matchLabels)).length === 0 && list(sel.matchExpressions).length === 0;
}

/** A Service's selector (a plain label map) selects labels when every pair is present. */
function mapSelects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "2", "1Gi", "1e3", 3) as a number of base units. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) throw new Error('missing quantity');
  if (typeof value === 'number') return value;
  const match = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(value.trim());
  if (match === null) throw new Error(`not a quantity: ${value}`);
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2].slice(1));
  return base * QUANTITY_SUFFIX[match[3] ?? '']!;
}

function tryQuantity(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return quantity(value);
  } catch {
    return undefined;
  }
}

/** The tag and digest of an image reference. */
export function imageParts(image: string): { tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const name = at === -1 ? image : image.slice(0, at);
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  const tag = colon === -1 ? undefined : last.slice(colon + 1);
  return { ...(tag === undefined || tag === '' ? {} : { tag }), ...(digest === undefined || digest === '' ? {} : { digest }) };
}

/** An int-or-percent ("25%", 2) scaled to a number of pods, rounding up as the disruption controller does. */
function scaled(value: unknown, total: number): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const match = /^([0-9]+)%$/.exec(value);
    if (match !== null) return Math.ceil((Number(match[1]) * total) / 100);
  }
  return undefined;
}

const sameNamespace = (a: Item, b: Item) => a.namespace === b.namespace || a.namespace === undefined || b.namespace === undefined;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

class Review {
  readonly findings: Finding[] = [];
  readonly items: Item[] = [];
  readonly templates: PodTemplate[] = [];

  constructor(readonly options: ReviewOptions) {}

  add(rule: RuleId, object: string, path: string, message: string, fix: string, severity: Severity = RULES[rule].severity): void {
    this.findings.push({ severity, rule, object, path, message, fix });
  }

  find(kind: string, name: string, near: Item): Item | undefined {
    return this.items.find((other) => other.kind === kind && other.name === name && sameNamespace(other, near));
  }
}

/** Reviews the documents; findings come sorted, errors first. */
export async function reviewManifests(documents: readonly ManifestDocument[], options: ReviewOptions = {}): Promise<ReviewResult> {
  const review = new Review(options);
  const names: string[] = [];
  const order = new Map<string, number>();

  for (const [index, doc] of documents.entries()) {
    const value = rec(doc.value);
    const apiVersion = str(value.apiVersion);
    const kind = str(value.kind);
    const metadata = rec(value.metadata);
    const name = str(metadata.name) ?? str(metadata.generateName) ?? '(unnamed)';
    const namespace = str(metadata.namespace);
    const id =
      apiVersion === undefined || kind === undefined || doc.value !== value
        ? `document ${doc.document} of ${doc.source}`
        : namespace === undefined
          ? `${kind}/${name}`
          : `${kind}/${namespace}/${name}`;
    names.push(id);
    if (!order.has(id)) order.set(id, index);
    if (apiVersion === undefined || kind === undefined || doc.value !== value) {
      review.add('schema', id, '', 'not a Kubernetes object: a mapping with string apiVersion and kind is expected', 'Give the document apiVersion and kind, or remove it.');
      continue;
    }
    const item: Item = { value, apiVersion, kind, name, namespace, id, order: index };
    review.items.push(item);
    const template = podTemplateOf(item);
    if (template !== undefined) review.templates.push(template);
  }

  for (const item of review.items) await schemaRules(review, item);
  duplicateRule(review);
  for (const template of review.templates) {
    containerRules(review, template);
    podRules(review, template);
  }
  antiAffinityRule(review);
  serviceRules(review);
  statefulSetRule(review);
  pdbRule(review);
  hpaRules(review);

  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  const findings = review.findings
    .map((finding, position) => ({ finding, position }))
    .sort(
      (a, b) =>
        rank[a.finding.severity] - rank[b.finding.severity] ||
        (order.get(a.finding.object) ?? 0) - (order.get(b.finding.object) ?? 0) ||
        a.position - b.position,
    )
    .map(({ finding }) => finding);
  return { findings, objects: documents.length, names };
}

async function schemaRules(review: Review, item: Item): Promise<void> {
  const check = await checkSchema(item.value);
  if (check.unchecked !== undefined) {
    if (builtInApiVersion(item.apiVersion)) {
      review.add('unknown-kind', item.id, 'kind', `Kubernetes has no ${item.kind} in ${item.apiVersion}`, 'Correct the kind or apiVersion (kubectl api-resources lists what a cluster serves).');
    } else {
      review.add('not-validated', item.id, '', `${item.kind} (${item.apiVersion}) is a custom resource; its fields were not checked`, 'Check it against its CRD (kubectl apply --dry-run=server) in a cluster that has the CRD.');
    }
    return;
  }
  for (const error of check.errors) {
    const path = formatPath(error.path);
    const allowed = error.allowedValues === undefined ? '' : ` (${error.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
    review.add('schema', item.id, path, `${path || item.kind} ${error.message}${allowed}`, `Fix the value to match the ${item.kind} schema (kubectl explain ${item.kind.toLowerCase()}${path ? `.${path.replace(/\[[0-9]+\]/g, '')}` : ''}).`);
  }
  for (const field of check.unknownFields) {
    const path = formatPath(field.path);
    const name = field.path[field.path.length - 1];
    review.add(
      'unknown-field',
      item.id,
      path,
      `${path} is not a field of ${item.kind}: the API server drops it, or rejects the object under strict field validation`,
      field.suggestion === undefined ? `Remove ${String(name)}, or correct its name.` : `Did you mean ${field.suggestion}? Rename ${String(name)} to ${field.suggestion}.`,
    );
  }
}

function duplicateRule(review: Review): void {
  const seen = new Set<string>();
  for (const item of review.items) {
    const group = item.apiVersion.includes('/') ? item.apiVersion.slice(0, item.apiVersion.indexOf('/')) : '';
    const key = `${group}/${item.id}`;
    if (seen.has(key)) {
      review.add('duplicate-object', item.id, 'metadata.name', `${item.id} appears more than once; the later one overwrites the earlier on apply`, 'Keep one definition, or give them different names.');
    }
    seen.add(key);
  }
}

function containerRules(review: Review, template: PodTemplate): void {
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

function podRules(review: Review, template: PodTemplate): void {
  const used = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((key) => template.spec[key] === true);
  for (const key of used) {
    review.add('host-namespaces', template.item.id, `${template.specPath}.${key}`, `the pods share the host’s ${key.slice(4)} namespace (${key}: true)`, `Remove ${key}: true unless the pod is a node agent that needs it.`);
  }
}

/** The replica range of a scalable workload: spec.replicas, widened by an autoscaler that targets it. */
function replicaRange(review: Review, item: Item): { min: number; max: number } | undefined {
  if (!SCALABLE_KINDS.has(item.kind)) return item.kind === 'Pod' ? { min: 1, max: 1 } : undefined;
  const replicas = int(rec(item.value.spec).replicas) ?? 1;
  const hpa = review.items.find((other) => {
    if (other.kind !== 'HorizontalPodAutoscaler' || !sameNamespace(other, item)) return false;
    const target = rec(rec(other.value.spec).scaleTargetRef);
    return target.kind === item.kind && target.name === item.name;
  });
  if (hpa === undefined) return { min: replicas, max: replicas };
  const spec = rec(hpa.value.spec);
  return { min: int(spec.minReplicas) ?? 1, max: Math.max(int(spec.maxReplicas) ?? replicas, replicas) };
}

function antiAffinityRule(review: Review): void {
  const nodes = review.options.nodeCount;
  for (const template of review.templates) {
    const range = replicaRange(review, template.item);
    if (range === undefined || template.item.kind === 'Pod') continue;
    const terms = list(rec(rec(template.spec.affinity).podAntiAffinity).requiredDuringSchedulingIgnoredDuringExecution);
    terms.forEach((term, i) => {
      const t = rec(term);
      if (t.topologyKey !== 'kubernetes.io/hostname' || !selects(t.labelSelector, template.labels)) return;
      const namespaces = list(t.namespaces);
      if (namespaces.length > 0 && template.item.namespace !== undefined && !namespaces.includes(template.item.namespace)) return;
      const path = `${template.specPath}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[${i}]`;
      const replicas = range.max === range.min ? plural(range.max, 'replica') : `up to ${range.max} replicas (autoscaled)`;
      if (nodes !== undefined) {
        if (range.max > nodes) {
          review.add(
            'anti-affinity-replicas',
            template.item.id,
            path,
            `${replicas} with required anti-affinity per node, but only ${plural(nodes, 'node')}: ${range.max - nodes} stay Pending`,
            `Run at most ${nodes} replicas, add nodes, or use preferredDuringSchedulingIgnoredDuringExecution (or topologySpreadConstraints) instead.`,
          );
        }
      } else if (range.max > 1) {
        review.add(
          'anti-affinity-replicas',
          template.item.id,
          path,
          `${replicas} with required anti-affinity per node need at least ${plural(range.max, 'node')}; no node count was stated, so this was not checked`,
          'State nodeCount with the request to check it.',
          'info',
        );
      }
    });
  }
}

function serviceRules(review: Review): void {
  for (const service of review.items.filter((item) => item.kind === 'Service')) {
    const spec = rec(service.value.spec);
    if (spec.type === 'ExternalName') continue;
    const selector = labelsOf(spec.selector);
    if (Object.keys(selector).length === 0) continue;
    const matched = review.templates.filter((t) => sameNamespace(t.item, service) && mapSelects(selector, t.labels));
    if (matched.length === 0) {
      const pairs = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(', ');
      review.add(
        'service-selector',
        service.id,
        'spec.selector',
        `the selector ${pairs} matches no pod template among the reviewed objects: the Service would have no endpoints`,
        'Make spec.selector a subset of the workload’s spec.template.metadata.labels.',
      );
      continue;
    }
    list(spec.ports).forEach((port, i) => {
      const target = rec(port).targetPort;
      if (typeof target !== 'string' || /^[0-9]+$/.test(target)) return;
      const declared = matched.some((t) => containersOf(t).some(({ container }) => list(container.ports).some((p) => rec(p).name === target)));
      if (!declared) {
        review.add(
          'service-target-port',
          service.id,
          `spec.ports[${i}].targetPort`,
          `targetPort ${target} is a port name no container of the selected pods declares: the Service sends traffic nowhere`,
          `Name the container port ${target}, or set targetPort to the port it listens on.`,
        );
      }
    });
  }
}

function statefulSetRule(review: Review): void {
  for (const sts of review.items.filter((item) => item.kind === 'StatefulSet')) {
    const serviceName = str(rec(sts.value.spec).serviceName);
    if (serviceName === undefined || serviceName === '') continue;
    const service = review.find('Service', serviceName, sts);
    if (service === undefined) {
      review.add(
        'statefulset-service',
        sts.id,
        'spec.serviceName',
        `serviceName ${serviceName} names no Service among the reviewed objects: the pods get no stable DNS names`,
        `Add a headless Service ${serviceName} (clusterIP: None) selecting the StatefulSet's pods.`,
      );
    } else if (rec(service.value.spec).clusterIP !== 'None') {
      review.add(
        'statefulset-service',
        sts.id,
        'spec.serviceName',
        `Service ${serviceName} is not headless (clusterIP is not None): the pods get no per-pod DNS names`,
        `Set spec.clusterIP: None on Service ${serviceName} (a headless Service; keep a separate one for load-balanced traffic).`,
      );
    }
  }
}

function pdbRule(review: Review): void {
  for (const pdb of review.items.filter((item) => item.kind === 'PodDisruptionBudget')) {
    const spec = rec(pdb.value.spec);
    // policy/v1: an empty selector selects every pod of the namespace.
    const everything = isEmptySelector(spec.selector) && pdb.apiVersion === 'policy/v1';
    const matched = review.templates.filter((t) => sameNamespace(t.item, pdb) && (everything || selects(spec.selector, t.labels)));
    if (matched.length === 0) {
      review.add(
        'pdb-protects-nothing',
        pdb.id,
        'spec.selector',
        'the selector matches no pod template among the reviewed objects: the budget protects nothing',
        'Make spec.selector match the labels of the workload it protects.',
      );
      continue;
    }
    // The fewest pods the budget can see; unknown when a DaemonSet or Job is among them and no node count is known.
    let pods = 0;
    for (const t of matched) {
      const range = replicaRange(review, t.item);
      if (range !== undefined) pods += range.min;
      else if (t.item.kind === 'DaemonSet' && review.options.nodeCount !== undefined) pods += review.options.nodeCount;
      else return;
    }
    const field = spec.minAvailable !== undefined ? 'minAvailable' : spec.maxUnavailable !== undefined ? 'maxUnavailable' : undefined;
    if (field === undefined) continue;
    const value = scaled(spec[field], pods);
    if (value === undefined) continue;
    const shown = JSON.stringify(spec[field]);
    const of = `of ${plural(pods, 'pod')}`;
    if (field === 'minAvailable' ? value >= pods : value <= 0) {
      review.add(
        'pdb-blocks-eviction',
        pdb.id,
        `spec.${field}`,
        `${field} ${shown} ${of} allows no voluntary disruption: node drains and cluster upgrades hang on these pods`,
        pods > 1 ? `Use maxUnavailable: 1 (or minAvailable: ${pods - 1}).` : 'Run at least 2 replicas, or use maxUnavailable: 1.',
      );
    } else if (field === 'minAvailable' ? value <= 0 : value >= pods) {
      review.add(
        'pdb-protects-nothing',
        pdb.id,
        `spec.${field}`,
        `${field} ${shown} ${of} lets every pod be evicted at once: the budget protects nothing`,
        pods > 1 ? 'Use maxUnavailable: 1 so at most one pod is down at a time.' : 'Run at least 2 replicas and use maxUnavailable: 1.',
      );
    }
  }
}

function hpaRules(review: Review): void {
  for (const hpa of review.items.filter((item) => item.kind === 'HorizontalPodAutoscaler')) {
    const spec = rec(hpa.value.spec);
    const target = rec(spec.scaleTargetRef);
    const kind = str(target.kind);
    const name = str(target.name);
    if (kind !== undefined && name !== undefined && review.find(kind, name, hpa) === undefined) {
      review.add(
        'hpa-target-missing',
        hpa.id,
        'spec.scaleTargetRef',
        `the scale target ${kind}/${name} is not among the reviewed objects: the autoscaler scales nothing`,
        `Point scaleTargetRef at the workload (kind and name exactly as in its manifest), or include ${kind}/${name}.`,
      );
    }
    const min = int(spec.minReplicas) ?? 1;
    const max = int(spec.maxReplicas);
    if (max !== undefined && min > max) {
      review.add(
        'hpa-replica-range',
        hpa.id,
        'spec.minReplicas',
        `minReplicas ${min} is above maxReplicas ${max}: the API server rejects it`,
        `Set minReplicas ≤ maxReplicas (e.g. minReplicas: ${max}, or maxReplicas: ${min}).`,
      );
    }
  }
}
