// Our A2A client resumes a dropped stream by itself: the agent is a real one
// (this repository's, per-pod SQLite) behind a loopback proxy the test can
// cut, and the task is held at the test's gate, so the drop happens exactly
// where the test says and the task moves on while the client is away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A2AClient, A2AClientError, userText } from '../../../src/peers/client/index.js';
import type { RetryEvent, StreamItem } from '../../../src/peers/client/index.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { rpc } from '../../support/rpc.js';
import { waitFor, within } from '../../support/wait.js';
import { itemLabel } from '../../support/stream-items.js';
import { startProxy } from './servers.js';
import type { Proxy } from './servers.js';
import { callDeadline, rejection } from './util.js';

describe('the A2A client resumes a dropped stream from its last event id', () => {
  let agent: TestAgent;
  let gate: Gate;
  let proxy: Proxy;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent({ STREAM_HEARTBEAT_INTERVAL: '100ms' });
    proxy = await startProxy(agent.url);
  });

  after(async () => {
    await proxy?.close();
    await agent?.dispose();
    await gate?.close();
  });

  /** Streams a gated task through the proxy and reads up to its "first" progress; the reader then waits. */
  async function streamToFirst(client: A2AClient, run: GatedRun) {
    const stream = client.stream(userText('resume me', { metadata: run.metadata }), callDeadline());
    const next = async () => {
      const step = await within(PATIENCE_MS, 'the next stream item', stream.next());
      assert.equal(step.done, false, 'the stream ended early');
      return itemLabel(step.value as StreamItem);
    };
    const seen = [await next(), await next()];
    run.say('first');
    seen.push(await next());
    return { stream, next, seen, taskId: await run.started() };
  }

  const taskSays = async (taskId: string, text: string) =>
    waitFor(`the task to say "${text}"`, async () => (await rpc(agent.url, 'GetTask', { id: taskId })).body.result.status.message?.parts?.[0]?.text === text);

  test('cut mid-task: the caller reads every event once, in order, as if nothing had happened; the reconnection names the last id', async () => {
    const retries: RetryEvent[] = [];
    const client = await A2AClient.connect(proxy.url, { retry: { initialDelayMs: 10, maxDelayMs: 50 }, onRetry: (event) => retries.push(event) });
    const run = gate.run();
    const { stream, next, seen, taskId } = await streamToFirst(client, run);
    assert.ok(proxy.cut() >= 1, 'the stream went through the proxy');
    // While the client is away, the task moves on: these events reach it only from the log.
    run.say('second');
    run.say('third');
    await taskSays(taskId, 'third');
    const missed = [await next(), await next()];
    run.release();
    const rest: string[] = [];
    for await (const item of stream) rest.push(itemLabel(item));
    assert.deepEqual([...seen, ...missed, ...rest], [
      'task:submitted',
      'status:working:waiting at the gate',
      'status:working:first',
      'status:working:second',
      'status:working:third',
      'artifact:echo',
      'status:completed',
    ]);
    const resumed = proxy.forwarded.filter((f) => f.rpcMethod === 'SubscribeToTask');
    assert.deepEqual(resumed.map((f) => f.lastEventId), ['3']);
    assert.equal(retries.length, 1);
    assert.equal(retries[0]!.error.kind, 'connection');
  });

  test('with resume off, the cut reaches the caller as a connection error', async () => {
    const client = await A2AClient.connect(proxy.url, { resume: false });
    const run = gate.run();
    const { next } = await streamToFirst(client, run);
    proxy.cut();
    const error = await rejection(next);
    assert.ok(error instanceof A2AClientError, String(error));
    assert.equal(error.kind, 'connection');
    run.release();
  });

  test('an agent that stays away: the client gives up after the retry policy\'s attempts, with the last error', async () => {
    const own = await startProxy(agent.url);
    const retries: RetryEvent[] = [];
    const client = await A2AClient.connect(own.url, { retry: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 }, onRetry: (event) => retries.push(event) });
    const run = gate.run();
    const { next } = await streamToFirst(client, run);
    await own.close();
    const error = await rejection(next);
    assert.ok(error instanceof A2AClientError, String(error));
    assert.equal(error.kind, 'connection');
    // Waits before each new try (the tries to resume, and each try's own connection retries).
    assert.ok(retries.length >= 2, `tried to resume again before giving up: ${JSON.stringify(retries.map((r) => r.attempt))}`);
    run.release();
  });
});
