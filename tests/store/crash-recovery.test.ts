import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { tempDir } from './fixtures.js';
import type { TempDir } from './fixtures.js';
import { PATIENCE_MS } from '../support/patience.js';
import { waitFor } from '../support/wait.js';
import { scrape } from '../support/metrics.js';

// The service runs as a real child process on a real data dir; it is killed
// with SIGKILL (no chance to flush or clean up) or stopped with SIGTERM, then
// started again on the same data dir under the same pod name. Resuming is off
// here (MAX_RESUMES=0): tasks running at the kill end failed, so what is checked
// is what the store kept (tests/e2e/cluster/resume.test.ts covers resuming).
const NO_RESUME = { MAX_RESUMES: '0' };

interface RpcReply {
  status: number;
  headers: Headers;
  body: { result?: any; error?: { code: number; message: string; data?: any[] } };
}

let rpcId = 1;

async function call(url: string, method: string, params: unknown, timeoutMs = PATIENCE_MS): Promise<RpcReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RpcReply['body'] };
}

type Kind = 'fast' | 'background' | 'stuck';

interface Spec {
  kind: Kind;
  messageId: string;
  text: string;
}

// Long enough that no delayed task can finish before the kill, however slow the machine.
const LONG_DELAY_MS = 300_000;

function sendParams(spec: Spec): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'ROLE_USER', messageId: spec.messageId, parts: [{ text: spec.text }] };
  if (spec.kind === 'fast') return { message };
  message.metadata = { delayMs: LONG_DELAY_MS };
  return spec.kind === 'background' ? { message, configuration: { returnImmediately: true } } : { message };
}

/** Runs `fn`; a failure carries the services' output, so a broken child explains itself. */
async function withOutput(services: () => (ServiceProcess | undefined)[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const logs = services()
      .map((s, i) => (s === undefined ? '' : `\n--- output of service run ${i + 1} (pid ${s.child.pid}):\n${s.output() || '(nothing)'}`))
      .join('');
    if (error instanceof Error) {
      error.message += logs;
      throw error;
    }
    throw new Error(`${String(error)}${logs}`);
  }
}

async function listAll(url: string): Promise<{ tasks: any[]; totalSize: number; pages: number }> {
  const tasks: any[] = [];
  let token = '';
  let totalSize = -1;
  let pages = 0;
  do {
    const page = await call(url, 'ListTasks', { pageSize: 100, pageToken: token });
    assert.equal(page.body.error, undefined, JSON.stringify(page.body.error));
    if (totalSize === -1) totalSize = page.body.result.totalSize;
    assert.equal(page.body.result.totalSize, totalSize, 'totalSize is stable across pages');
    tasks.push(...page.body.result.tasks);
    token = page.body.result.nextPageToken;
    pages++;
  } while (token !== '' && pages < 100);
  return { tasks, totalSize, pages };
}

function textOf(message: any): string {
  return (message?.parts ?? []).map((p: { text?: string }) => p.text ?? '').join('');
}

/** Values of the "failed tasks that were running" log lines (JSON lines on stdout). */
function recoveredCount(output: string): number {
  let n = 0;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; tasks?: number };
      if (entry.msg?.includes('were running when the agent last stopped') === true) n += entry.tasks ?? 0;
    } catch {
      // not a log line
    }
  }
  return n;
}

describe('durability across a crash (SIGKILL) and a restart', () => {
  let tmp: TempDir | undefined;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;
  after(async () => {
    await first?.dispose();
    await second?.dispose();
    tmp?.cleanup();
  });

  test('every acknowledged task survives; tasks running at the crash end failed with the reason; nothing is half-written', { timeout: 3 * PATIENCE_MS }, async (t) => {
    tmp = tempDir('kagent-a2a-crash-');
    const dataDir = tmp.dir;
    first = await startService(dataDir, NO_RESUME);
    await withOutput(() => [first, second], async () => {
      const run = Math.random().toString(36).slice(2, 8);
      const specs: Spec[] = [];
      for (let i = 0; i < 200; i++) {
        const kind: Kind = i % 4 === 1 ? 'background' : 'fast';
        specs.push({ kind, messageId: `crash-${run}-${kind}-${i}`, text: `payload ${i} of ${run}` });
      }
      // Blocking calls that cannot finish before the kill: requests certainly in flight when it lands.
      const stuck: Spec[] = Array.from({ length: 5 }, (_, i) => ({ kind: 'stuck' as const, messageId: `crash-${run}-stuck-${i}`, text: `stuck ${i}` }));
      const sentIds = new Set([...specs, ...stuck].map((s) => s.messageId));

      const acked = new Map<string, { spec: Spec; taskId: string; state: string }>();
      let inFlight = 0;
      let started = 0;
      let killed = false;
      const unexpected: string[] = [];

      const send = async (spec: Spec) => {
        started++;
        inFlight++;
        try {
          const reply = await call(first!.url, 'SendMessage', sendParams(spec));
          const task = reply.body.result?.task;
          if (task === undefined) {
            unexpected.push(`${spec.messageId}: ${reply.status} ${JSON.stringify(reply.body)}`);
            return;
          }
          acked.set(spec.messageId, { spec, taskId: task.id, state: task.status.state });
        } catch (error) {
          // Connection errors are expected once the process is killed, and only then.
          if (!killed) unexpected.push(`${spec.messageId}: ${String(error)}`);
        } finally {
          inFlight--;
        }
      };

      const stuckCalls = stuck.map((spec) => send(spec));
      let next = 0;
      const worker = async () => {
        while (next < specs.length) await send(specs[next++]!);
      };
      const pool = Promise.all(Array.from({ length: 20 }, () => worker()));

      const ackedPool = () => [...acked.values()].filter((a) => a.spec.kind !== 'stuck').length;
      await waitFor('120 acknowledged SendMessage calls', async () => ackedPool() >= 120 || unexpected.length > 0, PATIENCE_MS, 5);
      assert.deepEqual(unexpected, [], 'no request failed before the kill');

      const inFlightAtKill = inFlight;
      const startedAtKill = started;
      killed = true;
      first!.child.kill('SIGKILL');
      const exit = await first!.waitExit();
      assert.equal(exit.signal, 'SIGKILL');
      await Promise.race([
        Promise.all([pool, ...stuckCalls]),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`requests still pending ${PATIENCE_MS} ms after the kill`)), PATIENCE_MS).unref()),
      ]);

      // The kill landed mid-flight: requests were outstanding and delayed tasks were running.
      assert.ok(inFlightAtKill >= stuck.length, `requests in flight at the kill: ${inFlightAtKill}`);
      assert.deepEqual(unexpected, []);
      const ackedList = [...acked.values()];
      const ackedFast = ackedList.filter((a) => a.spec.kind === 'fast');
      const ackedBackground = ackedList.filter((a) => a.spec.kind === 'background');
      assert.ok(ackedFast.length > 0 && ackedBackground.length > 0, `acknowledged: ${ackedFast.length} fast, ${ackedBackground.length} background`);
      assert.equal(ackedList.filter((a) => a.spec.kind === 'stuck').length, 0, 'no blocking delayed call can have been answered');
      for (const a of ackedFast) assert.equal(a.state, 'TASK_STATE_COMPLETED', `${a.spec.messageId} was acknowledged as ${a.state}`);
      for (const a of ackedBackground) {
        assert.ok(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'].includes(a.state), `${a.spec.messageId} was acknowledged as ${a.state}`);
      }

      t.diagnostic(
        `at the kill: ${startedAtKill} requests started, ${inFlightAtKill} in flight; acknowledged ${ackedFast.length} completed and ${ackedBackground.length} running tasks`,
      );

      second = await startService(dataDir, NO_RESUME);
      const restartedWith = recoveredCount(second.output());
      assert.ok(
        restartedWith >= ackedBackground.length,
        `the restart reports the tasks it failed (${restartedWith}), at least the ${ackedBackground.length} acknowledged running ones`,
      );

      // Every acknowledged task is readable, in the state its kind implies.
      const queue = [...ackedList];
      const problems: string[] = [];
      const check = async () => {
        for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
          const got = await call(second!.url, 'GetTask', { id: a.taskId });
          const task = got.body.result;
          if (task === undefined) {
            problems.push(`${a.taskId} (${a.spec.messageId}): ${JSON.stringify(got.body)}`);
            continue;
          }
          if (task.history?.[0]?.messageId !== a.spec.messageId) problems.push(`${a.taskId}: first history message ${JSON.stringify(task.history?.[0])}`);
          if (a.spec.kind === 'fast') {
            const artifact = task.artifacts?.[0];
            if (task.status.state !== 'TASK_STATE_COMPLETED') problems.push(`${a.taskId}: acknowledged completed, now ${task.status.state}`);
            if (artifact?.artifactId !== 'echo' || textOf(artifact) !== a.spec.text) {
              problems.push(`${a.taskId}: artifact ${JSON.stringify(task.artifacts)}`);
            }
          } else {
            if (task.status.state !== 'TASK_STATE_FAILED') problems.push(`${a.taskId}: was running at the kill, now ${task.status.state}`);
            if (!/restarted while this task was running/.test(textOf(task.status.message))) {
              problems.push(`${a.taskId}: status message ${JSON.stringify(task.status.message)}`);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: 10 }, () => check()));
      assert.deepEqual(problems, [], `${problems.length} of ${ackedList.length} acknowledged tasks are wrong`);

      // The listing holds only whole tasks: each has a status and its first message, and none is left running.
      const listing = await listAll(second.url);
      const listedIds = listing.tasks.map((t) => t.id);
      assert.equal(new Set(listedIds).size, listedIds.length, 'no task listed twice');
      assert.equal(listing.tasks.length, listing.totalSize, 'the pages add up to totalSize');
      assert.ok(listing.totalSize >= ackedList.length && listing.totalSize <= sentIds.size, `totalSize ${listing.totalSize}`);
      const listed = new Set(listedIds);
      for (const a of ackedList) assert.ok(listed.has(a.taskId), `acknowledged ${a.taskId} is listed`);
      const byState: Record<string, number> = {};
      for (const t of listing.tasks) {
        byState[t.status?.state] = (byState[t.status?.state] ?? 0) + 1;
        assert.ok(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED'].includes(t.status?.state), `${t.id} is ${t.status?.state}`);
        assert.equal(typeof t.status.timestamp, 'string');
        assert.equal(t.history?.[0]?.role, 'ROLE_USER', `${t.id} history ${JSON.stringify(t.history)}`);
        assert.ok(sentIds.has(t.history[0].messageId), `${t.id} starts with a message that was sent`);
        if (t.status.state === 'TASK_STATE_FAILED') assert.match(textOf(t.status.message), /restarted while this task was running/);
        if (!t.history[0].messageId.includes('-fast-')) assert.equal(t.status.state, 'TASK_STATE_FAILED', `${t.id} had a 30 s delay`);
      }
      t.diagnostic(`after the restart: ${listing.totalSize} tasks, ${JSON.stringify(byState)}, ${restartedWith} failed by the recovery`);
      assert.equal(byState.TASK_STATE_FAILED ?? 0, restartedWith, 'the failed tasks are exactly those the restart recovered');

      const counts = await call(second.url, 'ListTasks', { pageSize: 1, status: 'TASK_STATE_COMPLETED' });
      assert.equal(counts.body.result.totalSize, byState.TASK_STATE_COMPLETED ?? 0);
      const metrics = await scrape(second.url);
      assert.match(metrics, new RegExp(`^a2a_tasks\\{state="working"\\} 0$`, 'm'));
      assert.match(metrics, new RegExp(`^a2a_tasks\\{state="failed"\\} ${byState.TASK_STATE_FAILED ?? 0}$`, 'm'));

      second.child.kill('SIGTERM');
      assert.deepEqual(await second.waitExit(), { code: 0, signal: null });
    });
  });
});

describe('graceful stop (SIGTERM) and restart', () => {
  let tmp: TempDir | undefined;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;
  after(async () => {
    await first?.dispose();
    await second?.dispose();
    tmp?.cleanup();
  });

  test('running work finishes, new work is refused with a retryable error, the process exits 0, and the tasks are completed after restart', { timeout: 3 * PATIENCE_MS }, async () => {
    tmp = tempDir('kagent-a2a-sigterm-');
    first = await startService(tmp.dir);
    await withOutput(() => [first, second], async () => {
      const url = first!.url;
      const inFlight = call(url, 'SendMessage', {
        message: { role: 'ROLE_USER', messageId: 'drain-blocking', parts: [{ text: 'finish me' }], metadata: { delayMs: 5000 } },
      });
      // Both run long enough to be still working after the SIGTERM on a loaded machine, and end well within DRAIN_TIMEOUT (20 s).
      // The longer one keeps the agent draining while the refused request is sent.
      const background = await call(url, 'SendMessage', {
        message: { role: 'ROLE_USER', messageId: 'drain-background', parts: [{ text: 'me too' }], metadata: { delayMs: 10_000 } },
        configuration: { returnImmediately: true },
      });
      const backgroundId: string = background.body.result?.task?.id;
      assert.ok(backgroundId, JSON.stringify(background.body));
      await waitFor('both tasks working', async () => {
        const page = await call(url, 'ListTasks', { status: 'TASK_STATE_WORKING' });
        return page.body.result?.totalSize === 2;
      });

      first!.child.kill('SIGTERM');
      await waitFor('readiness to drop', async () => {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(PATIENCE_MS) });
        await res.arrayBuffer();
        return res.status === 503;
      });

      // stop() (src/agent.ts) drains before it closes the listener, so while
      // tasks run the server still answers, and TaskService refuses new
      // messages with UnavailableError: HTTP 503, Retry-After, -32050.
      const refused = await call(url, 'SendMessage', { message: { role: 'ROLE_USER', messageId: 'drain-late', parts: [{ text: 'too late' }] } });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(refused.body.error?.code, -32050);
      assert.match(refused.body.error!.message, /shutting down/);
      const info = refused.body.error!.data?.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
      assert.equal(info?.reason, 'UNAVAILABLE');
      const retry = refused.body.error!.data?.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo');
      assert.equal(retry?.retryDelay, '1s');

      // Reads still work while draining.
      const during = await call(url, 'GetTask', { id: backgroundId });
      assert.equal(during.body.result?.status?.state, 'TASK_STATE_WORKING');

      const finished = await inFlight;
      assert.equal(finished.status, 200);
      const blockingTask = finished.body.result?.task;
      assert.equal(blockingTask?.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(finished.body));
      assert.equal(textOf(blockingTask.artifacts?.[0]), 'finish me');

      assert.deepEqual(await first!.waitExit(), { code: 0, signal: null });
      await assert.rejects(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }), 'the listener is closed after the exit');

      second = await startService(tmp!.dir);
      assert.equal(recoveredCount(second.output()), 0, 'a clean stop leaves nothing to recover');
      for (const [id, text] of [
        [blockingTask.id as string, 'finish me'],
        [backgroundId, 'me too'],
      ] as const) {
        const got = await call(second.url, 'GetTask', { id });
        assert.equal(got.body.result?.status?.state, 'TASK_STATE_COMPLETED', `${id}: ${JSON.stringify(got.body)}`);
        assert.equal(textOf(got.body.result.artifacts?.[0]), text);
      }
      const listing = await call(second.url, 'ListTasks', {});
      assert.equal(listing.body.result.totalSize, 2, 'the refused message created no task');

      second.child.kill('SIGTERM');
      assert.deepEqual(await second.waitExit(), { code: 0, signal: null });
    });
  });
});
