// Kustomize directories named in a request: the project's own overlays come
// out clean, only directories under an allowed root are read, and a render in
// progress dies with its task.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { manifestReviewSkill } from '../../../src/skills/manifest-review/index.js';
import { renderKustomize } from '../../../src/skills/manifest-review/kustomize.js';
import type { Renderer } from '../../../src/skills/manifest-review/kustomize.js';
import { ANONYMOUS } from '../../../src/model/model.js';
import { SkillHarness, userMessage } from '../../support/skill-harness.js';
import { alive, brief, cleanApp, findingsArtifact, KUBERNETES_DIR, pick, statusText } from './fixtures.js';
import { waitFor } from '../../support/wait.js';
import { needKustomize } from '../../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

const scratch = mkdtempSync(join(tmpdir(), 'manifest-review-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A Kustomize directory holding the clean app, with one untagged image so a review has something to find. */
function kustomizeDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const objects = cleanApp();
  pick(objects, 'Deployment', 'web').spec.template.spec.containers[0].image = 'nginx';
  writeFileSync(join(dir, 'app.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  writeFileSync(join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app.yaml\n');
  return dir;
}

const root = kustomizeDir(join(scratch, 'root', 'apps', 'shop'));
const outside = kustomizeDir(join(scratch, 'elsewhere', 'shop'));
const ROOT = join(scratch, 'root');
symlinkSync(outside, join(ROOT, 'escape'));
symlinkSync(root, join(ROOT, 'inner-link'));
mkdirSync(join(ROOT, 'plain'));
writeFileSync(join(ROOT, 'plain', 'notes.txt'), 'not manifests\n');
writeFileSync(join(ROOT, 'broken.yaml'), '');
mkdirSync(join(ROOT, 'bad'));
writeFileSync(join(ROOT, 'bad', 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');

describe("the project's own overlays, rendered with real Kustomize, come out clean", kustomize, () => {
  let harness: SkillHarness;
  before(async () => {
    harness = await SkillHarness.start([manifestReviewSkill({ roots: [KUBERNETES_DIR] })]);
  });
  after(() => harness.close());

  // Every Kustomize directory of the project: base and each overlay, whatever overlays are added later.
  const overlays = readdirSync(join(KUBERNETES_DIR, 'kagent', 'overlays')).filter((name) => existsSync(join(KUBERNETES_DIR, 'kagent', 'overlays', name, 'kustomization.yaml')));
  const targets = ['kagent/base', ...overlays.map((name) => `kagent/overlays/${name}`)];

  test('base, dev and prod are among them', () => {
    for (const required of ['kagent/base', 'kagent/overlays/dev', 'kagent/overlays/prod']) assert.ok(targets.includes(required), required);
  });

  for (const target of targets) {
    test(`${target}: no errors, no warnings`, async () => {
      const task = await harness.task(await harness.send([{ kind: 'data', data: { path: target } }]));
      assert.equal(task.status.state, 'completed', statusText(task));
      const { findings, summary } = findingsArtifact(task);
      assert.ok(summary.objects! >= 6, `${target} rendered ${summary.objects} objects`);
      assert.deepEqual(findings.filter((f) => f.severity !== 'info'), []);
    });
  }

  // The skill leaves custom resources unchecked (an info finding); the component tests check the monitoring ones against their CRDs.
  const unchecked = <F extends { rule: string; object: string }>(findings: F[]): F[] =>
    findings.filter((f) => !(f.rule === 'not-validated' && /^(PrometheusRule|ServiceMonitor)\//.test(f.object)));

  test('prod on as many nodes as its HPA may run replicas has no other findings; on fewer, its required anti-affinity is an error', async () => {
    const enough = await harness.task(await harness.send([{ kind: 'data', data: { path: 'kagent/overlays/prod', nodeCount: 10 } }]));
    assert.deepEqual(unchecked(findingsArtifact(enough).findings), []);
    const short = await harness.task(await harness.send(join(KUBERNETES_DIR, 'kagent/overlays/prod'), { metadata: { nodeCount: 5 } }));
    assert.deepEqual(brief(unchecked(findingsArtifact(short).findings)), [
      ['error', 'anti-affinity-replicas', 'StatefulSet/kagent/kagent', 'spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]'],
    ]);
    assert.equal(statusText(short), '1 error, 0 warnings, 2 notes in 14 objects');
  });
});

describe('only paths under an allowed root are read', kustomize, () => {
  let harness: SkillHarness;
  before(async () => {
    harness = await SkillHarness.start([manifestReviewSkill({ roots: [ROOT] })]);
  });
  after(() => harness.close());

  const send = async (path: string) => harness.task(await harness.send(path));

  test('a directory inside the root (absolute path in a text part) is rendered and reviewed', async () => {
    const task = await send(root);
    assert.equal(task.status.state, 'completed', statusText(task));
    assert.deepEqual(brief(findingsArtifact(task).findings), [['warning', 'image-untagged', 'Deployment/shop/web', 'spec.template.spec.containers[0].image']]);
  });

  test('a relative path is looked up under the root', async () => {
    const task = await send('apps/shop');
    assert.equal(task.status.state, 'completed', statusText(task));
  });

  test('a symbolic link inside the root that stays inside is followed', async () => {
    const task = await send(join(ROOT, 'inner-link'));
    assert.equal(task.status.state, 'completed', statusText(task));
  });

  test('a directory outside the root is rejected, naming the rule', async () => {
    const task = await send(outside);
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), new RegExp(`outside the allowed roots; only paths whose real location lies under a MANIFEST_ROOTS directory are read \\(${ROOT}\\)`));
    assert.deepEqual(task.artifacts, []);
  });

  test('a symbolic link inside the root that leads out of it is rejected', async () => {
    const task = await send(join(ROOT, 'escape'));
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /outside the allowed roots/);
  });

  test('climbing out with .. is rejected', async () => {
    const task = await harness.task(await harness.send([{ kind: 'data', data: { path: '../elsewhere/shop' } }]));
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /outside the allowed roots/);
  });

  test('a path under the root that does not exist is rejected as missing', async () => {
    const task = await send(join(ROOT, 'apps', 'nope'));
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /no such file or directory/);
  });

  test('a directory without a kustomization.yaml is rejected', async () => {
    const task = await send(join(ROOT, 'plain'));
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /a directory without a kustomization\.yaml/);
  });

  test('a YAML file under the root is read as manifests', async () => {
    const task = await send('apps/shop/app.yaml');
    assert.equal(task.status.state, 'completed', statusText(task));
    assert.equal(findingsArtifact(task).findings.length, 1);
  });

  test('an empty YAML file gives nothing to review: the skill asks for manifests', async () => {
    const task = await send(join(ROOT, 'broken.yaml'));
    assert.equal(task.status.state, 'input-required');
    assert.match(statusText(task), /the path of a Kustomize directory under an allowed root/);
  });

  test('a resource the kustomization names but that is missing is named before Kustomize runs', async () => {
    const task = await send(join(ROOT, 'bad'));
    assert.equal(task.status.state, 'rejected');
    assert.match(statusText(task), /resources entry "missing\.yaml" of bad\/kustomization\.yaml does not exist/);
  });

  test('with no roots configured, every path is rejected', async () => {
    const closed = await SkillHarness.start([manifestReviewSkill({ roots: [] })]);
    try {
      const task = await closed.task(await closed.send(root));
      assert.equal(task.status.state, 'rejected');
      assert.match(statusText(task), /only paths whose real location lies under a MANIFEST_ROOTS directory are read \(none is configured\)/);
    } finally {
      await closed.close();
    }
  });
});

describe('a render in progress', () => {
  /** A "kustomize" that records its pid and never finishes. */
  function stuckRenderer(name: string): { renderer: Renderer; pidFile: string } {
    const pidFile = join(scratch, `${name}.pid`);
    const script = join(scratch, `${name}.sh`);
    writeFileSync(script, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`);
    chmodSync(script, 0o755);
    return { renderer: { describe: `${script} build`, command: script, args: (dir) => ['build', dir] }, pidFile };
  }
  const pidOf = (file: string) => Number(readFileSync(file, 'utf8').trim());

  test('is killed when its task is canceled', async () => {
    const { renderer, pidFile } = stuckRenderer('cancel');
    const harness = await SkillHarness.start([manifestReviewSkill({ roots: [ROOT], renderer: () => renderer })]);
    try {
      const started = await harness.service.sendMessage(ANONYMOUS, userMessage(root), { returnImmediately: true });
      const task = await harness.task(started);
      await waitFor('the renderer to start', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
      const pid = pidOf(pidFile);
      assert.ok(alive(pid), 'the renderer runs while the task works');
      const canceled = await harness.cancel(task.id);
      assert.equal(canceled.status.state, 'canceled');
      await waitFor(`renderer ${pid} to be killed`, () => !alive(pid));
    } finally {
      await harness.close();
    }
  });

  test('is killed when it runs past its time limit, with a message saying so', async () => {
    const { renderer, pidFile } = stuckRenderer('timeout');
    await assert.rejects(renderKustomize(root, { renderer, timeoutMs: 300 }), /did not finish within 0\.3 s/);
    await waitFor('the timed-out renderer to be gone', () => !alive(pidOf(pidFile)));
  });

  test("runs with none of the agent's environment, HTTP through a proxy that is not there, and git allowed no protocol", async () => {
    const script = join(scratch, 'env.sh');
    writeFileSync(script, '#!/bin/sh\nenv\n');
    chmodSync(script, 0o755);
    process.env.KAGENT_TEST_SECRET = 'do-not-pass';
    try {
      const printed = await renderKustomize(root, { renderer: { describe: 'env', command: script, args: () => [] } });
      const env = Object.fromEntries(printed.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(env.KAGENT_TEST_SECRET, undefined);
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) assert.equal(env[name], 'http://127.0.0.1:9', name);
      assert.equal(env.GIT_ALLOW_PROTOCOL, 'none');
    } finally {
      delete process.env.KAGENT_TEST_SECRET;
    }
  });

  test('an aborted signal before the start runs nothing', async () => {
    const { renderer, pidFile } = stuckRenderer('never');
    const controller = new AbortController();
    controller.abort(new Error('gave up'));
    await assert.rejects(renderKustomize(root, { renderer, signal: controller.signal }), /gave up/);
    assert.equal(existsSync(pidFile), false);
  });

});
