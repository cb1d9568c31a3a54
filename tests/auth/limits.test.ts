import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { metricValue, scrape } from '../support/metrics.js';
import { bearer, newApiKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { openStream, rpc, textMessage } from '../support/rpc.js';
import type { RpcResponse, SseStream } from '../support/rpc.js';
import { waitFor } from '../support/wait.js';

const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

function keyDir(root: string, principals: readonly string[]): { dir: string; keys: Record<string, string> } {
  const dir = join(root, 'keys');
  mkdirSync(dir);
  const keys: Record<string, string> = {};
  for (const principal of principals) {
    keys[principal] = newApiKey();
    writeFileSync(join(dir, principal), keys[principal]!);
  }
  return { dir, keys };
}

/** HTTP 429 with Retry-After, and a JSON-RPC error with the same delay in RetryInfo. */
function assertLimited(res: RpcResponse, reason: string): void {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
  const error = assertRpcError(res.body, -32053);
  assert.equal(errorInfo(error).reason, reason);
  assert.deepEqual(
    error.data.find((d: any) => d['@type'] === RETRY_INFO),
    { '@type': RETRY_INFO, retryDelay: `${retryAfter}s` },
  );
}

describe('RATE_LIMIT: a token bucket per principal', () => {
  let root: string;
  let agent: TestAgent;
  let keys: Record<string, string>;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-rate-'));
    const made = keyDir(root, ['flood', 'calm', 'fresh']);
    keys = made.keys;
    // One token a minute: within this test the bucket holds its burst and (at most) one refill.
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: made.dir, RATE_LIMIT: '1/m,burst=5' });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a flooding caller gets 429 with Retry-After past its burst, while another caller is served every time', async () => {
    const flood = Array.from({ length: 40 }, () => rpc(agent.url, 'ListTasks', {}, bearer(keys.flood!)));
    const calm: RpcResponse[] = [];
    for (let i = 0; i < 5; i++) calm.push(await rpc(agent.url, 'ListTasks', {}, bearer(keys.calm!)));
    const flooded = await Promise.all(flood);
    const served = flooded.filter((res) => res.status === 200).length;
    assert.ok(served === 5 || served === 6, `the burst (5, plus at most one refill) is served: ${served}`);
    const refused = flooded.filter((res) => res.status !== 200);
    assert.equal(refused.length, 40 - served);
    for (const res of refused) assertLimited(res, 'RATE_LIMITED');
    // The same bucket, over HTTP+JSON: refused before the route runs, as a Status.
    const overRest = await fetch(`${agent.url}/tasks`, { headers: bearer(keys.flood!) });
    assert.equal(overRest.status, 429);
    assert.equal(((await overRest.json()) as { error: { details: { reason?: string }[] } }).error.details[0]?.reason, 'RATE_LIMITED');
    for (const res of calm) ok(res);
    const metrics = await scrape(agent.url);
    assert.equal(metricValue(metrics, 'kagent_limited_total', { limit: 'rate' }), refused.length + 1);
  });

  test('unauthenticated requests are refused before any bucket: they use up nobody’s rate', async () => {
    const anonymous = await Promise.all(Array.from({ length: 20 }, () => rpc(agent.url, 'ListTasks', {}, bearer(newApiKey()))));
    assert.ok(anonymous.every((res) => res.status === 401));
    for (let i = 0; i < 5; i++) ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.fresh!)));
  });
});

describe('RATE_LIMIT without authentication', () => {
  let agent: TestAgent;

  before(async () => {
    // Every caller is the anonymous one: they share one bucket.
    agent = await startTestAgent({ AUTH_MODE: 'none', RATE_LIMIT: '1/m,burst=3' });
  });

  after(async () => {
    await agent?.dispose();
  });

  test('holds the anonymous caller to its bucket, though no credential is checked', async () => {
    const answers: RpcResponse[] = [];
    for (let i = 0; i < 6; i++) answers.push(await rpc(agent.url, 'ListTasks', {}));
    const served = answers.filter((res) => res.status === 200).length;
    assert.ok(served === 3 || served === 4, `the burst (3, plus at most one refill) is served: ${served}`);
    for (const res of answers.filter((res) => res.status !== 200)) assertLimited(res, 'RATE_LIMITED');
  });
});

describe('MAX_TASKS_PER_PRINCIPAL and MAX_STREAMS_PER_PRINCIPAL', () => {
  let root: string;
  let agent: TestAgent;
  let keys: Record<string, string>;
  const started: { key: string; id: string }[] = [];

  const slowTask = async (who: string): Promise<RpcResponse> => {
    const res = await rpc(
      agent.url,
      'SendMessage',
      { message: textMessage('slow', { metadata: { skill: 'echo', delayMs: 120_000 } }), configuration: { returnImmediately: true } },
      bearer(keys[who]!),
    );
    if (res.status === 200) started.push({ key: keys[who]!, id: res.body.result.task.id });
    return res;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-caps-'));
    const made = keyDir(root, ['busy', 'other', 'watcher', 'viewer']);
    keys = made.keys;
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: made.dir, MAX_TASKS_PER_PRINCIPAL: '2', MAX_STREAMS_PER_PRINCIPAL: '1' });
  });

  after(async () => {
    for (const { key, id } of started) await rpc(agent.url, 'CancelTask', { id }, bearer(key)).catch(() => undefined);
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a caller with its cap of running tasks gets 429 for another; other callers start theirs', async () => {
    ok(await slowTask('busy'));
    ok(await slowTask('busy'));
    assertLimited(await slowTask('busy'), 'TOO_MANY_TASKS');
    const streamed = await rpc(agent.url, 'SendStreamingMessage', { message: textMessage('more', { metadata: { skill: 'echo', delayMs: 120_000 } }) }, bearer(keys.busy!));
    assertLimited(streamed, 'TOO_MANY_TASKS');
    ok(await slowTask('other'));
    // Quick work by the capped caller is refused too: the cap counts tasks, whatever they do.
    assertLimited(await rpc(agent.url, 'SendMessage', { message: textMessage('quick') }, bearer(keys.busy!)), 'TOO_MANY_TASKS');
    // Reads are not capped.
    assert.equal(ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.busy!))).totalSize, 2);
  });

  test('when one of its tasks ends, the caller may start another', async () => {
    const mine = started.filter((task) => task.key === keys.busy);
    ok(await rpc(agent.url, 'CancelTask', { id: mine[0]!.id }, bearer(keys.busy!)));
    await waitFor('a task slot to free up', async () => {
      const res = await slowTask('busy');
      if (res.status === 429) return undefined;
      ok(res);
      return true;
    });
  });

  test('a caller with its cap of open streams gets 429 for another; other callers still subscribe', async () => {
    const watched = ok(await slowTask('watcher')).task.id;
    const viewed = ok(await slowTask('viewer')).task.id;
    const first = await openStream(agent.url, 'SubscribeToTask', { id: watched }, bearer(keys.watcher!));
    assert.equal(first.status, 200);
    const firstEvents = first.events();
    assert.ok((await firstEvents.next()).value.result.task, 'the first stream is open');
    assertLimited(await rpc(agent.url, 'SubscribeToTask', { id: watched }, bearer(keys.watcher!)), 'TOO_MANY_STREAMS');
    // The cap counts the caller's streams whichever binding opened them: HTTP+JSON says it as a Status.
    const overRest = await fetch(`${agent.url}/tasks/${encodeURIComponent(watched)}:subscribe`, { headers: bearer(keys.watcher!) });
    assert.equal(overRest.status, 429);
    assert.ok(Number(overRest.headers.get('retry-after')) >= 1);
    const refusal = (await overRest.json()) as { error: { code: number; status: string; details: { reason?: string }[] } };
    assert.deepEqual([refusal.error.code, refusal.error.status, refusal.error.details[0]?.reason], [429, 'RESOURCE_EXHAUSTED', 'TOO_MANY_STREAMS']);
    let other: SseStream | undefined;
    try {
      other = await openStream(agent.url, 'SubscribeToTask', { id: viewed }, bearer(keys.viewer!));
      assert.equal(other.status, 200);
      assert.ok((await other.events().next()).value.result.task);
    } finally {
      other?.close();
    }
    first.close();
    await waitFor('the closed stream to free its slot', async () => {
      const res = await openStream(agent.url, 'SubscribeToTask', { id: watched }, bearer(keys.watcher!));
      if (res.status === 429) {
        for await (const _ of res.events()) void _;
        return undefined;
      }
      res.close();
      return true;
    });
  });
});
