import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { waitFor } from '../support/wait.js';
import { SPAN_KIND, startOtlpReceiver } from '../support/otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp-receiver.js';
import { PATIENCE_MS } from '../support/patience.js';
import { rpc } from '../support/rpc.js';
import { freePortDecade, startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

// One trace across kagent processes: real service processes export their
// spans over OTLP/HTTP (JSON) to a real receiver on loopback. Two replicas
// with per-pod stores route to each other (owner routing, the ListTasks fan-out);
// the first also delegates to a third process, an independent peer agent.

const SECRET_TEXT = 'words-only-the-task-knows';

function newTraceparent(): { traceId: string; parentId: string; header: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
}

function headers(traceparent?: string): Record<string, string> {
  return { 'A2A-Version': '1.0', ...(traceparent === undefined ? {} : { traceparent, tracestate: 'vapora=1' }) };
}

let counter = 0;
function message(metadata: Record<string, unknown>, messageId = `trace-${process.pid}-${counter++}`): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId, parts: [{ text: SECRET_TEXT }], metadata };
}

/** The one span that matches, once it has arrived. */
function one(receiver: OtlpReceiver, what: string, match: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  return receiver.waitFor(what, (spans) => spans.find(match));
}

function tracing(receiver: OtlpReceiver, service: string): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: service };
}

describe('one trace follows a request across kagent processes', () => {
  const dirs: string[] = [];
  let receiver: OtlpReceiver;
  let peer: ServiceProcess;
  const pods: ServiceProcess[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-trace-${i}-`)));
    const ports = await freePortDecade();
    peer = await startService(dirs[2]!, { POD_NAME: 'peer-0', CONFORMANCE_AGENT: 'true', ...tracing(receiver, 'peer-agent') });
    for (let ordinal = 0; ordinal < 2; ordinal++) {
      pods.push(
        await startService(dirs[ordinal]!, {
          POD_NAME: `kagent-${ordinal}`,
          PORT: String(ports.port(ordinal)),
          A2A_REPLICAS: '2',
          A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
          A2A_PEERS: peer.url,
          A2A_DISCOVERY_INTERVAL: '200ms',
          LOG_LEVEL: 'info',
          ...tracing(receiver, 'kagent'),
        }),
      );
    }
    await waitFor('the peer agent discovered', async () => {
      const body = (await (await fetch(`${pods[0]!.url}/peers`)).json()) as { peers: { url: string; state: string }[] };
      return body.peers.some((p) => p.url === peer.url && p.state === 'healthy');
    });
  });

  after(async () => {
    await Promise.all([...pods.map((p) => p.dispose()), peer?.dispose()]);
    await receiver?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("a delegated task: VAPORA's traceparent is continued through kagent to the peer and back", async () => {
    const vapora = newTraceparent();
    const res = await rpc(pods[0]!.url, 'SendMessage', { message: message({ skill: 'delegate', targetSkill: 'conformance' }, `tck-complete-task-${process.pid}-${counter++}`) }, headers(vapora.header));
    const task = res.body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(res.body));

    const inTrace = (span: ReceivedSpan) => span.traceId === vapora.traceId;
    const request = await one(receiver, 'kagent server span', (s) => inTrace(s) && s.instance === 'kagent-0' && s.kind === SPAN_KIND.server);
    assert.equal(request.parentSpanId, vapora.parentId, "kagent's request span hangs under VAPORA's span, not a new trace");
    assert.equal(request.name, 'SendMessage');
    assert.equal(request.attributes['rpc.method'], 'SendMessage');
    assert.equal(request.attributes['a2a.protocol.version'], '1.0');
    assert.equal(request.attributes['kagent.outcome'], 'ok');
    assert.equal(request.service, 'kagent');

    const skill = await one(receiver, 'delegate skill span', (s) => inTrace(s) && s.name === 'skill delegate');
    assert.equal(skill.parentSpanId, request.spanId);
    assert.equal(skill.attributes['a2a.task.id'], task.id);

    const peerSkill = await one(receiver, 'peer skill span', (s) => inTrace(s) && s.service === 'peer-agent' && s.name === 'skill conformance');
    const peerRequest = await one(receiver, 'peer server span', (s) => s.spanId === peerSkill.parentSpanId);
    assert.equal(peerRequest.kind, SPAN_KIND.server, "the peer's skill run hangs under its request span");
    assert.equal(peerRequest.traceId, vapora.traceId);
    assert.match(peerRequest.name, /^(SendMessage|SendStreamingMessage)$/);
    const outbound = await one(receiver, 'outbound client span', (s) => s.spanId === peerRequest.parentSpanId);
    assert.equal(outbound.instance, 'kagent-0', "the peer's request span hangs under kagent's outbound call");
    assert.equal(outbound.kind, SPAN_KIND.client);
    assert.equal(outbound.name, peerRequest.name);
    assert.equal(outbound.attributes['a2a.peer'], peer.url);
    assert.equal(outbound.parentSpanId, skill.spanId, 'the call to the peer is made by the skill run');
    // Every call kagent made to the peer for this task (a send, perhaps reads after it) is in the trace, under the run.
    const calls = receiver.spans.filter((s) => inTrace(s) && s.instance === 'kagent-0' && s.kind === SPAN_KIND.client);
    assert.ok(calls.every((s) => s.parentSpanId === skill.spanId), JSON.stringify(calls));

    const all = receiver.spans.filter(inTrace);
    assert.ok(!JSON.stringify(all).includes(SECRET_TEXT), 'no span carries the task text');

    // Log lines written under the request span name it.
    await waitFor('a log line with the trace id', () => pods[0]!.output().includes(`"trace_id":"${vapora.traceId}"`));
    const line = pods[0]!
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"a2a request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.trace_id === vapora.traceId);
    assert.ok(line, 'the request log line carries trace_id');
    assert.equal(line.span_id, request.spanId);
  });

  test('an owner-routing hop: the owner serves under the relaying pod\'s hop span, one trace', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', { message: message({ skill: 'echo' }) });
    const id = sent.body.result.task.id as string;
    assert.match(id, /^kagent-0\./);

    const vapora = newTraceparent();
    const got = await rpc(pods[1]!.url, 'GetTask', { id }, headers(vapora.header));
    assert.equal(got.body.result?.id, id, JSON.stringify(got.body));
    const inTrace = (span: ReceivedSpan) => span.traceId === vapora.traceId;

    const relaying = await one(receiver, 'relaying pod server span', (s) => inTrace(s) && s.instance === 'kagent-1' && s.kind === SPAN_KIND.server);
    assert.equal(relaying.parentSpanId, vapora.parentId);
    assert.equal(relaying.attributes['kagent.outcome'], 'forwarded');
    const hop = await one(receiver, 'owner-routing span', (s) => inTrace(s) && s.name === 'owner-routing get');
    assert.equal(hop.parentSpanId, relaying.spanId);
    assert.equal(hop.kind, SPAN_KIND.client);
    assert.equal(hop.attributes['kagent.pod.to'], 'kagent-0');
    const owner = await one(receiver, 'owner server span', (s) => inTrace(s) && s.instance === 'kagent-0' && s.kind === SPAN_KIND.server);
    assert.equal(owner.parentSpanId, hop.spanId, "the owner's request span hangs under the hop, not under VAPORA's span");
    assert.equal(owner.name, 'GetTask');
  });

  test('a ListTasks fan-out carries the trace to every other replica', async () => {
    const vapora = newTraceparent();
    const listed = await rpc(pods[1]!.url, 'ListTasks', {}, headers(vapora.header));
    assert.ok(Array.isArray(listed.body.result?.tasks), JSON.stringify(listed.body));
    const inTrace = (span: ReceivedSpan) => span.traceId === vapora.traceId;
    const relaying = await one(receiver, 'listing pod server span', (s) => inTrace(s) && s.instance === 'kagent-1' && s.kind === SPAN_KIND.server);
    assert.equal(relaying.parentSpanId, vapora.parentId);
    const hop = await one(receiver, 'fan-out span', (s) => inTrace(s) && s.name === 'owner-routing list');
    assert.equal(hop.parentSpanId, relaying.spanId);
    const other = await one(receiver, 'other replica server span', (s) => inTrace(s) && s.instance === 'kagent-0' && s.kind === SPAN_KIND.server);
    assert.equal(other.parentSpanId, hop.spanId);
  });

  test('a skill run that outlives its request stays in the request\'s trace', async () => {
    const vapora = newTraceparent();
    const sent = await rpc(
      pods[0]!.url,
      'SendMessage',
      { message: message({ skill: 'echo', delayMs: 300 }), configuration: { returnImmediately: true } },
      headers(vapora.header),
    );
    const id = sent.body.result.task.id as string;
    assert.notEqual(sent.body.result.task.status.state, 'TASK_STATE_COMPLETED', 'answered before the run ended');
    const request = await one(receiver, 'request span', (s) => s.traceId === vapora.traceId && s.kind === SPAN_KIND.server);
    const run = await one(receiver, 'skill span', (s) => s.traceId === vapora.traceId && s.name === 'skill echo');
    assert.equal(run.parentSpanId, request.spanId);
    assert.equal(run.attributes['a2a.task.id'], id);
    assert.equal(run.attributes['kagent.outcome'], 'ok');
  });

  test('a caller\'s string in a span attribute is cut short', async () => {
    const vapora = newTraceparent();
    const res = await rpc(pods[0]!.url, 'GetTask', { id: `kagent-9.${'x'.repeat(10_000)}` }, headers(vapora.header));
    assert.equal(res.body.error?.code, -32001);
    const span = await one(receiver, 'the GetTask span', (s) => s.traceId === vapora.traceId && s.kind === SPAN_KIND.server);
    assert.equal(span.attributes['kagent.outcome'], 'TASK_NOT_FOUND');
    assert.ok(String(span.attributes['a2a.task.id']).length <= 256, `${String(span.attributes['a2a.task.id']).length} characters`);
  });

  test('a malformed traceparent is ignored: the request is served in a new trace', async () => {
    for (const bad of ['garbage', '00-00000000000000000000000000000000-0000000000000000-01', `00-${'z'.repeat(32)}-${'1'.repeat(16)}-01`, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'x'.repeat(5000)}`]) {
      const res = await rpc(pods[0]!.url, 'SendMessage', { message: message({ skill: 'echo' }) }, { 'A2A-Version': '1.0', traceparent: bad });
      assert.equal(res.status, 200);
      const id = res.body.result?.task?.id as string | undefined;
      assert.ok(id !== undefined, `served despite traceparent ${bad.slice(0, 40)}: ${JSON.stringify(res.body)}`);
      const span = await one(receiver, `server span of ${id}`, (s) => s.kind === SPAN_KIND.server && s.attributes['a2a.task.id'] === id);
      assert.equal(span.parentSpanId, '', 'a root span');
      assert.match(span.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(span.traceId, '0'.repeat(32));
      assert.ok(!bad.includes(span.traceId), 'not the malformed trace id');
    }
  });
});

describe('tracing settings', () => {
  test('the standard OTEL_* variables are read; a protocol other than OTLP over HTTP, or an endpoint that is no URL, stops the start naming it', () => {
    const config = loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'kagent-prod' } });
    assert.equal(config.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/json');
    assert.equal(config.OTEL_SERVICE_NAME, 'kagent-prod');
    assert.match(config.OTEL_EXPORTER_OTLP_ENDPOINT ?? '', /^http:\/\/collector:4318/);
    const defaults = loadConfig({});
    assert.equal(defaults.OTEL_EXPORTER_OTLP_ENDPOINT, undefined, 'off by default');
    assert.equal(defaults.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    for (const [key, value] of [
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
      ['OTEL_EXPORTER_OTLP_TIMEOUT', '0'],
    ] as const) {
      assert.throws(() => loadConfig({ env: { [key]: value } }), (error: unknown) => error instanceof ConfigError && error.key === key && error.message.includes(key));
    }
  });

  test('http/protobuf (the default protocol) exports protobuf to <endpoint>/v1/traces', async () => {
    const receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'kagent-trace-proto-'));
    const agent = await startService(dir, { OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.endpoint}/` });
    try {
      const res = await rpc(agent.url, 'SendMessage', { message: message({ skill: 'echo' }) });
      assert.equal(res.body.result?.task?.status.state, 'TASK_STATE_COMPLETED');
      await waitFor('an export', () => receiver.contentTypes.length > 0);
      assert.deepEqual([...new Set(receiver.contentTypes)], ['application/x-protobuf']);
    } finally {
      await agent.dispose();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tracing off', () => {
  test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported, even with the other OTEL_* variables set', async () => {
    const receiver = await startOtlpReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'kagent-trace-off-'));
    // An SDK started anyway would send here: the exporter reads this variable on its own.
    const agent = await startService(dir, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'untraced',
      LOG_LEVEL: 'info',
    });
    try {
      const vapora = newTraceparent();
      const res = await rpc(agent.url, 'SendMessage', { message: message({ skill: 'echo' }) }, headers(vapora.header));
      assert.equal(res.body.result?.task?.status.state, 'TASK_STATE_COMPLETED');
      agent.child.kill('SIGTERM');
      const exit = await agent.waitExit();
      assert.equal(exit.code, 0, agent.output());
      assert.equal(receiver.requests, 0, 'no exporter traffic');
      assert.ok(agent.output().includes('"msg":"a2a request"'));
      assert.ok(!agent.output().includes('trace_id'), 'log lines carry no trace id');
    } finally {
      await agent.dispose();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a collector that never answers', () => {
  let silent: Server;
  let received = 0;

  before(async () => {
    // Accepts the connection and the export, never answers it.
    silent = createServer((req) => {
      received++;
      req.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  test('blocks neither requests nor the stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-trace-silent-'));
    const agent = await startService(dir, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    });
    try {
      const first = await rpc(agent.url, 'SendMessage', { message: message({ skill: 'echo' }) }, headers(newTraceparent().header));
      assert.equal(first.body.result?.task?.status.state, 'TASK_STATE_COMPLETED');
      await waitFor('an export that hangs', () => received > 0);
      // With an export hanging, requests are still served.
      for (let i = 0; i < 5; i++) {
        const res = await rpc(agent.url, 'SendMessage', { message: message({ skill: 'echo' }) });
        assert.equal(res.body.result?.task?.status.state, 'TASK_STATE_COMPLETED');
      }
      agent.child.kill('SIGTERM');
      const exit = await agent.waitExit(PATIENCE_MS);
      assert.equal(exit.code, 0, agent.output());
    } finally {
      await agent.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
