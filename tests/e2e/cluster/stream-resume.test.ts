import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Gate, GATED_SERVICE_ENV } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { collect, openStream, rpc, stepwise } from '../../support/rpc.js';
import type { SseStream } from '../../support/rpc.js';
import { freePortDecade, startService, startSharedPod } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { dropTestSchema, needPostgres, TEST_DATABASE_URL } from '../../support/prerequisites.js';
import { waitFor } from '../../support/wait.js';

// Streams that resume across processes: the serving pod is killed (SIGKILL)
// mid-task, and the client reconnects with the last SSE id it got — to the
// same pod started again, or to another replica — and must read exactly the
// events it missed, then the live ones: per-pod SQLite (the owner restarted;
// owner routing through a relaying pod) and shared PostgreSQL (another pod).
// Tasks are held at the test's gate, so "mid-task" is a state, not a moment.

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `stream-resume-${process.pid}-${counter++}`, parts: [{ text }], ...extra };
}

/** `<id> <kind>:<state>[:<text>]` for each event read: sequences with their SSE ids, compared whole. */
function label(id: string | undefined, envelope: any): string {
  const result = envelope.result;
  assert.ok(result !== undefined, `stream error: ${JSON.stringify(envelope.error)}`);
  if (result.task !== undefined) return `${id} task:${result.task.status.state}`;
  if (result.artifactUpdate !== undefined) return `${id} artifact:${result.artifactUpdate.artifact.artifactId}`;
  const status = result.statusUpdate.status;
  const text = status.message?.parts?.[0]?.text;
  return `${id} status:${status.state}${text === undefined ? '' : `:${text}`}`;
}

function reader(stream: SseStream) {
  const steps = stepwise(stream);
  let read = 0;
  return {
    async next(): Promise<string> {
      const envelope = await steps.next();
      return label(stream.ids[read++], envelope);
    },
    async rest(): Promise<string[]> {
      const envelopes = await steps.rest();
      return envelopes.map((envelope) => label(stream.ids[read++], envelope));
    },
  };
}

async function kill(pod: ServiceProcess): Promise<void> {
  pod.child.kill('SIGKILL');
  assert.equal((await pod.waitExit()).signal, 'SIGKILL');
}

/** A gated task started through `via`, and a subscription to it through `streamVia` read up to its "first" progress. */
async function followToFirst(gate: Gate, via: string, streamVia: string): Promise<{ run: GatedRun; taskId: string; stream: SseStream; seen: string[] }> {
  const run = gate.run();
  const sent = await rpc(via, 'SendMessage', { message: message('resume me', { metadata: run.metadata }), configuration: { returnImmediately: true } });
  const taskId = sent.body.result.task.id as string;
  await run.started();
  const stream = await openStream(streamVia, 'SubscribeToTask', { id: taskId });
  assert.equal(stream.status, 200);
  const events = reader(stream);
  const seen = [await events.next()];
  run.say('first');
  seen.push(await events.next());
  return { run, taskId, stream, seen };
}

/** Moves the held task on while nobody follows it, and waits until it has (read through `via`). */
async function moveOn(run: GatedRun, via: string, taskId: string): Promise<void> {
  run.say('second');
  run.say('third');
  await waitFor('the task to say "third"', async () => (await rpc(via, 'GetTask', { id: taskId })).body.result?.status.message?.parts?.[0]?.text === 'third');
}

const CUT_AT_FIRST = ['2 task:TASK_STATE_WORKING', '3 status:TASK_STATE_WORKING:first'];
const MISSED_THEN_LIVE = ['4 status:TASK_STATE_WORKING:second', '5 status:TASK_STATE_WORKING:third', '6 artifact:echo', '7 status:TASK_STATE_COMPLETED'];

describe('a stream resumes on another process after its pod is killed (per-pod SQLite, owner routing)', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let ports: Awaited<ReturnType<typeof freePortDecade>>;
  let gate: Gate;

  async function startPod(ordinal: number): Promise<ServiceProcess> {
    return startService(dirs[ordinal]!, {
      ...GATED_SERVICE_ENV,
      POD_NAME: `kagent-${ordinal}`,
      PORT: String(ports.port(ordinal)),
      A2A_REPLICAS: '2',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
      STREAM_HEARTBEAT_INTERVAL: '200ms',
    });
  }

  before(async () => {
    gate = await Gate.start();
    ports = await freePortDecade();
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-resume-pod-${i}-`)));
    for (let i = 0; i < 2; i++) pods.push(await startPod(i));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await gate.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('the relaying pod is killed: through it again, restarted, Last-Event-ID reaches the owner and the rest arrives exactly', async () => {
    const { run, taskId, seen } = await followToFirst(gate, pods[0]!.url, pods[1]!.url);
    assert.match(taskId, /^kagent-0\./);
    assert.deepEqual(seen, CUT_AT_FIRST);
    await kill(pods[1]!);
    await moveOn(run, pods[0]!.url, taskId);
    pods[1] = await startPod(1);
    const resumed = await openStream(pods[1].url, 'SubscribeToTask', { id: taskId }, { 'A2A-Version': '1.0', 'Last-Event-ID': '3' });
    const events = reader(resumed);
    const missed = [await events.next(), await events.next()];
    run.release();
    assert.deepEqual([...missed, ...(await events.rest())], MISSED_THEN_LIVE);
    // After the end, the query parameter form through the relaying pod (it travels on as the header): replayed, then closed.
    const again = await openStream(`${pods[1].url}/?lastEventId=5`, 'SubscribeToTask', { id: taskId });
    assert.deepEqual(await reader(again).rest(), MISSED_THEN_LIVE.slice(2));
  });

  test('the owner itself is killed and started again: the events it logged before the crash, then how it dealt with the interrupted task', async () => {
    const { taskId, seen } = await followToFirst(gate, pods[0]!.url, pods[0]!.url);
    assert.deepEqual(seen, CUT_AT_FIRST);
    await kill(pods[0]!);
    pods[0] = await startPod(0);
    // Through the other pod: owner routing finds the restarted owner; its log survived the crash.
    const resumed = await collect(await openStream(pods[1]!.url, 'SubscribeToTask', { id: taskId }, { 'A2A-Version': '1.0', 'Last-Event-ID': '2' }));
    assert.equal(resumed.length, 2, JSON.stringify(resumed));
    assert.equal(label('3', resumed[0]), '3 status:TASK_STATE_WORKING:first');
    assert.match(label('4', resumed[1]), /^4 status:TASK_STATE_FAILED:.*restart/);
  });
});

// Needs the machine's PostgreSQL: skipped with a notice without it, failing under CI=true.
const postgres = await needPostgres();
const SCHEMA = `kagent_resume_${randomBytes(4).toString('hex')}`;

describe('a stream resumes on another pod after its pod is killed (shared PostgreSQL)', postgres, () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let gate: Gate;

  async function startPod(ordinal: number): Promise<ServiceProcess> {
    return startSharedPod(dirs[ordinal]!, ordinal, TEST_DATABASE_URL, SCHEMA, {
      ...GATED_SERVICE_ENV,
      STREAM_HEARTBEAT_INTERVAL: '200ms',
    });
  }

  before(async () => {
    gate = await Gate.start();
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-resume-shared-${i}-`)));
    pods.push(...(await Promise.all([0, 1].map(startPod))));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await gate.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await dropTestSchema(SCHEMA);
  });

  test('the pod serving the stream (not the one running the task) is killed; the other pod replays from the shared log, then relays live events', async () => {
    const { run, taskId, seen } = await followToFirst(gate, pods[0]!.url, pods[1]!.url);
    assert.deepEqual(seen, CUT_AT_FIRST);
    await kill(pods[1]!);
    await moveOn(run, pods[0]!.url, taskId);
    const resumed = await openStream(pods[0]!.url, 'SubscribeToTask', { id: taskId }, { 'A2A-Version': '1.0', 'Last-Event-ID': '3' });
    const events = reader(resumed);
    const missed = [await events.next(), await events.next()];
    run.release();
    assert.deepEqual([...missed, ...(await events.rest())], MISSED_THEN_LIVE);
    pods[1] = await startPod(1);
  });

  test('a client cut mid-task resumes on the pod that does not run the task: the ids it was given there are the versions here', async () => {
    const { run, taskId, stream, seen } = await followToFirst(gate, pods[0]!.url, pods[0]!.url);
    assert.deepEqual(seen, CUT_AT_FIRST);
    stream.close();
    await moveOn(run, pods[0]!.url, taskId);
    const resumed = await openStream(pods[1]!.url, 'SubscribeToTask', { id: taskId, metadata: { lastEventId: '3' } });
    const events = reader(resumed);
    const missed = [await events.next(), await events.next()];
    run.release();
    assert.deepEqual([...missed, ...(await events.rest())], MISSED_THEN_LIVE);
  });
});
