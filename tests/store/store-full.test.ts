import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../src/agent.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRpcError, errorInfo, ok } from '../e2e/http/helpers.js';
import { waitFor, within } from '../support/wait.js';
import { rpc, textMessage } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';
import { readMetric } from '../support/metrics.js';

// A full store, for real: SQLITE_MAX_PAGES caps the database file (PRAGMA
// max_page_count), and SQLite then fails writes with SQLITE_FULL exactly as on
// a full disk — without filling this machine's disk.

const BIG = 'x'.repeat(48 * 1024);
/** About 1.2 MB: a few dozen big tasks fill it. */
const MAX_PAGES = '300';

async function status(url: string, path: string): Promise<number> {
  const res = await fetch(`${url}${path}`);
  await res.arrayBuffer();
  return res.status;
}

/** Sends big echo tasks until the store refuses one; returns that refusal. */
async function fill(url: string): Promise<Awaited<ReturnType<typeof rpc>>> {
  for (let i = 0; i < 400; i++) {
    const res = await rpc(url, 'SendMessage', { message: textMessage(`${BIG}${i}`) });
    if (res.body.error !== undefined) return res;
  }
  assert.fail('the store never filled up');
}

describe('a full store (SQLite at its page cap)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-store-full-'));
    dirs.push(dir);
    return dir;
  };
  let service: ServiceProcess;

  before(async () => {
    // Terminal tasks expire after 1 s, but the regular sweep would run only in an hour:
    // anything deleted during this test was deleted by the early sweep a full store triggers.
    service = await startService(tempDir(), { SQLITE_MAX_PAGES: MAX_PAGES, TASK_RETENTION: '1s', RETENTION_SWEEP_INTERVAL: '1h' });
  });

  after(async () => {
    await service?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('writes are refused with a retryable 503, the pod turns unready, and recovers once the early sweep frees room', async () => {
    const refused = await fill(service.url);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After is set');
    const error = assertRpcError(refused.body, -32050);
    assert.equal(errorInfo(error).reason, 'STORE_FULL');
    assert.match(error.message, /full/);

    // Not ready while full (or already recovered, if the sweep was quicker than this probe: then the metrics tell).
    assert.ok((await readMetric(service.url, 'a2a_store_write_failures_total', { reason: 'full' })) >= 1);
    assert.equal(await status(service.url, '/healthz'), 200, 'alive all along');

    await waitFor('readiness to come back after the early sweep', async () => (await status(service.url, '/readyz')) === 200, 60_000);
    assert.equal(await readMetric(service.url, 'a2a_store_full'), 0);
    assert.ok((await readMetric(service.url, 'a2a_tasks_expired_total')) > 0, 'the early sweep deleted expired terminal tasks');
    const after = await rpc(service.url, 'SendMessage', { message: textMessage('fits again') });
    assert.equal(ok(after).task.status.state, 'TASK_STATE_COMPLETED');
  });

  test('a start on a full store with interrupted tasks stays up, unready, instead of crash-looping', async () => {
    const dir = tempDir();
    const first = await startService(dir, { ECHO_MAX_DELAY: '1h' });
    // Some history, so the database is larger than the smallest cap the setting takes.
    for (let i = 0; i < 8; i++) ok(await rpc(first.url, 'SendMessage', { message: textMessage(`${BIG}${i}`) }));
    ok(await rpc(first.url, 'SendMessage', { message: textMessage('interrupted', { metadata: { delayMs: 3_600_000 } }), configuration: { returnImmediately: true } }));
    await first.dispose(); // SIGKILL: the task stays "working" in the store
    // Pack the database to its last byte: any write that needs room fails.
    const db = new Database(join(dir, DATABASE_FILE));
    const pages = db.pragma('page_count', { simple: true }) as number;
    assert.ok(pages >= 16, `${pages} pages`);
    db.pragma(`max_page_count = ${pages}`);
    const junk = db.prepare(`INSERT INTO messages (task_id, message_key, json) VALUES (' junk', ?, ?)`);
    let n = 0;
    for (const size of [65_536, 16_384, 4096, 1024, 256, 64, 16, 1]) {
      try {
        for (;;) junk.run(`j-${n++}`, 'j'.repeat(size));
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'SQLITE_FULL');
      }
    }
    db.close();

    const second = await startService(dir, { SQLITE_MAX_PAGES: String(pages), TASK_RETENTION: '7d' }, 30_000, '/healthz');
    try {
      await waitFor('the start to report what it could not write', () => /tasks interrupted by the last stop are resumed or failed once it takes writes again/.test(second.output()), 30_000);
      assert.equal(await status(second.url, '/readyz'), 503);
      assert.equal(await status(second.url, '/healthz'), 200);
      assert.equal(second.child.exitCode, null, 'still running');
    } finally {
      await second.dispose();
    }
  });

  test('while the store stays full, /readyz is 503 and a2a_store_full is 1; SIGTERM still exits 0', async () => {
    // Nothing expires here (7 days): the store stays full.
    const stuck = await startService(tempDir(), { SQLITE_MAX_PAGES: MAX_PAGES, TASK_RETENTION: '7d' });
    try {
      const refused = await fill(stuck.url);
      assertRpcError(refused.body, -32050);
      await waitFor('/readyz to report the full store', async () => (await status(stuck.url, '/readyz')) === 503, 30_000);
      assert.equal(await readMetric(stuck.url, 'a2a_store_full'), 1);
      assert.equal(await status(stuck.url, '/healthz'), 200);
      // Reads still work.
      const listed = ok(await rpc(stuck.url, 'ListTasks', { pageSize: 1 }));
      assert.ok(listed.totalSize > 0);

      stuck.child.kill('SIGTERM');
      const exit = await within(60_000, 'the process to exit after SIGTERM', stuck.exited);
      assert.equal(exit.code, 0, stuck.output());
      assert.doesNotMatch(stuck.output(), /"level":"(error|fatal)"/, 'a full store is not an internal error');
    } finally {
      await stuck.dispose();
    }
  });
});
