import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok } from '../e2e/http/helpers.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { bearer, newApiKey } from '../support/auth.js';
import { startFakePeer } from '../support/fake-peer.js';
import type { FakePeer } from '../support/fake-peer.js';
import { rpc } from '../support/rpc.js';
import { waitFor } from '../support/wait.js';

// SKILL_PERMISSIONS covers a peer's skills as it covers ours: a skill id named
// in metadata.targetSkill is checked when the message arrives, and a tag or a
// pinned peer — which reach skills no id named — is checked against every peer
// skill it could reach before anything goes to the peer.

describe('delegation is held to the caller\'s skill permissions', () => {
  let root: string;
  let peer: FakePeer;
  let agent: TestAgent;
  const keys = { alice: newApiKey(), boss: newApiKey() };
  const as = (who: keyof typeof keys) => bearer(keys[who]);

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-delegation-permissions-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    // The peer serves only its card: a message that gets past the permission check fails at the peer instead.
    peer = await startFakePeer('reports-agent', [
      { id: 'salary-report', tags: ['reports', 'hr'] },
      { id: 'weather-report', tags: ['reports-public'] },
    ]);
    agent = await startTestAgent({
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      SKILL_PERMISSIONS: 'salary-report=boss',
      A2A_PEERS: peer.url,
      A2A_DISCOVERY_INTERVAL: '1h',
    });
    await waitFor('the peer discovered', () => agent.discovery.list().some((p) => p.url === peer.url && p.state === 'healthy'));
  });

  after(async () => {
    await agent?.dispose();
    await peer?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function outcome(who: keyof typeof keys, metadata: Record<string, string>): Promise<{ state: string; text: string }> {
    const message = { role: 'ROLE_USER', messageId: `m-${who}-${JSON.stringify(metadata)}`, parts: [{ text: 'the report please' }], metadata: { skill: 'delegate', ...metadata } };
    const id = ok(await rpc(agent.url, 'SendMessage', { message, configuration: { returnImmediately: true } }, as(who))).task.id as string;
    return waitFor(`task ${id} to end`, async () => {
      const task = ok(await rpc(agent.url, 'GetTask', { id }, as(who)));
      const state = task.status.state as string;
      if (!['TASK_STATE_REJECTED', 'TASK_STATE_FAILED', 'TASK_STATE_COMPLETED'].includes(state)) return undefined;
      return { state, text: (task.status.message?.parts ?? []).map((p: { text?: string }) => p.text ?? '').join('') };
    });
  }

  test('a tag that reaches a restricted peer skill is refused before the peer is called, naming the skill', async () => {
    const refused = await outcome('alice', { targetTag: 'hr' });
    assert.equal(refused.state, 'TASK_STATE_REJECTED');
    assert.match(refused.text, /may not use the peer skill "salary-report" that the tag "hr" could reach/);
  });

  test('a pinned peer offering a restricted skill is refused; naming a permitted skill is not', async () => {
    const pinned = await outcome('alice', { peer: peer.url });
    assert.equal(pinned.state, 'TASK_STATE_REJECTED');
    assert.match(pinned.text, /"salary-report"/);
    assert.doesNotMatch(pinned.text, /weather-report/, 'only the skills the caller lacks are named');
    // Past the check, the card-only peer cannot take the message: the task fails there instead.
    const named = await outcome('alice', { peer: peer.url, targetSkill: 'weather-report' });
    assert.equal(named.state, 'TASK_STATE_FAILED');
  });

  test('a tag reaching only permitted skills, and a caller allowed the restricted one, go through to the peer', async () => {
    assert.equal((await outcome('alice', { targetTag: 'reports-public' })).state, 'TASK_STATE_FAILED');
    assert.equal((await outcome('boss', { targetTag: 'hr' })).state, 'TASK_STATE_FAILED');
  });
});
