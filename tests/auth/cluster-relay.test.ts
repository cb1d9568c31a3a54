import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClusterAssertion } from '../../src/auth/cluster-assertion.js';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { collect, openStream, rpc, textMessage } from '../support/rpc.js';
import { freePortDecade, startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

// Two replicas as real processes on loopback (per-pod SQLite, owner routing)
// with API-key authentication: a request about another pod's task reaches the
// owner with the caller's identity vouched for by the shared secret, never
// with the caller's own key; and nobody outside can forge that voucher.

const SECRET = 'a-shared-cluster-secret-of-enough-length-0123456789';

describe('a relayed request keeps its caller (two pods, API keys, shared cluster secret)', () => {
  let root: string;
  const pods: ServiceProcess[] = [];
  const keys = { alice: newApiKey(), bob: newApiKey() };
  const alice = bearer(keys.alice);
  const bob = bearer(keys.bob);

  function env(ordinal: number, prefix: string, port: number): Record<string, string> {
    return {
      POD_NAME: `kagent-${ordinal}`,
      PORT: String(port),
      A2A_REPLICAS: '2',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${prefix}{ordinal}`,
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      AUTH_CLUSTER_SECRET_FILE: join(root, 'cluster-secret'),
    };
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-relay-auth-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    writeFileSync(join(root, 'cluster-secret'), SECRET);
    const ports = await freePortDecade();
    for (let i = 0; i < 2; i++) pods.push(await startService(join(root, `data-${i}`), env(i, ports.prefix, ports.port(i))));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    rmSync(root, { recursive: true, force: true });
  });

  test('the owner serves the caller who made the task, through the other pod: get, list, stream, cancel', async () => {
    const done = ok(await rpc(pods[0]!.url, 'SendMessage', { message: textMessage('mine', { metadata: { skill: 'echo' } }) }, alice)).task;
    assert.match(done.id, /^kagent-0\./);
    const got = ok(await rpc(pods[1]!.url, 'GetTask', { id: done.id }, alice));
    assert.equal(got.status.state, 'TASK_STATE_COMPLETED');

    const listed = ok(await rpc(pods[1]!.url, 'ListTasks', {}, alice));
    assert.ok(listed.tasks.some((t: { id: string }) => t.id === done.id), 'the list through pod 1 holds the task on pod 0');

    const slow = ok(
      await rpc(pods[0]!.url, 'SendMessage', { message: textMessage('slow', { metadata: { skill: 'echo', delayMs: 120_000 } }), configuration: { returnImmediately: true } }, alice),
    ).task;
    const stream = await openStream(pods[1]!.url, 'SubscribeToTask', { id: slow.id }, alice);
    assert.equal(stream.status, 200);
    const canceled = ok(await rpc(pods[1]!.url, 'CancelTask', { id: slow.id }, alice));
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    const events = await collect(stream);
    assert.equal(events.at(-1)?.result?.statusUpdate?.status?.state, 'TASK_STATE_CANCELED');
  });

  test('another caller gets TaskNotFound through the relay too, and never sees the task in a list', async () => {
    const mine = ok(await rpc(pods[0]!.url, 'SendMessage', { message: textMessage('private', { metadata: { skill: 'echo' } }) }, alice)).task;
    for (const method of ['GetTask', 'CancelTask']) {
      const res = await rpc(pods[1]!.url, method, { id: mine.id }, bob);
      assert.equal(errorInfo(assertRpcError(res.body, -32001)).reason, 'TASK_NOT_FOUND');
    }
    const listed = ok(await rpc(pods[1]!.url, 'ListTasks', {}, bob));
    assert.ok(!listed.tasks.some((t: { id: string }) => t.id === mine.id));
  });

  test('a caller assertion from outside is refused outright: garbage, another key, another pod, expired', async () => {
    const mine = ok(await rpc(pods[0]!.url, 'SendMessage', { message: textMessage('target', { metadata: { skill: 'echo' } }) }, alice)).task;
    const forged = forge('not-the-secret-but-just-as-long-0123456789abcdef', { t: '', p: 'alice', aud: 'kagent-0', exp: Date.now() + 30_000, n: 'x' });
    const real = ClusterAssertion.fromFile(join(root, 'cluster-secret'), 'AUTH_CLUSTER_SECRET_FILE');
    const attempts = [
      'v1.e30.AAAA',
      forged,
      real.sign({ tenant: '', principal: 'alice' }, 'kagent-1'),
      real.sign({ tenant: '', principal: 'alice' }, 'kagent-0', Date.now() - 60_000),
    ];
    for (const assertion of attempts) {
      // With a valid key of its own, the forged header still ends the search: no fallback to the key.
      for (const headers of [{ 'x-kagent-caller': assertion }, { ...bob, 'x-kagent-caller': assertion }]) {
        const res = await rpc(pods[0]!.url, 'GetTask', { id: mine.id }, { ...headers, 'x-kagent-forwarded-by': 'kagent-1' });
        assert.equal(res.status, 401, JSON.stringify(res.body));
        assert.equal(errorInfo(assertRpcError(res.body, -32051)).reason, 'UNAUTHENTICATED');
      }
    }
    // The real secret, the right pod, in time: that is what a sibling sends.
    const vouched = real.sign({ tenant: '', principal: 'alice' }, 'kagent-0');
    const res = await rpc(pods[0]!.url, 'GetTask', { id: mine.id }, { ...V1, 'x-kagent-caller': vouched, 'x-kagent-forwarded-by': 'kagent-1' });
    assert.equal(ok(res).id, mine.id);
  });

  test('an assertion is good for one request: the same one replayed within its lifetime is 401', async () => {
    const mine = ok(await rpc(pods[0]!.url, 'SendMessage', { message: textMessage('replayed', { metadata: { skill: 'echo' } }) }, alice)).task;
    const real = ClusterAssertion.fromFile(join(root, 'cluster-secret'), 'AUTH_CLUSTER_SECRET_FILE');
    const copied = { ...V1, 'x-kagent-caller': real.sign({ tenant: '', principal: 'alice' }, 'kagent-0'), 'x-kagent-forwarded-by': 'kagent-1' };
    assert.equal(ok(await rpc(pods[0]!.url, 'GetTask', { id: mine.id }, copied)).id, mine.id);
    const replay = await rpc(pods[0]!.url, 'GetTask', { id: mine.id }, copied);
    assert.equal(replay.status, 401, JSON.stringify(replay.body));
    assert.equal(errorInfo(assertRpcError(replay.body, -32051)).reason, 'UNAUTHENTICATED');
    // Relayed requests keep working: each relay signs a fresh assertion.
    for (let i = 0; i < 3; i++) assert.equal(ok(await rpc(pods[1]!.url, 'GetTask', { id: mine.id }, alice)).id, mine.id);
  });

  test('with authentication on, per-pod replicas without a shared secret refuse to start, naming the setting', async () => {
    const ports = await freePortDecade();
    const settings = env(0, ports.prefix, ports.port(0));
    delete settings.AUTH_CLUSTER_SECRET_FILE;
    await assert.rejects(startService(join(root, 'data-nosecret'), settings), /AUTH_CLUSTER_SECRET_FILE/);
  });
});

/** A sibling relays the caller's A2A-Version with the assertion. */
const V1 = { 'A2A-Version': '1.0' };

/** An assertion made with a secret that is not the cluster's. */
function forge(secret: string, claims: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `v1.${payload}.${createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url')}`;
}
