// Renders the Kustomize directories with a real Kustomize and gives the tests
// typed access to what came out.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IIoK8sApimachineryPkgApisMetaV1LabelSelector as ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KAGENT_DIR = join(REPO_ROOT, 'kubernetes', 'kagent');

/** A rendered object; the fields beyond these are read through the kubernetes-models types. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The Kustomize directories, relative to kubernetes/kagent: base and every overlay that exists. */
export function kustomizeTargets(): string[] {
  const overlays = join(KAGENT_DIR, 'overlays');
  const names = readdirSync(overlays)
    .filter((name) => existsSync(join(overlays, name, 'kustomization.yaml')))
    .sort();
  return ['base', ...names.map((name) => `overlays/${name}`)];
}

interface Renderer {
  describe: string;
  command: string;
  args: (dir: string) => string[];
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** kubectl's built-in Kustomize, else a standalone kustomize; neither is an error, never a skip. */
export function findRenderer(): Renderer {
  const kubectl = onPath('kubectl');
  if (kubectl !== undefined) return { describe: `${kubectl} kustomize`, command: kubectl, args: (dir) => ['kustomize', dir] };
  const kustomize = onPath('kustomize');
  if (kustomize !== undefined) return { describe: `${kustomize} build`, command: kustomize, args: (dir) => ['build', dir] };
  throw new Error(
    'cannot render the Kubernetes manifests: neither `kubectl` nor `kustomize` is on PATH. ' +
      'Install kubectl (it embeds Kustomize v5) or a kustomize v5 binary.',
  );
}

/** Renders one Kustomize directory (relative to kubernetes/kagent) into its objects. */
export function render(target: string, renderer: Renderer = findRenderer()): KubeObject[] {
  const dir = join(KAGENT_DIR, target);
  let out: string;
  try {
    out = execFileSync(renderer.command, renderer.args(dir), {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${renderer.describe} ${target} failed: ${stderr.trim() || String(error)}`);
  }
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(out)) {
    if (doc.errors.length > 0) throw new Error(`${target}: rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** Renders every target once. */
export function renderAll(): Map<string, KubeObject[]> {
  const renderer = findRenderer();
  return new Map(kustomizeTargets().map((target) => [target, render(target, renderer)]));
}

export function ofKind<T = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** The single object of this kind (and name): a missing or duplicated one is a failure. */
export function only<T = KubeObject>(objects: KubeObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}${name === undefined ? '' : ` named ${name}`}, found ${found.length}`);
  }
  return found[0] as T;
}

export interface Workload {
  object: KubeObject;
  template: IPodTemplateSpec;
  spec: IPodSpec;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Every pod template among the objects (CronJobs and bare Pods included). */
export function workloads(objects: KubeObject[]): Workload[] {
  const result: Workload[] = [];
  for (const object of objects) {
    let template: IPodTemplateSpec | undefined;
    if (WORKLOAD_KINDS.has(object.kind)) template = (object.spec as { template?: IPodTemplateSpec }).template;
    else if (object.kind === 'CronJob') {
      template = (object.spec as { jobTemplate?: { spec?: { template?: IPodTemplateSpec } } }).jobTemplate?.spec?.template;
    } else if (object.kind === 'Pod') template = { metadata: object.metadata, spec: object.spec as IPodSpec };
    if (template === undefined) continue;
    if (template.spec === undefined) throw new Error(`${object.kind}/${object.metadata.name} has a pod template without a spec`);
    result.push({ object, template, spec: template.spec });
  }
  return result;
}

export function containersOf(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** Does a label selector select a set of labels (matchLabels and matchExpressions, as the API server does)? */
export function selects(selector: ILabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  const have = labels ?? {};
  const matchLabels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  // An empty selector selects everything: never what a workload means.
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) if (have[key] !== value) return false;
  for (const { key, operator, values = [] } of expressions) {
    const present = Object.hasOwn(have, key);
    switch (operator) {
      case 'In':
        if (!present || !values.includes(have[key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${operator}`);
    }
  }
  return true;
}

const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes quantity ("500m", "2", "1Gi", 3) as a number of base units. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) throw new Error('missing quantity');
  if (typeof value === 'number') return value;
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value.trim());
  if (match === null) throw new Error(`not a quantity: ${value}`);
  return Number(match[1]) * QUANTITY_SUFFIX[match[2] ?? '']!;
}
