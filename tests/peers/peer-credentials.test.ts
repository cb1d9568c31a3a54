import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PeerCredentials } from '../../src/peers/credentials.js';
import { ok } from '../e2e/http/helpers.js';
import { bearer, newApiKey } from '../support/auth.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { waitFor } from '../support/wait.js';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

describe('PeerCredentials: a credential per host, from a Secret-like directory', () => {
  let root: string;
  let dir: ConfigMapDir;
  let credentials: PeerCredentials;
  const problems: string[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kagent-peer-creds-'));
    dir = new ConfigMapDir(join(root, 'creds'));
    dir.update({ 'vapora.vapora.svc.cluster.local': ' vapora-token \n', 'peer.internal': 'host-wide', 'peer.internal_9000': 'port-only' });
    credentials = new PeerCredentials(dir.path, { onProblem: (file, problem) => problems.push(`${file}: ${problem}`) });
    credentials.load();
  });

  after(() => {
    credentials.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('the file of the host a request goes to gives its bearer credential; <host>_<port> wins for that port', () => {
    assert.deepEqual(credentials.headersFor('http://vapora.vapora.svc.cluster.local:8080/a2a'), { authorization: 'Bearer vapora-token' });
    assert.deepEqual(credentials.headersFor('http://PEER.internal:9000/'), { authorization: 'Bearer port-only' });
    assert.deepEqual(credentials.headersFor('http://peer.internal:9001/'), { authorization: 'Bearer host-wide' });
    assert.deepEqual(credentials.headersFor('http://peer.internal/'), { authorization: 'Bearer host-wide' }, 'port 80 is not 9000');
  });

  test('another host, a host that merely contains a known name, or a non-http URL gets nothing', () => {
    for (const url of ['http://other.internal/', 'http://peer.internal.evil.example/', 'http://evil.example/peer.internal', 'ftp://peer.internal/', 'not a url']) {
      assert.deepEqual(credentials.headersFor(url), {}, url);
    }
  });

  test('a removed file is gone, and an unusable one is reported by name, never by content', () => {
    dir.update({ 'peer.internal': 'host-wide', 'bad:name': 'secret-in-a-bad-file', 'two-lines': 'a\nb' });
    credentials.reload();
    assert.deepEqual(credentials.headersFor('http://vapora.vapora.svc.cluster.local:8080/'), {});
    assert.deepEqual(credentials.headersFor('http://peer.internal:9000/'), { authorization: 'Bearer host-wide' });
    assert.ok(problems.some((p) => p.startsWith('bad:name: ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('two-lines: ')), problems.join('\n'));
    assert.ok(!problems.join('\n').includes('secret-in-a-bad-file'));
  });
});

/** A bare HTTP listener that records the headers of everything it gets. */
interface Recorder {
  url: string;
  seen: { method: string; path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function startRecorder(host: string, answer: (req: { method: string; path: string; body: any; headers: IncomingHttpHeaders }, self: string) => { status: number; headers?: Record<string, string>; body?: unknown }): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  let self = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      const text = Buffer.concat(chunks).toString('utf8');
      const reply = answer({ method: req.method ?? '', path: req.url ?? '', body: text === '' ? undefined : JSON.parse(text), headers: req.headers }, self);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) }).end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  self = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function card(name: string, url: string, skill: string): unknown {
  return {
    name,
    description: name,
    version: '1',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: false },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: skill, name: skill, description: skill, tags: [] }],
  };
}

async function delegate(agent: ServiceProcess, skill: string): Promise<any> {
  const res = await rpc(agent.url, 'SendMessage', {
    message: { role: 'ROLE_USER', messageId: `tck-complete-task-${skill}-${Date.now()}-${Math.random()}`, parts: [{ text: 'x' }], metadata: { skill } },
  });
  return ok(res).task;
}

describe('delegating to a peer kagent that requires an API key (two real processes)', () => {
  let root: string;
  let peerKeys: ConfigMapDir;
  let credentials: ConfigMapDir;
  let peer: ServiceProcess;
  let agent: ServiceProcess;
  const agentKey = newApiKey();
  const callerKey = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-peer-auth-'));
    peerKeys = new ConfigMapDir(join(root, 'peer-keys'));
    peerKeys.update({ 'kagent-a': agentKey, vapora: callerKey });
    peer = await startService(join(root, 'peer'), { POD_NAME: 'peer-0', CONFORMANCE_AGENT: 'true', AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: peerKeys.path });
    // The delegating agent starts without a credential for the peer; the tests add one live.
    credentials = new ConfigMapDir(join(root, 'credentials'));
    credentials.update({});
    agent = await startService(join(root, 'agent'), {
      A2A_PEERS: peer.url,
      A2A_DISCOVERY_INTERVAL: '200ms',
      A2A_PEER_CREDENTIALS_DIR: credentials.path,
      LOG_LEVEL: 'debug',
    });
    // The peer's card is public: discovery finds it with or without a credential.
    await waitFor('the peer discovered', async () => {
      const body = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { state: string }[] };
      return body.peers[0]?.state === 'healthy';
    });
  });

  after(async () => {
    await Promise.all([agent?.dispose(), peer?.dispose()]);
    rmSync(root, { recursive: true, force: true });
  });

  test('without a credential for the peer the delegated task fails, saying the peer wants one and which file to add', async () => {
    const task = await delegate(agent, 'conformance');
    assert.equal(task.status.state, 'TASK_STATE_FAILED', JSON.stringify(task));
    const text = task.status.message.parts[0].text as string;
    assert.match(text, /requires authentication \(HTTP 401\)/);
    assert.match(text, /no credential for 127\.0\.0\.1/);
    assert.match(text, /A2A_PEER_CREDENTIALS_DIR/);
  });

  test('a wrong credential fails the same way, saying the credential was refused', async () => {
    credentials.update({ [`127.0.0.1_${peer.port}`]: newApiKey() });
    const text = await waitFor('the wrong credential to be read', async () => {
      const task = await delegate(agent, 'conformance');
      const said = task.status.message?.parts[0]?.text as string | undefined;
      return said !== undefined && /refused this agent's credential/.test(said) ? said : undefined;
    });
    assert.match(text, /HTTP 401/);
  });

  test('with the key the peer gave this agent (added live) the delegated task completes', async () => {
    credentials.update({ [`127.0.0.1_${peer.port}`]: `${agentKey}\n` });
    const task = await waitFor('the credential to be read', async () => {
      const sent = await delegate(agent, 'conformance');
      return sent.status.state === 'TASK_STATE_COMPLETED' ? sent : undefined;
    });
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    // The peer knows the work as the delegating agent's, not as a caller it never met.
    const remote = ok(await rpc(peer.url, 'ListTasks', {}, bearer(agentKey)));
    assert.ok(remote.tasks.length >= 1, 'the remote task belongs to kagent-a');
    assert.equal(ok(await rpc(peer.url, 'ListTasks', {}, bearer(callerKey))).tasks.length, 0, 'and to nobody else');
  });

  test('the credential never shows in /peers or in the log', async () => {
    const peers = await (await fetch(`${agent.url}/peers`)).text();
    assert.ok(!peers.includes(agentKey));
    assert.ok(!agent.output().includes(agentKey), 'the delegating agent logged the credential');
    assert.ok(!peer.output().includes(agentKey), 'the peer logged the credential');
  });
});

describe('a peer credential goes to its own host only (a real process, recording listeners)', () => {
  let root: string;
  let credentials: ConfigMapDir;
  let agent: ServiceProcess;
  let redirecting: Recorder;
  let advertising: Recorder;
  let elsewhere: Recorder;
  let forbidding: Recorder;
  const credential = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-peer-origin-'));
    // Another loopback address is another host: the credential below names 127.0.0.1 only.
    elsewhere = await startRecorder('127.0.0.2', (req, self) => {
      if (req.method === 'GET') return { status: 200, body: card('elsewhere', `${self}/a2a`, 'redirected') };
      const task = { id: 'remote-1', contextId: 'ctx-1', status: { state: 'TASK_STATE_COMPLETED', timestamp: new Date().toISOString() }, artifacts: [{ artifactId: 'a', parts: [{ text: 'done elsewhere' }] }] };
      return { status: 200, body: { jsonrpc: '2.0', id: req.body?.id ?? null, result: { task } } };
    });
    // Its card fetch is redirected to the other host.
    redirecting = await startRecorder('127.0.0.1', () => ({ status: 302, headers: { location: `${elsewhere.url}/.well-known/agent-card.json` } }));
    // Its card advertises an interface on the other host.
    advertising = await startRecorder('127.0.0.1', () => ({ status: 200, body: card('advertising', `${elsewhere.url}/a2a`, 'hand-over') }));
    // Takes the credential, but does not let this agent use the skill; its message (carelessly) echoes the key it was sent.
    forbidding = await startRecorder('127.0.0.1', (req, self) => {
      if (req.method === 'GET') return { status: 200, body: card('forbidding', `${self}/a2a`, 'guarded') };
      const sent = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      return { status: 403, body: { jsonrpc: '2.0', id: req.body?.id ?? null, error: { code: -32052, message: `the skill "guarded" needs the scope kagent:guarded, which key ${sent} lacks` } } };
    });
    credentials = new ConfigMapDir(join(root, 'credentials'));
    credentials.update({ '127.0.0.1': credential });
    agent = await startService(join(root, 'agent'), {
      A2A_PEERS: `${redirecting.url},${advertising.url},${forbidding.url}`,
      A2A_DISCOVERY_INTERVAL: '200ms',
      A2A_PEER_CREDENTIALS_DIR: credentials.path,
      EGRESS_ALLOW: '127.0.0.2',
      LOG_LEVEL: 'debug',
    });
    await waitFor('the peers discovered', async () => {
      const body = (await (await fetch(`${agent.url}/peers`)).json()) as { peers: { state: string }[] };
      return body.peers.length === 3 && body.peers.every((p) => p.state === 'healthy');
    });
  });

  after(async () => {
    await Promise.all([agent?.dispose(), redirecting?.close(), advertising?.close(), elsewhere?.close(), forbidding?.close()]);
    rmSync(root, { recursive: true, force: true });
  });

  test('card fetches carry the credential to the configured host, and a redirect to another origin drops it', () => {
    for (const recorder of [redirecting, advertising]) {
      assert.ok(recorder.seen.length > 0);
      for (const request of recorder.seen) assert.equal(request.headers.authorization, `Bearer ${credential}`, `${request.method} ${request.path}`);
    }
    assert.ok(elsewhere.seen.some((r) => r.method === 'GET'), 'the redirect was followed');
  });

  test('a delegated call to an interface on another host goes without the credential', async () => {
    const task = await delegate(agent, 'hand-over');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task));
    assert.ok(elsewhere.seen.some((r) => r.method === 'POST'), 'the interface on the other host was called');
    assert.ok(!advertising.seen.some((r) => r.method === 'POST'), 'nothing was sent to the card host itself');
  });

  test('a peer that answers 403 fails the delegated task with its reason, the host, and no credential', async () => {
    const task = await delegate(agent, 'guarded');
    assert.equal(task.status.state, 'TASK_STATE_FAILED', JSON.stringify(task));
    const text = task.status.message.parts[0].text as string;
    assert.match(text, /refused the delegated task \(HTTP 403\) for this agent's credential for 127\.0\.0\.1/);
    assert.match(text, /needs the scope kagent:guarded/);
    assert.ok(!text.includes(credential), 'the credential the peer echoed is blanked');
    assert.equal(forbidding.seen.find((r) => r.method === 'POST')?.headers.authorization, `Bearer ${credential}`);
  });

  test('the other host never received any authorization', () => {
    for (const request of elsewhere.seen) {
      assert.equal(request.headers.authorization, undefined, `${request.method} ${request.path}`);
      assert.ok(!JSON.stringify(request.headers).includes(credential));
    }
    assert.ok(!agent.output().includes(credential), 'the agent logged the credential');
  });
});
