// A Kustomize directory under MANIFEST_ROOTS is a caller's choice, and what it
// refers to must not take Kustomize anywhere else: not to a URL (a loopback
// listener stands in for any server and must see nothing), not to a git
// remote, not to a base outside the roots (by "..", or by a symbolic link).
// What Kustomize prints when it fails names server paths; the caller gets a
// short reason, the log the whole of it. Against a real service process and
// the real kubectl.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { waitFor } from '../../support/wait.js';

const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n';

let scratch: string;
let root: string;
let outside: string;
let listener: Server;
let listenerUrl: string;
const heard: string[] = [];
let service: ServiceProcess;

function kustomization(dir: string, body: string, files: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

before(async () => {
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'kustomize-confined-')));
  root = join(scratch, 'root');
  outside = join(scratch, 'outside');
  // Anything a render fetches lands here, answered with a valid manifest so that nothing but the fetch itself can fail.
  listener = createServer((req: IncomingMessage, res) => {
    heard.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/yaml' }).end(CONFIG_MAP);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;

  kustomization(join(outside, 'base'), 'resources:\n  - cm.yaml\n', { 'cm.yaml': CONFIG_MAP });
  writeFileSync(join(outside, 'secret.txt'), 'password=hunter2\n');
  kustomization(join(root, 'clean'), 'resources:\n  - cm.yaml\n', { 'cm.yaml': CONFIG_MAP });
  kustomization(join(root, 'remote-http'), `resources:\n  - cm.yaml\n  - ${listenerUrl}/remote.yaml\n`, { 'cm.yaml': CONFIG_MAP });
  kustomization(join(root, 'remote-git'), `resources:\n  - ${listenerUrl}/org/repo.git//base?ref=v1\n`);
  kustomization(join(root, 'remote-github'), 'resources:\n  - github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n');
  kustomization(join(root, 'remote-component'), `components:\n  - ${listenerUrl}/component\n`);
  kustomization(join(root, 'apps', 'climb'), 'resources:\n  - ../../../outside/base\n');
  kustomization(join(root, 'linked'), 'resources:\n  - escape\n');
  symlinkSync(join(outside, 'base'), join(root, 'linked', 'escape'));
  kustomization(join(root, 'generator'), 'configMapGenerator:\n  - name: leak\n    files:\n      - secret=../../outside/secret.txt\n');
  kustomization(join(root, 'helm'), 'helmCharts:\n  - name: minecraft\n    repo: https://itzg.github.io/minecraft-server-charts\n    version: 3.1.3\n');
  // Through a base that is itself fine, to a remote resource two levels down.
  kustomization(join(root, 'overlay'), 'resources:\n  - ../remote-http\n');
  // The same ConfigMap twice: Kustomize refuses it, naming the file by its absolute path.
  kustomization(join(root, 'broken'), 'resources:\n  - cm.yaml\n', { 'cm.yaml': `${CONFIG_MAP}---\n${CONFIG_MAP}` });

  service = await startService(join(scratch, 'data'), { MANIFEST_ROOTS: root, DEFAULT_SKILL: 'manifest-review' }, 60_000);
});

after(async () => {
  await service?.dispose();
  await new Promise((resolve) => listener?.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

async function review(path: string): Promise<{ state: string; text: string; task: any }> {
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: { message: { role: 'ROLE_USER', messageId: `kz-${path}-${Math.random()}`, parts: [{ data: { path } }], metadata: { skill: 'manifest-review' } } },
    }),
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await res.json()) as any;
  const task = body.result?.task;
  assert.ok(task, JSON.stringify(body).slice(0, 500));
  const text = (task.status.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
  return { state: task.status.state, text, task };
}

describe('a kustomization under MANIFEST_ROOTS reaches nothing outside them', () => {
  test('a clean one renders (the checks let the ordinary case through)', async () => {
    const { state, text } = await review('clean');
    assert.equal(state, 'TASK_STATE_COMPLETED', text);
  });

  test('a resource URL is refused before Kustomize runs: the listener hears nothing', async () => {
    const { state, text } = await review('remote-http');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /resources entry "http:\/\/127\.0\.0\.1:\d+\/remote\.yaml" of remote-http\/kustomization\.yaml is remote; remote resources, bases and components are never fetched/);
    assert.deepEqual(heard, []);
  });

  test('a git base over HTTP is refused: no clone reaches the listener', async () => {
    const { state, text } = await review('remote-git');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /is remote/);
    assert.deepEqual(heard, []);
  });

  test('a remote target in Kustomize\'s own short form (host/org/repo//dir?ref=) is refused', async () => {
    const { state, text } = await review('remote-github');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /github\.com\/kubernetes-sigs\/kustomize\/\/examples\/helloWorld\?ref=v5\.0\.0" of remote-github\/kustomization\.yaml is remote/);
  });

  test('a remote component is refused', async () => {
    const { state, text } = await review('remote-component');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /components entry .* is remote/);
    assert.deepEqual(heard, []);
  });

  test('a remote resource two kustomizations down is found and refused', async () => {
    const { state, text } = await review('overlay');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /of remote-http\/kustomization\.yaml is remote/);
    assert.deepEqual(heard, []);
  });

  test('a base outside the roots, reached with "..", is refused, not rendered', async () => {
    const { state, text, task } = await review('apps/climb');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /resources entry "\.\.\/\.\.\/\.\.\/outside\/base" of apps\/climb\/kustomization\.yaml lies outside the allowed roots/);
    assert.deepEqual(task.artifacts ?? [], []);
  });

  test('a symbolic link out of the root is refused, not followed', async () => {
    const { state, text } = await review('linked');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /resources entry "escape" of linked\/kustomization\.yaml lies outside the allowed roots/);
  });

  test('a generator reading a file outside the roots is refused', async () => {
    const { state, text } = await review('generator');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /configMapGenerator files entry "\.\.\/\.\.\/outside\/secret\.txt" of generator\/kustomization\.yaml lies outside the allowed roots/);
    assert.doesNotMatch(text, /hunter2/);
  });

  test('Helm charts are refused', async () => {
    const { state, text } = await review('helm');
    assert.equal(state, 'TASK_STATE_REJECTED', text);
    assert.match(text, /helm\/kustomization\.yaml uses helmCharts: Helm charts are not rendered here/);
  });

  test('no refusal names where the roots are on the server', async () => {
    for (const path of ['remote-http', 'apps/climb', 'linked', 'generator']) {
      const { text } = await review(path);
      assert.ok(!text.includes(scratch), `"${text}" names the server path ${scratch}`);
    }
  });
});

describe('when Kustomize itself fails', () => {
  test('the caller gets a short reason without server paths; the log has what Kustomize said', async () => {
    const { state, text } = await review('broken');
    assert.equal(state, 'TASK_STATE_FAILED', text);
    assert.match(text, /^kubectl kustomize broken failed \(exit 1\): .*may not add resource with an already registered id/);
    assert.ok(!text.includes(scratch), `"${text}" names the server path ${scratch}`);
    assert.ok(!text.includes('/usr/bin'), text);
    assert.ok(text.length < 500, text);
    // The task's answer can reach the test before the service's log line does.
    const failureLines = () => service.output().split('\n').filter((line) => line.includes('"kustomize failed"'));
    await waitFor('the kustomize failure to be logged', () => failureLines().length > 0);
    const logged = failureLines();
    assert.equal(logged.length, 1, service.output());
    const entry = JSON.parse(logged[0]!);
    assert.equal(entry.path, 'broken');
    assert.match(entry.stderr, new RegExp(`${join(root, 'broken').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });
});
