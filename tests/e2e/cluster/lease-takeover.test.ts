import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { waitFor } from '../../support/wait.js';
import { openStream, rpc } from '../../support/rpc.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { DONE, chunk, hangingReply, startChatServer } from '../../skills/assistant/chat-server.js';
import type { ChatServer } from '../../skills/assistant/chat-server.js';

// Three replicas as real processes sharing the machine's real PostgreSQL (a
// fresh schema for this run). A pod that dies lets its leases lapse; another
// pod takes its tasks over and resumes those of resumable skills. When the dead
// pod comes back under its name, it must leave alone what others now run.
// The language model is a scripted chat-completions server on loopback (no
// paid API may be called).

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `kagent_takeover_${randomBytes(4).toString('hex')}`;
const TAKEN_OVER = /^the pod running this task \(kagent-2\) stopped renewing its lease and is presumed gone; (kagent-[01]) resumed it from the stored request \(resume 1 of at most 3\)$/;

let counter = 0;
function message(text: string, metadata: Record<string, unknown>): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `takeover-${process.pid}-${counter++}`, parts: [{ text }], metadata };
}

function textOf(message: { parts?: { text?: string }[] } | undefined): string {
  return (message?.parts ?? []).map((p) => p.text ?? '').join('');
}

function takeoverNotes(task: any): string[] {
  return (task.history as any[]).map(textOf).filter((text) => TAKEN_OVER.test(text));
}

describe('a pod takes over the tasks of a pod whose lease lapsed (shared PostgreSQL)', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  let chat: ChatServer;

  async function startPod(ordinal: number): Promise<ServiceProcess> {
    return startService(dirs[ordinal]!, {
      POD_NAME: `kagent-${ordinal}`,
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: SCHEMA,
      LEASE_TTL: '1s',
      STREAM_HEARTBEAT_INTERVAL: '200ms',
      LLM_URL: chat.baseUrl,
      LLM_MODEL: 'scripted-model',
      ASSISTANT_RESUMABLE: 'true',
    });
  }

  async function killPod(ordinal: number): Promise<void> {
    pods[ordinal]!.child.kill('SIGKILL');
    await pods[ordinal]!.waitExit(10_000);
  }

  before(async () => {
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(`PostgreSQL is not reachable at ${DATABASE_URL} (set TEST_DATABASE_URL): ${String(error)}`);
    }
    chat = await startChatServer();
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-takeover-${i}-`)));
    pods.push(...(await Promise.all([0, 1, 2].map(startPod))));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
    await chat.close();
  });

  test('a resumable task whose pod dies is resumed by another, and a subscriber elsewhere sees it through on the same stream', { timeout: 60_000 }, async () => {
    const sent = await rpc(pods[2]!.url, 'SendMessage', {
      message: message('survive the pod', { skill: 'echo', delayMs: 3000 }),
      configuration: { returnImmediately: true },
    });
    const id: string = sent.body.result.task.id;
    const stream = await openStream(pods[0]!.url, 'SubscribeToTask', { id });
    const events = stream.events();
    assert.equal((await events.next()).value.result.task.id, id);
    await killPod(2);
    const rest: any[] = [];
    for (let e = await events.next(); !e.done; e = await events.next()) rest.push(e.value);

    const notes = rest.map((e) => textOf(e.result.statusUpdate?.status.message)).filter((text) => TAKEN_OVER.test(text));
    assert.equal(notes.length, 1, `one takeover is announced on the stream: ${JSON.stringify(rest)}`);
    assert.equal(rest.at(-1).result.statusUpdate?.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(rest.at(-1)));
    assert.ok(rest.some((e) => textOf(e.result.artifactUpdate?.artifact) === 'survive the pod'));
    const task = (await rpc(pods[1]!.url, 'GetTask', { id })).body.result;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(takeoverNotes(task).length, 1);

    pods[2] = await startPod(2);
  });

  test('a pod restarting under its name leaves alone a task it created that another pod took over', { timeout: 60_000 }, async () => {
    // A model that never answers keeps the task working without a write, so nothing else can change it under the restart.
    chat.enqueue(hangingReply(), hangingReply());
    const asked = chat.requests.length;
    const sent = await rpc(pods[2]!.url, 'SendMessage', {
      message: message('a question that takes long', { skill: 'assistant' }),
      configuration: { returnImmediately: true },
    });
    const id: string = sent.body.result.task.id;
    assert.match(id, /^kagent-2\./);
    await waitFor('the model to be asked', () => chat.requests.length > asked, 10_000);
    await killPod(2);
    let taker = '';
    await waitFor('another pod to take the task over', async () => {
        const task = (await rpc(pods[0]!.url, 'GetTask', { id })).body.result;
        const [note] = takeoverNotes(task);
        taker = note === undefined ? '' : TAKEN_OVER.exec(note)![1]!;
        return taker !== '';
      }, 15_000);
    await waitFor('the taker to ask the model again', () => chat.requests.length > asked + 1, 10_000);

    // The creator comes back: the task is the taker's now (it holds the lease), not the creator's to resume or fail.
    pods[2] = await startPod(2);
    const task = (await rpc(pods[2]!.url, 'GetTask', { id })).body.result;
    assert.equal(task.status.state, 'TASK_STATE_WORKING');
    assert.equal(takeoverNotes(task).length, 1, JSON.stringify(task.history.map(textOf)));
    assert.ok(!task.history.some((m: any) => /restarted while this task was running/.test(textOf(m))), 'the restart did not claim the task');
    assert.doesNotMatch(pods[2]!.output(), /tasks that were running when the agent last stopped/);
    const lease = await admin.query<{ lease_pod: string; resumes: number }>(`SELECT lease_pod, resumes FROM ${SCHEMA}.tasks WHERE id = $1`, [id]);
    assert.deepEqual(lease.rows[0], { lease_pod: taker, resumes: 1 });

    const canceled = await rpc(pods[2]!.url, 'CancelTask', { id });
    assert.equal(canceled.body.result?.status.state, 'TASK_STATE_CANCELED');
  });

  test('a pod that was frozen past its lease finds its task taken over: its late writes are refused and its run stops', { timeout: 60_000 }, async () => {
    // The frozen pod's model answers late; the taker's model never does, so the task stays the taker's to finish.
    chat.enqueue(
      { steps: [chunk({ role: 'assistant', content: '' }), { delayMs: 1500 }, chunk({ content: 'a stale answer' }), chunk({}, 'stop'), DONE] },
      hangingReply(),
    );
    const asked = chat.requests.length;
    const sent = await rpc(pods[2]!.url, 'SendMessage', {
      message: message('a question asked twice', { skill: 'assistant' }),
      configuration: { returnImmediately: true },
    });
    const id: string = sent.body.result.task.id;
    await waitFor('the model to be asked', () => chat.requests.length > asked, 10_000);
    // SIGSTOP: alive but silent, as a pod in a long pause or cut off from the database is.
    pods[2]!.child.kill('SIGSTOP');
    try {
      await waitFor('another pod to take the task over', async () => takeoverNotes((await rpc(pods[0]!.url, 'GetTask', { id })).body.result).length === 1, 15_000);
      await waitFor('the taker to ask the model again', () => chat.requests.length > asked + 1, 10_000);
    } finally {
      pods[2]!.child.kill('SIGCONT');
    }
    // Either the frozen pod notices, or its stale run got through (which the assertions below then show).
    await waitFor('the frozen pod to notice and stop its run', async () =>
        pods[2]!.output().includes('"msg":"stopped running a task another pod took over while this pod had lost its lease"') ||
        (await rpc(pods[1]!.url, 'GetTask', { id })).body.result?.status.state !== 'TASK_STATE_WORKING', 15_000);

    const task = (await rpc(pods[1]!.url, 'GetTask', { id })).body.result;
    assert.equal(task.status.state, 'TASK_STATE_WORKING', `the stale run neither completed nor failed the task: ${JSON.stringify(task.status)}`);
    assert.deepEqual(task.artifacts ?? [], [], 'the stale answer was not stored');
    assert.ok(!task.history.some((m: any) => /stale answer/.test(textOf(m))));
    const lease = await admin.query<{ lease_pod: string }>(`SELECT lease_pod FROM ${SCHEMA}.tasks WHERE id = $1`, [id]);
    assert.match(lease.rows[0]!.lease_pod, /^kagent-[01]$/, 'the taker keeps the lease');
    assert.doesNotMatch(pods[2]!.output(), /skill failed/, 'a superseded run is not a skill failure');
    assert.equal((await rpc(pods[2]!.url, 'CancelTask', { id })).body.result?.status.state, 'TASK_STATE_CANCELED');
  });
});
