import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { collect, openStream, rpc } from '../../support/rpc.js';
import { freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// Four replicas on loopback (A2A_REPLICAS=4, per-pod URLs by ordinal): kagent-0..2
// are real processes; kagent-3 is a stand-in sibling that the tests make
// misbehave in ways a real one does only by accident — stall mid-stream, die
// mid-event, hold a blocking answer — and that records what it is sent. A
// replica that accepts and never answers is a real one, stopped with SIGSTOP.

const RESPONSE_TIMEOUT_MS = 3000;

type Mode = 'record' | 'stall-stream' | 'die-mid-stream' | 'hold';

interface FakeSibling {
  mode: Mode;
  seen: { method: string; headers: IncomingHttpHeaders }[];
  healthChecks: number;
  /** Requests held (mode 'hold') whose connection the relaying pod closed before they were answered. */
  heldAbandoned: number;
  /** Answers the held request (mode 'hold'). */
  release(body: string): void;
  close(): Promise<void>;
}

async function startFakeSibling(port: number): Promise<FakeSibling> {
  let held: ServerResponse | undefined;
  const fake: FakeSibling = {
    mode: 'record',
    seen: [],
    healthChecks: 0,
    heldAbandoned: 0,
    release(body) {
      held?.writeHead(200, { 'content-type': 'application/json' }).end(body);
      held = undefined;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => void answer(req, res));
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/healthz') {
      fake.healthChecks++;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    }
    if (req.url?.startsWith('/.well-known/')) return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rpcRequest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown; method: string; params?: { id?: string } };
    fake.seen.push({ method: rpcRequest.method, headers: req.headers });
    const id = JSON.stringify(rpcRequest.id);
    const taskFrame = `data: {"jsonrpc":"2.0","id":${id},"result":{"task":{"id":"${rpcRequest.params?.id}","contextId":"c","status":{"state":"TASK_STATE_WORKING"}}}}\n\n`;
    switch (fake.mode) {
      case 'record':
        if (rpcRequest.method === 'ListTasks') {
          return void res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(`{"jsonrpc":"2.0","id":${id},"result":{"tasks":[],"nextPageToken":"","pageSize":50,"totalSize":0}}`);
        }
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(`{"jsonrpc":"2.0","id":${id},"error":{"code":-32001,"message":"task not found (answered by the stand-in)"}}`);
      case 'stall-stream':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(taskFrame);
        return; // and then nothing, not even a heartbeat
      case 'die-mid-stream':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(taskFrame);
        res.write(`data: {"jsonrpc":"2.0","id":${id},"result":{"statusUp`, () => res.socket?.destroy());
        return;
      case 'hold':
        held = res;
        res.once('close', () => {
          if (!res.writableFinished) fake.heldAbandoned++;
        });
        return;
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return fake;
}

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `deadline-${process.pid}-${counter++}`, parts: [{ text }], ...extra };
}

function errorInfo(error: { data?: { '@type': string; reason?: string; metadata?: Record<string, string> }[] } | undefined) {
  return error?.data?.find((d) => d['@type'].endsWith('ErrorInfo'));
}

describe('calls between replicas have deadlines, and a sibling failing mid-answer is said so', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let fake: FakeSibling;

  before(async () => {
    const ports = await freePortDecade();
    fake = await startFakeSibling(await ports.take(3));
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-deadline-${i}-`)));
    // One at a time: starting several processes at once on a busy machine only makes each slower.
    for (let i = 0; i < 3; i++) {
      pods.push(
        await startService(dirs[i]!, {
          POD_NAME: `kagent-${i}`,
          PORT: String(ports.port(i)),
          A2A_REPLICAS: '4',
          A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
          A2A_POD_RESPONSE_TIMEOUT: `${RESPONSE_TIMEOUT_MS}ms`,
          CONFORMANCE_AGENT: 'true',
          STREAM_HEARTBEAT_INTERVAL: '200ms',
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await fake?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a forwarded request carries no credentials, and keeps the protocol and trace headers', async () => {
    fake.mode = 'record';
    fake.seen.length = 0;
    const headers = {
      'A2A-Version': '1.0',
      Authorization: 'Bearer caller-secret',
      Cookie: 'session=caller-secret',
      'Proxy-Authorization': 'Basic Y2FsbGVyOnNlY3JldA==',
      'X-Api-Key': 'caller-secret',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'X-Request-Id': 'req-42',
    };
    const got = await rpc(pods[0]!.url, 'GetTask', { id: 'kagent-3.0190a5f2-0000-7000-8000-000000000001' }, headers);
    assert.match(got.body.error?.message ?? '', /answered by the stand-in/, 'the owner\'s answer is relayed');
    const listed = await rpc(pods[0]!.url, 'ListTasks', {}, headers);
    assert.ok(listed.body.result, JSON.stringify(listed.body));

    assert.deepEqual(fake.seen.map((s) => s.method), ['GetTask', 'ListTasks']);
    for (const { headers: received } of fake.seen) {
      for (const secret of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) assert.equal(received[secret], undefined, `${secret} must not reach a pod`);
      assert.ok(!JSON.stringify(received).includes('caller-secret'));
      assert.equal(received['a2a-version'], '1.0');
      assert.equal(received.traceparent, headers.traceparent);
      assert.equal(received['x-request-id'], 'req-42');
      assert.equal(received['x-kagent-forwarded-by'], 'kagent-0');
    }
  });

  test('a replica that accepts and never answers costs a deadline, not minutes: reads fail retryably, lists go on without it', async () => {
    fake.mode = 'record';
    const ids: string[] = [];
    for (const pod of pods) {
      const sent = await rpc(pod.url, 'SendMessage', { message: message('listed', { metadata: { skill: 'echo' } }) });
      ids.push(sent.body.result.task.id as string);
    }
    const waiting = await rpc(pods[2]!.url, 'SendMessage', { message: { ...message('start'), messageId: `tck-input-required-${process.pid}-${counter++}` } });
    const waitingId = waiting.body.result.task.id as string;
    assert.equal(waiting.body.result.task.status.state, 'TASK_STATE_INPUT_REQUIRED');

    // Stopped, the process keeps its socket: the kernel accepts connections and nobody answers.
    pods[2]!.child.kill('SIGSTOP');
    try {
      let started = Date.now();
      const got = await rpc(pods[0]!.url, 'GetTask', { id: ids[2] });
      assert.equal(got.status, 503);
      assert.equal(got.body.error?.code, -32050);
      assert.equal(errorInfo(got.body.error)?.reason, 'OWNER_UNAVAILABLE');
      assert.match(got.body.error!.message, new RegExp(`did not answer within ${RESPONSE_TIMEOUT_MS} ms`));
      assert.ok(Date.now() - started < 60_000, 'the deadline, not the kernel, ended the wait');

      started = Date.now();
      const list = await rpc(pods[1]!.url, 'ListTasks', { pageSize: 100 });
      assert.equal(list.status, 200, JSON.stringify(list.body));
      const missing = (list.headers.get('x-kagent-missing-replicas') ?? '').split(', ');
      assert.ok(missing.includes('kagent-2'), `the stopped replica is named: ${missing.join(', ')}`);
      const listed = (list.body.result.tasks as { id: string }[]).map((t) => t.id);
      // On a very busy machine another replica may miss the deadline too; it is then named as well.
      for (const i of [0, 1]) assert.ok(listed.includes(ids[i]!) || missing.includes(`kagent-${i}`), `kagent-${i}'s task is listed or its pod named`);
      assert.ok(!listed.includes(ids[2]!));
      assert.ok(Date.now() - started < 60_000);

      const complete = await rpc(pods[1]!.url, 'ListTasks', {}, { 'A2A-Version': '1.0', 'X-Kagent-Require-All-Replicas': 'true' });
      assert.equal(complete.status, 503);
      assert.equal(complete.body.error?.code, -32050);
      assert.match(complete.body.error!.message, /kagent-2/);

      // A blocking send has no answer deadline (the task may run long), but the owner must stay healthy meanwhile.
      const send = await rpc(pods[0]!.url, 'SendMessage', { message: { ...message('more'), messageId: `tck-input-required-${counter++}`, taskId: waitingId } });
      assert.equal(send.status, 503);
      assert.equal(errorInfo(send.body.error)?.reason, 'OWNER_UNAVAILABLE');
      assert.match(send.body.error!.message, /stopped answering/);
    } finally {
      pods[2]!.child.kill('SIGCONT');
    }
    // Resumed, it answers again (once through the backlog it built up while stopped).
    await waitFor('the resumed replica to answer', async () => (await rpc(pods[0]!.url, 'GetTask', { id: ids[2] })).body.result?.id === ids[2], 60_000);
    await waitFor('a complete list again', async () => (await rpc(pods[1]!.url, 'ListTasks', { pageSize: 100 })).headers.get('x-kagent-missing-replicas') === null, 60_000);
  });

  test('a blocking send through another pod waits for the owner as long as the owner stays healthy', async () => {
    fake.mode = 'hold';
    const checksBefore = fake.healthChecks;
    const answer = rpc(pods[0]!.url, 'SendMessage', { message: message('long', { taskId: 'kagent-3.0190a5f2-0000-7000-8000-000000000002' }) });
    // Two health checks means the answer took longer than the response deadline, twice over.
    await waitFor('the owner to be checked twice while the task runs', () => fake.healthChecks >= checksBefore + 2, 60_000);
    fake.release('{"jsonrpc":"2.0","id":0,"result":{"task":{"id":"kagent-3.0190a5f2-0000-7000-8000-000000000002","status":{"state":"TASK_STATE_COMPLETED"}}}}');
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(res.body.result?.task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('a caller that hangs up on a blocking send through another pod: the relaying pod hangs up on the owner too', async () => {
    fake.mode = 'hold';
    const seenBefore = fake.seen.length;
    const abandonedBefore = fake.heldAbandoned;
    const caller = new AbortController();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: message('gone', { taskId: 'kagent-3.0190a5f2-0000-7000-8000-000000000004' }) } });
    const answer = fetch(pods[0]!.url, { method: 'POST', headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' }, body, signal: caller.signal });
    await waitFor('the owner to hold the relayed send', () => fake.seen.length > seenBefore);
    assert.equal(fake.seen[fake.seen.length - 1]!.method, 'SendMessage');
    caller.abort();
    await assert.rejects(answer, { name: 'AbortError' });
    await waitFor('the relaying pod to close its call to the owner', () => fake.heldAbandoned > abandonedBefore);
  });

  test('a relayed stream whose owner goes silent (no event, no heartbeat) ends with a retryable OWNER_UNAVAILABLE event', async () => {
    fake.mode = 'stall-stream';
    const stream = await openStream(pods[0]!.url, 'SubscribeToTask', { id: 'kagent-3.0190a5f2-0000-7000-8000-000000000003' }, { 'A2A-Version': '1.0' }, 'stalled');
    const events = await collect(stream);
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.equal(events[0].result.task.status.state, 'TASK_STATE_WORKING');
    assert.equal(events[1].id, 'stalled');
    assert.equal(events[1].error.code, -32050);
    assert.equal(errorInfo(events[1].error)?.reason, 'OWNER_UNAVAILABLE');
    assert.equal(errorInfo(events[1].error)?.metadata?.owner, 'kagent-3');
    assert.match(events[1].error.message, /stalled/);
  });

  test('over HTTP+JSON, a relayed stream whose owner goes silent ends with an `event: error` OWNER_UNAVAILABLE Status', async () => {
    fake.mode = 'stall-stream';
    const res = await fetch(`${pods[2]!.url}/tasks/kagent-3.0190a5f2-0000-7000-8000-000000000005:subscribe`, { headers: { 'A2A-Version': '1.0' } });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const blocks = (await res.text()).split('\n\n').filter((b) => b.includes('data: '));
    assert.equal(blocks.length, 2, blocks.join(' | '));
    assert.equal(JSON.parse(blocks[0]!.slice('data: '.length)).task.status.state, 'TASK_STATE_WORKING');
    const [event, data] = blocks[1]!.split('\n');
    assert.equal(event, 'event: error');
    const status = JSON.parse(data!.slice('data: '.length)).error;
    assert.deepEqual([status.code, status.status], [503, 'UNAVAILABLE']);
    assert.equal(status.details[0].reason, 'OWNER_UNAVAILABLE');
    assert.equal(status.details[0].metadata.owner, 'kagent-3');
    assert.ok(status.details.some((d: { '@type': string }) => d['@type'].endsWith('RetryInfo')));
  });

  test('an owner that dies in the middle of an event: a 0.3 caller gets the whole events, then the error event', async () => {
    fake.mode = 'die-mid-stream';
    const stream = await openStream(pods[1]!.url, 'tasks/resubscribe', { id: 'kagent-3.0190a5f2-0000-7000-8000-000000000004' }, { 'A2A-Version': '0.3' }, 7);
    const events = await collect(stream);
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.ok(events[0].result, 'the whole event is relayed');
    assert.equal(events[1].id, 7);
    assert.equal(events[1].error.code, -32050);
    assert.equal(errorInfo(events[1].error)?.reason, 'OWNER_UNAVAILABLE');
    assert.ok(events[1].error.data.some((d: { '@type': string }) => d['@type'].endsWith('RetryInfo')));
  });
});
