// An answer that cannot be serialized still gets a JSON-RPC error in JSON, not
// a server-sent-events frame inside an application/json body. In production
// the cause is an answer past V8's largest string (half a gigabyte), which no
// test here can afford to build; a task holding a BigInt fails JSON.stringify
// the same way, so the task service is stood in for by one that returns such
// a task. The HTTP server and the JSON-RPC handler are the real ones.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { TaskService } from '../../../src/core/task-service.js';
import type { Task } from '../../../src/model/model.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { cachedDocument } from '../../../src/transport/agent-card.js';
import { Authenticator } from '../../../src/auth/authenticator.js';
import { AuthGate } from '../../../src/transport/auth-gate.js';
import { createHttpServer } from '../../../src/transport/http-server.js';
import { Dispatcher } from '../../../src/core/dispatcher.js';
import { JsonRpcHandler } from '../../../src/transport/jsonrpc-handler.js';
import { RestHandler } from '../../../src/transport/rest-handler.js';

const unserializable: Task = {
  id: 'kagent-0.unserializable',
  contextId: 'ctx',
  status: { state: 'completed', timestamp: new Date().toISOString() },
  artifacts: [],
  history: [],
  metadata: { size: 1n as unknown as number },
};

const service = { getTask: async () => unserializable } as unknown as TaskService;
const logger = createLogger('silent', { pod: 'test' });
const metrics = new Metrics();
const dispatcher = new Dispatcher({ service });
const server = createHttpServer({
  jsonRpc: new JsonRpcHandler({ dispatcher, logger, metrics, heartbeatMs: 60_000 }),
  rest: new RestHandler({ dispatcher, logger, metrics, heartbeatMs: 60_000 }),
  cards: () => ({ v1: cachedDocument({}), v03: cachedDocument({}) }),
  cardMaxAgeSeconds: 0,
  maxBodyBytes: 1024 * 1024,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  maxConnections: 100,
  metrics,
  logger,
  isReady: () => true,
  peers: () => [],
  gate: new AuthGate({ authenticator: Authenticator.none(), maxBodyBytes: 1024 * 1024, metrics, logger }),
});
let url: string;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('a GetTask answer that fails to serialize is a -32603 JSON-RPC error in an application/json response', async () => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'GetTask', params: { id: unserializable.id } }),
  });
  assert.equal(res.headers.get('content-type'), 'application/json');
  const text = await res.text();
  assert.doesNotMatch(text, /^data:/);
  const body = JSON.parse(text);
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, 'big');
  assert.equal(body.error.code, -32603);
  assert.equal(body.result, undefined);
});

test('over HTTP+JSON, the same answer is a 500 google.rpc.Status, not half a task', async () => {
  const res = await fetch(`${url}/tasks/${encodeURIComponent(unserializable.id)}`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 500);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const body = (await res.json()) as { error: { code: number; status: string; details: { reason: string }[] } };
  assert.equal(body.error.code, 500);
  assert.equal(body.error.status, 'INTERNAL');
  assert.equal(body.error.details[0].reason, 'INTERNAL');
});
