// Offline validation of rendered objects against the Kubernetes OpenAPI schemas
// that kubernetes-models compiles into validators.
//
// Those validators check types, enums and required fields but accept any
// unknown field: `replica: 5` in a StatefulSet spec passes, and the API server
// would silently drop it (or reject it under strict field validation). They do
// read every field their schema declares, so a proxy records which fields of
// each object were read; a field never read is not in the schema. Objects the
// validator enumerates (label maps, resource lists, ConfigMap data) are maps
// whose keys are all allowed.

interface ValidateModel {
  prototype: { validate(this: unknown): void };
}

const models = new Map<string, Promise<ValidateModel>>();

/** The kubernetes-models class for an apiVersion and kind ("apps/v1", "StatefulSet"). */
export function modelFor(apiVersion: string, kind: string): Promise<ValidateModel> {
  const key = `${apiVersion}/${kind}`;
  let model = models.get(key);
  if (model === undefined) {
    const modulePath = `kubernetes-models/${apiVersion}/${kind}`;
    model = import(modulePath).then(
      (module: Record<string, unknown>) => {
        const found = module[kind] as ValidateModel | undefined;
        if (typeof found !== 'function') throw new Error(`kubernetes-models has no ${kind} in ${apiVersion}`);
        return found;
      },
      () => {
        throw new Error(`no schema for ${kind} (${apiVersion}): kubernetes-models has no module ${modulePath}`);
      },
    );
    models.set(key, model);
  }
  return model;
}

interface Visit {
  path: string;
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

class ReadTracker {
  readonly visits: Visit[] = [];
  private readonly proxies = new WeakMap<object, object>();
  private readonly byTarget = new WeakMap<object, Visit>();

  wrap(value: unknown, path: string): unknown {
    if (value === null || typeof value !== 'object') return value;
    const cached = this.proxies.get(value);
    if (cached !== undefined) return cached;
    const visit: Visit = { path, value, read: new Set(), enumerated: false };
    this.visits.push(visit);
    this.byTarget.set(value, visit);
    const proxy = new Proxy(value, {
      get: (target, key, receiver) => {
        const result = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return result;
        visit.read.add(key);
        return Object.hasOwn(target, key) ? this.wrap(result, `${path}/${key}`) : result;
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

  unknownFields(): string[] {
    const unknown: string[] = [];
    for (const visit of this.visits) {
      if (Array.isArray(visit.value) || visit.enumerated) continue;
      for (const key of Object.keys(visit.value)) if (!visit.read.has(key)) unknown.push(`${visit.path}/${key}`);
    }
    return unknown;
  }
}

/**
 * Everything wrong with one object by its schema: type, enum and required-field
 * errors from kubernetes-models, and every field its schema does not declare.
 * An empty list means valid.
 */
export async function schemaProblems(object: { apiVersion?: unknown; kind?: unknown }): Promise<string[]> {
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') return ['apiVersion and kind must be strings'];
  let model: ValidateModel;
  try {
    model = await modelFor(object.apiVersion, object.kind);
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  const tracker = new ReadTracker();
  try {
    model.prototype.validate.call(tracker.wrap(object, ''));
  } catch (error) {
    problems.push((error as Error).message);
  }
  for (const path of tracker.unknownFields()) problems.push(`${path}: unknown field (not in the ${object.kind} schema)`);
  return problems;
}
