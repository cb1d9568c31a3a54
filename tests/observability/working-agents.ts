// Real agent processes that have done the work every metric counts: per-pod
// stores with owner routing, a delegation to a peer agent through a proxy that
// refuses the first call (so it is retried), the assistant against a scripted
// model endpoint (the one test double: a paid LLM API cannot run here), a
// rejected and a restart-only settings edit, and the shared PostgreSQL store
// relaying a task's events from one pod to another.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startChatServer, textReply } from '../skills/assistant/chat-server.js';
import type { ChatServer } from '../skills/assistant/chat-server.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { waitFor } from '../support/wait.js';
import { TEST_DATABASE_URL } from '../support/prerequisites.js';
import { collect, openStream, rpc } from '../support/rpc.js';
import { freePort, freePortDecade, startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { parseExposition, valueOf } from '../support/metrics.js';
import type { Sample } from '../support/metrics.js';

export const LLM_USAGE = { prompt_tokens: 37, completion_tokens: 5, total_tokens: 42 };

export interface WorkingAgents {
  /** Per-pod stores: kagent-0 (VAPORA = the peer, the assistant, a watched ConfigMap) and kagent-1; kagent-2 never starts. */
  pods: ServiceProcess[];
  /** The shared store: two pods, one running a task the other streams. */
  shared: ServiceProcess[];
  /** The agent delegated to, behind the proxy. */
  peer: ServiceProcess;
  /** host:port of the proxy in front of the peer: the peer's label in metrics. */
  peerHost: string;
  /** Calls the proxy refused before passing them on. */
  refused: number;
  /** Task ids and message texts the work used: none may appear in a label. */
  secrets: string[];
  scrape(agent: ServiceProcess): Promise<Sample[]>;
  dispose(): Promise<void>;
}

let counter = 0;
const message = (text: string, metadata: Record<string, unknown>) => ({
  role: 'ROLE_USER',
  messageId: `metrics-${process.pid}-${counter++}`,
  parts: [{ text }],
  metadata,
});

export async function scrape(agent: ServiceProcess): Promise<Sample[]> {
  const res = await fetch(`${agent.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics of ${agent.url} answered ${res.status}`);
  return parseExposition(await res.text());
}

/** Refuses the first JSON-RPC call with 503 (a transient failure), then passes everything to `target`. */
async function startFlakyProxy(target: string): Promise<{ server: Server; url: string; refused: () => number }> {
  let refused = 0;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && refused === 0) {
      refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' }).end('try again');
      return;
    }
    const upstream = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused };
}

export async function startWorkingAgents(options: { shared: boolean }): Promise<WorkingAgents> {
  const dirs: string[] = [];
  const dir = (name: string) => {
    const made = mkdtempSync(join(tmpdir(), `kagent-metrics-${name}-`));
    dirs.push(made);
    return made;
  };
  const cleanup: (() => Promise<unknown>)[] = [];
  const secrets: string[] = [];
  const schema = `kagent_metrics_${randomBytes(4).toString('hex')}`;
  try {
    // The peer advertises the proxy as its URL, so every call to it passes the proxy.
    const peerPort = await freePort();
    const proxy = await startFlakyProxy(`http://127.0.0.1:${peerPort}`);
    cleanup.push(() => new Promise((resolve) => proxy.server.close(resolve)));
    const peer = await startService(dir('peer'), { POD_NAME: 'peer-0', PORT: String(peerPort), PUBLIC_URL: proxy.url });
    cleanup.push(() => peer.dispose());

    const chat: ChatServer = await startChatServer();
    cleanup.push(() => chat.close());
    const configMap = new ConfigMapDir(join(dir('config'), 'config'));
    const settings = { VAPORA_URL: proxy.url, A2A_DISCOVERY_INTERVAL: '500ms', TASK_RETENTION: '7d' };
    configMap.update(settings);

    const ports = await freePortDecade();
    const routed = {
      A2A_REPLICAS: '3',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
      A2A_POD_CONNECT_TIMEOUT: '2s',
    };
    const pods: ServiceProcess[] = [];
    pods.push(await startService(dir('pod-0'), { ...routed, POD_NAME: 'kagent-0', PORT: String(ports.port(0)), CONFIG_PATH: configMap.path, LLM_URL: chat.baseUrl, LLM_MODEL: 'test-model' }));
    cleanup.push(() => pods[0]!.dispose());
    pods.push(await startService(dir('pod-1'), { ...routed, POD_NAME: 'kagent-1', PORT: String(ports.port(1)) }));
    cleanup.push(() => pods[1]!.dispose());
    const [pod0, pod1] = pods as [ServiceProcess, ServiceProcess];

    // VAPORA (the peer) is discovered, then handed work: the first call is refused and retried.
    await waitFor('kagent-0 to discover the peer', async () => (valueOf(await scrape(pod0), 'a2a_peers', { state: 'healthy' }) ?? 0) >= 1);
    const delegated = await rpc(pod0.url, 'SendMessage', { message: message('delegated work', { skill: 'delegate', targetSkill: 'echo' }) });
    if (delegated.body.result?.task?.status?.state !== 'TASK_STATE_COMPLETED') throw new Error(`delegation did not complete: ${JSON.stringify(delegated.body)}`);
    secrets.push(delegated.body.result.task.id, 'delegated work');

    // Owner routing: kagent-1 relays a read of kagent-0's task; kagent-2 never answers.
    const own = await rpc(pod0.url, 'SendMessage', { message: message('owned by kagent-0', { skill: 'echo' }) });
    const ownId = own.body.result.task.id as string;
    secrets.push(ownId, 'owned by kagent-0');
    const relayed = await rpc(pod1.url, 'GetTask', { id: ownId });
    if (relayed.body.result?.id !== ownId) throw new Error(`kagent-1 did not relay the read: ${JSON.stringify(relayed.body)}`);
    const away = await rpc(pod0.url, 'GetTask', { id: 'kagent-2.gone' });
    if (away.body.error?.code !== -32050 || !JSON.stringify(away.body.error).includes('OWNER_UNAVAILABLE')) {
      throw new Error(`a task of the absent kagent-2 did not answer OWNER_UNAVAILABLE: ${JSON.stringify(away.body)}`);
    }

    // The assistant asks the model once; the endpoint reports its token use.
    chat.enqueue(textReply(['Pods are fine.'], { usage: LLM_USAGE }));
    const asked = await rpc(pod0.url, 'SendMessage', { message: message('how are my pods?', { skill: 'assistant' }) });
    if (asked.body.result?.task?.status?.state !== 'TASK_STATE_COMPLETED') throw new Error(`the assistant did not complete: ${JSON.stringify(asked.body)}`);
    secrets.push(asked.body.result.task.id, 'how are my pods?');

    // A restart-only edit, then one that is refused.
    configMap.update({ ...settings, TASK_RETENTION: '1d' });
    await waitFor('the restart-only edit to be noticed', async () => valueOf(await scrape(pod0), 'kagent_config_restart_pending', { setting: 'TASK_RETENTION' }) === 1);
    configMap.update({ ...settings, TASK_RETENTION: '1d', A2A_DISCOVERY_INTERVAL: 'soon' });
    await waitFor('the bad edit to be refused', async () => (valueOf(await scrape(pod0), 'kagent_config_reloads_total', { outcome: 'rejected' }) ?? 0) >= 1);

    const shared: ServiceProcess[] = [];
    if (options.shared) {
      cleanup.push(async () => {
        const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      });
      const sharedEnv = (ordinal: number) => ({ POD_NAME: `kagent-${ordinal}`, STORE: 'postgres', DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, STREAM_HEARTBEAT_INTERVAL: '200ms' });
      shared.push(...(await Promise.all([0, 1].map((ordinal) => startService(dir(`shared-${ordinal}`), sharedEnv(ordinal))))));
      for (const pod of shared) cleanup.push(() => pod.dispose());
      // The task runs on the first pod; its events reach a stream on the second through the store.
      const started = await rpc(shared[0]!.url, 'SendMessage', {
        message: message('relayed across pods', { skill: 'echo', delayMs: 600 }),
        configuration: { returnImmediately: true },
      });
      const id = started.body.result.task.id as string;
      secrets.push(id, 'relayed across pods');
      const events = await collect(await openStream(shared[1]!.url, 'SubscribeToTask', { id }));
      const last = events.at(-1)?.result?.statusUpdate?.status?.state ?? events.at(-1)?.result?.task?.status?.state;
      if (last !== 'TASK_STATE_COMPLETED') throw new Error(`the relayed stream did not end completed: ${JSON.stringify(events)}`);
    }

    return {
      pods,
      shared,
      peer,
      peerHost: new URL(proxy.url).host,
      refused: proxy.refused(),
      secrets,
      scrape,
      async dispose() {
        // Every step runs; the first failure (a process warning, say) is reported after.
        const failures: unknown[] = [];
        for (const step of cleanup.reverse()) await step().catch((error: unknown) => failures.push(error));
        for (const made of dirs) rmSync(made, { recursive: true, force: true });
        if (failures.length > 0) throw failures[0];
      },
    };
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    for (const made of dirs) rmSync(made, { recursive: true, force: true });
    throw error;
  }
}
