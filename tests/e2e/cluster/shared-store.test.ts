import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { Gate, GATED_SERVICE_ENV } from '../../support/gate.js';
import { collect, openStream, rpc, stepwise } from '../../support/rpc.js';
import { startSharedPod } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { dropTestSchema, needPostgres, TEST_DATABASE_URL } from '../../support/prerequisites.js';

// Three replicas as real processes sharing the machine's real PostgreSQL (a
// fresh schema for this run): the scale-out mode. No routing is involved —
// every pod reads every task — so these are the same scenarios as with
// per-pod stores, plus what only sharing brings: cross-pod events and leases.

// Needs the machine's PostgreSQL: skipped with a notice without it, failing under CI=true.
const postgres = await needPostgres();
const DATABASE_URL = TEST_DATABASE_URL;
const SCHEMA = `kagent_shared_${randomBytes(4).toString('hex')}`;

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `shared-${process.pid}-${counter++}`, parts: [{ text }], ...extra };
}

describe('any replica answers for any task (shared PostgreSQL)', postgres, () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let gate: Gate;

  async function startPod(ordinal: number): Promise<ServiceProcess> {
    return startSharedPod(dirs[ordinal]!, ordinal, DATABASE_URL, SCHEMA, {
      ...GATED_SERVICE_ENV,
      LEASE_TTL: '1s',
      CONFORMANCE_AGENT: 'true',
      STREAM_HEARTBEAT_INTERVAL: '200ms',
    });
  }

  before(async () => {
    gate = await Gate.start();
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-shared-${i}-`)));
    // Started together: migrations must be safe when replicas race.
    pods.push(...(await Promise.all([0, 1, 2].map(startPod))));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await gate.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await dropTestSchema(SCHEMA);
  });

  test('a task sent through one pod is read, listed and canceled through the others', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', { message: message('hello', { metadata: { skill: 'echo' } }) });
    const id = sent.body.result.task.id as string;
    for (const pod of pods.slice(1)) {
      const got = await rpc(pod.url, 'GetTask', { id });
      assert.equal(got.body.result?.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(got.body));
    }
    const listed = await rpc(pods[2]!.url, 'ListTasks', { pageSize: 100 });
    assert.ok((listed.body.result.tasks as { id: string }[]).some((t) => t.id === id));

    const run = gate.run();
    const slow = await rpc(pods[0]!.url, 'SendMessage', {
      message: message('slow', { metadata: run.metadata }),
      configuration: { returnImmediately: true },
    });
    const slowId = slow.body.result.task.id as string;
    await run.started();
    const canceled = await rpc(pods[1]!.url, 'CancelTask', { id: slowId });
    assert.equal(canceled.body.result?.status.state, 'TASK_STATE_CANCELED', JSON.stringify(canceled.body));
    // The cancel reached the skill on pod 0: the skill saw it, and its task is not completed later.
    await run.aborted();
    run.release();
    const after = await rpc(pods[0]!.url, 'GetTask', { id: slowId });
    assert.equal(after.body.result.status.state, 'TASK_STATE_CANCELED');
    assert.equal(after.body.result.artifacts, undefined);
  });

  test('a subscriber on one pod receives, in order, the events of a task running on another', async () => {
    const run = gate.run();
    const sent = await rpc(pods[0]!.url, 'SendMessage', {
      message: message('watched', { metadata: run.metadata }),
      configuration: { returnImmediately: true },
    });
    const id = sent.body.result.task.id as string;
    await run.started();
    // The owner's own subscriber is the reference: what the task published, in the order it did.
    const streams = (await Promise.all(pods.map((pod) => openStream(pod.url, 'SubscribeToTask', { id })))).map(stepwise);
    for (const stream of streams) assert.equal((await stream.next()).result.task.id, id);
    run.say('one');
    run.say('two');
    run.release();
    const [owner, ...others] = await Promise.all(streams.map((stream) => stream.rest()));
    const results = (events: { result: unknown }[]) => events.map((e) => e.result);
    assert.deepEqual(
      results(owner!).map((r: any) => r.statusUpdate?.status.message?.parts[0].text ?? r.statusUpdate?.status.state ?? r.artifactUpdate?.artifact.parts[0].text),
      ['one', 'two', 'watched', 'TASK_STATE_COMPLETED'],
    );
    for (const events of others) assert.deepEqual(results(events), results(owner!), 'another pod delivers exactly the owner\'s events, in its order');
  });

  test('a task waiting for input is continued through another pod', async () => {
    const first = await rpc(pods[0]!.url, 'SendMessage', { message: { ...message('start'), messageId: `tck-input-required-${counter++}` } });
    const id = first.body.result.task.id as string;
    const stream = await openStream(pods[2]!.url, 'SendStreamingMessage', {
      message: { ...message('finish'), messageId: `tck-complete-task-${counter++}`, taskId: id },
    });
    const events = await collect(stream);
    assert.equal(events.at(-1).result.statusUpdate.status.state, 'TASK_STATE_COMPLETED');
    const seen = await rpc(pods[1]!.url, 'GetTask', { id });
    assert.equal(seen.body.result.status.state, 'TASK_STATE_COMPLETED');
  });

  test('when a pod dies mid-task, another fails the task after its lease expires (a skill that is not resumable)', async () => {
    // The conformance agent's resubscribe scenario works for a few seconds and is not resumable.
    const sent = await rpc(pods[2]!.url, 'SendMessage', {
      message: { ...message('orphaned'), messageId: `test-resubscribe-message-id-${counter++}` },
      configuration: { returnImmediately: true },
    });
    const id = sent.body.result.task.id as string;
    await pods[2]!.dispose();
    await waitFor('the orphaned task to be failed by a surviving pod', async () => (await rpc(pods[0]!.url, 'GetTask', { id })).body.result?.status.state === 'TASK_STATE_FAILED');
    const task = (await rpc(pods[1]!.url, 'GetTask', { id })).body.result;
    assert.match(task.status.message.parts[0].text, /kagent-2.*stopped renewing its lease/);
  });
});
