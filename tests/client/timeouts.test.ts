import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { A2AClient, A2AClientError, A2ATimeoutError, userText } from '../../src/peers/client/index.js';
import type { Message, StreamItem } from '../../src/peers/client/index.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { replyJson, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { Received, ScriptedServer } from './servers.js';
import { collect, describeItem, rejection } from './util.js';

// Per-call timeouts, the overall deadline, the caller's AbortSignal and the
// stall timeout of streams, against servers that hang on purpose.

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

function sseEvent(req: Received, result: unknown): string {
  return `data: ${JSON.stringify(rpcResult(req, result))}\n\n`;
}

const working = (id: string) => ({ task: { ...wireTask(id), status: { state: 'TASK_STATE_WORKING' } } });
const completed = (id: string) => ({ statusUpdate: { taskId: id, contextId: 'ctx-1', status: { state: 'TASK_STATE_COMPLETED' } } });

describe('limits of a call', () => {
  test('an attempt that gets no answer ends with a call timeout', async () => {
    const server = await scripted(() => {});
    const started = Date.now();
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`, { retry: false, timeoutMs: 200 }).getTask('x'));
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.kind, 'timeout');
    assert.equal(error.limit, 'call');
    assert.equal(error.attempts, 1);
    assert.ok(Date.now() - started < 3000);
  });

  test('the deadline ends the call, whatever the attempt timeout, and is not retried', async () => {
    const server = await scripted(() => {});
    const client = A2AClient.fromUrl(`${server.url}/a2a`, { timeoutMs: 60_000 });
    const started = Date.now();
    const error = await rejection(() => client.send(userText('hang'), { deadlineMs: 300 }));
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'deadline');
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
    assert.ok(Date.now() - started < 3000);
  });

  test("the caller's AbortSignal ends the call as 'aborted', not retried", async () => {
    const controller = new AbortController();
    // The caller gives up while the agent holds the request (it never answers).
    const server = await scripted(() => controller.abort(new Error('user pressed ctrl-c')));
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`).getTask('x', { signal: controller.signal, deadlineMs: 5000 }));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'aborted');
    assert.equal(error.attempts, 1);
    assert.equal((error.cause as Error).message, 'user pressed ctrl-c');
    assert.equal(server.received.length, 1);
  });

  test('an already-aborted signal sends nothing', async () => {
    const server = await scripted((req, res) => replyJson(res, 200, rpcResult(req, wireTask('x'))));
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`).getTask('x', { signal: AbortSignal.abort() }));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'aborted');
    assert.equal(server.received.length, 0);
  });

  test('an abort during the backoff wait stops the retries', async () => {
    const server = await scripted((_req, res) => void res.writeHead(503).end());
    const controller = new AbortController();
    const client = A2AClient.fromUrl(`${server.url}/a2a`, { retry: { initialDelayMs: 2000, jitter: 0 }, onRetry: () => setTimeout(() => controller.abort(), 50) });
    const started = Date.now();
    const error = await rejection(() => client.getTask('x', { signal: controller.signal }));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'aborted');
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
    assert.ok(Date.now() - started < 1500, 'the wait was cut short');
  });
});

describe('limits of a stream', () => {
  test('a stream that goes silent ends with a stall timeout after the items it sent', async () => {
    const server = await scripted((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req, working('s-1')));
      // then nothing: no event, no heartbeat
    });
    const client = A2AClient.fromUrl(`${server.url}/a2a`, { stallTimeoutMs: 300 });
    const items: StreamItem[] = [];
    const started = Date.now();
    const error = await rejection(async () => {
      for await (const item of client.stream(userText('quiet'), { deadlineMs: 5000 })) items.push(item);
    });
    assert.deepEqual(items.map(describeItem), ['task:working']);
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'stall');
    assert.equal(error.ms, 300);
    assert.ok(Date.now() - started < 3000);
  });

  test('the deadline ends a stream that is still going', async () => {
    const server = await scripted((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req, working('s-2')));
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 50);
      res.on('close', () => clearInterval(beat));
    });
    const items: StreamItem[] = [];
    const error = await rejection(async () => {
      for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('long'), { deadlineMs: 400, stallTimeoutMs: 0 })) items.push(item);
    });
    assert.equal(items.length, 1);
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'deadline');
  });

  test('a consumer slower than the stall timeout is not taken for a stalled server', async () => {
    const server = await scripted((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req, working('s-3')));
      setTimeout(() => res.end(sseEvent(req, completed('s-3'))), 50);
    });
    const seen: string[] = [];
    for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('slow reader'), { stallTimeoutMs: 150, deadlineMs: 5000 })) {
      seen.push(describeItem(item));
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    assert.deepEqual(seen, ['task:working', 'status:completed']);
  });

  test('leaving a stream early closes its connection', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    const server = await scripted((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req, working('s-4')));
      res.on('close', () => closed());
    });
    for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('just one'), { deadlineMs: 5000 })) {
      assert.equal(item.kind, 'task');
      break;
    }
    await Promise.race([gone, new Promise((_, reject) => setTimeout(() => reject(new Error('the server never saw the client leave')), 3000))]);
  });
});

describe('heartbeats keep a stream alive', () => {
  let chatty: TestAgent;
  let quiet: TestAgent;
  before(async () => {
    chatty = await startTestAgent({ STREAM_HEARTBEAT_INTERVAL: '100ms' });
    quiet = await startTestAgent({ STREAM_HEARTBEAT_INTERVAL: '30s' });
  });
  after(async () => {
    await chatty.dispose();
    await quiet.dispose();
  });

  function waiting(): Message {
    const message = userText('take your time');
    // Longer than the stall timeout, shorter than the echo skill's first progress update (1 s).
    message.metadata = { delayMs: 900 };
    return message;
  }

  test('with heartbeats every 100 ms, a 500 ms stall timeout does not fire during 900 ms of work', async () => {
    const client = await A2AClient.connect(chatty.url);
    const items = await collect(client.stream(waiting(), { stallTimeoutMs: 500, deadlineMs: 5000 }));
    assert.equal(describeItem(items.at(-1)!), 'status:completed');
  });

  test('without them, the same stream stalls', async () => {
    const client = await A2AClient.connect(quiet.url);
    const error = await rejection(() => collect(client.stream(waiting(), { stallTimeoutMs: 500, deadlineMs: 5000 })));
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'stall');
  });
});
