// The manifest tests validate with the same offline schema check the
// manifest-review skill applies to what it is sent, plus the schemas of the
// custom resources the components add (Prometheus Operator, Istio).
import { modelFor } from '../../src/skills/manifest-review/schema.js';
import type { ModelResolver, ValidateModel } from '../../src/skills/manifest-review/schema.js';
import { checkSchema as checkWith, schemaProblems as problemsWith } from '../../src/skills/manifest-review/schema.js';

export { modelFor };

/** The npm packages holding the models of custom resource groups, by group suffix. */
const CRD_PACKAGES: readonly { group: RegExp; module: string }[] = [
  { group: /^monitoring\.coreos\.com$/, module: '@kubernetes-models/prometheus-operator' },
  { group: /^[a-z]+\.istio\.io$/, module: '@kubernetes-models/istio' },
];

/** Kubernetes' own kinds from kubernetes-models; the components' custom resources from their model packages. */
export const withCustomResources: ModelResolver = async (apiVersion, kind) => {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const source = CRD_PACKAGES.find((entry) => entry.group.test(group));
  if (source === undefined) return modelFor(apiVersion, kind);
  const path = `${source.module}/${apiVersion}/${kind}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch {
    throw new Error(`no schema for ${kind} (${apiVersion}): ${source.module} has no module ${path}`);
  }
  const model = module[kind] as ValidateModel | undefined;
  if (typeof model !== 'function') throw new Error(`${source.module} has no ${kind} in ${apiVersion}`);
  return asPlainObjectValidator(model);
};

/**
 * Some model packages (the Istio one) find their schema through a symbol on
 * the model's prototype, so validating a plain object would check nothing.
 * The object is validated as if it were an instance: symbols the object lacks
 * come from the prototype, every field is still read from the object.
 */
function asPlainObjectValidator(model: ValidateModel): ValidateModel {
  const prototype = model.prototype as ValidateModel['prototype'] & Record<symbol, unknown>;
  return {
    prototype: {
      validate(this: object) {
        const instance = new Proxy(this, {
          get: (target, key, receiver) => (typeof key === 'symbol' && !(key in target) ? Reflect.get(prototype, key, receiver) : Reflect.get(target, key, receiver)),
        });
        prototype.validate.call(instance);
      },
    },
  };
}

export const checkSchema = (object: unknown) => checkWith(object, withCustomResources);
export const schemaProblems = (object: { apiVersion?: unknown; kind?: unknown }) => problemsWith(object, withCustomResources);
