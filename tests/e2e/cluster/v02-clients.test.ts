import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freePortDecade, startService, startSharedPod } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { needPostgres, TEST_DATABASE_URL } from '../../support/prerequisites.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { assertDraftTask, clientTaskId, result, runV02Scenario, V02Client, v02Message } from '../../support/v02-client.js';

// A 0.2 client names its tasks itself, and such a name says nothing of the
// pod that holds the task. Two replicas as real processes on loopback: with
// per-pod stores a request landing on the pod without the task finds its
// holder by asking the replicas; with a shared PostgreSQL every pod reads
// the name from the store.

const client = new V02Client();

describe('A2A 0.2 clients across per-pod replicas', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];

  before(async () => {
    const ports = await freePortDecade();
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-v02-pod-${i}-`)));
    for (let i = 0; i < 2; i++) {
      pods.push(
        await startService(dirs[i]!, {
          POD_NAME: `kagent-${i}`,
          PORT: String(ports.port(i)),
          A2A_REPLICAS: '2',
          A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
          STREAM_HEARTBEAT_INTERVAL: '200ms',
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('every call after the first send lands on the pod that does not hold the task', async () => {
    await runV02Scenario(client, pods[0]!.url, pods[1]!.url);
  });

  test('a new id creates the task where it lands; the other pod finds it by that id', async () => {
    const id = clientTaskId('here');
    assertDraftTask(result(await client.send(pods[1]!.url, id, v02Message('on pod 1'))), id, 'completed');
    const got = result(await client.get(pods[0]!.url, id));
    assert.equal(got.artifacts[0].parts[0].text, 'on pod 1');
    // Sent again through pod 0, the id still names pod 1's task: no second task under it.
    const again = await client.send(pods[0]!.url, id, v02Message('second'));
    assert.equal(again.body.error?.code, -32004, JSON.stringify(again.body));
    assert.equal((await client.get(pods[1]!.url, 'never-used-' + id)).body.error?.code, -32001);
  });

  test('a send naming one of our ids through the other pod continues that task there, not a new one', async () => {
    const ours = await rpc(pods[1]!.url, 'SendMessage', { message: textMessage('ours', { metadata: { skill: 'echo' } }) }, { 'A2A-Version': '1.0' });
    const taskId = ours.body.result.task.id as string;
    assert.match(taskId, /^kagent-1\./);
    // Pod 1's own tasks, without the fan-out.
    const count = async () => (await rpc(pods[1]!.url, 'ListTasks', { pageSize: 100 }, { 'A2A-Version': '1.0', 'x-kagent-forwarded-by': 'test' })).body.result.totalSize as number;
    const before = await count();
    // The task has completed: continuing it is refused, as on its own pod.
    const again = await client.send(pods[0]!.url, taskId, v02Message('again'));
    assert.equal(again.body.error?.code, -32004, JSON.stringify(again.body));
    assert.equal(await count(), before, 'no new task on the owner');
  });

  test('with a replica down, an id this pod lacks is a retryable error naming the replica, never TaskNotFound or a second task', async () => {
    const held = clientTaskId('held');
    result(await client.send(pods[1]!.url, held, v02Message('held')));
    const own = clientTaskId('own');
    result(await client.send(pods[0]!.url, own, v02Message('own')));
    await pods[1]!.dispose();
    for (const res of [await client.get(pods[0]!.url, held), await client.send(pods[0]!.url, clientTaskId('new'), v02Message('x'))]) {
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error?.code, -32050);
      assert.match(res.body.error!.message, /kagent-1 .*did not answer/);
      assert.ok(res.headers.get('retry-after'));
    }
    // What the pod holds itself is served as before.
    assertDraftTask(result(await client.get(pods[0]!.url, own)), own, 'completed');
  });
});

const postgres = await needPostgres();

describe('A2A 0.2 clients across replicas sharing PostgreSQL', postgres, () => {
  const SCHEMA = `kagent_v02_${randomBytes(4).toString('hex')}`;
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];

  before(async () => {
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-v02-shared-${i}-`)));
    pods.push(
      ...(await Promise.all(
        [0, 1].map((i) => startSharedPod(dirs[i]!, i, TEST_DATABASE_URL, SCHEMA, { STREAM_HEARTBEAT_INTERVAL: '200ms' })),
      )),
    );
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await db.end();
  });

  test('every call after the first send lands on the other pod', async () => {
    await runV02Scenario(client, pods[0]!.url, pods[1]!.url);
  });

  test('two first sends under one id at once, on two pods, make one task', async () => {
    const id = clientTaskId('race');
    const [a, b] = await Promise.all([
      client.send(pods[0]!.url, id, v02Message('a', { skill: 'echo', delayMs: 300 })),
      client.send(pods[1]!.url, id, v02Message('b', { skill: 'echo', delayMs: 300 })),
    ]);
    // One created the task; the other continued it while it was working, which the task refuses.
    const answers = [a, b].map((res) => (res.body.error === undefined ? 'task' : String(res.body.error.code)));
    assert.deepEqual(answers.sort(), ['-32004', 'task'], JSON.stringify([a.body, b.body]));
    const task = result(await client.get(pods[0]!.url, id));
    assert.equal(task.history.filter((m: { role: string }) => m.role === 'user').length, 1);
  });
});
