import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { KubeObject } from './manifests.js';
import { kustomizeTargets, only, renderAll } from './manifests.js';
import { pinnedImage, policyViolations } from './policy.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let rendered: Map<string, KubeObject[]>;

before(() => {
  if (kustomize.skip === false) rendered = renderAll();
});

describe('every target keeps the workload policy', kustomize, () => {
  for (const target of kustomizeTargets()) {
    test(target, () => {
      assert.deepEqual(policyViolations(rendered.get(target)!), []);
    });
  }
});

describe('each policy rule catches its violation', kustomize, () => {
  /** The prod objects with one edit applied to the StatefulSet's pod spec and agent container. */
  function prodWith(edit: (pod: IPodSpec, container: IContainer, objects: KubeObject[]) => void): string[] {
    const objects = structuredClone(rendered.get('overlays/prod')!);
    const pod = only<IStatefulSet>(objects, 'StatefulSet', 'kagent').spec!.template.spec!;
    edit(pod, pod.containers[0]!, objects);
    return policyViolations(objects);
  }
  const agent = 'StatefulSet/kagent container agent';

  test('missing limits and requests', () => {
    assert.deepEqual(
      prodWith((_pod, c) => {
        delete c.resources!.limits!.cpu;
        delete c.resources!.requests!.memory;
      }),
      [`${agent}: no cpu limit`, `${agent}: no memory request`],
    );
  });

  test('a request above its limit', () => {
    assert.deepEqual(
      prodWith((_pod, c) => {
        c.resources!.requests!.cpu = '4';
      }),
      [`${agent}: cpu request 4 above limit 2`],
    );
  });

  test('a missing probe', () => {
    assert.deepEqual(
      prodWith((_pod, c) => {
        delete c.startupProbe;
      }),
      [`${agent}: no startupProbe`],
    );
  });

  test('root, a writable root filesystem, escalation, capabilities, no seccomp', () => {
    assert.deepEqual(
      prodWith((pod, c) => {
        delete pod.securityContext!.runAsNonRoot;
        delete c.securityContext!.runAsNonRoot;
        c.securityContext!.runAsUser = 0;
        c.securityContext!.readOnlyRootFilesystem = false;
        delete c.securityContext!.allowPrivilegeEscalation;
        c.securityContext!.capabilities = { drop: ['NET_RAW'], add: ['NET_ADMIN'] };
        delete pod.securityContext!.seccompProfile;
      }),
      [
        `${agent}: runAsNonRoot is not true`,
        `${agent}: runAsUser 0`,
        `${agent}: readOnlyRootFilesystem is not true`,
        `${agent}: allowPrivilegeEscalation is not false`,
        `${agent}: capabilities do not drop ALL`,
        `${agent}: adds capabilities NET_ADMIN`,
        `${agent}: seccompProfile is not RuntimeDefault`,
      ],
    );
  });

  test('an untagged or latest image', () => {
    assert.deepEqual(prodWith((_pod, c) => (c.image = 'ghcr.io/kagent-dev/kagent-a2a:latest')), [
      `${agent}: image ghcr.io/kagent-dev/kagent-a2a:latest is untagged or latest`,
    ]);
    assert.deepEqual(prodWith((_pod, c) => (c.image = 'ghcr.io/kagent-dev/kagent-a2a')), [
      `${agent}: image ghcr.io/kagent-dev/kagent-a2a is untagged or latest`,
    ]);
  });

  test('an API token without a Role, from the pod or from its ServiceAccount', () => {
    assert.deepEqual(prodWith((pod) => (pod.automountServiceAccountToken = true)), [
      'StatefulSet/kagent: mounts an API token although no Role grants anything',
    ]);
    assert.deepEqual(
      prodWith((pod, _c, objects) => {
        delete pod.automountServiceAccountToken;
        delete (only(objects, 'ServiceAccount', 'kagent') as { automountServiceAccountToken?: boolean }).automountServiceAccountToken;
      }),
      [
        'StatefulSet/kagent: mounts an API token although no Role grants anything',
        'ServiceAccount/kagent: automountServiceAccountToken is not false although no Role grants anything',
      ],
    );
  });

  test('a token is allowed once a Role exists', () => {
    assert.deepEqual(
      prodWith((pod, _c, objects) => {
        pod.automountServiceAccountToken = true;
        objects.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'kagent', namespace: 'kagent' } });
      }),
      [],
    );
  });

  test('no writable /tmp', () => {
    assert.deepEqual(
      prodWith((pod) => {
        pod.volumes = pod.volumes!.filter((v) => v.name !== 'tmp');
      }),
      [`${agent}: no writable emptyDir at /tmp (the root filesystem is read-only)`],
    );
  });

  test('image references', () => {
    assert.equal(pinnedImage('ghcr.io/kagent-dev/kagent-a2a:0.1.0'), true);
    assert.equal(pinnedImage('localhost:5000/kagent-a2a:0.1.0'), true);
    assert.equal(pinnedImage(`ghcr.io/kagent-dev/kagent-a2a@sha256:${'a'.repeat(64)}`), true);
    assert.equal(pinnedImage('localhost:5000/kagent-a2a'), false);
    assert.equal(pinnedImage('kagent-a2a'), false);
    assert.equal(pinnedImage('kagent-a2a:'), false);
    assert.equal(pinnedImage(undefined), false);
  });
});
