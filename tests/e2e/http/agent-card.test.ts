import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { NO_VERSION, V03, ok, v03Message } from './helpers.js';

const V1_PATH = '/.well-known/agent-card.json';
const V03_PATH = '/.well-known/agent.json';

describe('agent cards', () => {
  let agent: TestAgent;
  let conformance: TestAgent;

  before(async () => {
    agent = await startTestAgent({ AGENT_NAME: 'card-test', CARD_CACHE_MAX_AGE: '90s' });
    conformance = await startTestAgent({ CONFORMANCE_AGENT: 'true' });
  });

  after(async () => {
    await agent.dispose();
    await conformance.dispose();
  });

  async function card(base: string, path: string): Promise<{ res: Response; body: any }> {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return { res, body: await res.json() };
  }

  test('the 1.0 card is pure 1.0 and lists every interface it serves at the agent URL', async () => {
    const { body } = await card(agent.url, V1_PATH);
    assert.equal(body.name, 'card-test');
    for (const key of ['url', 'protocolVersion', 'preferredTransport', 'additionalInterfaces']) {
      assert.equal(key in body, false, `the 1.0 card has no top-level ${key}`);
    }
    assert.deepEqual(body.supportedInterfaces, [
      { url: agent.url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: agent.url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
      { url: agent.url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
    ]);
    assert.equal(body.capabilities.streaming, true);
    assert.equal(body.capabilities.pushNotifications, true);
    assert.equal(body.capabilities.extendedAgentCard, false);
    assert.deepEqual(body.skills.map((s: any) => s.id), ['echo', 'delegate', 'manifest-review', 'help']);
    for (const skill of body.skills) {
      assert.equal(typeof skill.name, 'string');
      assert.equal(typeof skill.description, 'string');
      assert.ok(Array.isArray(skill.tags));
    }
    assert.ok(Array.isArray(body.defaultInputModes) && body.defaultInputModes.includes('text/plain'));
    assert.ok(Array.isArray(body.defaultOutputModes) && body.defaultOutputModes.includes('text/plain'));
  });

  test('the advertised interfaces answer in their versions', async () => {
    const { body } = await card(agent.url, V1_PATH);
    const v1 = body.supportedInterfaces.find((i: any) => i.protocolVersion === '1.0');
    const v03 = body.supportedInterfaces.find((i: any) => i.protocolVersion === '0.3');
    assert.equal(ok(await rpc(v1.url, 'SendMessage', { message: textMessage('via card') })).task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(ok(await rpc(v03.url, 'message/send', { message: v03Message('via card') }, V03)).status.state, 'completed');
    assert.equal(ok(await rpc(`${v03.url}/a2a`, 'message/send', { message: v03Message('via /a2a') }, NO_VERSION)).status.state, 'completed');
  });

  test('the conformance agent lists both skills', async () => {
    const { body } = await card(conformance.url, V1_PATH);
    assert.deepEqual(body.skills.map((s: any) => s.id).sort(), ['conformance', 'delegate', 'echo', 'help', 'manifest-review']);
  });

  test('the 0.3 card adds url, preferredTransport and protocolVersion', async () => {
    const { body } = await card(agent.url, V03_PATH);
    assert.equal(body.url, agent.url);
    assert.equal(body.preferredTransport, 'JSONRPC');
    assert.equal(body.protocolVersion, '0.3.0');
    assert.equal(body.name, 'card-test');
    assert.deepEqual(body.skills.map((s: any) => s.id), ['echo', 'delegate', 'manifest-review', 'help']);
    assert.equal(body.capabilities.streaming, true);
  });

  test('cards are cacheable and revalidate with ETag', async () => {
    for (const path of [V1_PATH, V03_PATH]) {
      const { res } = await card(agent.url, path);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=90\b/);
      const etag = res.headers.get('etag');
      assert.ok(etag, 'an ETag is sent');
      assert.ok(res.headers.get('last-modified'));

      const notModified = await fetch(`${agent.url}${path}`, { headers: { 'if-none-match': etag } });
      assert.equal(notModified.status, 304);
      assert.equal(await notModified.text(), '');
      assert.equal(notModified.headers.get('etag'), etag);

      const inList = await fetch(`${agent.url}${path}`, { headers: { 'if-none-match': `"other", ${etag}` } });
      assert.equal(inList.status, 304);
      await inList.arrayBuffer();

      const changed = await fetch(`${agent.url}${path}`, { headers: { 'if-none-match': '"stale"' } });
      assert.equal(changed.status, 200);
      assert.ok(((await changed.json()) as { name?: string }).name);
    }
    const v1 = (await fetch(`${agent.url}${V1_PATH}`)).headers.get('etag');
    const v03 = (await fetch(`${agent.url}${V03_PATH}`)).headers.get('etag');
    assert.notEqual(v1, v03, 'the two cards differ, and so do their validators');
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await fetch(`${agent.url}${V1_PATH}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get('etag'));
    assert.equal(await res.text(), '');
  });

  test('POST to a card path is 405', async () => {
    for (const path of [V1_PATH, V03_PATH]) {
      const res = await fetch(`${agent.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 405);
      assert.match(res.headers.get('allow') ?? '', /GET/);
      await res.arrayBuffer();
    }
  });
});
