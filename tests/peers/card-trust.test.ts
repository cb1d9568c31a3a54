import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { PeerCardKeys } from '../../src/auth/peer-card-keys.js';
import { A2AClient, A2AClientError, userText } from '../../src/peers/client/index.js';
import { PeerDiscovery } from '../../src/peers/discovery.js';
import { closedPort, replyJson, startScriptedServer } from './client/servers.js';
import type { ScriptedServer } from './client/servers.js';
import { ok, waitForTerminal } from '../e2e/http/helpers.js';
import { metricValue, scrape } from '../support/metrics.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { writeCardKey } from '../support/card-keys.js';
import type { CardKeyFiles } from '../support/card-keys.js';
import { waitFor } from '../support/wait.js';
import { rpc, textMessage } from '../support/rpc.js';

const JWKS_PATH = '/.well-known/jwks.json';

function untrusted(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof A2AClientError, String(error));
    assert.equal(error.kind, 'untrusted-card');
    assert.match(error.message, pattern);
    return true;
  };
}

describe('peer cards checked against a configured key', () => {
  let root: string;
  let key: CardKeyFiles;
  let other: CardKeyFiles;
  let signedPeer: TestAgent;
  let unsignedPeer: TestAgent;
  /** Serves the signed peer's card with one field changed, and answers nothing else. */
  let tampering: ScriptedServer;
  /** Serves the signed peer's card verbatim until `switched`, then a changed one. */
  let switching: ScriptedServer;
  let switched = false;
  let signedCard: Record<string, unknown>;
  let jwks: JSONWebKeySet;
  let agent: TestAgent;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-card-trust-'));
    key = writeCardKey(root, 'peer', 'ec');
    other = writeCardKey(root, 'other', 'ec');
    signedPeer = await startTestAgent({ CARD_SIGNING_KEY_FILE: key.privateFile, AGENT_NAME: 'signed-peer' });
    unsignedPeer = await startTestAgent({ AGENT_NAME: 'unsigned-peer' });
    signedCard = (await (await fetch(`${signedPeer.url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    jwks = (await (await fetch(signedPeer.url + JWKS_PATH)).json()) as JSONWebKeySet;
    const refuseAll = (_req: unknown, res: import('node:http').ServerResponse) => replyJson(res, 500, { error: 'nothing should be sent here' });
    tampering = await startScriptedServer(refuseAll, () => ({ ...signedCard, description: 'tampered on the way' }));
    switching = await startScriptedServer(refuseAll, () => (switched ? { ...signedCard, name: 'swapped' } : signedCard));
    agent = await startTestAgent({
      A2A_PEERS: [signedPeer.url, unsignedPeer.url, tampering.url, switching.url].join(','),
      A2A_PEER_CARD_KEYS: [
        `${signedPeer.url}=${signedPeer.url}${JWKS_PATH}`,
        `${unsignedPeer.url}=${key.publicFile}`,
        `${tampering.url}/=${key.publicFile}`,
        `${switching.url}=${key.publicFile}`,
      ].join(','),
      A2A_DISCOVERY_INTERVAL: '1h',
    });
  });

  after(async () => {
    await agent?.dispose();
    await signedPeer?.dispose();
    await unsignedPeer?.dispose();
    await tampering?.close();
    await switching?.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe('our client', () => {
    test('connects to an agent whose card the trusted key set verifies, and talks to it', async () => {
      const client = await A2AClient.connect(signedPeer.url, { trustedCardKey: createLocalJWKSet(jwks) });
      assert.equal(client.card.name, 'signed-peer');
      const result = await client.send(userText('signed hello', { metadata: { skill: 'echo' } }));
      assert.equal(result.kind, 'task');
    });

    test('refuses an unsigned card when a key is configured, and without one does not ask for a signature', async () => {
      await assert.rejects(A2AClient.connect(unsignedPeer.url, { trustedCardKey: key.publicKey }), untrusted(/not signed/));
      assert.equal((await A2AClient.connect(unsignedPeer.url)).card.name, 'unsigned-peer');
    });

    test('refuses a card altered on the way, and sends the agent nothing', async () => {
      await assert.rejects(A2AClient.connect(tampering.url, { trustedCardKey: key.publicKey }), untrusted(/does not match the card/));
      assert.equal(tampering.received.length, 0);
    });

    test('refuses a card signed by another key: a wrong public key, or a key set without its kid', async () => {
      await assert.rejects(A2AClient.connect(signedPeer.url, { trustedCardKey: other.publicKey }), untrusted(/does not match the card/));
      await assert.rejects(
        A2AClient.connect(signedPeer.url, { trustedCardKey: createLocalJWKSet({ keys: [{ ...other.publicJwk, kid: 'someone-else' }] }) }),
        untrusted(/key set does not hold/),
      );
    });
  });

  describe('discovery and delegation', () => {
    before(async () => {
      await waitFor('every peer to be checked', () => agent.discovery.list().every((p) => p.state !== 'pending'));
    });

    test('a verified peer is healthy; unsigned and altered cards are untrusted, and /peers and the metrics say why', async () => {
      const byUrl = new Map(agent.discovery.list().map((p) => [p.url, p]));
      assert.equal(byUrl.get(signedPeer.url)?.state, 'healthy');
      assert.equal(byUrl.get(switching.url)?.state, 'healthy');
      assert.equal(byUrl.get(unsignedPeer.url)?.state, 'untrusted');
      assert.equal(byUrl.get(tampering.url)?.state, 'untrusted');
      const shown = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { url: string; state: string; lastError?: string }[] };
      const unsigned = shown.peers.find((p) => p.url === unsignedPeer.url)!;
      assert.equal(unsigned.state, 'untrusted');
      assert.match(unsigned.lastError ?? '', /not signed/);
      assert.match(shown.peers.find((p) => p.url === tampering.url)!.lastError ?? '', /does not match the card/);
      const text = await scrape(agent.url);
      assert.equal(metricValue(text, 'a2a_peers', { state: 'untrusted' }), 2);
      assert.ok((metricValue(text, 'a2a_peer_cards_refused_total') ?? 0) >= 2);
    });

    test('work is delegated to the verified peer, never to an untrusted one', async () => {
      const delegated = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('via trusted', { metadata: { skill: 'delegate', targetSkill: 'echo', peer: signedPeer.url } }) }));
      assert.equal((await waitForTerminal(agent.url, delegated.task.id)).status.state, 'TASK_STATE_COMPLETED');
      const refused = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('via untrusted', { metadata: { skill: 'delegate', targetSkill: 'echo', peer: unsignedPeer.url } }) }));
      assert.equal((await waitForTerminal(agent.url, refused.task.id)).status.state, 'TASK_STATE_FAILED');
    });

    test('a trusted key set that cannot be fetched fails closed: the peer is untrusted, saying so', async () => {
      const keys = PeerCardKeys.parse([`${signedPeer.url}=http://127.0.0.1:${await closedPort()}/jwks.json`], { cooldownMs: 1000, maxAgeMs: 60_000 });
      const discovery = new PeerDiscovery({ intervalMs: 60_000, trustedCardKey: (url) => keys.keyFor(url) });
      discovery.setPeers([{ url: signedPeer.url, source: 'config' }]);
      await discovery.checkAll();
      const status = discovery.get(signedPeer.url)!;
      assert.equal(status.state, 'untrusted');
      assert.match(status.lastError ?? '', /trusted key set cannot be fetched/);
    });

    test('a card that changes after discovery is checked again when work is delegated: the task fails saying why, the peer gets nothing', async () => {
      const before = metricValue(await scrape(agent.url), 'a2a_peer_cards_refused_total') ?? 0;
      switched = true;
      const sent = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('after the swap', { metadata: { skill: 'delegate', targetSkill: 'echo', peer: switching.url } }) }));
      const task = await waitForTerminal(agent.url, sent.task.id);
      assert.equal(task.status.state, 'TASK_STATE_FAILED');
      assert.match(JSON.stringify(task.status.message), /was not used: .*does not match the card/);
      assert.equal(switching.received.length, 0);
      assert.equal(metricValue(await scrape(agent.url), 'a2a_peer_cards_refused_total'), before + 1);
    });
  });
});

describe('A2A_PEER_CARD_KEYS is checked at start', () => {
  const cases: [string, string, RegExp][] = [
    ['an entry without a key source', 'http://peer:8080', /<peer base URL>=<JWKS URL or key file>/],
    ['a peer that is not a URL', 'peer=/keys/peer.jwk', /<peer base URL>=/],
    ['a key file that does not exist', 'http://peer:8080=/nonexistent/peer.jwk', /ENOENT/],
    ['a peer given two keys', 'http://peer:8080=https://a.test/jwks.json,http://peer:8080/=https://b.test/jwks.json', /twice/],
  ];
  for (const [what, value, detail] of cases) {
    test(what, async () => {
      await assert.rejects(startTestAgent({ A2A_PEER_CARD_KEYS: value }), (error: any) => {
        assert.equal(error.key, 'A2A_PEER_CARD_KEYS');
        assert.match(error.message, detail);
        return true;
      });
    });
  }
});
