// Renders the Kustomize directories with a real Kustomize and gives the tests
// typed access to what came out.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { findRenderer } from '../../src/skills/manifest-review/kustomize.js';
import type { Renderer } from '../../src/skills/manifest-review/kustomize.js';

// Label selection and quantities as the review rules compute them.
export { quantity, selects } from '../../src/skills/manifest-review/values.js';
export { findRenderer };
export type { Renderer };

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

/** Renders one Kustomize directory (relative to kubernetes/kagent, or absolute) into its objects. */
export function render(target: string, renderer: Renderer = findRenderer()): KubeObject[] {
  const dir = resolve(KAGENT_DIR, target);
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

/** Renders a target with components added, as an operator's overlay using them would (a scratch overlay, removed after). */
export function renderWith(target: string, components: readonly string[]): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-overlay-'));
  try {
    // Kustomize takes relative paths only.
    const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namespace: kagent', 'resources:', `  - ${relative(dir, resolve(KAGENT_DIR, target))}`, 'components:'];
    for (const component of components) lines.push(`  - ${relative(dir, join(KAGENT_DIR, 'components', component))}`);
    writeFileSync(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
