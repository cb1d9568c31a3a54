// components/card-signing: the agent's cards signed with a key from a Secret the
// operator creates. The component mounts that Secret where CARD_SIGNING_KEY_FILE
// points, the READMEs create exactly that Secret, and an agent started with the
// component's setting (the Secret stood in by a file) serves signed cards.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { startTestAgent } from '../support/agent.js';
import { needKustomize } from '../support/prerequisites.js';
import type { KubeObject } from './manifests.js';
import { REPO_ROOT, only, renderWith } from './manifests.js';
import { schemaProblems } from './schema.js';

// Renders with a real Kustomize: skipped with a notice without kubectl or kustomize, failing under CI=true.
const kustomize = needKustomize();

let scratch: string;
let objects: KubeObject[];

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kagent-card-signing-'));
  if (kustomize.skip === false) objects = renderWith('overlays/prod', ['card-signing']);
});

after(() => rmSync(scratch, { recursive: true, force: true }));

function agentContainer() {
  const spec = only<IStatefulSet>(objects, 'StatefulSet', 'kagent').spec!.template.spec!;
  return { spec, container: spec.containers.find((c) => c.name === 'agent')! };
}

function keyFileSetting(): string {
  const value = agentContainer().container.env?.find((e) => e.name === 'CARD_SIGNING_KEY_FILE')?.value;
  assert.ok(value, 'the component sets CARD_SIGNING_KEY_FILE');
  return value;
}

test('the key file is the key of a required Secret, mounted whole and read-only in its directory', kustomize, () => {
  const { spec, container } = agentContainer();
  const file = keyFileSetting();
  const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(file));
  assert.ok(mount, `nothing is mounted at ${dirname(file)}`);
  assert.equal(mount.readOnly, true);
  assert.equal(mount.subPath, undefined);
  const secret = spec.volumes?.find((v) => v.name === mount.name)?.secret;
  assert.equal(secret?.secretName, 'kagent-card-signing-key');
  assert.deepEqual(secret?.items, [{ key: basename(file), path: basename(file) }]);
  assert.notEqual(secret?.optional, true, 'a missing key must stop the start, not serve unsigned cards');
  // The component adds to prod; authentication stays as prod has it.
  assert.equal(container.env?.find((e) => e.name === 'AUTH_MODE')?.value, 'apikey');
  assert.deepEqual(objects.filter((o) => o.kind === 'Secret'), [], 'the key is the operator\'s, never committed');
});

test('the render is valid by the schemas', kustomize, async () => {
  const problems: string[] = [];
  for (const object of objects) for (const problem of await schemaProblems(object)) problems.push(`${object.kind}/${object.metadata.name}: ${problem}`);
  assert.deepEqual(problems, []);
});

test('both READMEs create the Secret and key the component mounts', kustomize, () => {
  const file = basename(keyFileSetting());
  for (const readme of ['README.md', 'kubernetes/kagent/README.md']) {
    const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
    assert.match(text, new RegExp(`create secret generic kagent-card-signing-key --from-file=${file.replace('.', '\\.')}`), readme);
  }
});

test("an agent with the component's setting serves signed cards; without the key it does not start", kustomize, async () => {
  const file = keyFileSetting();
  const dir = join(scratch, 'secret');
  mkdirSync(dir);
  const keyFile = join(dir, basename(file));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const agent = await startTestAgent({ CARD_SIGNING_KEY_FILE: keyFile });
  try {
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as { signatures?: unknown[] };
    assert.equal(card.signatures?.length, 1);
    const jwks = (await (await fetch(`${agent.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 1);
  } finally {
    await agent.dispose();
  }
  await assert.rejects(startTestAgent({ CARD_SIGNING_KEY_FILE: join(dir, 'absent.pem') }), /CARD_SIGNING_KEY_FILE/);
});
