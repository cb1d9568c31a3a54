import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { A2AClient, A2AClientError, A2ATimeoutError, userText } from '../../../src/peers/client/index.js';
import type { StreamItem } from '../../../src/peers/client/index.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { replyJson, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { Received, ScriptedServer } from './servers.js';
import { collect, describeItem, rejection, callDeadline } from './util.js';
import { PATIENCE_MS } from '../../support/patience.js';

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
    assert.ok(Date.now() - started < PATIENCE_MS);
  });

  test('the deadline ends the call, whatever the attempt timeout, and is not retried', async () => {
    const server = await scripted(() => {});
    // An attempt timeout far beyond the deadline: only the deadline can end the call in time.
    const client = A2AClient.fromUrl(`${server.url}/a2a`, { timeoutMs: 10 * PATIENCE_MS });
    const started = Date.now();
    const error = await rejection(() => client.send(userText('hang'), { deadlineMs: 300 }));
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'deadline');
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
    assert.ok(Date.now() - started < PATIENCE_MS);
  });

  test("the caller's AbortSignal ends the call as 'aborted', not retried", async () => {
    const controller = new AbortController();
    // The caller gives up while the agent holds the request (it never answers).
    const server = await scripted(() => controller.abort(new Error('user pressed ctrl-c')));
    const error = await rejection(() => A2AClient.fromUrl(`${server.url}/a2a`).getTask('x', { signal: controller.signal, deadlineMs: PATIENCE_MS }));
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
    // A backoff far longer than the test may take: only the abort can end it in time.
    const backoff = 10 * PATIENCE_MS;
    const client = A2AClient.fromUrl(`${server.url}/a2a`, {
      retry: { initialDelayMs: backoff, maxDelayMs: backoff, maxElapsedMs: 2 * backoff, jitter: 0 },
      onRetry: () => setTimeout(() => controller.abort(), 50),
    });
    const started = Date.now();
    const error = await rejection(() => client.getTask('x', { signal: controller.signal }));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'aborted');
    assert.equal(error.attempts, 1);
    assert.equal(server.received.length, 1);
    assert.ok(Date.now() - started < PATIENCE_MS, 'the wait was cut short');
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
      for await (const item of client.stream(userText('quiet'), { deadlineMs: PATIENCE_MS })) items.push(item);
    });
    assert.deepEqual(items.map(describeItem), ['task:working']);
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'stall');
    assert.equal(error.ms, 300);
    assert.ok(Date.now() - started < PATIENCE_MS);
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
    for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('slow reader'), { stallTimeoutMs: 150, deadlineMs: PATIENCE_MS })) {
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
    for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('just one'), { deadlineMs: PATIENCE_MS })) {
      assert.equal(item.kind, 'task');
      break;
    }
    await Promise.race([gone, new Promise((_, reject) => setTimeout(() => reject(new Error('the server never saw the client leave')), PATIENCE_MS))]);
  });
});

describe('heartbeats keep a stream alive', () => {
  // A task waiting for input sends no event at all until it is continued: only
  // heartbeats can keep its subscription alive, whatever the machine's speed.
  const STALL_MS = 1500;
  let chatty: TestAgent;
  let quiet: TestAgent;
  before(async () => {
    chatty = await startTestAgent({ STREAM_HEARTBEAT_INTERVAL: '100ms', CONFORMANCE_AGENT: 'true' });
    quiet = await startTestAgent({ STREAM_HEARTBEAT_INTERVAL: '30s', CONFORMANCE_AGENT: 'true' });
  });
  after(async () => {
    await chatty.dispose();
    await quiet.dispose();
  });

  async function waitingTask(client: A2AClient): Promise<{ id: string; contextId: string }> {
    const sent = await client.send({ ...userText('ask me'), messageId: `tck-input-required-${Math.random().toString(36).slice(2)}` }, callDeadline());
    assert.equal(sent.kind, 'task');
    const { task } = sent as Extract<typeof sent, { kind: 'task' }>;
    assert.equal(task.status.state, 'input-required');
    return task;
  }

  test(`with heartbeats every 100 ms, a ${STALL_MS} ms stall timeout does not fire while the task waits for longer`, async () => {
    const client = await A2AClient.connect(chatty.url);
    const task = await waitingTask(client);
    const reading = collect(client.subscribe(task.id, { stallTimeoutMs: STALL_MS, deadlineMs: PATIENCE_MS }));
    // The scenario, not a wait for work: the task stays silent for more than twice the stall timeout.
    await new Promise((resolve) => setTimeout(resolve, 2 * STALL_MS + 500));
    await client.send({ ...userText('here you are', { taskId: task.id, contextId: task.contextId }), messageId: `tck-complete-task-${Math.random().toString(36).slice(2)}` }, callDeadline());
    const items = await reading;
    assert.equal(describeItem(items[0]!), 'task:input-required');
    assert.equal(describeItem(items.at(-1)!), 'status:completed');
  });

  test('without them, the same subscription stalls', async () => {
    const client = await A2AClient.connect(quiet.url);
    const task = await waitingTask(client);
    const error = await rejection(() => collect(client.subscribe(task.id, { stallTimeoutMs: STALL_MS, deadlineMs: PATIENCE_MS })));
    assert.ok(error instanceof A2ATimeoutError, String(error));
    assert.equal(error.limit, 'stall');
  });
});
