import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as library from 'kagent-a2a/client';
import * as legacyPath from '../../../src/peers/a2a-client.js';
import * as source from '../../../src/peers/client/index.js';
import { startTestAgent } from '../../support/agent.js';
import { callDeadline } from './util.js';

// The client as a library: `import … from 'kagent-a2a/client'` resolves
// through package.json "exports" to the built module, and the bin still works.

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test("'kagent-a2a/client' is the client module, with its whole public API", () => {
  assert.equal(library.A2AClient, source.A2AClient);
  for (const name of ['A2AClient', 'A2AClientError', 'TaskNotFoundError', 'A2ATimeoutError', 'userText', 'DEFAULT_RETRY', 'isRetryable', 'SseParser']) {
    assert.ok(name in library, `${name} is not exported`);
  }
  assert.equal(legacyPath.A2AClient, source.A2AClient, 'the older import path serves the same client');
});

test('package.json exports only the client and keeps the bin', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, { default: string } | string>; bin: Record<string, string>; dependencies: Record<string, string> };
  const entry = pkg.exports['./client'] as { default: string; types: string };
  assert.ok(existsSync(`${ROOT}${entry.default}`), entry.default);
  assert.ok(existsSync(`${ROOT}${entry.types}`), entry.types);
  assert.ok(existsSync(`${ROOT}${pkg.bin['kagent-a2a']}`));
  assert.match(pkg.dependencies.undici ?? '', /^\^?6\./);
});

test('imported by package name, the client talks to a running agent', async () => {
  const agent = await startTestAgent();
  try {
    const client = await library.A2AClient.connect(agent.url);
    const result = await client.send(library.userText('from the package'), callDeadline());
    assert.equal(result.kind, 'task');
    assert.equal(result.kind === 'task' && result.task.status.state, 'completed');
  } finally {
    await agent.dispose();
  }
});
