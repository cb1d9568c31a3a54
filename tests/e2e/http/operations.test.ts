import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertRpcError, collectEnvelopes, errorInfo, ok, streamCall } from './helpers.js';
import { metricValue, scrape as metrics } from '../../support/metrics.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';

describe('operational endpoints', () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent();
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
  });

  test('/healthz answers 200', async () => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('/readyz answers 200 while serving', async () => {
    const res = await fetch(`${url}/readyz`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  test('/metrics counts requests by method and outcome, tasks by state, and request durations', async () => {
    const before = await metrics(url);
    const okBefore = metricValue(before, 'a2a_requests_total', { method: 'SendMessage', version: '1.0', outcome: 'ok' }) ?? 0;
    const completedBefore = metricValue(before, 'a2a_tasks', { state: 'completed' }) ?? 0;
    ok(await rpc(url, 'SendMessage', { message: textMessage('count me') }));
    assertRpcError((await rpc(url, 'GetTask', { id: 'no-such-task' })).body, -32001);

    const text = await metrics(url);
    assert.equal(metricValue(text, 'a2a_requests_total', { method: 'SendMessage', version: '1.0', outcome: 'ok' }), okBefore + 1);
    assert.ok((metricValue(text, 'a2a_requests_total', { method: 'GetTask', outcome: 'TASK_NOT_FOUND' }) ?? 0) >= 1);
    assert.equal(metricValue(text, 'a2a_tasks', { state: 'completed' }), completedBefore + 1);
    assert.equal(metricValue(text, 'a2a_tasks', { state: 'working' }), 0);
    assert.ok((metricValue(text, 'a2a_request_duration_seconds_bucket', { method: 'SendMessage', le: '+Inf' }) ?? 0) >= 1);
    assert.ok((metricValue(text, 'a2a_request_duration_seconds_count', { method: 'SendMessage' }) ?? 0) >= 1);
    assert.match(text, /^# TYPE a2a_requests_total counter$/m);
  });

  test('a method name nobody knows never becomes a metric label', async () => {
    assertRpcError((await rpc(url, 'Invented/methodName', {})).body, -32601);
    const text = await metrics(url);
    assert.equal(text.includes('Invented/methodName'), false);
    assert.ok((metricValue(text, 'a2a_requests_total', { method: 'unknown', outcome: 'METHOD_NOT_FOUND' }) ?? 0) >= 1);
  });

  test('an unknown path is 404 and GET on the JSON-RPC path is 405', async () => {
    const missing = await fetch(`${url}/no/such/path`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    for (const path of ['/', '/a2a']) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      await res.arrayBuffer();
    }
  });
});

describe('graceful stop', () => {
  let dataDir: string;
  let stopped: TestAgent | undefined;
  let restarted: TestAgent | undefined;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'kagent-a2a-http-stop-'));
  });

  after(async () => {
    await stopped?.stop();
    await restarted?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('turns not-ready at once, refuses new work with a retryable error, and finishes running tasks', async (t) => {
    const gate = await Gate.start();
    t.after(() => gate.close());
    stopped = await startTestAgent({}, dataDir);
    const url = stopped.url;
    // Held running until the stop has begun and been checked: then let go, within DRAIN_TIMEOUT.
    const run = gate.run();
    const { task } = ok(
      await rpc(url, 'SendMessage', { message: textMessage('finish me', { metadata: run.metadata }), configuration: { returnImmediately: true } }),
    );
    await run.started();
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    const stopping = stopped.stop();
    await waitFor('/readyz to turn 503', async () => {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      return res.status === 503 ? true : undefined;
    }, PATIENCE_MS, 10);

    // Still draining: reads work, new work is refused with a retry hint.
    const refused = await rpc(url, 'SendMessage', { message: textMessage('too late') });
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'));
    const error = assertRpcError(refused.body, -32050);
    assert.equal(errorInfo(error).reason, 'UNAVAILABLE');
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_WORKING');
    assert.equal(run.wasAborted, false, 'the drain aborted a task it should let finish');

    run.release();
    await within(PATIENCE_MS, 'the agent to stop', stopping);
    stopped = undefined;
    await assert.rejects(fetch(`${url}/healthz`), 'the port is closed after stop');

    restarted = await startTestAgent({}, dataDir);
    const after = ok(await rpc(restarted.url, 'GetTask', { id: task.id }));
    assert.equal(after.status.state, 'TASK_STATE_COMPLETED', 'the drain let the running task finish');
    assert.deepEqual(after.artifacts[0].parts, [{ text: 'finish me' }]);
    const list = ok(await rpc(restarted.url, 'ListTasks', {}));
    assert.equal(list.totalSize, 1, 'the refused message stored nothing');
  });

  test('ends open streams of tasks waiting for input instead of hanging', async () => {
    const waiting = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
    try {
      const { task } = ok(
        await rpc(waiting.url, 'SendMessage', { message: textMessage('ask', { messageId: `tck-input-required-${Date.now()}` }) }),
      );
      assert.equal(task.status.state, 'TASK_STATE_INPUT_REQUIRED');
      const call = await streamCall(waiting.url, 'SubscribeToTask', { id: task.id });
      const events = collectEnvelopes(call);
      await waitFor('the subscription to be open', async () => {
        const open = metricValue(await metrics(waiting.url), 'a2a_stream_subscribers') ?? 0;
        return open >= 1 ? true : undefined;
      });
      await within(PATIENCE_MS, 'the agent to stop with a stream open', waiting.stop());
      const received = await events;
      assert.equal(received[0].result.task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    } finally {
      // stop() is idempotent: this also cleans up after a failure above.
      await waiting.dispose();
    }
  });
});
