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
  const model = module[kind];
  if (typeof model !== 'function') throw new Error(`${source.module} has no ${kind} in ${apiVersion}`);
  return model as unknown as ValidateModel;
};

export const checkSchema = (object: unknown) => checkWith(object, withCustomResources);
export const schemaProblems = (object: { apiVersion?: unknown; kind?: unknown }) => problemsWith(object, withCustomResources);
