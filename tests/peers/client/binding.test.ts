import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { afterEach, describe, test } from 'node:test';
import { A2AClient, A2AClientError, agentBaseUrl, cardInterfaces, chooseInterface, summarizeCard, userText } from '../../../src/peers/client/index.js';
import { replyJson, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { ScriptedServer } from './servers.js';
import { rejection } from './util.js';

// Which interface a card leads to, and the wire details of each binding:
// tenants, HTTP+JSON paths and its google.rpc.Status errors.

const V1_CARD = {
  name: 'a',
  supportedInterfaces: [
    { url: 'http://a.example/rest', protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
    { url: 'http://a.example/grpc', protocolBinding: 'GRPC', protocolVersion: '1.0' },
    { url: 'http://a.example/rpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0.1' },
    { url: 'http://a.example/rpc03', protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
  ],
};
const V03_CARD = {
  name: 'b',
  protocolVersion: '0.3.0',
  url: 'http://b.example/a2a',
  preferredTransport: 'JSONRPC',
  additionalInterfaces: [
    { url: 'http://b.example/a2a', transport: 'JSONRPC' },
    { url: 'http://b.example/grpc', transport: 'GRPC' },
  ],
};

describe('choosing an interface from a card', () => {
  test('a 1.0 card: every interface, versions normalized to major.minor', () => {
    assert.deepEqual(
      cardInterfaces(V1_CARD).map((i) => `${i.binding} ${i.version}`),
      ['HTTP+JSON 1.0', 'GRPC 1.0', 'JSONRPC 1.0', 'JSONRPC 0.3'],
    );
  });

  test('a 0.3 card: url and preferredTransport first, additional interfaces deduplicated', () => {
    assert.deepEqual(
      cardInterfaces(V03_CARD).map((i) => `${i.binding} ${i.version} ${i.url}`),
      ['JSONRPC 0.3 http://b.example/a2a', 'GRPC 0.3 http://b.example/grpc'],
    );
    // 0.2-era cards (VAPORA's) speak the same JSON-RPC as 0.3.
    assert.equal(cardInterfaces({ ...V03_CARD, protocolVersion: '0.2.5' })[0]?.version, '0.3');
    // No protocolVersion at all: a 0.3-era card.
    assert.equal(cardInterfaces({ url: 'http://c.example/' })[0]?.version, '0.3');
  });

  test('1.0 JSON-RPC first, then 1.0 HTTP+JSON, then 0.3; a forced version or binding narrows the choice', () => {
    const interfaces = cardInterfaces(V1_CARD);
    assert.equal(chooseInterface(interfaces)?.url, 'http://a.example/rpc');
    assert.equal(chooseInterface(interfaces, { bindings: ['HTTP+JSON'] })?.url, 'http://a.example/rest');
    assert.equal(chooseInterface(interfaces, { protocolVersion: '0.3' })?.url, 'http://a.example/rpc03');
    assert.equal(chooseInterface(interfaces, { protocolVersion: '0.3', bindings: ['HTTP+JSON'] }), undefined);
    const restOnly = cardInterfaces({ supportedInterfaces: [V1_CARD.supportedInterfaces[0], V1_CARD.supportedInterfaces[3]] });
    assert.equal(chooseInterface(restOnly)?.binding, 'HTTP+JSON');
  });

  test('a card offering nothing this client speaks is unsupported, naming what it offers', () => {
    const grpcOnly = { supportedInterfaces: [{ url: 'http://x/', protocolBinding: 'GRPC', protocolVersion: '1.0' }, { url: 'http://x/', protocolBinding: 'JSONRPC', protocolVersion: '2.0' }] };
    const error = (() => {
      try {
        summarizeCard(grpcOnly, 'http://x');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'unsupported');
    assert.match(error.message, /GRPC 1\.0, JSONRPC 2\.0/);
  });

  test("by default ('base') the card's path and query on the given origin; 'card' keeps the advertised URL and resolves a relative one", () => {
    const card = { supportedInterfaces: [{ url: 'http://kagent-0.kagent-headless.ns.svc:8080/a2a?x=1', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] };
    const given = summarizeCard(card, 'http://localhost:9999');
    assert.equal(given.url, 'http://localhost:9999/a2a?x=1');
    assert.equal(given.advertisedUrl, 'http://kagent-0.kagent-headless.ns.svc:8080/a2a?x=1');
    assert.equal(summarizeCard(card, 'http://localhost:9999', { endpoint: 'base' }).url, 'http://localhost:9999/a2a?x=1');
    assert.equal(summarizeCard(card, 'http://localhost:9999', { endpoint: 'card' }).url, 'http://kagent-0.kagent-headless.ns.svc:8080/a2a?x=1');
    // A card in hand with no base URL: only the card's URL exists.
    assert.equal(summarizeCard(card, undefined).url, 'http://kagent-0.kagent-headless.ns.svc:8080/a2a?x=1');
    const relative = { supportedInterfaces: [{ url: '/rpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] };
    assert.equal(summarizeCard(relative, 'http://h:1/agents/x', { endpoint: 'card' }).url, 'http://h:1/rpc');
    assert.equal(summarizeCard(relative, 'http://h:1/agents/x').url, 'http://h:1/rpc');
  });

  test('a card a client cannot use at all is malformed (invalid-response), saying why', () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'no interfaces', skills: [] }, /malformed: it declares no interface/],
      [{ name: 'x', supportedInterfaces: [{ protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] }, /declares no interface/],
      [{ name: 'x', supportedInterfaces: [{ url: 'http://[broken', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] }, /interface URL "http:\/\/\[broken" is not a URL/],
      [{ name: 'x', supportedInterfaces: [{ url: 'relative/only', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] }, /is not a URL/],
      [[1, 2], /malformed: it is not a JSON object/],
      ['card', /malformed: it is not a JSON object/],
    ];
    for (const [card, message] of cases) {
      let error: unknown;
      try {
        summarizeCard(card, undefined);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof A2AClientError, JSON.stringify(card));
      assert.equal(error.kind, 'invalid-response', JSON.stringify(card));
      assert.match(error.message, message);
    }
  });
});

describe('the URL a person gives', () => {
  test('a card URL is taken back to its base; trailing slashes go', () => {
    assert.equal(agentBaseUrl('http://host:8080/.well-known/agent-card.json'), 'http://host:8080');
    assert.equal(agentBaseUrl('http://host:8080/.well-known/agent.json'), 'http://host:8080');
    assert.equal(agentBaseUrl('https://gw.example/agents/kagent/.well-known/agent-card.json'), 'https://gw.example/agents/kagent');
    assert.equal(agentBaseUrl(' http://localhost:8080/ '), 'http://localhost:8080');
    assert.equal(agentBaseUrl('http://[::1]:8080'), 'http://[::1]:8080');
  });

  test('anything else is a TypeError naming the input, never a request', () => {
    const cases: [string, RegExp][] = [
      ['', /"" is not a URL/],
      ['kagent', /"kagent" is not a URL; did you mean http:\/\/kagent\?/],
      ['localhost:8080', /not an http or https URL; did you mean http:\/\/localhost:8080\?/],
      ['file:///etc/passwd', /not an http or https URL/],
      ['http://h/?q=1', /query or fragment/],
      ['http://admin:hunter2@h/', /carries credentials/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => agentBaseUrl(input), (error: unknown) => error instanceof TypeError && message.test(error.message) && !error.message.includes('hunter2'), input);
    }
  });
});

describe('userText', () => {
  test('metadata is an option; the older taskId, contextId and skill options still work', () => {
    assert.deepEqual(userText('hi', { metadata: { skill: 'echo', delayMs: 10 } }).metadata, { skill: 'echo', delayMs: 10 });
    const old = userText('hi', { taskId: 't', contextId: 'c', skill: 'echo' });
    assert.equal(old.taskId, 't');
    assert.equal(old.contextId, 'c');
    assert.deepEqual(old.metadata, { skill: 'echo' });
    assert.deepEqual(userText('hi', { metadata: { skill: 'a', n: 1 }, skill: 'b' }).metadata, { skill: 'b', n: 1 }, 'skill wins over metadata.skill');
    assert.equal(userText('hi').metadata, undefined);
    assert.deepEqual(userText('hi').parts, [{ kind: 'text', text: 'hi' }]);
  });
});

describe('binding details on the wire', () => {
  let servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  async function scripted(...args: Parameters<typeof startScriptedServer>): Promise<ScriptedServer> {
    const server = await startScriptedServer(...args);
    servers.push(server);
    return server;
  }

  test('a tenant in the card travels in JSON-RPC params and as the HTTP+JSON path prefix', async () => {
    const server = await scripted(
      (req, res) => {
        if (req.path.startsWith('/rest/')) return void replyJson(res, 200, wireTask('t-1'));
        replyJson(res, 200, rpcResult(req, wireTask('t-1')));
      },
      (url) => ({
        supportedInterfaces: [
          { url: `${url}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: 'team-a' },
          { url: `${url}/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', tenant: 'team-a' },
        ],
      }),
    );
    await (await A2AClient.connect(server.url)).getTask('t-1');
    assert.equal(server.received[0]!.json.params.tenant, 'team-a');
    await (await A2AClient.connect(server.url, { bindings: ['HTTP+JSON'] })).getTask('t-1', 2);
    assert.equal(server.received[1]!.path, '/rest/team-a/tasks/t-1?historyLength=2');
    assert.equal(server.received[1]!.method, 'GET');
    assert.equal(server.received[1]!.headers['a2a-version'], '1.0');
  });

  test('HTTP+JSON: the spec paths for each operation', async () => {
    const server = await scripted(
      (req, res) => {
        if (req.path.startsWith('/tasks?')) return void replyJson(res, 200, { tasks: [wireTask('t-1')], nextPageToken: '', pageSize: 5, totalSize: 1 });
        if (req.path === '/message:send') return void replyJson(res, 200, { task: wireTask('t-1') });
        replyJson(res, 200, wireTask('t-1'));
      },
      (url) => ({ supportedInterfaces: [{ url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' }] }),
    );
    const client = await A2AClient.connect(server.url);
    assert.equal(client.binding, 'HTTP+JSON');
    const message = userText('rest');
    await client.send(message, { returnImmediately: true });
    await client.cancelTask('t/1');
    const page = await client.listTasks({ contextId: 'c 1', state: 'input-required', pageSize: 5, includeArtifacts: true });
    assert.equal(page.tasks[0]?.id, 't-1');
    assert.deepEqual(
      server.received.map((r) => `${r.method} ${r.path}`),
      ['POST /message:send', 'POST /tasks/t%2F1:cancel', 'GET /tasks?contextId=c+1&status=TASK_STATE_INPUT_REQUIRED&pageSize=5&includeArtifacts=true'],
    );
    assert.deepEqual(server.received[0]!.json, {
      message: { messageId: message.messageId, role: 'ROLE_USER', parts: [{ text: 'rest' }] },
      configuration: { returnImmediately: true },
    });
  });

  test('HTTP+JSON errors: google.rpc.Status becomes a typed error; 503 UNAVAILABLE is retried, 400 is not', async () => {
    const status = (code: number, name: string, reason?: string) => ({
      error: {
        code,
        status: name,
        message: `${name} for test`,
        details: reason === undefined ? [] : [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'a2a-protocol.org' }],
      },
    });
    const server = await scripted(
      (req, res, i) => {
        if (i === 0) return void replyJson(res, 503, status(503, 'UNAVAILABLE'), { 'retry-after': '0' });
        if (i === 1) return void replyJson(res, 200, wireTask('t-1'));
        if (req.path.startsWith('/tasks/gone')) return void replyJson(res, 404, status(404, 'NOT_FOUND', 'TASK_NOT_FOUND'));
        replyJson(res, 400, status(400, 'INVALID_ARGUMENT'));
      },
      (url) => ({ supportedInterfaces: [{ url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' }] }),
    );
    const client = await A2AClient.connect(server.url, { retry: { initialDelayMs: 10 } });
    assert.equal((await client.getTask('t-1')).id, 't-1');
    assert.equal(server.received.length, 2);
    const missing = await rejection(() => client.getTask('gone'));
    assert.ok(missing instanceof A2AClientError);
    assert.equal(missing.name, 'TaskNotFoundError');
    assert.equal(missing.code, -32001);
    assert.equal(missing.httpStatus, 404);
    const bad = await rejection(() => client.cancelTask('x'));
    assert.ok(bad instanceof A2AClientError);
    assert.equal(bad.kind, 'rpc');
    assert.equal(bad.code, -32602);
    assert.equal(bad.attempts, 1);
    assert.equal(server.received.length, 4);
  });

  test('a card that is not JSON is an invalid response', async () => {
    const server = await scripted((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":'), null);
    const error = await rejection(() => A2AClient.connect(server.url));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'invalid-response');
  });

  test('sequential calls reuse one kept-alive connection; a client given its own pool closes it', async () => {
    const server = await scripted((req, res) => replyJson(res, 200, rpcResult(req, wireTask('t-1'))));
    const shared = A2AClient.fromUrl(`${server.url}/a2a`);
    for (let i = 0; i < 8; i++) await shared.getTask('t-1');
    // undici may open a second socket when the next call starts before the last one's socket is back in the pool.
    const sharedPorts = new Set(server.received.map((r) => r.clientPort));
    assert.ok(sharedPorts.size <= 2, `8 calls used ${sharedPorts.size} connections`);

    const pool = new Agent({ keepAliveTimeout: 5000 });
    const own = A2AClient.fromUrl(`${server.url}/a2a`, { dispatcher: pool });
    for (let i = 0; i < 4; i++) await own.getTask('t-1');
    const ownPorts = new Set(server.received.slice(8).map((r) => r.clientPort));
    assert.ok(ownPorts.size <= 2, `4 calls used ${ownPorts.size} connections`);
    assert.ok([...ownPorts].every((port) => !sharedPorts.has(port)), 'its own pool, not the shared one');
    await own.close();
    assert.equal(pool.closed, true);
    const error = await rejection(() => own.getTask('t-1'));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'connection');
  });
});
