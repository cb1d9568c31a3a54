import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { waitFor } from '../support/wait.js';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

// Every caller reaches a peer as this one agent, so the peer cannot keep
// callers apart: the agent must. Two callers who send the very same message
// (same messageId, same content) must still get two remote tasks, or one of
// them would read and cancel the other's.

const REMOTE_LINK = 'kagentDelegatedTo';

describe('delegation keeps callers apart at the peer (two callers, one peer, real processes)', () => {
  let root: string;
  let peer: ServiceProcess;
  let agent: ServiceProcess;
  const keys = { alice: newApiKey(), mallory: newApiKey() };
  const as = (who: keyof typeof keys) => bearer(keys[who]);

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-delegation-isolation-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    // The peer runs echo and keeps it working as long as it is asked to; it knows only one caller: the agent.
    peer = await startService(join(root, 'peer'), { POD_NAME: 'peer-0', ECHO_MAX_DELAY: '10m' });
    agent = await startService(join(root, 'agent'), {
      POD_NAME: 'kagent-0',
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      A2A_PEERS: peer.url,
      A2A_DISCOVERY_INTERVAL: '200ms',
    });
    await waitFor('the peer discovered', async () => {
      const res = await fetch(`${agent.url}/peers`, { headers: as('alice') });
      const body = (await res.json()) as { peers: { state: string }[] };
      return body.peers.length === 1 && body.peers[0]!.state === 'healthy';
    });
  });

  after(async () => {
    await Promise.all([agent?.dispose(), peer?.dispose()]);
    rmSync(root, { recursive: true, force: true });
  });

  /** The remote twin of a caller's local task, once the hand-over has happened. */
  function remoteOf(taskId: string, who: keyof typeof keys): Promise<{ taskId: string }> {
    return waitFor(`the remote twin of ${taskId}`, async () => {
      const task = ok(await rpc(agent.url, 'GetTask', { id: taskId }, as(who)));
      return task.metadata?.[REMOTE_LINK];
    });
  }

  async function peerState(taskId: string): Promise<string> {
    return ok(await rpc(peer.url, 'GetTask', { id: taskId })).status.state;
  }

  test('the same message from another caller starts its own remote task, and canceling it leaves the first one running', async () => {
    // A messageId a client might well reuse or another caller might guess.
    const message = {
      role: 'ROLE_USER',
      messageId: 'request-1',
      parts: [{ text: 'long work for alice' }],
      metadata: { skill: 'delegate', targetSkill: 'echo', delayMs: 600_000 },
    };
    const send = (who: keyof typeof keys) => rpc(agent.url, 'SendMessage', { message, configuration: { returnImmediately: true } }, as(who));
    const alice = ok(await send('alice')).task.id as string;
    const aliceRemote = await remoteOf(alice, 'alice');
    const mallory = ok(await send('mallory')).task.id as string;
    const malloryRemote = await remoteOf(mallory, 'mallory');
    assert.notEqual(malloryRemote.taskId, aliceRemote.taskId, 'another caller joined the first caller\'s remote task');

    ok(await rpc(agent.url, 'CancelTask', { id: mallory }, as('mallory')));
    await waitFor('the second caller\'s remote task to be canceled', async () => ((await peerState(malloryRemote.taskId)) === 'TASK_STATE_CANCELED' ? true : undefined));
    assert.equal(await peerState(aliceRemote.taskId), 'TASK_STATE_WORKING');
    assert.equal(ok(await rpc(agent.url, 'GetTask', { id: alice }, as('alice'))).status.state, 'TASK_STATE_WORKING');

    // A retry of the same message by the same caller still joins the work it started, here and at the peer.
    const again = ok(await send('alice')).task.id as string;
    assert.equal(again, alice);
    ok(await rpc(agent.url, 'CancelTask', { id: alice }, as('alice')));
    await waitFor('the first caller\'s remote task to be canceled', async () => ((await peerState(aliceRemote.taskId)) === 'TASK_STATE_CANCELED' ? true : undefined));
  });
});
