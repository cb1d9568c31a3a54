// Offline validation of Kubernetes objects against the OpenAPI schemas that
// kubernetes-models compiles into validators.
//
// Those validators check types, enums and required fields but accept any
// unknown field: `replica: 5` in a StatefulSet spec passes, and the API server
// would silently drop it (or reject it under strict field validation). They do
// read every field their schema declares, so a proxy records which fields of
// each object were read; a field never read is not in the schema. Objects the
// validator enumerates (label maps, resource lists, ConfigMap data) are maps
// whose keys are all allowed.

export interface ValidateModel {
  prototype: { validate(this: unknown): void };
}

/** Finds the validating model of an apiVersion and kind; rejects when there is none. */
export type ModelResolver = (apiVersion: string, kind: string) => Promise<ValidateModel>;

/** One step into an object: a property name or an array index. */
export type Segment = string | number;

/** A type, enum or required-field error reported by the schema validator. */
export interface SchemaError {
  /** Where the offending value is (for a missing required field: where it belongs). */
  path: Segment[];
  /** The validator's wording ("must be integer", "must have required property 'selector'"). */
  message: string;
  /** The values an enum allows, when the error is about one. */
  allowedValues?: unknown[];
}

/** A field the object's schema does not declare. */
export interface UnknownField {
  path: Segment[];
  /** The declared field it most likely misspells. */
  suggestion?: string;
}

export interface SchemaCheck {
  /** Set when the object could not be checked at all (no apiVersion/kind, or no schema for them). */
  unchecked?: string;
  /** The validator's own one-line summary of `errors`, when there are any. */
  validatorMessage?: string;
  errors: SchemaError[];
  unknownFields: UnknownField[];
}

// Only names of this shape reach the module loader: an apiVersion or kind from a
// request must never become an arbitrary import path.
const API_VERSION = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

const models = new Map<string, Promise<ValidateModel>>();

/** The kubernetes-models class for an apiVersion and kind ("apps/v1", "StatefulSet"). */
export function modelFor(apiVersion: string, kind: string): Promise<ValidateModel> {
  const key = `${apiVersion}/${kind}`;
  const cached = models.get(key);
  if (cached !== undefined) return cached;
  const modulePath = `kubernetes-models/${apiVersion}/${kind}`;
  const missing = () => new Error(`no schema for ${kind} (${apiVersion}): kubernetes-models has no module ${modulePath}`);
  if (!API_VERSION.test(apiVersion) || !KIND.test(kind)) return Promise.reject(missing());
  const model = import(modulePath).then(
    (module: Record<string, unknown>) => {
      const found = module[kind] as ValidateModel | undefined;
      if (typeof found !== 'function') throw new Error(`kubernetes-models has no ${kind} in ${apiVersion}`);
      return found;
    },
    () => {
      throw missing();
    },
  );
  // Failures are not kept: kinds named in requests are unbounded.
  models.set(key, model);
  model.catch(() => models.delete(key));
  return model;
}

/** Is this apiVersion one of Kubernetes' own groups (core, apps, *.k8s.io …) rather than a custom resource's? */
export function builtInApiVersion(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  if (slash === -1) return true;
  const group = apiVersion.slice(0, slash);
  return !group.includes('.') || group.endsWith('.k8s.io');
}

interface Visit {
  path: Segment[];
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

class ReadTracker {
  readonly visits: Visit[] = [];
  private readonly proxies = new WeakMap<object, object>();

  wrap(value: unknown, path: Segment[]): unknown {
    if (value === null || typeof value !== 'object') return value;
    const cached = this.proxies.get(value);
    if (cached !== undefined) return cached;
    const visit: Visit = { path, value, read: new Set(), enumerated: false };
    this.visits.push(visit);
    const isArray = Array.isArray(value);
    const proxy = new Proxy(value, {
      get: (target, key, receiver) => {
        const result = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return result;
        visit.read.add(key);
        if (!Object.hasOwn(target, key)) return result;
        return this.wrap(result, [...path, isArray && /^[0-9]+$/.test(key) ? Number(key) : key]);
      },
      has: (target, key) => {
        if (typeof key === 'string') visit.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys: (target) => {
        visit.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    this.proxies.set(value, proxy);
    return proxy;
  }

  unknownFields(): UnknownField[] {
    const unknown: UnknownField[] = [];
    for (const visit of this.visits) {
      if (Array.isArray(visit.value) || visit.enumerated) continue;
      const present = new Set(Object.keys(visit.value));
      const declared = [...visit.read].filter((key) => /^[A-Za-z$][\w$-]*$/.test(key));
      for (const key of present) {
        if (visit.read.has(key)) continue;
        const suggestion = closest(key, declared);
        unknown.push({ path: [...visit.path, key], ...(suggestion === undefined ? {} : { suggestion }) });
      }
    }
    return unknown;
  }
}

/** The declared name a misspelt field most likely meant, if any is close. */
function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.min(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

function pointerSegments(pointer: string, root: unknown): Segment[] {
  if (pointer === '') return [];
  const segments: Segment[] = [];
  let at: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: Segment = Array.isArray(at) && /^[0-9]+$/.test(key) ? Number(key) : key;
    segments.push(segment);
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return segments;
}

/** Checks one object against its schema; unknown fields included. Custom resources need a resolver that knows their models. */
export async function checkSchema(object: unknown, resolve: ModelResolver = modelFor): Promise<SchemaCheck> {
  const { apiVersion, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
  if (object === null || typeof object !== 'object' || typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return { unchecked: 'apiVersion and kind must be strings', errors: [], unknownFields: [] };
  }
  let model: ValidateModel;
  try {
    model = await resolve(apiVersion, kind);
  } catch (error) {
    return { unchecked: (error as Error).message, errors: [], unknownFields: [] };
  }
  const check: SchemaCheck = { errors: [], unknownFields: [] };
  const tracker = new ReadTracker();
  try {
    model.prototype.validate.call(tracker.wrap(object, []));
  } catch (error) {
    check.validatorMessage = (error as Error).message;
    const reported = (error as { errors?: AjvError[] }).errors;
    if (Array.isArray(reported) && reported.length > 0) {
      for (const entry of reported) {
        const path = pointerSegments(entry.instancePath, object);
        const missing = entry.keyword === 'required' ? entry.params?.missingProperty : undefined;
        const allowed = entry.keyword === 'enum' ? entry.params?.allowedValues : undefined;
        check.errors.push({
          path: typeof missing === 'string' ? [...path, missing] : path,
          message: typeof missing === 'string' ? 'is required' : (entry.message ?? 'is invalid'),
          ...(Array.isArray(allowed) ? { allowedValues: allowed } : {}),
        });
      }
    } else {
      check.errors.push({ path: [], message: (error as Error).message });
    }
  }
  check.unknownFields = tracker.unknownFields();
  return check;
}

/**
 * Everything wrong with one object by its schema, one line each: type, enum
 * and required-field errors from kubernetes-models, and every field its schema
 * does not declare. An empty list means valid.
 */
export async function schemaProblems(object: { apiVersion?: unknown; kind?: unknown }, resolve?: ModelResolver): Promise<string[]> {
  const check = await checkSchema(object, resolve);
  if (check.unchecked !== undefined) return [check.unchecked];
  const problems: string[] = [];
  if (check.validatorMessage !== undefined) problems.push(check.validatorMessage);
  for (const field of check.unknownFields) {
    problems.push(`/${field.path.join('/')}: unknown field (not in the ${String(object.kind)} schema)`);
  }
  return problems;
}
