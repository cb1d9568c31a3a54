import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { choosePeer, delegationTarget } from '../../src/skills/delegate.js';
import type { PeerStatus } from '../../src/peers/discovery.js';
import { replyJson, rpcResult, startScriptedServer } from './client/servers.js';
import type { ScriptedServer } from './client/servers.js';
import { waitFor } from '../support/wait.js';
import { collect, openStream, rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

function peer(url: string, skills: { id: string; tags: string[] }[], state: PeerStatus['state'] = 'healthy', source = 'config'): PeerStatus {
  return { url, source, state, protocolVersions: ['1.0'], skills: skills.map((s) => ({ ...s, name: s.id })), consecutiveFailures: 0, nextCheckAt: '' };
}

describe('choosing a peer', () => {
  const peers = [
    peer('http://a', [{ id: 'summarize', tags: ['text'] }], 'unreachable'),
    peer('http://b', [{ id: 'summarize', tags: ['text'] }]),
    peer('http://c', [{ id: 'translate', tags: ['text', 'language'] }]),
    peer('http://self-1', [{ id: 'lint', tags: ['code'] }], 'healthy', 'sibling'),
  ];

  test('a healthy peer offering the skill by id wins; else one with the tag', () => {
    assert.equal(choosePeer(peers, { skill: 'summarize' })?.url, 'http://b');
    assert.equal(choosePeer(peers, { skill: 'language' })?.url, 'http://c', 'a skill name that is a tag elsewhere');
    assert.equal(choosePeer(peers, { tag: 'language' })?.url, 'http://c');
    assert.equal(choosePeer(peers, { skill: 'summarize', peer: 'http://c/' }), undefined, 'a pinned peer must offer it');
  });

  test('unreachable peers and sibling replicas are never chosen', () => {
    assert.equal(choosePeer(peers, { skill: 'lint' }), undefined);
    assert.equal(choosePeer([peers[0]!], { skill: 'summarize' }), undefined);
  });

  test('the target comes from metadata: targetSkill, targetTag and peer for delegate, else the named skill', () => {
    const msg = (metadata: Record<string, string>) => ({ messageId: 'm', role: 'user' as const, parts: [], metadata });
    assert.deepEqual(delegationTarget(msg({ skill: 'delegate', targetSkill: 'x', peer: 'http://p' })), { skill: 'x', tag: undefined, peer: 'http://p' });
    assert.deepEqual(delegationTarget(msg({ skill: 'summarize' })), { skill: 'summarize', tag: undefined, peer: undefined });
    assert.deepEqual(delegationTarget(msg({ skill: 'delegate', targetTag: 't' })), { skill: undefined, tag: 't', peer: undefined });
  });
});

describe('delegation across two agents', () => {
  const dirs: string[] = [];
  let peerAgent: ServiceProcess;
  let agent: ServiceProcess;
  let pollingPeer: ScriptedServer;
  const pollingTask = { id: 'remote-1', contextId: 'remote-ctx', polls: 0 };

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-delegation-${i}-`)));
    // The peer has the conformance skill; the agent under test does not.
    peerAgent = await startService(dirs[0]!, { POD_NAME: 'peer-0', CONFORMANCE_AGENT: 'true' });
    // A foreign agent that cannot stream: work handed to it is polled.
    pollingPeer = await startScriptedServer(
      (req, res) => {
        const method = (req.json as { method?: string } | undefined)?.method;
        const status = (state: string) => ({ state, timestamp: new Date().toISOString() });
        if (method === 'SendMessage') {
          return replyJson(res, 200, rpcResult(req, { task: { id: pollingTask.id, contextId: pollingTask.contextId, status: status('TASK_STATE_WORKING') } }));
        }
        if (method === 'GetTask') {
          pollingTask.polls++;
          const done = pollingTask.polls >= 2;
          return replyJson(
            res,
            200,
            rpcResult(req, {
              id: pollingTask.id,
              contextId: pollingTask.contextId,
              status: status(done ? 'TASK_STATE_COMPLETED' : 'TASK_STATE_WORKING'),
              ...(done ? { artifacts: [{ artifactId: 'translation', parts: [{ text: 'hallo' }] }] } : {}),
            }),
          );
        }
        replyJson(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32601, message: 'not scripted' } });
      },
      (url) => ({
        name: 'translator',
        description: 'a peer that does not stream',
        version: '1',
        supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
        capabilities: { streaming: false },
        defaultInputModes: ['text/plain'],
        defaultOutputModes: ['text/plain'],
        skills: [{ id: 'translate', name: 'translate', description: 'translates', tags: ['language'] }],
      }),
    );
    agent = await startService(dirs[1]!, {
      POD_NAME: 'kagent-0',
      A2A_PEERS: `${peerAgent.url},${pollingPeer.url}`,
      A2A_DISCOVERY_INTERVAL: '200ms',
    });
    await waitFor('both peers discovered', async () => {
      const body = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { state: string }[] };
      return body.peers.length === 2 && body.peers.every((p) => p.state === 'healthy');
    });
  });

  after(async () => {
    await Promise.all([agent?.dispose(), peerAgent?.dispose(), pollingPeer?.close()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a message naming a skill only a peer has is delegated, its stream mirrored into the local task', async () => {
    const stream = await openStream(agent.url, 'SendStreamingMessage', {
      message: { role: 'ROLE_USER', messageId: `tck-stream-001-${Date.now()}`, parts: [{ text: 'go' }], metadata: { skill: 'conformance' } },
    });
    const events = await collect(stream);
    const localId = events[0].result.task.id as string;
    assert.match(localId, /^kagent-0\./, 'the task is the local agent\'s');
    assert.ok(events.some((e) => e.result.artifactUpdate?.artifact.parts[0].text === 'Stream hello from TCK'), JSON.stringify(events));
    assert.equal(events.at(-1).result.statusUpdate.status.state, 'TASK_STATE_COMPLETED');
    const task = (await rpc(agent.url, 'GetTask', { id: localId })).body.result;
    assert.equal(task.artifacts[0].parts[0].text, 'Stream hello from TCK');
  });

  test('the delegate skill hands work to a peer by target skill, blocking', async () => {
    const res = await rpc(agent.url, 'SendMessage', {
      message: { role: 'ROLE_USER', messageId: `tck-artifact-data-${Date.now()}`, parts: [{ text: 'x' }], metadata: { skill: 'delegate', targetSkill: 'conformance' } },
    });
    const task = res.body.result.task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task));
    assert.deepEqual(task.artifacts[0].parts[0].data, { key: 'value', count: 42 });
  });

  test('a peer that cannot stream is polled until its task ends', async () => {
    const res = await rpc(agent.url, 'SendMessage', {
      message: { role: 'ROLE_USER', messageId: `translate-${Date.now()}`, parts: [{ text: 'hello' }], metadata: { skill: 'translate' } },
    });
    const task = res.body.result.task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task));
    assert.equal(task.artifacts[0].parts[0].text, 'hallo');
    assert.ok(pollingTask.polls >= 2);
    const methods = pollingPeer.received.map((r) => (r.json as { method?: string }).method);
    assert.equal(methods[0], 'SendMessage');
    assert.ok(methods.slice(1).every((m) => m === 'GetTask'));
    assert.equal((pollingPeer.received[0]!.json as any).params.configuration.returnImmediately, true);
  });

  test('canceling the local task cancels the remote one', async () => {
    const sent = await rpc(agent.url, 'SendMessage', {
      message: { role: 'ROLE_USER', messageId: `test-resubscribe-message-id-${Date.now()}`, parts: [{ text: 'long' }], metadata: { skill: 'conformance' } },
      configuration: { returnImmediately: true },
    });
    const localId = sent.body.result.task.id as string;
    let remoteId: string | undefined;
    await waitFor('the remote task to be working', async () => {
      const list = (await rpc(peerAgent.url, 'ListTasks', { status: 'TASK_STATE_WORKING' })).body.result;
      remoteId = list.tasks[0]?.id;
      return remoteId !== undefined;
    });
    const canceled = await rpc(agent.url, 'CancelTask', { id: localId });
    assert.equal(canceled.body.result.status.state, 'TASK_STATE_CANCELED');
    await waitFor('the remote task to be canceled', async () => (await rpc(peerAgent.url, 'GetTask', { id: remoteId })).body.result.status.state === 'TASK_STATE_CANCELED');
  });

  test('no healthy peer with the skill: the task fails and says so', async () => {
    const res = await rpc(agent.url, 'SendMessage', {
      message: { role: 'ROLE_USER', messageId: `nobody-${Date.now()}`, parts: [{ text: 'x' }], metadata: { skill: 'summarize' } },
    });
    const task = res.body.result.task;
    assert.equal(task.status.state, 'TASK_STATE_FAILED');
    assert.match(task.status.message.parts[0].text, /no healthy peer agent offers the skill "summarize"/);
    assert.match(task.status.message.parts[0].text, /conformance/, 'it says what the peers do offer');
  });
});
