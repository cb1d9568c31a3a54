import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentCard } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { assertIsTask, sendRequest, stateName, texts, userMessage, v03Client, v1Client, callDeadline } from './sdk.js';
import { PATIENCE_MS } from '../../support/patience.js';

// How the SDK discovers our agent: which card it reads, which interface it
// picks, and so which protocol version it then speaks.

const TIMEOUT = { timeout: PATIENCE_MS };
const LEGACY = { legacyCompat: { enabled: true } } as const;

let agent: TestAgent;

before(async () => {
  agent = await startTestAgent();
});

after(async () => {
  await agent.dispose();
});

interface Traffic {
  cards: string[];
  calls: { method: string; a2aVersion: string | null }[];
}

/** A factory whose card fetches and JSON-RPC calls are recorded, then passed to the real fetch. */
function factory(legacy: boolean, traffic: Traffic): ClientFactory {
  const compat = legacy ? LEGACY : {};
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      cardResolver: new DefaultAgentCardResolver({
        ...compat,
        fetchImpl: async (input, init) => {
          traffic.cards.push(new URL(String(input)).pathname);
          return fetch(input, init);
        },
      }),
      transports: [
        new JsonRpcTransportFactory({
          ...compat,
          fetchImpl: async (input, init) => {
            const body = JSON.parse(String(init?.body)) as { method: string };
            traffic.calls.push({ method: body.method, a2aVersion: new Headers(init?.headers).get('a2a-version') });
            return fetch(input, init);
          },
        }),
      ],
    }),
  );
}

const newTraffic = (): Traffic => ({ cards: [], calls: [] });

describe('SDK discovery of the agent', () => {
  test('the 1.0 client reads /.well-known/agent-card.json and speaks 1.0 to the advertised URL', TIMEOUT, async () => {
    const traffic = newTraffic();
    const client = await factory(false, traffic).createFromUrl(`${agent.url}/`);

    assert.deepEqual(traffic.cards, ['/.well-known/agent-card.json']);
    assert.equal(client.protocolVersion, '1.0');
    const card = await client.getAgentCard(callDeadline());
    assert.equal(card.name, 'kagent');
    assert.ok(card.capabilities?.streaming);
    assert.ok(card.skills.some((s) => s.id === 'echo'), `skills: ${card.skills.map((s) => s.id).join(', ')}`);
    assert.ok(card.supportedInterfaces.every((i) => i.url === agent.url));
    assert.deepEqual(card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion}`), ['JSONRPC 1.0', 'JSONRPC 0.3', 'HTTP+JSON 1.0']);

    const task = await client.sendMessage(sendRequest(userMessage('discovered')), callDeadline());
    assertIsTask(task);
    assert.equal(stateName(task.status?.state), 'TASK_STATE_COMPLETED');
    assert.deepEqual(traffic.calls, [{ method: 'SendMessage', a2aVersion: '1.0' }]);
  });

  test('with 0.3 compatibility on, the SDK speaks 1.0 from the 1.0 card and 0.3 from the 0.3-era card', TIMEOUT, async () => {
    // agent-card.json lists a 1.0 and a 0.3 JSONRPC interface at one URL: a
    // client that can speak 1.0 picks it. agent.json is a pure 0.3 card, so a
    // client that reads it speaks 0.3, as a 0.3-era client (or VAPORA) would.
    for (const [path, method, version] of [
      ['.well-known/agent-card.json', 'SendMessage', '1.0'],
      ['.well-known/agent.json', 'message/send', '0.3'],
    ] as const) {
      const traffic = newTraffic();
      const client = await factory(true, traffic).createFromUrl(`${agent.url}/`, path);

      assert.deepEqual(traffic.cards, [`/${path}`]);
      assert.equal(client.protocolVersion, version, `card ${path}`);
      await client.sendMessage(sendRequest(userMessage('which one?')), callDeadline());
      assert.deepEqual(traffic.calls, [{ method, a2aVersion: version }], `card ${path}`);
    }
  });

  test("the 1.0 card's 0.3 interface, chosen alone, gives a working 0.3 client", TIMEOUT, async () => {
    const resolver = new DefaultAgentCardResolver(LEGACY);
    const served = await resolver.resolve(`${agent.url}/`);
    const v03Interfaces = served.supportedInterfaces.filter((i) => i.protocolVersion === '0.3');
    assert.equal(v03Interfaces.length, 1, `interfaces: ${JSON.stringify(served.supportedInterfaces)}`);
    const only03: AgentCard = { ...served, supportedInterfaces: v03Interfaces };

    const traffic = newTraffic();
    const client = await factory(true, traffic).createFromAgentCard(only03);
    assert.equal(client.protocolVersion, '0.3');

    const task = await client.sendMessage(sendRequest(userMessage('via the 0.3 interface')), callDeadline());
    assertIsTask(task);
    assert.equal(stateName(task.status?.state), 'TASK_STATE_COMPLETED');
    assert.deepEqual(texts(task.artifacts[0]!.parts), ['via the 0.3 interface']);
    assert.deepEqual(traffic.calls, [{ method: 'message/send', a2aVersion: '0.3' }]);
  });

  test('the 0.3 fields of /.well-known/agent.json alone are a card the SDK accepts as 0.3', TIMEOUT, async () => {
    // The SDK translates a 0.3 card only if it has capabilities,
    // defaultInputModes, defaultOutputModes and skills; url and
    // preferredTransport become its interfaces.
    const sdk = await v03Client(agent.url);

    assert.equal(sdk.client.protocolVersion, '0.3');
    const card = await sdk.client.getAgentCard(callDeadline());
    assert.ok(card.supportedInterfaces.length >= 1);
    for (const i of card.supportedInterfaces) {
      assert.equal(i.url, agent.url);
      assert.equal(i.protocolBinding, 'JSONRPC');
      assert.match(i.protocolVersion, /^0\.3(\.\d+)?$/);
    }
    assert.ok(card.skills.some((s) => s.id === 'echo'));
    assert.ok(card.capabilities?.streaming);
  });

  test('both clients find the same agent: a task made over 0.3 is read over 1.0', TIMEOUT, async () => {
    const old = await v03Client(agent.url);
    const current = await v1Client(agent.url);
    const task = await old.client.sendMessage(sendRequest(userMessage('cross-version')), callDeadline());
    assertIsTask(task);

    const read = await current.client.getTask({ tenant: '', id: task.id }, callDeadline());

    assert.equal(read.contextId, task.contextId);
    assert.equal(stateName(read.status?.state), 'TASK_STATE_COMPLETED');
    assert.deepEqual(texts(read.artifacts[0]!.parts), ['cross-version']);
    assert.equal(old.sent.at(-1)!.a2aVersion, '0.3');
    assert.equal(current.sent.at(-1)!.a2aVersion, '1.0');
  });
});
