import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RULES } from '../../../src/skills/manifest-review/rules.js';
import { brief, cleanApp, pick, review } from './fixtures.js';
import type { Loose } from './fixtures.js';

const WEB = 'Deployment/shop/web';
const WEB_C = 'spec.template.spec.containers[0]';

/** The clean app with one edit applied. */
function broken(edit: (objects: Loose[]) => void): Loose[] {
  const objects = cleanApp();
  edit(objects);
  return objects;
}
const web = (objects: Loose[]) => pick(objects, 'Deployment', 'web');
const webContainer = (objects: Loose[]) => web(objects).spec.template.spec.containers[0];

test('the clean app has no findings at all, so every finding below comes from its edit', async () => {
  assert.deepEqual((await review(cleanApp())).findings, []);
});

describe('schema', () => {
  test('a wrong type is an error at its field', async () => {
    const { findings } = await review(broken((o) => (web(o).spec.replicas = '3')));
    assert.deepEqual(brief(findings), [['error', 'schema', WEB, 'spec.replicas']]);
    assert.equal(findings[0]!.message, 'spec.replicas must be integer');
  });

  test('a value outside an enum names the allowed values', async () => {
    const { findings } = await review(broken((o) => (pick(o, 'StatefulSet', 'db').spec.podManagementPolicy = 'Ordered')));
    assert.deepEqual(brief(findings), [['error', 'schema', 'StatefulSet/shop/db', 'spec.podManagementPolicy']]);
    assert.match(findings[0]!.message, /one of the allowed values \("OrderedReady", "Parallel"\)/);
  });

  test('a missing required field is reported where it belongs', async () => {
    const { findings } = await review(broken((o) => delete web(o).spec.selector));
    assert.deepEqual(brief(findings), [['error', 'schema', WEB, 'spec.selector']]);
    assert.equal(findings[0]!.message, 'spec.selector is required');
  });

  test('a document that is not a Kubernetes object', async () => {
    const { findings } = await review([...cleanApp(), ['not', 'an', 'object'], { metadata: { name: 'x' } }]);
    assert.deepEqual(brief(findings), [
      ['error', 'schema', 'document 8 of test input', ''],
      ['error', 'schema', 'document 9 of test input', ''],
    ]);
  });
});

describe('unknown-field', () => {
  test('a misspelt spec field, with the field it most likely means', async () => {
    const { findings } = await review(broken((o) => (web(o).spec.replica = 5)));
    assert.deepEqual(brief(findings), [['error', 'unknown-field', WEB, 'spec.replica']]);
    assert.match(findings[0]!.fix, /Did you mean replicas\?/);
  });

  test('deep in the pod template, swapped letters included', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).securityContext.readOnlyRootFilesytem = true)));
    assert.deepEqual(brief(findings), [['error', 'unknown-field', WEB, `${WEB_C}.securityContext.readOnlyRootFilesytem`]]);
    assert.match(findings[0]!.fix, /Did you mean readOnlyRootFilesystem\?/);
  });

  test('a field nothing is close to gets no suggestion; map keys (labels, annotations) are never unknown', async () => {
    const { findings } = await review(
      broken((o) => {
        web(o).spec.template.metadata.annotations = { 'example.com/anything': 'x' };
        web(o).metadata.labels = { 'app.kubernetes.io/name': 'web' };
        pick(o, 'Service', 'web').spec.zzzzzz = true;
      }),
    );
    assert.deepEqual(brief(findings), [['error', 'unknown-field', 'Service/shop/web', 'spec.zzzzzz']]);
    assert.doesNotMatch(findings[0]!.fix, /Did you mean/);
  });
});

test('unknown-kind: a kind a built-in group does not have', async () => {
  const { findings } = await review([...cleanApp(), { apiVersion: 'v1', kind: 'ConfigMapp', metadata: { name: 'settings', namespace: 'shop' } }]);
  assert.deepEqual(brief(findings), [['error', 'unknown-kind', 'ConfigMapp/shop/settings', 'kind']]);
});

test('not-validated: a custom resource is noted, not failed', async () => {
  const { findings } = await review([...cleanApp(), { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'web', namespace: 'shop' }, spec: {} }]);
  assert.deepEqual(brief(findings), [['info', 'not-validated', 'ServiceMonitor/shop/web', '']]);
});

test('duplicate-object: the same kind, namespace and name twice', async () => {
  const objects = cleanApp();
  const { findings } = await review([...objects, structuredClone(pick(objects, 'Service', 'web'))]);
  assert.deepEqual(brief(findings), [['error', 'duplicate-object', 'Service/shop/web', 'metadata.name']]);
});

describe('resources-missing', () => {
  test('a missing memory limit', async () => {
    const { findings } = await review(broken((o) => delete webContainer(o).resources.limits.memory));
    assert.deepEqual(brief(findings), [['warning', 'resources-missing', WEB, `${WEB_C}.resources`]]);
    assert.match(findings[0]!.message, /no memory limit/);
  });

  test('no resources at all, on an init container', async () => {
    const { findings } = await review(broken((o) => delete web(o).spec.template.spec.initContainers[0].resources));
    assert.deepEqual(brief(findings), [['warning', 'resources-missing', WEB, 'spec.template.spec.initContainers[0].resources']]);
    assert.match(findings[0]!.message, /no cpu request and limit, no memory request and limit/);
  });

  test('a limit without a request is no gap (the request defaults to the limit)', async () => {
    const { findings } = await review(broken((o) => delete webContainer(o).resources.requests));
    assert.deepEqual(findings, []);
  });
});

test('resources-request-above-limit', async () => {
  const { findings } = await review(broken((o) => (webContainer(o).resources.requests.memory = '1Gi')));
  assert.deepEqual(brief(findings), [['error', 'resources-request-above-limit', WEB, `${WEB_C}.resources.requests.memory`]]);
});

describe('probes-missing', () => {
  test('a serving container without a readiness probe', async () => {
    const { findings } = await review(broken((o) => delete webContainer(o).readinessProbe));
    assert.deepEqual(brief(findings), [['warning', 'probes-missing', WEB, WEB_C]]);
    assert.match(findings[0]!.message, /no readinessProbe/);
  });

  test('neither probe on a StatefulSet; a CronJob needs none (the clean app has one without probes)', async () => {
    const { findings } = await review(
      broken((o) => {
        const db = pick(o, 'StatefulSet', 'db').spec.template.spec.containers[0];
        delete db.readinessProbe;
        delete db.livenessProbe;
      }),
    );
    assert.deepEqual(brief(findings), [['warning', 'probes-missing', 'StatefulSet/shop/db', WEB_C]]);
    assert.match(findings[0]!.message, /no readinessProbe and no livenessProbe/);
  });
});

describe('probe-port', () => {
  test('a port name the container does not declare is an error', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).livenessProbe.httpGet.port = 'metrics')));
    assert.deepEqual(brief(findings), [['error', 'probe-port', WEB, `${WEB_C}.livenessProbe.httpGet.port`]]);
    assert.match(findings[0]!.message, /no port named metrics \(it has http\)/);
  });

  test('an undeclared port number is a warning', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).readinessProbe = { tcpSocket: { port: 9090 } })));
    assert.deepEqual(brief(findings), [['warning', 'probe-port', WEB, `${WEB_C}.readinessProbe.tcpSocket.port`]]);
  });
});

describe('run-as-root', () => {
  test('nothing says non-root: a warning', async () => {
    const { findings } = await review(
      broken((o) => {
        delete web(o).spec.template.spec.securityContext.runAsNonRoot;
        delete web(o).spec.template.spec.securityContext.runAsUser;
        delete webContainer(o).securityContext.runAsNonRoot;
      }),
    );
    assert.deepEqual(brief(findings), [['warning', 'run-as-root', WEB, `${WEB_C}.securityContext.runAsNonRoot`]]);
  });

  test('runAsUser 0 is an error, even with runAsNonRoot', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).securityContext.runAsUser = 0)));
    assert.deepEqual(brief(findings), [['error', 'run-as-root', WEB, `${WEB_C}.securityContext.runAsUser`]]);
  });
});

test('writable-root-filesystem', async () => {
  const { findings } = await review(broken((o) => (webContainer(o).securityContext.readOnlyRootFilesystem = false)));
  assert.deepEqual(brief(findings), [['warning', 'writable-root-filesystem', WEB, `${WEB_C}.securityContext.readOnlyRootFilesystem`]]);
});

test('privilege-escalation', async () => {
  const { findings } = await review(broken((o) => delete webContainer(o).securityContext.allowPrivilegeEscalation));
  assert.deepEqual(brief(findings), [['warning', 'privilege-escalation', WEB, `${WEB_C}.securityContext.allowPrivilegeEscalation`]]);
});

test('privileged', async () => {
  const { findings } = await review(broken((o) => (webContainer(o).securityContext.privileged = true)));
  assert.deepEqual(brief(findings), [['error', 'privileged', WEB, `${WEB_C}.securityContext.privileged`]]);
});

test('added-capabilities', async () => {
  const { findings } = await review(broken((o) => (webContainer(o).securityContext.capabilities.add = ['NET_ADMIN'])));
  assert.deepEqual(brief(findings), [['warning', 'added-capabilities', WEB, `${WEB_C}.securityContext.capabilities.add`]]);
  assert.match(findings[0]!.message, /NET_ADMIN/);
});

test('capabilities-not-dropped', async () => {
  const { findings } = await review(broken((o) => delete webContainer(o).securityContext.capabilities));
  assert.deepEqual(brief(findings), [['info', 'capabilities-not-dropped', WEB, `${WEB_C}.securityContext.capabilities.drop`]]);
});

describe('seccomp', () => {
  test('no profile on pod or container: reported on the pod, once per container', async () => {
    const { findings } = await review(broken((o) => delete web(o).spec.template.spec.securityContext.seccompProfile));
    assert.deepEqual(brief(findings), [
      ['warning', 'seccomp', WEB, 'spec.template.spec.securityContext.seccompProfile'],
      ['warning', 'seccomp', WEB, 'spec.template.spec.securityContext.seccompProfile'],
    ]);
    assert.match(findings[0]!.message, /container migrate/);
    assert.match(findings[1]!.message, /container web/);
  });

  test('a container that opts out with Unconfined', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).securityContext.seccompProfile = { type: 'Unconfined' })));
    assert.deepEqual(brief(findings), [['warning', 'seccomp', WEB, `${WEB_C}.securityContext.seccompProfile.type`]]);
  });
});

test('host-namespaces', async () => {
  const { findings } = await review(broken((o) => (web(o).spec.template.spec.hostNetwork = true)));
  assert.deepEqual(brief(findings), [['warning', 'host-namespaces', WEB, 'spec.template.spec.hostNetwork']]);
});

describe('image tags', () => {
  test('image-latest', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).image = 'nginx:latest')));
    assert.deepEqual(brief(findings), [['warning', 'image-latest', WEB, `${WEB_C}.image`]]);
  });

  test('image-untagged: a registry port is not a tag', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).image = 'registry.example.com:5000/shop/web')));
    assert.deepEqual(brief(findings), [['warning', 'image-untagged', WEB, `${WEB_C}.image`]]);
  });

  test('a digest pins the image even with latest', async () => {
    const { findings } = await review(broken((o) => (webContainer(o).image = `nginx:latest@sha256:${'b'.repeat(64)}`)));
    assert.deepEqual(findings, []);
  });

  test('a CronJob image is checked through its job template', async () => {
    const { findings } = await review(broken((o) => (pick(o, 'CronJob', 'backup').spec.jobTemplate.spec.template.spec.containers[0].image = 'busybox')));
    assert.deepEqual(brief(findings), [['warning', 'image-untagged', 'CronJob/shop/backup', 'spec.jobTemplate.spec.template.spec.containers[0].image']]);
  });
});

test('service-selector: a Service selecting no pod template', async () => {
  const { findings } = await review(broken((o) => (pick(o, 'Service', 'web').spec.selector = { app: 'web', tier: 'back' })));
  assert.deepEqual(brief(findings), [['warning', 'service-selector', 'Service/shop/web', 'spec.selector']]);
  assert.match(findings[0]!.message, /app=web, tier=back matches no pod template/);
});

test('service-selector: the same labels in another namespace do not count', async () => {
  const { findings } = await review(broken((o) => (pick(o, 'Service', 'web').metadata.namespace = 'other')));
  assert.deepEqual(brief(findings), [['warning', 'service-selector', 'Service/other/web', 'spec.selector']]);
});

test('service-target-port: a port name no selected container declares', async () => {
  const { findings } = await review(broken((o) => (pick(o, 'Service', 'web').spec.ports[0].targetPort = 'https')));
  assert.deepEqual(brief(findings), [['error', 'service-target-port', 'Service/shop/web', 'spec.ports[0].targetPort']]);
});

describe('statefulset-service', () => {
  test('serviceName names no Service', async () => {
    const objects = cleanApp().filter((o) => o.metadata.name !== 'db-headless');
    const { findings } = await review(objects);
    assert.deepEqual(brief(findings), [['error', 'statefulset-service', 'StatefulSet/shop/db', 'spec.serviceName']]);
    assert.match(findings[0]!.message, /names no Service/);
  });

  test('the Service exists but is not headless', async () => {
    const { findings } = await review(broken((o) => delete pick(o, 'Service', 'db-headless').spec.clusterIP));
    assert.deepEqual(brief(findings), [['error', 'statefulset-service', 'StatefulSet/shop/db', 'spec.serviceName']]);
    assert.match(findings[0]!.message, /not headless/);
  });
});

describe('anti-affinity-replicas', () => {
  const spread = (objects: Loose[]) => {
    web(objects).spec.template.spec.affinity = {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } }] },
    };
  };
  const path = 'spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]';

  test('more replicas (the autoscaler maximum) than the stated nodes is an error', async () => {
    const { findings } = await review(broken(spread), { nodeCount: 4 });
    assert.deepEqual(brief(findings), [['error', 'anti-affinity-replicas', WEB, path]]);
    assert.match(findings[0]!.message, /up to 6 replicas \(autoscaled\).*only 4 nodes: 2 stay Pending/);
  });

  test('as many nodes as replicas is fine', async () => {
    assert.deepEqual((await review(broken(spread), { nodeCount: 6 })).findings, []);
  });

  test('with no node count stated it is only a note', async () => {
    const { findings } = await review(broken(spread));
    assert.deepEqual(brief(findings), [['info', 'anti-affinity-replicas', WEB, path]]);
  });

  test('preferred anti-affinity, or a zone topology, never blocks scheduling', async () => {
    const objects = broken(spread);
    web(objects).spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey = 'topology.kubernetes.io/zone';
    assert.deepEqual((await review(objects, { nodeCount: 1 })).findings, []);
  });
});

describe('pdb-blocks-eviction', () => {
  test('maxUnavailable 0', async () => {
    const { findings } = await review(broken((o) => (pick(o, 'PodDisruptionBudget', 'web').spec.maxUnavailable = 0)));
    assert.deepEqual(brief(findings), [['error', 'pdb-blocks-eviction', 'PodDisruptionBudget/shop/web', 'spec.maxUnavailable']]);
  });

  test('minAvailable equal to the replicas (the autoscaler minimum)', async () => {
    const { findings } = await review(
      broken((o) => {
        const pdb = pick(o, 'PodDisruptionBudget', 'web');
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 3;
      }),
    );
    assert.deepEqual(brief(findings), [['error', 'pdb-blocks-eviction', 'PodDisruptionBudget/shop/web', 'spec.minAvailable']]);
    assert.match(findings[0]!.message, /of 3 pods allows no voluntary disruption/);
  });

  test('minAvailable 100%', async () => {
    const { findings } = await review(
      broken((o) => {
        const pdb = pick(o, 'PodDisruptionBudget', 'web');
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = '100%';
      }),
    );
    assert.deepEqual(brief(findings), [['error', 'pdb-blocks-eviction', 'PodDisruptionBudget/shop/web', 'spec.minAvailable']]);
  });
});

describe('pdb-protects-nothing', () => {
  test('maxUnavailable 100%', async () => {
    const { findings } = await review(broken((o) => (pick(o, 'PodDisruptionBudget', 'web').spec.maxUnavailable = '100%')));
    assert.deepEqual(brief(findings), [['warning', 'pdb-protects-nothing', 'PodDisruptionBudget/shop/web', 'spec.maxUnavailable']]);
  });

  test('minAvailable 0', async () => {
    const { findings } = await review(
      broken((o) => {
        const pdb = pick(o, 'PodDisruptionBudget', 'web');
        delete pdb.spec.maxUnavailable;
        pdb.spec.minAvailable = 0;
      }),
    );
    assert.deepEqual(brief(findings), [['warning', 'pdb-protects-nothing', 'PodDisruptionBudget/shop/web', 'spec.minAvailable']]);
  });

  test('a selector that matches no pod template', async () => {
    const { findings } = await review(broken((o) => (pick(o, 'PodDisruptionBudget', 'web').spec.selector = { matchLabels: { app: 'api' } })));
    assert.deepEqual(brief(findings), [['warning', 'pdb-protects-nothing', 'PodDisruptionBudget/shop/web', 'spec.selector']]);
  });
});

test('hpa-target-missing', async () => {
  const { findings } = await review(broken((o) => (pick(o, 'HorizontalPodAutoscaler', 'web').spec.scaleTargetRef.kind = 'StatefulSet')));
  assert.deepEqual(brief(findings), [['error', 'hpa-target-missing', 'HorizontalPodAutoscaler/shop/web', 'spec.scaleTargetRef']]);
  assert.match(findings[0]!.message, /StatefulSet\/web is not among the reviewed objects/);
});

test('hpa-replica-range', async () => {
  const { findings } = await review(broken((o) => (pick(o, 'HorizontalPodAutoscaler', 'web').spec.minReplicas = 7)));
  assert.deepEqual(brief(findings), [['error', 'hpa-replica-range', 'HorizontalPodAutoscaler/shop/web', 'spec.minReplicas']]);
});

test('every rule in the catalogue is exercised above', async () => {
  // Keeps the catalogue and the tests in step: a new rule needs a test here.
  const exercised = new Set([
    'schema', 'unknown-field', 'unknown-kind', 'not-validated', 'duplicate-object', 'resources-missing', 'resources-request-above-limit',
    'probes-missing', 'probe-port', 'run-as-root', 'writable-root-filesystem', 'privilege-escalation', 'privileged', 'added-capabilities',
    'capabilities-not-dropped', 'seccomp', 'host-namespaces', 'image-latest', 'image-untagged', 'service-selector', 'service-target-port',
    'statefulset-service', 'anti-affinity-replicas', 'pdb-blocks-eviction', 'pdb-protects-nothing', 'hpa-target-missing', 'hpa-replica-range',
  ]);
  assert.deepEqual(Object.keys(RULES).sort(), [...exercised].sort());
});

test('findings come errors first, then warnings, then notes', async () => {
  const { findings } = await review(
    broken((o) => {
      webContainer(o).image = 'nginx';
      pick(o, 'HorizontalPodAutoscaler', 'web').spec.minReplicas = 7;
      delete webContainer(o).securityContext.capabilities;
    }),
  );
  assert.deepEqual(findings.map((f) => f.severity), ['error', 'warning', 'info']);
});

test('a `kind: List` is reviewed item by item', async () => {
  const { findings, objects } = await review([{ apiVersion: 'v1', kind: 'List', items: broken((o) => (webContainer(o).image = 'nginx')) }]);
  assert.equal(objects, 7);
  assert.deepEqual(brief(findings), [['warning', 'image-untagged', WEB, `${WEB_C}.image`]]);
});

describe('the pod spec of every workload kind is inspected', () => {
  const podSpec = () => ({
    restartPolicy: 'Never',
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: 'busybox',
        readinessProbe: { exec: { command: ['true'] } },
        livenessProbe: { exec: { command: ['true'] } },
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    ],
  });
  const template = () => ({ metadata: { labels: { app: 'x' } }, spec: podSpec() });
  const selector = { matchLabels: { app: 'x' } };
  const cases: [string, string, Loose, string][] = [
    ['apps/v1', 'Deployment', { selector, template: template() }, 'spec.template.spec'],
    ['apps/v1', 'StatefulSet', { selector, template: template() }, 'spec.template.spec'],
    ['apps/v1', 'DaemonSet', { selector, template: template() }, 'spec.template.spec'],
    ['apps/v1', 'ReplicaSet', { selector, template: template() }, 'spec.template.spec'],
    ['batch/v1', 'Job', { template: template() }, 'spec.template.spec'],
    ['batch/v1', 'CronJob', { schedule: '@daily', jobTemplate: { spec: { template: template() } } }, 'spec.jobTemplate.spec.template.spec'],
    ['v1', 'Pod', podSpec(), 'spec'],
  ];
  for (const [apiVersion, kind, spec, specPath] of cases) {
    test(kind, async () => {
      const { findings } = await review([{ apiVersion, kind, metadata: { name: 'x' }, spec }]);
      assert.deepEqual(brief(findings), [['warning', 'image-untagged', `${kind}/x`, `${specPath}.containers[0].image`]]);
    });
  }
});
