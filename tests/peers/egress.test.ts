// The egress guard end to end, on loopback only: real service processes, a
// peer whose card advertises an interface on another loopback port, and a
// peer whose card path redirects there. Without EGRESS_ALLOW the hidden
// listener must never see a connection; with loopback allowlisted it is used.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startScriptedServer } from './client/servers.js';
import type { ScriptedServer } from './client/servers.js';
import { waitFor } from '../support/wait.js';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { readMetric } from '../support/metrics.js';

interface PeerView {
  url: string;
  state: string;
  lastError?: string;
}

/** An A2A agent (JSON-RPC at /a2a, no streaming) that no configured URL names: only cards point to it. */
interface Hidden {
  url: string;
  connections: number;
  rpcMethods: string[];
  close(): Promise<void>;
}

async function startHidden(): Promise<Hidden> {
  let server: Server;
  const hidden: Hidden = {
    url: '',
    connections: 0,
    rpcMethods: [],
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
        return reply(200, {
          name: 'hidden',
          description: 'reached only through a card or a redirect',
          version: '1',
          supportedInterfaces: [{ url: `${hidden.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
          capabilities: { streaming: false },
          defaultInputModes: ['text/plain'],
          defaultOutputModes: ['text/plain'],
          skills: [{ id: 'hidden-skill', name: 'hidden-skill', description: 'x', tags: [] }],
        });
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as { id?: unknown; method?: string } | null;
      hidden.rpcMethods.push(body?.method ?? `${req.method} ${req.url}`);
      if (body?.method !== 'SendMessage') return reply(404, { error: 'not scripted' });
      reply(200, {
        jsonrpc: '2.0',
        id: body.id ?? null,
        result: {
          task: {
            id: 'hidden-1',
            contextId: 'hidden-ctx',
            status: { state: 'TASK_STATE_COMPLETED', timestamp: new Date().toISOString() },
            artifacts: [{ artifactId: 'answer', parts: [{ text: 'from the hidden listener' }] }],
          },
        },
      });
    });
  });
  server.on('connection', () => hidden.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hidden.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hidden;
}

async function peers(agent: ServiceProcess): Promise<PeerView[]> {
  return ((await (await fetch(`${agent.url}/peers`)).json()) as { peers: PeerView[] }).peers;
}

function refusedCount(agent: ServiceProcess, reason: string): Promise<number> {
  return readMetric(agent.url, 'a2a_egress_refused_total', { reason });
}

function translate(agent: ServiceProcess): Promise<any> {
  return rpc(agent.url, 'SendMessage', {
    message: { role: 'ROLE_USER', messageId: `egress-${Date.now()}-${Math.random()}`, parts: [{ text: 'hello' }], metadata: { skill: 'translate' } },
  }).then((res) => res.body.result.task);
}

describe('egress guard across processes', () => {
  const dirs: string[] = [];
  let hidden: Hidden;
  let peer: ScriptedServer;
  let redirector: ScriptedServer;

  before(async () => {
    hidden = await startHidden();
    // Its card advertises the hidden listener's port, not its own.
    peer = await startScriptedServer(
      (_req, res) => void res.writeHead(404).end(),
      () => ({
        name: 'translator',
        description: 'a card pointing elsewhere',
        version: '1',
        supportedInterfaces: [{ url: `${hidden.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
        capabilities: { streaming: false },
        defaultInputModes: ['text/plain'],
        defaultOutputModes: ['text/plain'],
        skills: [{ id: 'translate', name: 'translate', description: 'translates', tags: ['language'] }],
      }),
    );
    // Its card paths redirect to the hidden listener's card.
    redirector = await startScriptedServer(
      (req, res) => void res.writeHead(302, { location: `${hidden.url}${req.path}` }).end(),
      null,
    );
  });

  after(async () => {
    await Promise.all([hidden?.close(), peer?.close(), redirector?.close()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function agentWith(env: Record<string, string>): Promise<ServiceProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-egress-'));
    dirs.push(dir);
    return startService(dir, { A2A_PEERS: `${peer.url},${redirector.url}`, A2A_DISCOVERY_INTERVAL: '200ms', ...env });
  }

  test('without EGRESS_ALLOW, a card interface and a redirect to another loopback port are refused, and that port receives nothing', async () => {
    const agent = await agentWith({});
    try {
      await waitFor('the peer discovered and the redirecting peer refused', async () => {
        const list = await peers(agent);
        const byUrl = new Map(list.map((p) => [p.url, p]));
        return byUrl.get(peer.url)?.state === 'healthy' && /egress to .* refused/.test(byUrl.get(redirector.url)?.lastError ?? '');
      }, 15_000);
      const redirected = (await peers(agent)).find((p) => p.url === redirector.url)!;
      assert.equal(redirected.state, 'unreachable');
      assert.match(redirected.lastError!, new RegExp(`egress to 127\\.0\\.0\\.1:${new URL(hidden.url).port} refused: 127\\.0\\.0\\.1 is a loopback address`));

      const task = await translate(agent);
      assert.equal(task.status.state, 'TASK_STATE_FAILED', JSON.stringify(task));
      const text = task.status.message.parts[0].text as string;
      assert.match(text, /the card of peer translator advertises an interface this agent will not call/);
      assert.match(text, new RegExp(`egress to 127\\.0\\.0\\.1:${new URL(hidden.url).port} refused`));
      assert.match(text, /loopback/);
      assert.equal(peer.received.length, 0, 'nothing but the card was asked of the peer');
      assert.equal(hidden.connections, 0, 'the hidden listener was never connected to');
      assert.ok((await refusedCount(agent, 'loopback')) >= 2, 'each refusal is counted');
    } finally {
      await agent.dispose();
    }
  });

  test('with loopback allowlisted, the advertised interface and the redirect are used', async () => {
    const agent = await agentWith({ EGRESS_ALLOW: '127.0.0.1,::1,localhost' });
    try {
      await waitFor('both peers discovered', async () => {
        const list = await peers(agent);
        return list.length === 2 && list.every((p) => p.state === 'healthy');
      }, 15_000);
      const task = await translate(agent);
      assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task));
      assert.equal(task.artifacts[0].parts[0].text, 'from the hidden listener');
      assert.ok(hidden.rpcMethods.includes('SendMessage'));
      assert.equal(await refusedCount(agent, 'loopback'), 0);
    } finally {
      await agent.dispose();
    }
  });

  test('a bad EGRESS_ALLOW entry stops the service at start, naming the setting and the entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-egress-'));
    dirs.push(dir);
    let started: ServiceProcess | undefined;
    try {
      started = await startService(dir, { EGRESS_ALLOW: '10.0.0.0/33' });
    } catch (error) {
      assert.match(String(error), /EGRESS_ALLOW/);
      assert.match(String(error), /"10\.0\.0\.0\/33" is not a CIDR/);
      return;
    } finally {
      await started?.dispose();
    }
    assert.fail('the service started with a bad EGRESS_ALLOW entry');
  });
});
