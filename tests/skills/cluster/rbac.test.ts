// The RBAC that turns the cluster skills on grants exactly what they call:
// the rules rendered by Kustomize from components/cluster-skills equal the
// one declaration in src/skills/cluster/permissions.ts, read-only, and the
// skills, run against the fake API server (a stand-in for a real one, with
// recorded-shape responses), use every declared permission and no other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { NAMESPACED_ROLE, NODES_ROLE } from '../../../src/skills/cluster/common.js';
import { API_PERMISSIONS, permissionKeys } from '../../../src/skills/cluster/permissions.js';
import type { KubeObject } from '../../kubernetes/manifests.js';
import { KAGENT_DIR, findRenderer, kustomizeTargets, only, ofKind, renderAll } from '../../kubernetes/manifests.js';
import { policyViolations } from '../../kubernetes/policy.js';
import { schemaProblems } from '../../kubernetes/schema.js';
import { ClusterRig } from './helpers.js';
import { needKustomize } from '../../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

const COMPONENT = join(KAGENT_DIR, 'components', 'cluster-skills');
const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'];

/** An overlay with the component added, rendered by the real Kustomize from a scratch directory. */
function renderWithComponent(overlay: string): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-cluster-skills-'));
  try {
    // Kustomize accepts only relative paths to other kustomizations.
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, join(KAGENT_DIR, overlay))}`,
        'components:',
        `  - ${relative(dir, COMPONENT)}`,
        '',
      ].join('\n'),
    );
    const renderer = findRenderer();
    const out = execFileSync(renderer.command, renderer.args(dir), { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(out).map((doc) => doc.toJS() as KubeObject).filter((o) => o !== null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RBAC rules as sorted "group/resource:verb" keys, the form permissionKeys() gives. */
function ruleKeys(role: IClusterRole): string[] {
  const keys = new Set<string>();
  for (const rule of role.rules ?? []) {
    for (const group of rule.apiGroups ?? []) for (const resource of rule.resources ?? []) for (const verb of rule.verbs) keys.add(`${group}/${resource}:${verb}`);
  }
  return [...keys].sort();
}

const composed = new Map<string, KubeObject[]>();

before(() => {
  if (kustomize.skip !== false) return;
  for (const overlay of ['overlays/dev', 'overlays/prod']) composed.set(overlay, renderWithComponent(overlay));
});

for (const overlay of ['overlays/dev', 'overlays/prod']) {
  describe(`${overlay} with components/cluster-skills`, kustomize, () => {
    const objects = () => composed.get(overlay)!;
    const role = (name: string) => only<IClusterRole>(objects(), 'ClusterRole', name);

    test('adds exactly two ClusterRoles and their two bindings, and no other grant', () => {
      const grants = objects().filter((o) => RBAC_KINDS.includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort();
      assert.deepEqual(grants, [
        `ClusterRole/${NAMESPACED_ROLE}`,
        `ClusterRole/${NODES_ROLE}`,
        `ClusterRoleBinding/${NODES_ROLE}`,
        `RoleBinding/${NAMESPACED_ROLE}`,
      ]);
    });

    test('the namespaced role grants exactly the declared namespaced calls', () => {
      assert.deepEqual(ruleKeys(role(NAMESPACED_ROLE)), permissionKeys('namespace'));
    });

    test('the nodes role grants exactly the declared cluster-wide calls', () => {
      assert.deepEqual(ruleKeys(role(NODES_ROLE)), permissionKeys('cluster'));
      assert.deepEqual(permissionKeys('cluster'), ['/nodes:list']);
    });

    test('read-only and narrow: get and list only, no wildcards, no resourceNames, no URLs, no secrets', () => {
      for (const name of [NAMESPACED_ROLE, NODES_ROLE]) {
        for (const rule of role(name).rules ?? []) {
          assert.ok(rule.verbs.every((v) => v === 'get' || v === 'list'), `${name}: verbs ${rule.verbs.join(', ')}`);
          for (const list of [rule.verbs, rule.apiGroups ?? [], rule.resources ?? []]) assert.ok(!list.includes('*'), `${name}: a wildcard`);
          assert.equal(rule.resourceNames, undefined);
          assert.equal(rule.nonResourceURLs, undefined);
          assert.ok(!(rule.resources ?? []).some((r) => ['secrets', 'configmaps', 'pods/exec', 'pods/attach', 'pods/portforward'].includes(r)));
        }
      }
    });

    test("the bindings give the roles to the agent's ServiceAccount, the namespaced one only in its namespace", () => {
      const account = only<IServiceAccount>(objects(), 'ServiceAccount', 'kagent');
      const subject = [{ kind: 'ServiceAccount', name: 'kagent', namespace: account.metadata!.namespace }];
      const binding = only<IRoleBinding>(objects(), 'RoleBinding', NAMESPACED_ROLE);
      assert.equal(binding.metadata!.namespace, account.metadata!.namespace);
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMESPACED_ROLE });
      assert.deepEqual(binding.subjects, subject);
      const nodes = only<IClusterRoleBinding>(objects(), 'ClusterRoleBinding', NODES_ROLE);
      assert.deepEqual(nodes.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NODES_ROLE });
      assert.deepEqual(nodes.subjects, subject);
    });

    test('turns the skills on: KUBERNETES_SKILLS in the ConfigMap, passed as env from it, read as true by the service loader', () => {
      const configMap = only<IConfigMap & { data: Record<string, string> }>(objects(), 'ConfigMap', 'kagent-config');
      assert.equal(configMap.data.KUBERNETES_SKILLS, 'true');
      const container = only<IStatefulSet>(objects(), 'StatefulSet', 'kagent').spec!.template.spec!.containers.find((c) => c.name === 'agent')!;
      const variable = container.env?.find((e) => e.name === 'KUBERNETES_SKILLS');
      assert.deepEqual(variable?.valueFrom?.configMapKeyRef, { name: 'kagent-config', key: 'KUBERNETES_SKILLS' });
      assert.equal(loadConfig({ file: { path: 'kagent-config', values: configMap.data }, env: { KUBERNETES_SKILLS: configMap.data.KUBERNETES_SKILLS } }).KUBERNETES_SKILLS, true);
      assert.ok(container.env?.some((e) => e.name === 'POD_NAME'), 'the env list of the overlay is kept, not replaced');
    });

    test('the pod mounts an API token; the ServiceAccount itself still does not', () => {
      const pod = only<IStatefulSet>(objects(), 'StatefulSet', 'kagent').spec!.template.spec!;
      assert.equal(pod.automountServiceAccountToken, true);
      assert.equal(only<IServiceAccount>(objects(), 'ServiceAccount', 'kagent').automountServiceAccountToken, false);
    });

    test('every object keeps the workload policy and is valid by the Kubernetes schemas', async () => {
      assert.deepEqual(policyViolations(objects()), []);
      const problems: string[] = [];
      for (const object of objects()) for (const p of await schemaProblems(object)) problems.push(`${object.kind}/${object.metadata.name}: ${p}`);
      assert.deepEqual(problems, []);
    });
  });
}

test('without the component, no target grants anything or turns the skills on', kustomize, () => {
  for (const [target, objects] of renderAll()) {
    assert.deepEqual(objects.filter((o) => RBAC_KINDS.includes(o.kind)), [], target);
    const configMap = only<IConfigMap>(objects, 'ConfigMap', 'kagent-config');
    assert.notEqual(configMap.data?.KUBERNETES_SKILLS, 'true', target);
  }
  assert.ok(kustomizeTargets().includes('overlays/prod'));
});

test('the declaration itself is read-only and lists each resource once', kustomize, () => {
  assert.ok(API_PERMISSIONS.every((p) => p.verbs.every((v) => v === 'get' || v === 'list')));
  const resources = API_PERMISSIONS.map((p) => `${p.group}/${p.resource}`);
  assert.equal(new Set(resources).size, resources.length);
  assert.equal(ofKind(composed.get('overlays/prod')!, 'Role').length, 0, 'namespaced reads are a ClusterRole bound per namespace, not a Role');
});

describe('the skills use every declared permission, and only those', () => {
  let rig: ClusterRig;
  before(async () => {
    rig = await ClusterRig.start();
  });
  after(async () => {
    await rig.close();
  });

  test('a round of requests covering each code path calls exactly the declared (group, resource, verb) set, all with GET', async () => {
    const requests: ['cluster-inspect' | 'cluster-diagnose', string][] = [
      ['cluster-diagnose', 'diagnose namespace kagent'],
      ['cluster-diagnose', 'diagnose all in shop'],
      ['cluster-diagnose', 'diagnose pod api-7d9f8b6c5-x2k4p -n shop'],
      ['cluster-diagnose', 'diagnose pvc data-db-0 -n shop'],
      ['cluster-diagnose', 'diagnose deployment frontend -n shop'],
      ['cluster-inspect', 'describe statefulset kagent -n staging'],
      ['cluster-inspect', 'logs kagent-0 -n kagent'],
      ['cluster-inspect', 'list nodes'],
    ];
    for (const [skill, text] of requests) {
      const task = await rig.run(skill, text);
      assert.equal(task.status.state, 'completed', `${text}: ${JSON.stringify(task.status.message)}`);
    }
    assert.ok(rig.api.requests.every((r) => r.method === 'GET'), 'a request other than GET was made');
    const used = [...new Set(rig.api.requests.map((r) => `${r.group}/${r.resource}:${r.verb}`))].sort();
    assert.deepEqual(used, permissionKeys());
  });
});
