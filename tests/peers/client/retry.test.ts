import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import {
  A2AClient,
  A2AClientError,
  A2ATimeoutError,
  DEFAULT_RETRY,
  TaskNotFoundError,
  backoffDelay,
  isRetryable,
  parseRetryAfter,
  userText,
} from '../../../src/peers/client/index.js';
import type { RetryEvent, RetryPolicy } from '../../../src/peers/client/index.js';
import { resolveRetry } from '../../../src/peers/client/retry.js';
import { closedPort, replyJson, rpcError, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { ScriptedServer } from './servers.js';
import { rejection } from './util.js';
import { PATIENCE_MS } from '../../support/patience.js';

// Retries against real local servers that fail on purpose. Waits are kept
// short through the policy; timing is only checked as "within the deadline"
// and, for Retry-After, "not sooner than asked".

const FAST: Partial<RetryPolicy> = { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 4 };

let servers: ScriptedServer[] = [];
async function scripted(...args: Parameters<typeof startScriptedServer>): Promise<ScriptedServer> {
  const server = await startScriptedServer(...args);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function clientOf(server: ScriptedServer, retries: RetryEvent[] = [], retry: Partial<RetryPolicy> = FAST): A2AClient {
  return A2AClient.fromUrl(`${server.url}/a2a`, { retry, deadlineMs: 10_000, onRetry: (e) => retries.push(e) });
}

describe('what is retried', () => {
  test('503 then 200: retried once, succeeds, and the retry carries the same messageId', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
      replyJson(res, 200, rpcResult(req, { task: wireTask('t-1', 'after a retry') }));
    });
    const retries: RetryEvent[] = [];
    const message = userText('twice');
    const result = await clientOf(server, retries).send(message);
    assert.equal(result.kind, 'task');
    assert.equal(result.kind === 'task' && result.task.id, 't-1');
    assert.equal(server.received.length, 2);
    assert.deepEqual(
      server.received.map((r) => r.json.params.message.messageId),
      [message.messageId, message.messageId],
    );
    assert.equal(server.received[0]!.body, server.received[1]!.body);
    assert.equal(retries.length, 1);
    assert.equal(retries[0]!.error.kind, 'http');
    assert.equal(retries[0]!.error.httpStatus, 503);
  });

  test('429 with Retry-After: the retry waits at least as long as asked', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) return void res.writeHead(429, { 'retry-after': '1' }).end();
      replyJson(res, 200, rpcResult(req, wireTask('t-2')));
    });
    const retries: RetryEvent[] = [];
    const task = await clientOf(server, retries).getTask('t-2');
    assert.equal(task.id, 't-2');
    assert.equal(server.received.length, 2);
    assert.equal(retries[0]!.error.retryAfterMs, 1000);
    assert.ok(retries[0]!.delayMs >= 1000, `waited ${retries[0]!.delayMs} ms`);
    const gap = server.received[1]!.at - server.received[0]!.at;
    assert.ok(gap >= 950, `the retry came after ${gap} ms, sooner than the 1 s asked`);
  });

  test('a draining agent (-32050, HTTP 503, Retry-After) is retried', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) {
        const data = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'UNAVAILABLE', domain: 'a2a-protocol.org', metadata: { retryAfterSeconds: '0' } }];
        return void replyJson(res, 503, rpcError(req, -32050, 'the agent is shutting down; retry on another replica', data), { 'retry-after': '0' });
      }
      replyJson(res, 200, rpcResult(req, { task: wireTask('t-3') }));
    });
    const retries: RetryEvent[] = [];
    await clientOf(server, retries).send(userText('drain'));
    assert.equal(server.received.length, 2);
    assert.equal(retries[0]!.error.code, -32050);
    assert.equal(retries[0]!.error.reason, 'UNAVAILABLE');
  });

  test('-32050 is retried even in a 200 answer; -32603 only when the HTTP status is 5xx', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) return void replyJson(res, 200, rpcError(req, -32050, 'owner away'));
      if (i === 1) return void replyJson(res, 500, rpcError(req, -32603, 'Internal error'));
      if (i === 2) return void replyJson(res, 200, rpcResult(req, wireTask('t-4')));
      replyJson(res, 200, rpcError(req, -32603, 'Internal error'));
    });
    const client = clientOf(server);
    assert.equal((await client.getTask('t-4')).id, 't-4');
    assert.equal(server.received.length, 3);
    const error = await rejection(() => client.getTask('t-4'));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.code, -32603);
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 4);
  });

  test('a timed-out attempt is retried with the same message', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) return; // never answers
      replyJson(res, 200, rpcResult(req, { task: wireTask('t-5') }));
    });
    const retries: RetryEvent[] = [];
    const client = A2AClient.fromUrl(`${server.url}/a2a`, { retry: FAST, timeoutMs: 200, deadlineMs: 5000, onRetry: (e) => retries.push(e) });
    const message = userText('slow server');
    await client.send(message);
    assert.equal(server.received.length, 2);
    assert.ok(retries[0]!.error instanceof A2ATimeoutError);
    assert.equal((retries[0]!.error as A2ATimeoutError).limit, 'call');
    assert.equal(server.received[1]!.json.params.message.messageId, message.messageId);
  });

  test('opening a stream is retried; a stream cut after it began is not', async () => {
    const server = await scripted((req, res, i) => {
      if (i === 0) return void res.writeHead(502).end('bad gateway');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(rpcResult(req, { task: { ...wireTask('t-6'), status: { state: 'TASK_STATE_WORKING' } } }))}\n\n`);
      setTimeout(() => res.destroy(), 50);
    });
    const items: string[] = [];
    const error = await rejection(async () => {
      for await (const item of clientOf(server).stream(userText('cut'))) items.push(item.kind);
    });
    assert.deepEqual(items, ['task']);
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'connection');
    assert.equal(server.received.length, 2, 'one failed opening, one stream; the cut stream was not reopened');
  });

  test('connect retries a failing card fetch', async () => {
    let server: ScriptedServer | undefined;
    server = await scripted((_req, res, i) => {
      if (i === 0) return void res.writeHead(503).end();
      replyJson(res, 200, server!.card());
    }, null);
    const client = await A2AClient.connect(server.url, { retry: FAST });
    assert.equal(client.card.name, 'scripted');
    assert.equal(server.received.length, 2);
  });
});

describe('what is never retried', () => {
  test('HTTP 400 without an A2A error: one attempt', async () => {
    const server = await scripted((_req, res) => void res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request'));
    const error = await rejection(() => clientOf(server).send(userText('no')));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'http');
    assert.equal(error.httpStatus, 400);
    assert.equal(error.code, 400);
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
  });

  test('other 4xx statuses: one attempt each', async () => {
    for (const status of [401, 403, 404, 409, 413]) {
      const server = await scripted((_req, res) => void res.writeHead(status).end());
      const error = await rejection(() => clientOf(server).getTask('x'));
      assert.ok(error instanceof A2AClientError);
      assert.equal(error.httpStatus, status);
      assert.equal(server.received.length, 1, `HTTP ${status} was retried`);
    }
  });

  test('JSON-RPC request errors, even in a 503 answer: one attempt each', async () => {
    const codes = [-32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004, -32005, -32006, -32007, -32008, -32009];
    let code = 0;
    const server = await scripted((req, res) => replyJson(res, 503, rpcError(req, code, `error ${code}`), { 'retry-after': '0' }));
    const client = clientOf(server);
    for (code of codes) {
      const before = server.received.length;
      const error = await rejection(() => client.getTask('x'));
      assert.ok(error instanceof A2AClientError);
      assert.equal(error.kind, 'rpc');
      assert.equal(error.code, code);
      assert.equal(error.attempts, 1);
      assert.equal(server.received.length - before, 1, `code ${code} was retried`);
      assert.equal(error instanceof TaskNotFoundError, code === -32001);
    }
  });

  test('an answer that is not A2A: one attempt, invalid-response', async () => {
    const server = await scripted((_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    const error = await rejection(() => clientOf(server).getTask('x'));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'invalid-response');
    assert.equal(server.received.length, 1);
  });
});

describe('giving up', () => {
  test('a peer that is down: every attempt is made, within the deadline', async () => {
    const port = await closedPort();
    const retries: RetryEvent[] = [];
    const client = A2AClient.fromUrl(`http://127.0.0.1:${port}/a2a`, {
      retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 200 },
      deadlineMs: PATIENCE_MS,
      onRetry: (e) => retries.push(e),
    });
    const started = Date.now();
    const error = await rejection(() => client.send(userText('anyone?')));
    const elapsed = Date.now() - started;
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'connection');
    assert.equal(error.networkCode, 'ECONNREFUSED');
    assert.equal(error.attempts, 5);
    assert.equal(retries.length, 4);
    assert.ok(elapsed < PATIENCE_MS, `took ${elapsed} ms`);
  });

  test('a deadline shorter than the backoff: stops early, before the deadline', async () => {
    const port = await closedPort();
    const client = A2AClient.fromUrl(`http://127.0.0.1:${port}/a2a`, { retry: { maxAttempts: 1000, initialDelayMs: 100, maxDelayMs: 400, jitter: 0 }, deadlineMs: 5000 });
    const started = Date.now();
    const error = await rejection(() => client.getTask('x'));
    const elapsed = Date.now() - started;
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'connection');
    // Waits of 100, 200, 400, 400 … ms until the next would cross the 5 s deadline: it gives up then, with the connection error, not a timeout.
    assert.ok(error.attempts >= 2 && error.attempts < 1000, `${error.attempts} attempts`);
    assert.ok(elapsed < PATIENCE_MS, `took ${elapsed} ms`);
  });

  test('the retry policy total time bounds the retries too', async () => {
    const port = await closedPort();
    const client = A2AClient.fromUrl(`http://127.0.0.1:${port}/a2a`, { retry: { maxAttempts: 1000, initialDelayMs: 100, maxDelayMs: 100, jitter: 0, maxElapsedMs: 2000 } });
    const started = Date.now();
    const error = await rejection(() => client.getTask('x'));
    assert.ok(error instanceof A2AClientError);
    // At most one attempt per 100 ms wait within the 2 s budget (fewer on a slow machine), far from the 1000 allowed.
    assert.ok(error.attempts >= 1 && error.attempts <= 21, `${error.attempts} attempts`);
    assert.ok(Date.now() - started < PATIENCE_MS);
  });

  test('Retry-After beyond the deadline: gives up at once instead of retrying early', async () => {
    const server = await scripted((_req, res) => void res.writeHead(503, { 'retry-after': String((3 * PATIENCE_MS) / 1000) }).end());
    const started = Date.now();
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`, { retry: FAST, deadlineMs: 2 * PATIENCE_MS }).getTask('x'));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.httpStatus, 503);
    assert.equal(error.retryAfterMs, 3 * PATIENCE_MS);
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
    // It did not wait for the deadline.
    assert.ok(Date.now() - started < PATIENCE_MS);
  });

  test('retry: false makes one attempt', async () => {
    const server = await scripted((_req, res) => void res.writeHead(503).end());
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`, { retry: FAST }).getTask('x', { retry: false }));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
  });
});

describe('the policy, computed', () => {
  test('backoff doubles up to the cap; jitter only shortens, within its fraction', () => {
    const policy = resolveRetry({ initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0)), [100, 200, 400, 800, 1000, 1000]);
    assert.deepEqual([1, 2, 3].map((n) => backoffDelay(policy, n, () => 1)), [50, 100, 200]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(policy, 3, Math.random);
      assert.ok(d >= 200 && d <= 400, String(d));
    }
  });

  test('layers override the defaults; false turns retries off; nonsense is refused', () => {
    assert.equal(resolveRetry().maxAttempts, DEFAULT_RETRY.maxAttempts);
    assert.equal(resolveRetry({ maxAttempts: 7 }, { initialDelayMs: 1 }).maxAttempts, 7);
    assert.equal(resolveRetry({ maxAttempts: 7 }, false).maxAttempts, 1);
    assert.equal(resolveRetry({ maxAttempts: 7 }, { maxAttempts: undefined }).maxAttempts, 7);
    assert.throws(() => resolveRetry({ maxAttempts: 0 }), /maxAttempts/);
    assert.throws(() => resolveRetry({ jitter: 2 }), /jitter/);
  });

  test('Retry-After: seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  test('classification table', () => {
    const rpc = (code: number, httpStatus = 200) => new A2AClientError('rpc', 'x', { code, httpStatus });
    assert.equal(isRetryable(new A2AClientError('connection', 'x')), true);
    assert.equal(isRetryable(new A2ATimeoutError('call', 1, undefined)), true);
    assert.equal(isRetryable(new A2ATimeoutError('deadline', 1, undefined)), false);
    assert.equal(isRetryable(new A2ATimeoutError('stall', 1, undefined)), false);
    assert.equal(isRetryable(new A2AClientError('aborted', 'x')), false);
    assert.equal(isRetryable(new A2AClientError('http', 'x', { httpStatus: 500 })), true);
    assert.equal(isRetryable(new A2AClientError('http', 'x', { httpStatus: 429 })), true);
    assert.equal(isRetryable(new A2AClientError('http', 'x', { httpStatus: 408 })), false);
    assert.equal(isRetryable(rpc(-32050)), true);
    assert.equal(isRetryable(rpc(-32603)), false);
    assert.equal(isRetryable(rpc(-32603, 502)), true);
    assert.equal(isRetryable(rpc(-32099, 503)), true);
    assert.equal(isRetryable(rpc(-32602, 503)), false);
    assert.equal(isRetryable(new A2AClientError('unsupported', 'x')), false);
  });
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
