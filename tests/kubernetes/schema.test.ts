import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { KubeObject } from './manifests.js';
import { kustomizeTargets, only, renderAll } from './manifests.js';
import { schemaProblems } from './schema.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let rendered: Map<string, KubeObject[]>;

before(() => {
  if (kustomize.skip === false) rendered = renderAll();
});

describe('every rendered object is valid by the Kubernetes schemas', kustomize, () => {
  for (const target of kustomizeTargets()) {
    test(target, async () => {
      const objects = rendered.get(target)!;
      assert.ok(objects.length > 0, `${target} rendered no objects`);
      const problems: string[] = [];
      for (const object of objects) {
        for (const problem of await schemaProblems(object)) problems.push(`${object.kind}/${object.metadata?.name}: ${problem}`);
      }
      assert.deepEqual(problems, []);
    });
  }
});

describe('the schema check rejects what the API server would reject or drop', kustomize, () => {
  const statefulSet = () => structuredClone(only(rendered.get('base')!, 'StatefulSet', 'kagent')) as KubeObject & { spec: any };

  test('the unmodified StatefulSet passes, so the failures below come from the edits', async () => {
    assert.deepEqual(await schemaProblems(statefulSet()), []);
  });

  test('a misspelled top-level spec field', async () => {
    const object = statefulSet();
    object.spec.replica = 5;
    assert.deepEqual(await schemaProblems(object), ['/spec/replica: unknown field (not in the StatefulSet schema)']);
  });

  test('a misspelled field deep in the pod template', async () => {
    const object = statefulSet();
    object.spec.template.spec.containerz = [];
    object.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
    assert.deepEqual(await schemaProblems(object), [
      '/spec/template/spec/containerz: unknown field (not in the StatefulSet schema)',
      '/spec/template/spec/containers/0/securityContext/readOnlyRootFilesytem: unknown field (not in the StatefulSet schema)',
    ]);
  });

  test('a misspelled field inside a volume claim template and a probe', async () => {
    const object = statefulSet();
    object.spec.volumeClaimTemplates[0].spec.accesModes = ['ReadWriteOnce'];
    object.spec.template.spec.containers[0].readinessProbe.httpGet.paht = '/readyz';
    const problems = await schemaProblems(object);
    assert.ok(problems.includes('/spec/volumeClaimTemplates/0/spec/accesModes: unknown field (not in the StatefulSet schema)'), problems.join('\n'));
    assert.ok(problems.includes('/spec/template/spec/containers/0/readinessProbe/httpGet/paht: unknown field (not in the StatefulSet schema)'), problems.join('\n'));
  });

  test('a wrong type and a value outside an enum', async () => {
    const object = statefulSet();
    object.spec.replicas = '5';
    object.spec.podManagementPolicy = 'Ordered';
    const [message, ...rest] = await schemaProblems(object);
    assert.deepEqual(rest, []);
    assert.match(message!, /\/spec\/replicas must be integer/);
    assert.match(message!, /\/spec\/podManagementPolicy must be equal to one of the allowed values/);
  });

  test('a missing required field', async () => {
    const object = statefulSet();
    delete object.spec.selector;
    const problems = await schemaProblems(object);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /spec must have required property '?selector'?/);
  });

  test('an unknown kind or apiVersion', async () => {
    const kind = statefulSet();
    kind.kind = 'StatefullSet';
    assert.match((await schemaProblems(kind))[0]!, /no schema for StatefullSet \(apps\/v1\)/);
    const version = statefulSet();
    version.apiVersion = 'apps/v1beta3';
    assert.match((await schemaProblems(version))[0]!, /no schema for StatefulSet \(apps\/v1beta3\)/);
  });

  test('map fields accept any key: labels, annotations, ConfigMap data', async () => {
    const object = statefulSet();
    object.metadata.labels = { ...object.metadata.labels, 'example.com/anything': 'x' };
    object.spec.template.metadata.annotations = { 'prometheus.io/scrape': 'true' };
    assert.deepEqual(await schemaProblems(object), []);
    const configMap = structuredClone(only(rendered.get('base')!, 'ConfigMap')) as KubeObject & { data: Record<string, string> };
    configMap.data.ANY_KEY_AT_ALL = 'x';
    assert.deepEqual(await schemaProblems(configMap), []);
    (configMap as Record<string, unknown>).dta = {};
    assert.deepEqual(await schemaProblems(configMap), ['/dta: unknown field (not in the ConfigMap schema)']);
  });
});
