import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { readMetric } from '../../support/metrics.js';
import { needPostgres, TEST_DATABASE_URL } from '../../support/prerequisites.js';
import { hookUrl, PushReceiver } from '../../support/push-receiver.js';
import { rpc } from '../../support/rpc.js';
import { freePort, startSharedPod } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { waitFor } from '../../support/wait.js';
import { ok } from '../http/helpers.js';

// Two replicas as real processes sharing the machine's PostgreSQL (a fresh
// schema): both deliver from the one outbox, and each event must reach the
// receiver once — not once per pod — and in order for its task.

const postgres = await needPostgres();
const SCHEMA = `kagent_push_${randomBytes(4).toString('hex')}`;
const TASKS = 12;
const EVENTS_PER_TASK = 4;

describe('two pods sharing PostgreSQL deliver each push event exactly once', postgres, () => {
  const dirs = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `kagent-push-shared-${i}-`)));
  let pods: ServiceProcess[] = [];
  let receiver: PushReceiver;
  const db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });

  before(async () => {
    receiver = await PushReceiver.start(await freePort());
    const env = { EGRESS_ALLOW: '127.0.0.1', PUSH_POLL_INTERVAL: '50ms', PUSH_CONCURRENCY: '4' };
    pods = await Promise.all([0, 1].map((i) => startSharedPod(dirs[i]!, i, TEST_DATABASE_URL, SCHEMA, env)));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await receiver.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('every event of every task arrives once, in order, whichever pod ran the task', async () => {
    const taskIds = await Promise.all(
      Array.from({ length: TASKS }, async (_, i) => {
        const message = { role: 'ROLE_USER', messageId: `shared-push-${process.pid}-${i}`, parts: [{ text: `task ${i}` }], metadata: { skill: 'echo' } };
        const configuration = { taskPushNotificationConfig: { url: hookUrl(receiver.port, `/t${i}`), token: `tok-${i}` } };
        return ok(await rpc(pods[i % 2]!.url, 'SendMessage', { message, configuration })).task.id as string;
      }),
    );
    await waitFor('the outbox emptied by deliveries', async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${SCHEMA}".push_outbox`);
      return rows[0]!.n === '0';
    });
    const received = await receiver.received();
    const ids = received.map((r) => r.deliveryId);
    assert.equal(new Set(ids).size, ids.length, 'a delivery id arrived twice');
    assert.equal(received.length, TASKS * EVENTS_PER_TASK);
    for (const [i, taskId] of taskIds.entries()) {
      const mine = received.filter((r) => r.path === `/t${i}`);
      const labels = mine.map(({ body }) =>
        body.task !== undefined ? `task:${body.task.status.state}` : body.statusUpdate !== undefined ? `status:${body.statusUpdate.status.state}` : 'artifact',
      );
      assert.deepEqual(labels, ['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_WORKING', 'artifact', 'status:TASK_STATE_COMPLETED'], `task ${taskId}`);
      assert.ok(mine.every((r) => r.token === `tok-${i}`));
    }
    const delivered = await Promise.all(pods.map((p) => readMetric(p.url, 'a2a_push_deliveries_total', { outcome: 'delivered' })));
    assert.equal(delivered[0]! + delivered[1]!, TASKS * EVENTS_PER_TASK, `delivered per pod: ${delivered.join(', ')}`);
  });
});
