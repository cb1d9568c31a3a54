// The official SDK (@a2a-js/sdk) against our server with API-key authentication on:
// it reads the card's security declarations, authenticates with its own
// authenticating fetch, and is refused without a credential.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentCard } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, createAuthenticatingFetchWithRetry, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { newApiKey } from '../../support/auth.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { sendRequest, userMessage, callDeadline } from './sdk.js';

describe('the official SDK with API-key authentication', () => {
  let root: string;
  let agent: TestAgent;
  const key = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-sdk-auth-'));
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'sdk-client'), key);
    // manifest-review is for this client only: the public card hides it, the extended card shows it.
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys'), SKILL_PERMISSIONS: 'manifest-review=sdk-client' });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const clientWith = (fetchImpl: typeof fetch) =>
    new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl })] })).createFromUrl(
      `${agent.url}/`,
    );

  test('the SDK reads the security schemes and requirements of our 1.0 card', async () => {
    const card = AgentCard.fromJSON(await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json());
    assert.equal(card.securitySchemes.bearer?.scheme?.$case, 'httpAuthSecurityScheme');
    assert.equal(card.securitySchemes.apiKey?.scheme?.$case, 'apiKeySecurityScheme');
    const apiKey = card.securitySchemes.apiKey?.scheme?.value as { location: string; name: string };
    assert.deepEqual({ location: apiKey.location, name: apiKey.name }, { location: 'header', name: 'X-API-Key' });
    assert.deepEqual(
      card.securityRequirements.map((r) => Object.keys(r.schemes)),
      [['bearer'], ['apiKey']],
    );
    assert.equal(card.capabilities?.extendedAgentCard, true);
    assert.deepEqual(
      card.skills.map((skill) => skill.id),
      ['echo', 'delegate', 'help'],
    );
  });

  test('with its authenticating fetch the SDK is served; without a credential it is refused', async () => {
    const authenticated = createAuthenticatingFetchWithRetry(fetch, {
      headers: async () => ({ authorization: `Bearer ${key}` }),
      shouldRetryWithHeaders: async () => undefined,
    });
    const client = await clientWith(authenticated);
    const result = await client.sendMessage(sendRequest(userMessage('hello with a key')), callDeadline());
    assert.ok('status' in result, 'a task came back');
    const anonymous = await clientWith(fetch);
    await assert.rejects(anonymous.sendMessage(sendRequest(userMessage('hello without')), callDeadline()));
    // The card declares the extended card, so the SDK fetches it with the caller's credential.
    const extended = await client.getAgentCard(callDeadline());
    assert.equal(extended.capabilities?.extendedAgentCard, true);
    assert.deepEqual(
      extended.skills.map((skill) => skill.id),
      ['echo', 'delegate', 'manifest-review', 'help'],
    );
  });
});
