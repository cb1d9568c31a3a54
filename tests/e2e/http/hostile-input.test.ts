// Hostile input at the body limit, against a real service process: every
// pattern that reads caller text runs in linear time, YAML and JSON nested
// thousands of levels deep are refused before anything recurses through them,
// and meanwhile /healthz keeps answering — a liveness probe never sees a
// blocked event loop, so the pod is not restarted under its running tasks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { FakeApiServer } from '../../skills/cluster/fake-api.js';
import { assertInvalidParams, errorInfo } from './helpers.js';

const BODY_LIMIT = 1024 * 1024;
/** Generous: an idle loop answers in a millisecond; a blocked one (the old patterns) not for minutes. */
const HEALTHZ_BOUND_MS = 5000;
const ANSWER_DEADLINE_MS = 120_000;

let service: ServiceProcess;
let api: FakeApiServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kagent-hostile-'));
  // The cluster skills need a cluster to be offered; the fake API server stands in for Kubernetes, which cannot run here.
  api = await FakeApiServer.start();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'agent', user: { token: api.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'agent' } }],
      'current-context': 'fake',
    }),
  );
  // Loading the Kubernetes client takes a while on a busy machine.
  service = await startService(join(dir, 'data'), { KUBERNETES_SKILLS: 'true', KUBECONFIG: kubeconfig, MAX_BODY_BYTES: String(BODY_LIMIT) }, 90_000);
});

after(async () => {
  await service?.dispose();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A JSON-RPC body of exactly `BODY_LIMIT` bytes (or just under): `build`
 * receives the filler, made of `unit` repeated to take up all the room left.
 */
function atBodyLimit(method: string, unit: string, build: (filler: string) => unknown): string {
  const envelope = (filler: string) => JSON.stringify({ jsonrpc: '2.0', id: 'hostile', method, params: build(filler) });
  const overhead = Buffer.byteLength(envelope(''));
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2;
  const body = envelope(unit.repeat(Math.floor((BODY_LIMIT - overhead) / unitBytes)));
  assert.ok(Buffer.byteLength(body) <= BODY_LIMIT && Buffer.byteLength(body) > BODY_LIMIT - 64, `body is ${Buffer.byteLength(body)} bytes`);
  return body;
}

interface Answer {
  status: number;
  body: any;
}

/**
 * Sends `body` and, until its answer arrives, probes /healthz one call after
 * another; every probe must answer 200 within the bound.
 */
async function sendWhileProbing(body: string, headers: Record<string, string> = { 'A2A-Version': '1.0' }): Promise<{ answer: Answer; probes: number }> {
  let settled = false;
  const answer = (async (): Promise<Answer> => {
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(ANSWER_DEADLINE_MS),
    });
    return { status: res.status, body: await res.json() };
  })().finally(() => {
    settled = true;
  });
  let probes = 0;
  do {
    const started = Date.now();
    let status: number;
    try {
      const res = await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(HEALTHZ_BOUND_MS) });
      await res.arrayBuffer();
      status = res.status;
    } catch (error) {
      answer.catch(() => undefined);
      assert.fail(`/healthz did not answer within ${HEALTHZ_BOUND_MS} ms while the request was processed (probe ${probes + 1}): ${String(error)}`);
    }
    assert.equal(status, 200);
    assert.ok(Date.now() - started < HEALTHZ_BOUND_MS);
    probes++;
  } while (!settled);
  return { answer: await answer, probes };
}

let sent = 0;
function message(parts: unknown[], metadata: Record<string, unknown> = {}): Record<string, unknown> {
  // Ids of one width: atBodyLimit measures the envelope with one and sends another.
  return { message: { role: 'ROLE_USER', messageId: `hostile-${process.pid}-${String(++sent).padStart(6, '0')}`, parts, metadata } };
}

function statusText(task: any): string {
  return (task.status?.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
}

describe('patterns over caller text stay linear at the body limit', () => {
  test('1.0 raw bytes with a megabyte of "=" before their end: a clear -32602, the loop never blocked', async () => {
    const body = atBodyLimit('SendMessage', '=', (filler) => message([{ raw: `QQ${filler}A` }], { skill: 'echo' }));
    const { answer } = await sendWhileProbing(body);
    const error = assertInvalidParams({ status: answer.status, headers: new Headers(), body: answer.body }, 'params.message.parts[0].raw');
    assert.match(error.message, /must be base64-encoded bytes/);
  });

  test('0.3 file bytes with a megabyte of "=" before their end: a clear -32602, the loop never blocked', async () => {
    const body = atBodyLimit('message/send', '=', (filler) => ({
      message: { kind: 'message', role: 'user', messageId: 'hostile-03', parts: [{ kind: 'file', file: { bytes: `QQ${filler}A` } }], metadata: { skill: 'echo' } },
    }));
    const { answer } = await sendWhileProbing(body, { 'A2A-Version': '0.3' });
    const error = assertInvalidParams({ status: answer.status, headers: new Headers(), body: answer.body }, 'params.message.parts[0].file.bytes');
    assert.match(error.message, /must be base64-encoded bytes/);
  });

  test('manifest-review text of blank lines (the apiVersion/kind line pattern): answered, asking for manifests', async () => {
    const body = atBodyLimit('SendMessage', ' \n', (filler) => message([{ text: filler }], { skill: 'manifest-review' }));
    const { answer } = await sendWhileProbing(body);
    const task = answer.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(answer.body).slice(0, 500));
    assert.match(statusText(task), /Send the Kubernetes manifests to review/);
  });

  test('manifest-review of a map with 75,000 keys (the YAML parser checked each key against all before it): reviewed off the event loop', async () => {
    let n = 0;
    const body = atBodyLimit('SendMessage', '  k0000000: v\n', (filler) =>
      message([{ text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n${filler.replace(/k0000000/g, () => `k${String(n++).padStart(7, '0')}`)}` }], {
        skill: 'manifest-review',
      }),
    );
    const { answer } = await sendWhileProbing(body);
    const task = answer.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(answer.body).slice(0, 500));
    assert.equal(statusText(task), '0 errors, 0 warnings in 1 object');
  });

  test('cluster request ending in a megabyte of "." (the trailing-punctuation pattern): answered, naming what it could not read', async () => {
    const body = atBodyLimit('SendMessage', '.', (filler) => message([{ text: `${filler}x` }], { skill: 'cluster-inspect' }));
    const { answer } = await sendWhileProbing(body);
    const task = answer.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(answer.body).slice(0, 500));
    assert.match(statusText(task), /could not read "\.{80}…"/);
    // The reply names the word, shortened: it never echoes the whole megabyte back.
    assert.ok(statusText(task).length < 2000);
  });

  test('cluster request word ending in a megabyte of ")" (the word-trimming pattern): answered, naming what it could not read', async () => {
    const body = atBodyLimit('SendMessage', ')', (filler) => message([{ text: `list x${filler}y` }], { skill: 'cluster-inspect' }));
    const { answer } = await sendWhileProbing(body);
    const task = answer.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(answer.body).slice(0, 500));
    assert.match(statusText(task), /could not read "x\){79}…"/);
  });
});

describe('nesting thousands of levels deep is refused before anything recurses through it', () => {
  test('YAML sent to manifest-review: the task fails naming the limit, and the process lives on', async () => {
    const body = atBodyLimit('SendMessage', '[', (filler) => message([{ text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${filler}` }], { skill: 'manifest-review' }));
    const { answer } = await sendWhileProbing(body);
    const task = answer.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_FAILED', JSON.stringify(answer.body).slice(0, 500));
    assert.match(statusText(task), /line 4\): it nests collections deeper than 100 levels/);
  });

  test('YAML routed by its content (no skill named) is looked at safely: the process lives on', async () => {
    const body = atBodyLimit('SendMessage', '- ', (filler) => message([{ text: `apiVersion: v1\nkind: ConfigMap\ndata:\n  x: ${filler}` }]));
    const { answer } = await sendWhileProbing(body);
    // Not manifests after all (they do not parse): the default skill (echo here) takes it.
    assert.ok(answer.body.result?.task, JSON.stringify(answer.body).slice(0, 500));
    const health = await fetch(`${service.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('JSON metadata nested 5,000 levels: -32602 naming where and the limit, not an internal error', async () => {
    // Written as text: JSON.stringify itself cannot go that deep.
    const nested = `${'{"deeper":'.repeat(5000)}"bottom"${'}'.repeat(5000)}`;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'deep', method: 'SendMessage', params: message([{ text: 'hi' }], { skill: 'echo', nested: 'NESTED' }) }).replace(
      '"NESTED"',
      nested,
    );
    const { answer } = await sendWhileProbing(body);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.error?.code, -32602, JSON.stringify(answer.body).slice(0, 500));
    assert.equal(answer.body.id, 'deep');
    assert.match(answer.body.error.message, /^params\.message\.metadata\.nested\.deeper[.a-z]*…[.a-z]* nests objects and arrays deeper than 100 levels/);
    assert.equal(errorInfo(answer.body.error).reason, 'INVALID_PARAMS');
    assert.doesNotMatch(service.output(), /request failed/);
  });

  test('a deep array in a data part of a 0.3 request: -32602 too', async () => {
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    const body = `{"jsonrpc":"2.0","id":7,"method":"message/send","params":{"message":{"kind":"message","role":"user","messageId":"deep-03","parts":[{"kind":"data","data":{"x":${deep}}}]}}}`;
    const { answer } = await sendWhileProbing(body, { 'A2A-Version': '0.3' });
    assert.equal(answer.body.error?.code, -32602, JSON.stringify(answer.body).slice(0, 500));
    assert.match(answer.body.error.message, /^params\.message\.parts\[0\]\.data\.x\[0\]\[0\].*deeper than 100 levels/);
  });
});
