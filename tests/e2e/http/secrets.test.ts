// Credentials the operator configured never reach a caller or the log: a
// peer URL's user:password shows as *** on the unauthenticated /peers and in
// every log line, and a model endpoint that quotes the request back (the
// Authorization header included) in its error does not put the API key into
// the task status or the log. Against a real service process; the model
// endpoint is the scripted chat-completions server that stands in for a paid
// API.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { startFakePeer } from '../../support/fake-peer.js';
import type { FakePeer } from '../../support/fake-peer.js';
import { startChatServer } from '../../skills/assistant/chat-server.js';
import type { ChatServer } from '../../skills/assistant/chat-server.js';
import { waitFor } from '../../support/wait.js';

const PEER_PASSWORD = 'peer-PASSWORD-4711';
const VAPORA_PASSWORD = 'vapora-PASSWORD-0815';
const API_KEY = 'sk-live-KEY-9f8e7d6c5b4a';

let dir: string;
let peer: FakePeer;
let chat: ChatServer;
let service: ServiceProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kagent-secrets-'));
  peer = await startFakePeer('peer');
  chat = await startChatServer();
  const keyFile = join(dir, 'llm-key');
  writeFileSync(keyFile, `${API_KEY}\n`);
  const withCredentials = (user: string, password: string) => peer.url.replace('http://', `http://${user}:${password}@`);
  service = await startService(
    join(dir, 'data'),
    {
      A2A_PEERS: withCredentials('agent', PEER_PASSWORD),
      VAPORA_URL: withCredentials('vapora', VAPORA_PASSWORD),
      A2A_DISCOVERY_INTERVAL: '200ms',
      LOG_LEVEL: 'debug',
      LLM_URL: chat.baseUrl,
      LLM_MODEL: 'scripted-model',
      LLM_API_KEY_FILE: keyFile,
      DEFAULT_SKILL: 'assistant',
    },
    60_000,
  );
});

after(async () => {
  await service?.dispose();
  await peer?.close();
  await chat?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('credentials in peer URLs', () => {
  test('/peers and the log show the peers with their credentials hidden, after several checks', async () => {
    const port = new URL(peer.url).port;
    // Checked (and logged) a few times each: every path that could print the URL has run.
    const peers = await waitFor(
      'both peers to be checked three times',
      async () => {
        const body = (await (await fetch(`${service.url}/peers`)).json()) as { peers: { url: string; consecutiveFailures: number; lastError?: string }[] };
        return body.peers.length === 2 && body.peers.every((p) => p.consecutiveFailures >= 3) ? body.peers : undefined;
      },
      30_000,
    );
    const text = JSON.stringify(peers);
    assert.ok(!text.includes(PEER_PASSWORD) && !text.includes(VAPORA_PASSWORD), text);
    assert.deepEqual(peers.map((p) => p.url).sort(), [`http://***@127.0.0.1:${port}`, `http://***@127.0.0.1:${port}`]);
    // Why they fail is still said: a URL with credentials is not fetched.
    assert.match(peers[0]!.lastError ?? '', /credentials: http:\/\/\*\*\*@127\.0\.0\.1/);

    const log = service.output();
    assert.match(log, /"peer checked"/);
    assert.ok(!log.includes(PEER_PASSWORD), 'the peer password is in the log');
    assert.ok(!log.includes(VAPORA_PASSWORD), 'the VAPORA password is in the log');
  });
});

describe('a model endpoint that quotes the request in its error', () => {
  test('the task says what happened without the API key; the log has the body with the key hidden', async () => {
    chat.enqueue({
      status: 401,
      headers: { 'content-type': 'application/json' },
      steps: [{ write: '{"error": {"message": "Incorrect API key provided: ' }, { echoHeader: 'authorization' }, { write: '", "code": "invalid_api_key"}}' }],
    });
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'ROLE_USER', messageId: 'secret-1', parts: [{ text: 'hello' }] } } }),
    });
    const body = (await res.json()) as any;
    const task = body.result?.task;
    assert.equal(task?.status.state, 'TASK_STATE_FAILED', JSON.stringify(body).slice(0, 500));
    // The endpoint did get the key, and did send it back.
    assert.equal(chat.requests[chat.requests.length - 1]!.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(task.status.message.parts[0].text, 'the model endpoint answered HTTP 401 Unauthorized');
    assert.ok(!JSON.stringify(body).includes(API_KEY), 'the API key is in the answer');

    const entry = await waitFor('the endpoint error in the log', async () => {
      const line = service
        .output()
        .split('\n')
        .find((l) => l.includes('"model endpoint error"'));
      return line === undefined ? undefined : (JSON.parse(line) as { detail: string; taskId: string });
    });
    assert.equal(entry.taskId, task.id);
    assert.match(entry.detail, /Incorrect API key provided: Bearer \*\*\* \(invalid_api_key\)/);
    assert.ok(!service.output().includes(API_KEY), 'the API key is in the log');
  });
});
