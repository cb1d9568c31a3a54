import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { waitFor } from '../../support/wait.js';
import { rpc } from '../../support/rpc.js';
import { freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// A rolling update of three replicas — real processes on loopback — under
// streaming load: each pod in turn is stopped with SIGTERM (the last one with
// SIGKILL) while echo tasks run on it, and started again under its name. The
// client retries what a client should retry (connection refused or reset,
// HTTP 503, -32050, a stream cut before its final event) within a bounded loop,
// re-subscribing to its task by id. In the end no task may have failed and no
// request may have failed for good: the interrupted work was resumed.

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TERMINAL = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);
const RESUMED = /resumed/;
/** Tasks outlast the drain, so stopping a pod interrupts some of them. */
const DRAIN_TIMEOUT = '300ms';
const WORKERS = 6;

/** An answer that asks to be tried again: the pod is down, draining, or its owner is. */
class Retryable extends Error {}

function textOf(message: { parts?: { text?: string }[] } | undefined): string {
  return (message?.parts ?? []).map((p) => p.text ?? '').join('');
}

let rpcId = 1;

/** A JSON-RPC call whose answer is an SSE stream; each result goes to `onResult`. Returns when the stream ends, however it ends. */
async function streamOnce(url: string, method: string, params: unknown, onResult: (result: any) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'A2A-Version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method, params }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new Retryable(`${method} to ${url}: ${String(error)}`);
  }
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const body = (await res.json().catch(() => undefined)) as { error?: { code: number; message: string } } | undefined;
    throw classify(method, res.status, body?.error);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of block.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const frame = JSON.parse(line.slice(6)) as { result?: unknown; error?: { code: number; message: string } };
          if (frame.error !== undefined) throw classify(method, 200, frame.error);
          onResult(frame.result);
        }
      }
    }
  } catch (error) {
    if (error instanceof Retryable || error instanceof assert.AssertionError) throw error;
    if (error instanceof Error && error.name === 'FatalAnswer') throw error;
    // The connection broke mid-stream (the pod went away): the caller picks the task up again.
  }
}

function fatal(message: string): Error {
  const error = new Error(message);
  error.name = 'FatalAnswer';
  return error;
}

function classify(method: string, status: number, error: { code: number; message: string } | undefined): Error {
  if (status === 503 || error?.code === -32050) return new Retryable(`${method}: ${status} ${error?.message}`);
  // Subscribing to a task that ended meanwhile: read it instead.
  if (method === 'SubscribeToTask' && error?.code === -32004) return new Retryable(`${method}: the task ended`);
  return fatal(`${method}: HTTP ${status}, ${JSON.stringify(error)}`);
}

async function getOnce(url: string, id: string): Promise<any> {
  let got;
  try {
    got = await rpc(url, 'GetTask', { id });
  } catch (error) {
    throw new Retryable(`GetTask to ${url}: ${String(error)}`);
  }
  if (got.body.result !== undefined) return got.body.result;
  throw classify('GetTask', got.status, got.body.error);
}

interface Sent {
  text: string;
  id?: string;
  final?: string;
  /** The client saw the resume announced: on its stream, or in the task when it came back for it. */
  sawResume: boolean;
  attempts: number;
}

/** Streams one echo task to its end, retrying what is retryable; a request that fails for good is recorded in `failures`. */
async function runTask(pick: () => string, sent: Sent, delayMs: number, inFlight: Set<string>, failures: string[]): Promise<void> {
  const message = { role: 'ROLE_USER', messageId: `roll-${randomBytes(6).toString('hex')}`, parts: [{ text: sent.text }], metadata: { skill: 'echo', delayMs } };
  const deadline = Date.now() + 120_000;
  const observe = (result: any) => {
    const status = result.task?.status ?? result.statusUpdate?.status;
    if (result.task !== undefined && sent.id === undefined) {
      sent.id = result.task.id as string;
      inFlight.add(sent.id);
    }
    const notes = [status?.message, ...(result.task?.history ?? [])].map(textOf);
    if (notes.some((text) => RESUMED.test(text))) sent.sawResume = true;
    if (status !== undefined && TERMINAL.has(status.state)) sent.final = status.state;
  };
  try {
    while (sent.final === undefined) {
      if (Date.now() > deadline || sent.attempts >= 400) {
        failures.push(`${sent.text} (${sent.id ?? 'no task yet'}): gave up after ${sent.attempts} attempts`);
        return;
      }
      sent.attempts++;
      try {
        if (sent.id === undefined) {
          await streamOnce(pick(), 'SendStreamingMessage', { message }, observe);
        } else {
          observe({ task: await getOnce(pick(), sent.id) });
          if (sent.final === undefined) await streamOnce(pick(), 'SubscribeToTask', { id: sent.id }, observe);
        }
      } catch (error) {
        if (!(error instanceof Retryable)) {
          failures.push(`${sent.text} (${sent.id ?? 'no task yet'}): ${String(error)}`);
          return;
        }
      }
      // Pacing between attempts, as a client backs off; never a wait for the work itself.
      if (sent.final === undefined) await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 150));
    }
  } finally {
    if (sent.id !== undefined) inFlight.delete(sent.id);
  }
}

interface Cluster {
  pods: ServiceProcess[];
  start(ordinal: number): Promise<ServiceProcess>;
}

async function rollingUpdate(t: TestContext, cluster: Cluster): Promise<void> {
  const { pods } = cluster;
  let turn = 0;
  const pick = () => pods[turn++ % pods.length]!.url;
  const sent: Sent[] = [];
  const failures: string[] = [];
  const inFlight = new Set<string>();
  let rolling = true;
  let n = 0;
  const worker = async () => {
    while (rolling && failures.length === 0) {
      const task: Sent = { text: `rolling ${n++}`, sawResume: false, attempts: 0 };
      sent.push(task);
      await runTask(pick, task, 1500 + Math.floor(Math.random() * 1500), inFlight, failures);
    }
  };
  const load = Array.from({ length: WORKERS }, () => worker());

  try {
    for (const [ordinal, signal] of [[0, 'SIGTERM'], [1, 'SIGTERM'], [2, 'SIGKILL']] as const) {
      await waitFor(`a task running on kagent-${ordinal}`, () => [...inFlight].some((id) => id.startsWith(`kagent-${ordinal}.`)) || failures.length > 0, 30_000);
      assert.deepEqual(failures, []);
      const pod = pods[ordinal]!;
      pod.child.kill(signal);
      const exit = await pod.waitExit(20_000);
      assert.deepEqual(exit, signal === 'SIGTERM' ? { code: 0, signal: null } : { code: null, signal: 'SIGKILL' }, pod.output());
      pods[ordinal] = await cluster.start(ordinal);
    }
  } finally {
    rolling = false;
    await Promise.all(load);
  }

  assert.deepEqual(failures, [], 'no client request failed for good');
  const byState: Record<string, number> = {};
  for (const task of sent) byState[task.final ?? 'unknown'] = (byState[task.final ?? 'unknown'] ?? 0) + 1;
  assert.deepEqual(byState, { TASK_STATE_COMPLETED: sent.length }, 'every task completed');

  let resumed = 0;
  for (const task of sent) {
    const stored = (await rpc(pick(), 'GetTask', { id: task.id })).body.result;
    assert.equal(stored?.status.state, 'TASK_STATE_COMPLETED', `${task.id}: ${JSON.stringify(stored)}`);
    assert.deepEqual(stored.artifacts.map(textOf), [task.text], `${task.id} echoed what it was sent`);
    if (stored.history.some((m: any) => m.role === 'ROLE_AGENT' && RESUMED.test(textOf(m)))) {
      resumed++;
      assert.ok(task.sawResume, `the client of ${task.id} saw its task resumed`);
    }
  }
  t.diagnostic(`${sent.length} tasks, ${resumed} resumed, ${sent.reduce((a, s) => a + s.attempts, 0)} attempts`);
  assert.ok(resumed > 0, 'the restarts interrupted running work, which was resumed');

  // Nothing failed anywhere (duplicates of a send whose answer was lost included), and nothing is left running.
  const failed = await rpc(pick(), 'ListTasks', { status: 'TASK_STATE_FAILED', pageSize: 1 });
  assert.equal(failed.body.result?.totalSize, 0, JSON.stringify(failed.body));
  await waitFor('no task left working', async () => (await rpc(pick(), 'ListTasks', { status: 'TASK_STATE_WORKING', pageSize: 1 })).body.result?.totalSize === 0, 30_000);
}

describe('a rolling restart of three pods loses no work (per-pod SQLite, owner routing)', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let ports: Awaited<ReturnType<typeof freePortDecade>>;

  const start = (ordinal: number) =>
    startService(dirs[ordinal]!, {
      POD_NAME: `kagent-${ordinal}`,
      PORT: String(ports.port(ordinal)),
      A2A_REPLICAS: '3',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
      DRAIN_TIMEOUT,
      STREAM_HEARTBEAT_INTERVAL: '200ms',
    });

  before(async () => {
    ports = await freePortDecade();
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-roll-${i}-`)));
    for (let i = 0; i < 3; i++) pods.push(await start(i));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('SIGTERM, SIGTERM, SIGKILL under streaming load: 0 tasks failed, 0 requests failed', { timeout: 180_000 }, async (t) => {
    await rollingUpdate(t, { pods, start });
  });
});

describe('a rolling restart of three pods loses no work (shared PostgreSQL)', () => {
  const schema = `kagent_roll_${randomBytes(4).toString('hex')}`;
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];

  const start = (ordinal: number) =>
    startService(dirs[ordinal]!, {
      POD_NAME: `kagent-${ordinal}`,
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      LEASE_TTL: '1s',
      DRAIN_TIMEOUT,
      STREAM_HEARTBEAT_INTERVAL: '200ms',
    });

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-roll-pg-${i}-`)));
    pods.push(...(await Promise.all([0, 1, 2].map(start))));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  test('SIGTERM, SIGTERM, SIGKILL under streaming load: 0 tasks failed, 0 requests failed', { timeout: 180_000 }, async (t) => {
    await rollingUpdate(t, { pods, start });
  });
});
