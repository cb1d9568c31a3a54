import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'yaml';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import { needKustomize } from '../support/prerequisites.js';
import type { KubeObject } from './manifests.js';
import { KAGENT_DIR, only, render, renderWith } from './manifests.js';

// The walkthrough in kubernetes/kagent/README.md names real things: every
// namespace, object, volume, port and image name it uses is the one the
// manifests render.

const kustomize = needKustomize();
const walkthrough = readFileSync(join(KAGENT_DIR, 'README.md'), 'utf8');
let base: KubeObject[];
before(() => {
  if (kustomize.skip === false) base = render('base');
});

test('it builds, loads or pushes, points an overlay at the image, applies, checks, forwards and reads the card', () => {
  for (const step of [
    /docker build -t kagent-a2a:dev \./,
    /kind load docker-image kagent-a2a:dev/,
    /docker push \S+/,
    /kustomize edit set image \S+=\S+/,
    /kubectl apply -k kubernetes\/kagent\/overlays\/dev/,
    /kubectl -n \S+ rollout status statefulset\/\S+/,
    /kubectl -n \S+ port-forward svc\/\S+ \d+/,
    /kagent-a2a card http:\/\/localhost:\d+/,
    /kubectl -n \S+ scale statefulset\/\S+ --replicas=\d+/,
    /VAPORA_URL: /,
  ]) {
    assert.match(walkthrough, step);
  }
});

test('the image it replaces is the placeholder the base kustomization sets', () => {
  const kustomization = parse(readFileSync(join(KAGENT_DIR, 'base', 'kustomization.yaml'), 'utf8')) as { images: { name: string; newName: string }[] };
  const placeholder = kustomization.images.find((i) => i.name === 'kagent-a2a')!.newName;
  for (const match of walkthrough.matchAll(/kustomize edit set image (\S+)=/g)) assert.equal(match[1], placeholder);
  assert.match(walkthrough, new RegExp(`- name: ${placeholder.replace(/[./]/g, '\\$&')}\\n`));
});

test('namespace, StatefulSet, Service, port, volume and VAPORA address are those of the manifests', kustomize, () => {
  const sts = only<IStatefulSet>(base, 'StatefulSet');
  const namespace = sts.metadata!.namespace!;
  const service = only<IService>(base, 'Service', 'kagent');
  const port = service.spec!.ports![0]!.port;
  for (const match of walkthrough.matchAll(/kubectl -n (\S+)/g)) assert.equal(match[1], namespace);
  for (const match of walkthrough.matchAll(/statefulset\/([\w-]+)/g)) assert.equal(match[1], sts.metadata!.name);
  assert.match(walkthrough, new RegExp(`port-forward svc/${service.metadata!.name} ${port}\\b`));
  assert.match(walkthrough, new RegExp(`kagent-a2a card http://localhost:${port}\\b`));
  const claim = sts.spec!.volumeClaimTemplates![0]!.metadata!.name!;
  for (const match of walkthrough.matchAll(/\b(\w+)-(kagent-\d+)\b/g)) if (match[1] === 'data') assert.equal(`${match[1]}-${match[2]}`, `${claim}-${match[2]}`);
  assert.match(walkthrough, new RegExp(`\`${claim}-${sts.metadata!.name}-2\``));
  assert.equal(sts.spec!.persistentVolumeClaimRetentionPolicy?.whenScaled, 'Retain', 'the walkthrough says volumes are kept when scaled down');
  const configMap = only<IConfigMap>(base, 'ConfigMap');
  assert.ok(walkthrough.includes(`\`${configMap.data!.VAPORA_URL}\``), 'the default VAPORA address it names');
  assert.ok(walkthrough.includes(`http://${service.metadata!.name}.${namespace}.svc.cluster.local:${port}`), 'the URL the card advertises');
});

test('the Secrets it creates are the ones prod mounts, with the keys the pods read', kustomize, () => {
  const created = new Map<string, string[]>();
  // Continued lines joined, as the shell joins them.
  for (const match of walkthrough.replace(/\s*\\\n\s*/g, ' ').matchAll(/kubectl -n \S+ create secret generic (\S+)((?: --from-\S+)+)/g)) {
    // --from-file=key=path and --from-literal=key=value name their key; --from-file=path takes the file's name, and a directory (ending in /) gives every file in it.
    const keys = [...match[2]!.matchAll(/--from-(file|literal)=(\S+)/g)].map(([, kind, value]) => {
      const named = /^([\w.-]+)=/.exec(value!);
      if (named !== null) return named[1]!;
      return kind === 'file' && !value!.endsWith('/') ? value!.split('/').pop()! : '*';
    });
    created.set(match[1]!, keys);
  }
  // prod's Secrets, and the opt-in card signing key.
  const renders = [render('overlays/prod'), render('overlays/prod-shared'), renderWith('overlays/prod', ['card-signing'])];
  const volumes = renders
    .flatMap((objects) => only<IStatefulSet>(objects, 'StatefulSet').spec!.template.spec!.volumes ?? [])
    .filter((v) => v.secret !== undefined);
  assert.ok(volumes.length >= 3);
  for (const { secret } of volumes) {
    const keys = created.get(secret!.secretName!);
    if (secret!.optional !== true) assert.ok(keys, `the walkthrough does not create the Secret ${secret!.secretName}`);
    if (keys === undefined) continue;
    // A Secret mounted by items needs exactly those keys; one mounted whole takes a directory (every file a key).
    for (const item of secret!.items ?? []) assert.ok(keys.includes(item.key), `${secret!.secretName} is created without the key ${item.key}`);
    if (secret!.items === undefined) assert.deepEqual(keys, ['*'], `${secret!.secretName} is mounted whole: create it from a directory`);
  }
  for (const name of created.keys()) assert.ok(volumes.some((v) => v.secret!.secretName === name), `the walkthrough creates ${name}, which no pod mounts`);
});
