import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { channelName } from '../../../src/store/postgres/notifications.js';
import { openStream, rpc } from '../../support/rpc.js';
import { within } from '../../support/wait.js';
import { startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// Two replicas sharing the real PostgreSQL. A stream served by one pod for a
// task the other runs hears of each change through LISTEN/NOTIFY; NOTIFY
// reaches only current listeners. Here the listening connection is killed
// (pg_terminate_backend) in the middle of the stream and the task ends while
// it is down: the stream must still get every event, none twice.

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `kagent_relay_gap_${randomBytes(4).toString('hex')}`;
const RUN = randomBytes(3).toString('hex');
const POD_A = `gap${RUN}-0`;
const POD_B = `gap${RUN}-1`;

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `gap-${process.pid}-${counter++}`, parts: [{ text }], ...extra };
}

interface StatusSeen {
  state: string;
  timestamp: string;
}

describe('a stream relayed from the shared store survives the loss of its LISTEN connection', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  const admin = new pg.Client({ connectionString: DATABASE_URL });

  before(async () => {
    await admin.connect();
    for (const pod of [POD_A, POD_B]) dirs.push(mkdtempSync(join(tmpdir(), `kagent-${pod}-`)));
    const env = (pod: string) => ({ POD_NAME: pod, STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: SCHEMA, STREAM_HEARTBEAT_INTERVAL: '200ms' });
    pods.push(await startService(dirs[0]!, env(POD_A)));
    pods.push(await startService(dirs[1]!, env(POD_B)));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  /** Ends B's LISTEN connection; resolves to when, by the database's clock. */
  async function killListener(): Promise<void> {
    const { rows } = await admin.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1 AND query = $2`,
      [`kagent-a2a ${POD_B} listen`, `LISTEN "${channelName(SCHEMA)}"`],
    );
    assert.ok(rows.some((r) => r.killed), `pod ${POD_B} had a LISTEN connection to end`);
  }

  /** Whether B had a listening connection that could have heard commits made up to `until`. */
  async function listenedBefore(until: Date): Promise<boolean> {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_start <= $2`,
      [`kagent-a2a ${POD_B} listen`, until],
    );
    return rows[0]!.n > 0;
  }

  async function storedStatuses(taskId: string): Promise<StatusSeen[]> {
    const { rows } = await admin.query<{ event_json: string }>(`SELECT event_json FROM "${SCHEMA}".task_events WHERE task_id = $1 ORDER BY version`, [taskId]);
    return rows
      .map((row) => JSON.parse(row.event_json) as { kind: string; status?: { state: string; timestamp: string } })
      .filter((e) => e.kind === 'status-update')
      .map((e) => ({ state: e.status!.state, timestamp: e.status!.timestamp }));
  }

  test('the task ends while the listener is down; the stream still gets every event once, the last one included', async () => {
    // The gap must really hide the end: if B is listening again before the cancel commits, try again.
    for (let attempt = 1; ; attempt++) {
      const sent = await rpc(pods[0]!.url, 'SendMessage', {
        message: message('long', { metadata: { skill: 'echo', delayMs: 120_000 } }),
        configuration: { returnImmediately: true },
      });
      const id = sent.body.result.task.id as string;
      const stream = await openStream(pods[1]!.url, 'SubscribeToTask', { id });
      const events = stream.events();
      const snapshot = (await events.next()).value;
      assert.equal(snapshot.result.task.id, id);
      const seen: StatusSeen[] = [];
      const take = (event: any) => {
        const status = event.result?.statusUpdate?.status;
        if (status !== undefined) seen.push({ state: status.state, timestamp: status.timestamp });
      };
      // Mid-stream: at least one progress event came through the relay before the connection goes.
      take((await events.next()).value);

      await killListener();
      const canceled = await rpc(pods[0]!.url, 'CancelTask', { id });
      assert.equal(canceled.body.result?.status.state, 'TASK_STATE_CANCELED');
      const { rows } = await admin.query<{ now: Date }>('SELECT clock_timestamp() AS now');
      const hidden = !(await listenedBefore(rows[0]!.now));

      const ended = (async () => {
        for (let next = await events.next(); !next.done; next = await events.next()) take(next.value);
      })();
      try {
        await within(30_000, 'the stream to end', ended);
      } finally {
        stream.close();
      }

      const toWire = (s: StatusSeen) => ({ state: `TASK_STATE_${s.state.toUpperCase().replace('-', '_')}`, timestamp: s.timestamp });
      const stored = (await storedStatuses(id)).map(toWire);
      assert.ok(Date.parse(seen[0]!.timestamp) >= Date.parse(snapshot.result.task.status.timestamp));
      const from = stored.findIndex((s) => s.timestamp === seen[0]!.timestamp && s.state === seen[0]!.state);
      assert.deepEqual(seen, stored.slice(from), 'every status event from the first one seen, in order, none twice');
      assert.equal(seen.at(-1)?.state, 'TASK_STATE_CANCELED');
      if (hidden) return;
      assert.ok(attempt < 5, 'the listener came back before the cancel committed five times running');
    }
  });
});
