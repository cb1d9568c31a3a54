// What a kustomization may refer to, checked before Kustomize runs. Kustomize
// itself fetches remote resources over HTTP, clones remote bases with git, and
// renders bases anywhere on the disk (its load restrictor confines files, not
// bases). Here every kustomization of the tree is read first: anything remote
// is refused, and every local path, symbolic links resolved, must lie under an
// allowed root.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { findDeepNesting } from './nesting.js';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export type TreeCheck = { ok: true } | { ok: false; message: string };

const MAX_KUSTOMIZATIONS = 200;
const MAX_KUSTOMIZATION_BYTES = 1024 * 1024;
const MAX_NESTING = 100;

/** Fields whose entries may name a directory holding another kustomization. */
const DIRECTORY_FIELDS = new Set(['resources', 'bases', 'components', 'generators', 'transformers', 'validators']);
/** Fields whose entries are paths (or, for some, inline YAML). */
const PATH_LIST_FIELDS = ['resources', 'bases', 'components', 'crds', 'configurations', 'patchesStrategicMerge', 'generators', 'transformers', 'validators'];
/** Fields whose entries are objects with a `path`. */
const PATH_OBJECT_FIELDS = ['patches', 'patchesJson6902', 'replacements'];
const GENERATOR_FIELDS = ['configMapGenerator', 'secretGenerator'];
const HELM_FIELDS = ['helmCharts', 'helmChartInflationGenerator', 'helmGlobals'];

export function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** A reference Kustomize would fetch: a URL, a git address, or a remote target with a ref. */
export function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^git(@|::)/.test(entry) || /[?&](ref|version|submodules|timeout)=/.test(entry);
}

export function kustomizationFile(dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not this name
    }
  }
  return undefined;
}

/**
 * Checks the kustomization in `dir` (a real path under one of `realRoots`)
 * and every kustomization it reaches. Messages name paths relative to their
 * root: the caller never learns where the roots are on the server.
 */
export function checkKustomizationTree(dir: string, realRoots: readonly string[]): TreeCheck {
  const shown = (path: string): string => {
    const root = realRoots.find((r) => within(r, path));
    return root === undefined ? '(outside the allowed roots)' : relative(root, path) || '.';
  };
  const queue = [dir];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const current = queue.shift()!;
    const file = kustomizationFile(current);
    if (file === undefined) return refuse(`${shown(current)} is a directory without a kustomization.yaml`);
    const read = readKustomization(file);
    if (typeof read === 'string') return refuse(`${shown(file)} ${read}`);
    for (const field of HELM_FIELDS) {
      if (read[field] !== undefined) return refuse(`${shown(file)} uses ${field}: Helm charts are not rendered here`);
    }
    for (const { field, entry } of references(read)) {
      const where = `${field} entry "${short(entry)}" of ${shown(file)}`;
      if (isRemote(entry)) return refuse(`${where} is remote; remote resources, bases and components are never fetched`);
      let real: string;
      try {
        real = realpathSync(resolve(current, entry));
      } catch {
        return refuse(`${where} does not exist (remote resources are never fetched)`);
      }
      if (!realRoots.some((root) => within(root, real))) return refuse(`${where} lies outside the allowed roots`);
      if (!statSync(real).isDirectory()) continue;
      if (!DIRECTORY_FIELDS.has(field)) return refuse(`${where} is a directory, not a file`);
      if (seen.has(real)) continue;
      if (seen.size >= MAX_KUSTOMIZATIONS) return refuse(`${shown(dir)} reaches more than ${MAX_KUSTOMIZATIONS} kustomizations`);
      seen.add(real);
      queue.push(real);
    }
  }
  return { ok: true };
}

function refuse(message: string): TreeCheck {
  return { ok: false, message };
}

function short(entry: string): string {
  return entry.length > 200 ? `${entry.slice(0, 200)}…` : entry;
}

/** The kustomization as a map, or what is wrong with it. */
function readKustomization(file: string): Record<string, unknown> | string {
  if (statSync(file).size > MAX_KUSTOMIZATION_BYTES) return `is larger than ${MAX_KUSTOMIZATION_BYTES} bytes`;
  const text = readFileSync(file, 'utf8');
  const deep = findDeepNesting(text, MAX_NESTING);
  if (deep !== undefined) return `nests deeper than ${MAX_NESTING} levels (line ${deep})`;
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    return `is not valid YAML: ${(error as Error).message.split('\n')[0]}`;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return 'is not a YAML map';
  return value as Record<string, unknown>;
}

/** Every path a kustomization names, with the field naming it. Inline YAML (patches, generator configs) is not a path. */
function* references(k: Record<string, unknown>): Generator<{ field: string; entry: string }> {
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const objects = (value: unknown): Record<string, unknown>[] =>
    Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)) : [];
  for (const field of PATH_LIST_FIELDS) {
    for (const entry of strings(k[field])) if (!entry.includes('\n')) yield { field, entry };
  }
  for (const field of PATH_OBJECT_FIELDS) {
    for (const item of objects(k[field])) if (typeof item.path === 'string') yield { field, entry: item.path };
  }
  for (const field of GENERATOR_FIELDS) {
    for (const generator of objects(k[field])) {
      // files: "[key=]path"; envs: paths; env: one path (older form).
      for (const entry of strings(generator.files)) yield { field: `${field} files`, entry: entry.slice(entry.indexOf('=') + 1) };
      for (const entry of strings(generator.envs)) yield { field: `${field} envs`, entry };
      if (typeof generator.env === 'string') yield { field: `${field} env`, entry: generator.env };
    }
  }
  const openapi = k.openapi;
  if (openapi !== null && typeof openapi === 'object' && typeof (openapi as Record<string, unknown>).path === 'string') {
    yield { field: 'openapi', entry: (openapi as Record<string, string>).path! };
  }
}
