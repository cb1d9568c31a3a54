import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EventBus } from '../../../src/core/event-bus.js';
import { SkillRegistry } from '../../../src/core/skill-registry.js';
import { TaskService } from '../../../src/core/task-service.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { echoSkill } from '../../../src/skills/echo.js';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.js';
import { cachedDocument } from '../../../src/transport/agent-card.js';
import type { CachedDocument } from '../../../src/transport/agent-card.js';
import { createHttpServer } from '../../../src/transport/http-server.js';
import { Dispatcher } from '../../../src/core/dispatcher.js';
import { JsonRpcHandler } from '../../../src/transport/jsonrpc-handler.js';
import { RestHandler } from '../../../src/transport/rest-handler.js';
import { Authenticator } from '../../../src/auth/authenticator.js';
import { AuthGate } from '../../../src/transport/auth-gate.js';

// The agent starts listening before it knows its port, hence its URL, hence its
// card: in that window a card request must not get a placeholder that clients
// (and caches, through the ETag) would keep as the card.
describe('the agent card before it is built', () => {
  let server: Server;
  let url: string;
  let cards: { v1: CachedDocument; v03: CachedDocument } | undefined;
  const store = new SqliteTaskStore({ path: ':memory:', synchronous: 'normal' });

  before(async () => {
    await store.open();
    const logger = createLogger('silent', {});
    const metrics = new Metrics();
    const echo = echoSkill({ maxDelayMs: 0 });
    const service = new TaskService({ store, bus: new EventBus(), skills: new SkillRegistry([echo], 'echo'), pod: 'kagent-0', streamCapacity: 16 });
    server = createHttpServer({
      jsonRpc: new JsonRpcHandler({ dispatcher: new Dispatcher({ service }), logger, metrics, heartbeatMs: 15_000 }),
      rest: new RestHandler({ dispatcher: new Dispatcher({ service }), logger, metrics, heartbeatMs: 15_000 }),
      cards: () => cards,
      cardMaxAgeSeconds: 300,
      maxBodyBytes: 1024 * 1024,
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 60_000,
      maxConnections: 100,
      metrics,
      logger,
      isReady: () => cards !== undefined,
      peers: () => [],
      gate: new AuthGate({ authenticator: Authenticator.none(), maxBodyBytes: 1024 * 1024, metrics, logger }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  test('is a 503 that nobody caches, never an empty card with a validator', async () => {
    for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const res = await fetch(`${url}${path}`);
      const body = await res.text();
      assert.equal(res.status, 503, `${path}: ${body}`);
      assert.equal(res.headers.get('etag'), null);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.notEqual(body, '{}');
    }
  });

  test('once built, the card is served with its validator', async () => {
    cards = { v1: cachedDocument({ name: 'kagent' }), v03: cachedDocument({ name: 'kagent', protocolVersion: '0.3.0' }) };
    const res = await fetch(`${url}/.well-known/agent-card.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), cards.v1.etag);
    assert.deepEqual(await res.json(), { name: 'kagent' });
  });
});
