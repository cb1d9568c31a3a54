import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';

const MANIFEST = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: kagent\ndata:\n  LOG_LEVEL: info\n';

describe('SKILL_PERMISSIONS and the extended card', () => {
  let root: string;
  let agent: TestAgent;
  let url: string;
  const keys = { reviewer: newApiKey(), dev: newApiKey(), ops: newApiKey() };
  const as = (who: keyof typeof keys) => bearer(keys[who]);

  /** A 403 whose error names the skill; the principals a rule grants are never told. */
  function assertForbidden(res: { status: number; body: any }, skill: string, scopes: string): { message: string } {
    assert.equal(res.status, 403, JSON.stringify(res.body));
    const error = assertRpcError(res.body, -32052);
    assert.equal(errorInfo(error).reason, 'SKILL_NOT_ALLOWED');
    assert.deepEqual(errorInfo(error).metadata, { skill, requiredScopes: scopes });
    assert.match(error.message, new RegExp(`"${skill}"`));
    for (const principal of Object.keys(keys)) assert.doesNotMatch(error.message, new RegExp(`\\b${principal}\\b`));
    return error;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-permissions-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), `${key}\n`);
    agent = await startTestAgent({
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      SKILL_PERMISSIONS: 'manifest-review=reviewer; deleg*=ops; cluster-*=kagent:cluster-read',
    });
    url = agent.url;
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a skill named in the message is refused with 403 to a caller the rule does not name', async () => {
    const res = await rpc(url, 'SendMessage', { message: textMessage('review', { metadata: { skill: 'manifest-review' } }) }, as('dev'));
    const error = assertForbidden(res, 'manifest-review', '');
    assert.match(error.message, /restricted/);
  });

  test('content that routes to a restricted skill is refused the same way, and no task is created', async () => {
    assertForbidden(await rpc(url, 'SendMessage', { message: textMessage(MANIFEST) }, as('dev')), 'manifest-review', '');
    // Streaming too: the refusal comes before any stream starts.
    const streamed = await rpc(url, 'SendStreamingMessage', { message: textMessage(MANIFEST) }, as('dev'));
    assertForbidden(streamed, 'manifest-review', '');
    assert.equal(ok(await rpc(url, 'ListTasks', {}, as('dev'))).totalSize, 0);
  });

  test('a caller the rule names is served, by name and by content', async () => {
    const byContent = ok(await rpc(url, 'SendMessage', { message: textMessage(MANIFEST) }, as('reviewer'))).task;
    assert.equal(byContent.status.state, 'TASK_STATE_COMPLETED');
    assert.ok(byContent.artifacts.length > 0);
  });

  test('skills no rule names stay open to every authenticated caller', async () => {
    assert.equal(ok(await rpc(url, 'SendMessage', { message: textMessage('hi') }, as('dev'))).task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('a prefix rule covers the skills it starts, and a peer skill asked of the delegate is checked too', async () => {
    assertForbidden(await rpc(url, 'SendMessage', { message: textMessage('go', { metadata: { skill: 'delegate' } }) }, as('dev')), 'delegate', '');
    const viaDelegate = await rpc(url, 'SendMessage', { message: textMessage('list pods', { metadata: { skill: 'delegate', targetSkill: 'cluster-inspect' } }) }, as('ops'));
    const error = assertForbidden(viaDelegate, 'cluster-inspect', 'kagent:cluster-read');
    assert.match(error.message, /kagent:cluster-read/);
  });

  /** The skill ids the help skill offers this caller, from its data part, checked against its text. */
  async function helpListFor(target: string, headers: Record<string, string>): Promise<string[]> {
    const reply = ok(await rpc(target, 'SendMessage', { message: textMessage('what can you do?', { metadata: { skill: 'help' } }) }, headers)).message;
    assert.ok(reply, 'help answers with a message, not a task');
    const data = reply.parts.find((part: any) => part.data !== undefined)?.data;
    const text: string = reply.parts.find((part: any) => typeof part.text === 'string').text;
    const ids = (data.skills as { id: string }[]).map((skill) => skill.id);
    assert.deepEqual([...text.matchAll(/^- ([\w-]+):/gm)].map((m) => m[1]), ids);
    return ids;
  }

  test('help lists only the skills the calling principal may use', async () => {
    // Two callers, different grants, over the same door: each sees its own list and nothing it is kept from.
    assert.deepEqual(await helpListFor(url, as('dev')), ['echo']);
    assert.deepEqual(await helpListFor(url, as('reviewer')), ['echo', 'manifest-review']);
    assert.deepEqual(await helpListFor(url, as('ops')), ['echo', 'delegate']);
  });

  test('a skill name this agent lacks is an error listing only the skills the caller may use', async () => {
    const offeredTo = async (who: keyof typeof keys, skill: unknown): Promise<string[]> => {
      const res = await rpc(url, 'SendMessage', { message: textMessage('hi', { metadata: { skill } }) }, as(who));
      const error = assertRpcError(res.body, -32602);
      assert.equal(errorInfo(error).reason, 'UNKNOWN_SKILL');
      const offered = /this agent offers: (.*)$/.exec(error.message);
      assert.ok(offered, error.message);
      return offered[1]!.split(', ').sort();
    };
    // Like help and the cards, the error tells nobody what they are kept out of.
    for (const skill of ['no-such-skill', 42]) {
      assert.deepEqual(await offeredTo('dev', skill), ['echo', 'help']);
      assert.deepEqual(await offeredTo('reviewer', skill), ['echo', 'help', 'manifest-review']);
      assert.deepEqual(await offeredTo('ops', skill), ['delegate', 'echo', 'help']);
    }
  });

  test('the public cards declare the schemes, offer the extended card and list only the open skills', async () => {
    const v1 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as any;
    assert.equal(v1.capabilities.extendedAgentCard, true);
    assert.deepEqual(v1.securitySchemes, {
      bearer: { httpAuthSecurityScheme: { description: 'an API key issued by the operator, as a bearer token', scheme: 'Bearer' } },
      apiKey: { apiKeySecurityScheme: { description: 'an API key issued by the operator', location: 'header', name: 'X-API-Key' } },
    });
    assert.deepEqual(v1.securityRequirements, [{ schemes: { bearer: { list: [] } } }, { schemes: { apiKey: { list: [] } } }]);
    assert.deepEqual(v1.skills.map((s: any) => s.id), ['echo', 'help']);
    const v03 = (await (await fetch(`${url}/.well-known/agent.json`)).json()) as any;
    assert.equal(v03.supportsAuthenticatedExtendedCard, true);
    assert.deepEqual(v03.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key issued by the operator' });
    assert.equal(v03.securitySchemes.bearer.type, 'http');
    assert.equal(v03.securitySchemes.bearer.scheme, 'bearer');
    assert.deepEqual(v03.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.deepEqual(v03.skills.map((s: any) => s.id), ['echo', 'help']);
  });

  test('the extended card needs a caller and lists exactly the skills that caller may use', async () => {
    const anonymous = await rpc(url, 'GetExtendedAgentCard', {});
    assert.equal(anonymous.status, 401);
    const skillsOf = async (who: keyof typeof keys) => ok(await rpc(url, 'GetExtendedAgentCard', {}, as(who))).skills.map((s: any) => s.id);
    assert.deepEqual(await skillsOf('dev'), ['echo', 'help']);
    assert.deepEqual(await skillsOf('reviewer'), ['echo', 'manifest-review', 'help']);
    assert.deepEqual(await skillsOf('ops'), ['echo', 'delegate', 'help']);
    const card = ok(await rpc(url, 'GetExtendedAgentCard', {}, as('reviewer')));
    assert.equal(card.capabilities.extendedAgentCard, true);
    assert.ok(card.securitySchemes.bearer);
    // 0.3 callers get the 0.3 shape.
    const v03 = ok(await rpc(url, 'agent/getAuthenticatedExtendedCard', {}, { 'A2A-Version': '0.3', authorization: `Bearer ${keys.reviewer}` }));
    assert.equal(v03.protocolVersion, '0.3.0');
    assert.deepEqual(v03.skills.map((s: any) => s.id), ['echo', 'manifest-review', 'help']);
  });
});

describe('help without authentication', () => {
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ AUTH_MODE: 'none', SKILL_PERMISSIONS: 'manifest-review=reviewer; deleg*=ops' });
  });

  after(async () => {
    await agent?.dispose();
  });

  test('lists what the public card lists: restricted skills stay out of sight of the anonymous caller', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: textMessage('what can you do?', { metadata: { skill: 'help' } }) });
    const offered = ok(res).message.parts.find((part: any) => part.data !== undefined).data.skills.map((skill: any) => skill.id);
    assert.deepEqual(offered, ['echo']);
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as any;
    assert.deepEqual(card.skills.map((s: any) => s.id).filter((id: string) => id !== 'help'), offered);
  });
});
