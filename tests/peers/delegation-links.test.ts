import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { replyJson, rpcResult, startScriptedServer } from './client/servers.js';
import type { Received, ScriptedServer } from './client/servers.js';
import { ok } from '../e2e/http/helpers.js';
import { waitFor } from '../support/wait.js';
import { rpc, textMessage } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A foreign agent on loopback that records every call: "ask …" makes a task
 * that asks for input, "slow …" one that keeps working until canceled, anything
 * else completes at once. Input sent to a waiting task completes it.
 */
interface RecordingPeer {
  server: ScriptedServer;
  methods(): string[];
  /** The remote task ids that follow-up messages named. */
  followUps: string[];
  canceled: string[];
}

async function startRecordingPeer(): Promise<RecordingPeer> {
  const states = new Map<string, string>();
  const followUps: string[] = [];
  const canceled: string[] = [];
  let created = 0;
  const wire = (id: string) => {
    const state = states.get(id)!;
    return {
      id,
      contextId: `ctx-${id}`,
      status: {
        state,
        timestamp: new Date().toISOString(),
        ...(state === 'TASK_STATE_INPUT_REQUIRED' ? { message: { role: 'ROLE_AGENT', messageId: `ask-${id}`, parts: [{ text: 'which language?' }] } } : {}),
      },
      ...(state === 'TASK_STATE_COMPLETED' ? { artifacts: [{ artifactId: 'translation', parts: [{ text: 'hallo' }] }] } : {}),
    };
  };
  const server = await startScriptedServer(
    (req: Received, res) => {
      const call = req.json as { method?: string; params?: any } | undefined;
      switch (call?.method) {
        case 'SendMessage': {
          const message = call.params.message;
          if (typeof message.taskId === 'string') {
            followUps.push(message.taskId);
            if (!states.has(message.taskId)) return replyJson(res, 200, { jsonrpc: '2.0', id: (req.json as any).id, error: { code: -32001, message: 'task not found' } });
            states.set(message.taskId, 'TASK_STATE_COMPLETED');
            return replyJson(res, 200, rpcResult(req, { task: wire(message.taskId) }));
          }
          const id = `remote-${++created}`;
          const text: string = message.parts[0]?.text ?? '';
          states.set(id, text.startsWith('ask') ? 'TASK_STATE_INPUT_REQUIRED' : text.startsWith('slow') ? 'TASK_STATE_WORKING' : 'TASK_STATE_COMPLETED');
          return replyJson(res, 200, rpcResult(req, { task: wire(id) }));
        }
        case 'GetTask':
          return replyJson(res, 200, rpcResult(req, wire(call.params.id)));
        case 'CancelTask':
          canceled.push(call.params.id);
          states.set(call.params.id, 'TASK_STATE_CANCELED');
          return replyJson(res, 200, rpcResult(req, wire(call.params.id)));
        default:
          return replyJson(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32601, message: 'not scripted' } });
      }
    },
    (url) => ({
      name: 'translator',
      description: 'records what it is asked',
      version: '1',
      supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      capabilities: { streaming: false },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [{ id: 'translate', name: 'translate', description: 'translates', tags: ['language'] }],
    }),
  );
  return {
    server,
    methods: () => server.received.map((r) => (r.json as { method?: string } | undefined)?.method ?? `${r.method} ${r.path}`),
    followUps,
    canceled,
  };
}

async function peerHealthy(agent: ServiceProcess): Promise<void> {
  await waitFor('the peer to be discovered', async () => {
    const body = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { state: string }[] };
    return body.peers.length === 1 && body.peers[0]!.state === 'healthy';
  }, 15_000);
}

const translate = (text: string, extra: Record<string, unknown> = {}) => textMessage(text, { metadata: { skill: 'translate' }, ...extra });

for (const storeKind of ['sqlite', 'postgres'] as const) {
  describe(`delegation to a recording peer (${storeKind})`, () => {
    let peer: RecordingPeer;
    let dir: string;
    let agent: ServiceProcess;
    const schema = `kagent_links_${randomBytes(4).toString('hex')}`;
    const env = () => ({
      A2A_PEERS: peer.server.url,
      // One check at start is enough here; repeated checks only add chances for a transient miss.
      A2A_DISCOVERY_INTERVAL: '1h',
      ...(storeKind === 'postgres' ? { STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: schema } : {}),
    });

    before(async () => {
      peer = await startRecordingPeer();
      dir = mkdtempSync(join(tmpdir(), `kagent-links-${storeKind}-`));
      agent = await startService(dir, env());
      await peerHealthy(agent);
    });

    after(async () => {
      await agent?.dispose();
      await peer?.server.close();
      rmSync(dir, { recursive: true, force: true });
      if (storeKind === 'postgres') {
        const admin = new pg.Client({ connectionString: DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      }
    });

    test('a completed delegation sends the peer no CancelTask', async () => {
      for (const text of ['hello', 'good morning']) {
        const task = ok(await rpc(agent.url, 'SendMessage', { message: translate(text) })).task;
        assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task));
      }
      // The second delegation went through the peer entirely, after the first had ended.
      const methods = peer.methods();
      assert.equal(methods.filter((m) => m === 'SendMessage').length, 2, methods.join(', '));
      assert.ok(!methods.includes('CancelTask'), `no CancelTask after a completed delegation: ${methods.join(', ')}`);
    });

    test('canceling the local task still cancels the remote one', async () => {
      const local = ok(await rpc(agent.url, 'SendMessage', { message: translate('slow please'), configuration: { returnImmediately: true } })).task;
      let remoteId: string | undefined;
      await waitFor('the local task to name its remote twin', async () => {
        remoteId = ok(await rpc(agent.url, 'GetTask', { id: local.id })).metadata?.kagentDelegatedTo?.taskId;
        return remoteId !== undefined;
      }, 15_000);
      ok(await rpc(agent.url, 'CancelTask', { id: local.id }));
      await waitFor('the remote task to be canceled', () => peer.canceled.includes(remoteId!), 15_000);
    });

    test('a follow-up after the delegating agent restarts reaches the same remote task', async () => {
      const local = ok(await rpc(agent.url, 'SendMessage', { message: translate('ask me') })).task;
      assert.equal(local.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(local));
      const link = ok(await rpc(agent.url, 'GetTask', { id: local.id })).metadata?.kagentDelegatedTo;
      assert.equal(link?.peer, peer.server.url, 'the task names its remote twin and the peer');
      const remoteId = link.taskId as string;

      agent.child.kill('SIGTERM');
      assert.equal((await agent.waitExit(60_000)).code, 0);
      agent = await startService(dir, env());

      const followUp = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('German', { taskId: local.id, contextId: local.contextId }) })).task;
      assert.deepEqual(peer.followUps, [remoteId], 'the peer got the follow-up in its own task');
      assert.equal(followUp.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(followUp));
      assert.equal(followUp.artifacts[0].parts[0].text, 'hallo');
    });
  });
}
