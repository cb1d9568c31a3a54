import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { manifestReviewSkill } from '../../../src/skills/manifest-review/index.js';
import type { Part } from '../../../src/model/model.js';
import { SkillHarness } from '../../support/skill-harness.js';
import { brief, cleanApp, findingsArtifact, pick, reportArtifact, statusText } from './fixtures.js';
import type { Loose } from './fixtures.js';

let harness: SkillHarness;

before(async () => {
  harness = await SkillHarness.start([manifestReviewSkill({ roots: [] })]);
});

after(async () => {
  await harness.close();
});

const toYaml = (objects: unknown[]) => objects.map((o) => stringify(o)).join('---\n');

/** The clean app with an untagged web image and an HPA range upside down: one warning, one error. */
function twoProblems(): Loose[] {
  const objects = cleanApp();
  pick(objects, 'Deployment', 'web').spec.template.spec.containers[0].image = 'nginx';
  pick(objects, 'HorizontalPodAutoscaler', 'web').spec.minReplicas = 9;
  return objects;
}
const EXPECTED: [string, string, string, string][] = [
  ['error', 'hpa-replica-range', 'HorizontalPodAutoscaler/shop/web', 'spec.minReplicas'],
  ['warning', 'image-untagged', 'Deployment/shop/web', 'spec.template.spec.containers[0].image'],
];

async function reviewed(parts: Part[] | string, metadata?: Loose) {
  return harness.task(await harness.send(parts, metadata === undefined ? {} : { metadata }));
}

describe('through the task service, a review completes with a findings artifact and a Markdown report', () => {
  test('multi-document YAML in a text part', async () => {
    const task = await reviewed(toYaml(twoProblems()));
    assert.equal(task.status.state, 'completed');
    assert.equal(statusText(task), '1 error, 1 warning in 7 objects');
    assert.deepEqual(
      task.artifacts.map((a) => a.artifactId),
      ['manifest-review-findings', 'manifest-review-report'],
    );
    const { findings, summary } = findingsArtifact(task);
    assert.deepEqual(brief(findings), EXPECTED);
    assert.deepEqual(summary, { errors: 1, warnings: 1, infos: 0, objects: 7 });
    for (const finding of findings) assert.ok(finding.message.length > 0 && finding.fix.length > 0, JSON.stringify(finding));

    const report = reportArtifact(task);
    assert.match(report, /^# Manifest review\n\n\*\*1 error, 1 warning in 7 objects\*\*/);
    assert.match(report, /## HorizontalPodAutoscaler\/shop\/web\n\n\| Severity \| Rule \| Path \| Problem \| Fix \|/);
    assert.match(report, /\| ❌ error \| `hpa-replica-range` \| `spec.minReplicas` \| minReplicas 9 is above maxReplicas 6/);
    assert.match(report, /## No findings\n\n- Service\/shop\/web\n/);
  });

  test('a clean set completes with no findings and says so', async () => {
    const task = await reviewed(toYaml(cleanApp()));
    assert.equal(task.status.state, 'completed');
    assert.equal(statusText(task), '0 errors, 0 warnings in 7 objects');
    assert.deepEqual(findingsArtifact(task).findings, []);
    assert.match(reportArtifact(task), /No problems found\./);
  });
});

describe('input forms', () => {
  test('JSON in a text part', async () => {
    const task = await reviewed(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: twoProblems() }));
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
  });

  test('a YAML file part (base64 bytes with a YAML media type)', async () => {
    const bytes = Buffer.from(toYaml(twoProblems())).toString('base64');
    const task = await reviewed([{ kind: 'bytes', bytes, mediaType: 'application/yaml' }]);
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
  });

  test('a file part known only by its .yaml name', async () => {
    const bytes = Buffer.from(toYaml(twoProblems())).toString('base64');
    const task = await reviewed([{ kind: 'bytes', bytes, mediaType: 'application/octet-stream', filename: 'app.yaml' }]);
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
    assert.match(reportArtifact(task), /reviewed: app\.yaml/);
  });

  test('a JSON file part', async () => {
    const bytes = Buffer.from(JSON.stringify(twoProblems()[3])).toString('base64');
    const task = await reviewed([{ kind: 'bytes', bytes, mediaType: 'application/json', filename: 'hpa.json' }]);
    assert.deepEqual(brief(findingsArtifact(task).findings), [
      ['error', 'hpa-target-missing', 'HorizontalPodAutoscaler/shop/web', 'spec.scaleTargetRef'],
      ['error', 'hpa-replica-range', 'HorizontalPodAutoscaler/shop/web', 'spec.minReplicas'],
    ]);
  });

  test('a data part with manifests as YAML text', async () => {
    const task = await reviewed([{ kind: 'data', data: { manifests: toYaml(twoProblems()) } }]);
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
  });

  test('a data part with manifests as objects', async () => {
    const task = await reviewed([{ kind: 'data', data: { manifests: twoProblems() } }]);
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
  });

  test('several parts are reviewed together: prose is ignored, a Service in one part selects a Deployment in another', async () => {
    const objects = twoProblems();
    const service = objects.splice(1, 1);
    const task = await reviewed([
      { kind: 'text', text: 'Please review these before Friday.' },
      { kind: 'text', text: toYaml(objects) },
      { kind: 'data', data: { manifests: service } },
    ]);
    assert.deepEqual(brief(findingsArtifact(task).findings), EXPECTED);
  });

  describe('the stated node count', () => {
    const spread = () => {
      const objects = cleanApp();
      pick(objects, 'Deployment', 'web').spec.template.spec.affinity = {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } }] },
      };
      return objects;
    };

    test('from the data part', async () => {
      const task = await reviewed([{ kind: 'data', data: { manifests: spread(), nodeCount: 2 } }]);
      assert.deepEqual(brief(findingsArtifact(task).findings).map(([s, r]) => [s, r]), [['error', 'anti-affinity-replicas']]);
    });

    test('from the message metadata', async () => {
      const task = await reviewed(toYaml(spread()), { nodeCount: 2 });
      assert.deepEqual(brief(findingsArtifact(task).findings).map(([s, r]) => [s, r]), [['error', 'anti-affinity-replicas']]);
      const enough = await reviewed(toYaml(spread()), { nodeCount: 6 });
      assert.deepEqual(findingsArtifact(enough).findings, []);
    });

    test('a node count that is not a positive whole number is rejected, naming the field', async () => {
      const task = await reviewed([{ kind: 'data', data: { manifests: spread(), nodeCount: 0 } }]);
      assert.equal(task.status.state, 'rejected');
      assert.match(statusText(task), /data\.nodeCount must be a positive whole number of nodes, got 0/);
      const viaMetadata = await reviewed(toYaml(spread()), { nodeCount: 'three' });
      assert.equal(viaMetadata.status.state, 'rejected');
      assert.match(statusText(viaMetadata), /metadata\.nodeCount must be a positive whole number/);
    });
  });
});

describe('bad input', () => {
  test('YAML that does not parse fails with the parser’s message and line', async () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: [1, 2\n  b: 3\n';
    const task = await reviewed(text);
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), /^cannot parse the YAML in message text \(line 7, column \d+\): .*Flow sequence/);
    assert.deepEqual(task.artifacts, []);
  });

  test('a broken YAML file names the file', async () => {
    const bytes = Buffer.from('kind: Service\nmetadata: {name: x\n').toString('base64');
    const task = await reviewed([{ kind: 'bytes', bytes, filename: 'svc.yaml' }]);
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), /^cannot parse the YAML in svc\.yaml \(line \d+, column \d+\)/);
  });

  test('duplicate keys are a parse error, not a silent overwrite', async () => {
    const task = await reviewed('apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n');
    assert.equal(task.status.state, 'failed');
    assert.match(statusText(task), /line 3.*Map keys must be unique/);
  });

  test('no manifests at all asks for them, and the answer completes the task', async () => {
    const first = await reviewed('can you check my deployment?');
    assert.equal(first.status.state, 'input-required');
    assert.match(statusText(first), /Send the Kubernetes manifests to review: YAML or JSON as text/);
    // No roots configured: the reply does not offer to read a path.
    assert.doesNotMatch(statusText(first), /Kustomize directory/);

    const second = await harness.task(await harness.send(toYaml(twoProblems()), { taskId: first.id, contextId: first.contextId }));
    assert.equal(second.status.state, 'completed');
    assert.deepEqual(brief(findingsArtifact(second).findings), EXPECTED);
  });

  test('a URL file part is not fetched; the request for input says why', async () => {
    const task = await reviewed([{ kind: 'url', url: 'https://example.com/app.yaml', filename: 'app.yaml' }]);
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /app\.yaml: files are not fetched from URLs; send the content inline/);
  });

  test('a data part whose manifests field is neither text nor objects is rejected', async () => {
    const task = await reviewed([{ kind: 'data', data: { manifests: 42 } }]);
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /data\.manifests must be YAML\/JSON text or a list of objects/);
  });
});
