import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';
import { collect, openStream, textMessage } from '../../support/rpc.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { assertRpcError, errorInfo } from './helpers.js';

/** A raw TCP client: what it received, and a promise that settles when the server closes it. */
interface RawClient {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
}

function rawClient(port: number, send: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', () => undefined);
    socket.once('connect', () => {
      if (send !== '') socket.write(send);
      resolve({ socket, received: () => received, closed });
    });
    socket.once('error', reject);
  });
}

/** One request on a connection of its own (no keep-alive pool), so it is counted as a new connection. */
function freshRequest(url: string, path: string, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json', 'A2A-Version': '1.0' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

const HEADERS_THEN_PARTIAL_BODY = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":';

describe('slow and silent clients are cut off', () => {
  let dir: string;
  let service: ServiceProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-slow-clients-'));
    service = await startService(dir, {
      HEADERS_TIMEOUT: '1s',
      REQUEST_TIMEOUT: '2s',
      STREAM_HEARTBEAT_INTERVAL: '200ms',
      LOG_LEVEL: 'debug',
    });
  });

  after(async () => {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sockets that send nothing, half the headers, or the headers and then nothing are closed by the server', async () => {
    const silent = await rawClient(service.port, '');
    const halfHeaders = await rawClient(service.port, 'POST / HTTP/1.1\r\nHost: x\r\n');
    const stalledBody = await rawClient(service.port, HEADERS_THEN_PARTIAL_BODY);
    await within(30_000, 'the server to close every slow socket', Promise.all([silent.closed, halfHeaders.closed, stalledBody.closed]));
    assert.match(stalledBody.received(), /^HTTP\/1\.1 408 /, 'the stalled request is told it timed out');
    // The service is unharmed.
    const health = await freshRequest(service.url, '/healthz');
    assert.equal(health.status, 200);
  });

  test('such aborts are logged at debug, without stack traces', async () => {
    // The log lines reach this process a little after the sockets closed.
    await waitFor('the timeouts in the log', () => /"level":"debug"[^\n]*"reason":"request_timeout"/.test(service.output()), 30_000);
    await waitFor('the stalled body logged as aborted', () => /request body aborted/.test(service.output()), 30_000);
    const log = service.output();
    assert.doesNotMatch(log, /"stack"/, 'no stack traces for client aborts');
    assert.doesNotMatch(log, /"level":"error"/);
  });

  test('an SSE stream open far longer than REQUEST_TIMEOUT is not cut', async () => {
    const opened = Date.now();
    const stream = await openStream(service.url, 'SendStreamingMessage', { message: textMessage('long', { metadata: { delayMs: 5000 } }) });
    const events = await within(60_000, 'the stream to end', collect(stream));
    assert.ok(Date.now() - opened >= 4000, 'the stream lasted longer than twice REQUEST_TIMEOUT');
    assert.equal(events.at(-1).result.statusUpdate.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(events.at(-1)));
    assert.ok(stream.comments.length > 0, 'heartbeats flowed');
  });
});

describe('the connection cap keeps room for health probes', () => {
  const MAX = 4;
  let dir: string;
  let service: ServiceProcess;
  const holders: RawClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-connection-cap-'));
    service = await startService(dir, { MAX_CONNECTIONS: String(MAX) });
    // Occupy every A2A connection with requests whose bodies never finish; the surplus lands in the reserve.
    for (let i = 0; i < MAX + 2; i++) holders.push(await rawClient(service.port, HEADERS_THEN_PARTIAL_BODY));
  });

  after(async () => {
    for (const holder of holders) holder.socket.destroy();
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('A2A requests above the cap are refused with a retryable 503 naming the limit', async () => {
    // The holders beyond the cap were refused at once.
    await within(30_000, 'the surplus holders to be refused', Promise.all(holders.slice(MAX).map((h) => h.closed)));
    for (const holder of holders.slice(MAX)) assert.match(holder.received(), /^HTTP\/1\.1 503 /);

    const refused = await freshRequest(service.url, '/', 'POST', JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'SendMessage', params: { message: textMessage('hi') } }));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    const error = assertRpcError(JSON.parse(refused.text), -32050);
    assert.match(error.message, /MAX_CONNECTIONS/);
    assert.equal(errorInfo(error).reason, 'UNAVAILABLE');
  });

  test('/healthz, /readyz and /metrics still answer at the cap', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await freshRequest(service.url, path);
      assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 200)}`);
    }
    const metrics = await freshRequest(service.url, '/metrics');
    assert.match(metrics.text, /a2a_http_rejected_total\{reason="connection_limit"\} [1-9]/);
    assert.match(metrics.text, /a2a_http_connections \d+/);
  });

  test('a reserve connection that asks nothing is dropped, so squatters cannot fill the reserve', async () => {
    const squatter = await rawClient(service.port, '');
    await within(30_000, 'the idle reserve connection to be dropped', squatter.closed);
  });
});

describe('MAX_CONNECTIONS and idle keep-alive connections (real sockets)', () => {
  const MAX = 3;
  const KEEP_ALIVE_PROBE = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const sendMessage = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} });
  let agent: TestAgent;
  const clients: RawClient[] = [];

  beforeEach(async () => {
    agent = await startTestAgent({ MAX_CONNECTIONS: String(MAX), HEADERS_TIMEOUT: '30s', REQUEST_TIMEOUT: '60s' });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await agent?.dispose();
  });

  const port = () => Number(new URL(agent.url).port);

  test('at the cap, the connection idle longest is closed to make room, and the new one is served', async () => {
    for (let i = 0; i < MAX; i++) {
      const client = await rawClient(port(), KEEP_ALIVE_PROBE);
      clients.push(client);
      // Answered and kept open: the connection is now idle between requests.
      await waitFor(`keep-alive client ${i} to be answered`, () => client.received().includes('{"status":"ok"}'), PATIENCE_MS);
    }
    const served = await freshRequest(agent.url, '/', 'POST', sendMessage);
    assert.equal(served.status, 200, served.text);
    await within(PATIENCE_MS, 'the longest-idle connection to be closed', clients[0]!.closed);
    assert.equal(clients[1]!.socket.destroyed, false);
    assert.equal(clients[2]!.socket.destroyed, false);
    const metrics = await freshRequest(agent.url, '/metrics');
    assert.match(metrics.text, /a2a_http_idle_connections_closed_total 1\b/);
    // A connection still open goes on working.
    clients[1]!.socket.write(KEEP_ALIVE_PROBE);
    await waitFor('the kept connection to answer again', () => clients[1]!.received().split('{"status":"ok"}').length === 3, PATIENCE_MS);
  });

  test('connections that have not sent their first request, or are mid-request, are never closed for room', async () => {
    for (let i = 0; i < MAX - 1; i++) clients.push(await rawClient(port(), ''));
    clients.push(await rawClient(port(), HEADERS_THEN_PARTIAL_BODY));
    const refused = await freshRequest(agent.url, '/', 'POST', sendMessage);
    assert.equal(refused.status, 503, refused.text);
    assert.match(refused.text, /MAX_CONNECTIONS/);
    for (const client of clients) assert.equal(client.socket.destroyed, false);
    const metrics = await freshRequest(agent.url, '/metrics');
    assert.match(metrics.text, /a2a_http_idle_connections_closed_total 0\b/);
  });
});

test('HEADERS_TIMEOUT longer than REQUEST_TIMEOUT is refused at start, naming both', async () => {
  await assert.rejects(startTestAgent({ HEADERS_TIMEOUT: '2m', REQUEST_TIMEOUT: '1m' }), /HEADERS_TIMEOUT.*REQUEST_TIMEOUT/);
});
