// The delegate skill rides on the client's resume: the peer (a second agent of
// ours, its task held at the test's gate) is reached through a loopback proxy
// the test cuts mid-task. The local task must mirror every remote event once,
// in order, and end as the remote one does — not fail for a dropped connection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { Gate } from '../support/gate.js';
import { collect, openStream, rpc, textMessage } from '../support/rpc.js';
import { freePort } from '../support/service-process.js';
import { waitFor } from '../support/wait.js';
import { startProxy } from './client/servers.js';
import type { Proxy } from './client/servers.js';

describe('a delegated task survives a cut connection to its peer', () => {
  let gate: Gate;
  let peer: TestAgent;
  let proxy: Proxy;
  let agent: TestAgent;

  before(async () => {
    gate = await Gate.start();
    // The peer advertises the proxy as its address, so every call the delegate makes goes through it.
    const port = await freePort();
    proxy = await startProxy(`http://127.0.0.1:${port}`);
    peer = await startTestAgent({ PORT: String(port), PUBLIC_URL: proxy.url, STREAM_HEARTBEAT_INTERVAL: '100ms' });
    agent = await startTestAgent({ POD_NAME: 'kagent-0', A2A_PEERS: proxy.url, A2A_DISCOVERY_INTERVAL: '200ms', STREAM_HEARTBEAT_INTERVAL: '100ms' });
    await waitFor('the peer discovered', async () => {
      const body = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { state: string }[] };
      return body.peers.length === 1 && body.peers[0]!.state === 'healthy';
    });
  });

  after(async () => {
    await agent?.dispose();
    await peer?.dispose();
    await proxy?.close();
    await gate?.close();
  });

  test('the delegate resumes the remote stream after the last event it mirrored: each remote event once, and the task completes', async () => {
    const run = gate.run();
    const local = await openStream(agent.url, 'SendStreamingMessage', {
      message: textMessage('hand it on', { metadata: { skill: 'delegate', targetSkill: run.metadata.skill, gate: run.metadata.gate } }),
    });
    await run.started();
    run.say('first');
    const localSays = async (text: string) =>
      waitFor(`the local task to say "${text}"`, async () => {
        const listed = (await rpc(agent.url, 'ListTasks', { pageSize: 1 })).body.result.tasks[0];
        return listed?.status.message?.parts?.[0]?.text === text;
      });
    await localSays('first');
    assert.ok(proxy.cut() >= 1, 'the remote stream went through the proxy');
    run.say('second');
    run.release();
    const events = (await collect(local)).map((envelope) => envelope.result);
    const texts = events.filter((e) => e.statusUpdate !== undefined).map((e) => `${e.statusUpdate.status.state}:${e.statusUpdate.status.message?.parts?.[0]?.text ?? ''}`);
    assert.deepEqual(texts.slice(-4), ['TASK_STATE_WORKING:waiting at the gate', 'TASK_STATE_WORKING:first', 'TASK_STATE_WORKING:second', 'TASK_STATE_COMPLETED:']);
    assert.equal(events.filter((e) => e.artifactUpdate !== undefined).length, 1, 'the remote artifact, mirrored once');
    const resumed = proxy.forwarded.filter((f) => f.rpcMethod === 'SubscribeToTask');
    assert.equal(resumed.length, 1, JSON.stringify(proxy.forwarded));
    assert.match(resumed[0]!.lastEventId ?? '', /^\d+$/);
  });
});
