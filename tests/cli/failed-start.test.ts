import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { DATABASE_FILE } from '../../src/agent.js';
import { startTestAgent } from '../support/agent.js';
import { waitFor } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `kagent_failstart_${randomBytes(4).toString('hex')}`;

/** Runs `serve` to its end; fails (killing it) if it has not exited within `deadlineMs`. */
function serveUntilExit(env: Record<string, string>, deadlineMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve'], { env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', GRPC_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not exit within ${deadlineMs} ms after failing to start; output:\n${output}`));
    }, deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a start that fails (port in use) unwinds and exits non-zero', () => {
  let blocker: Server;
  let port: number;
  const dirs: string[] = [];
  const admin = new pg.Client({ connectionString: DATABASE_URL });

  before(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
    await admin.connect();
  });

  after(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-failstart-'));
    dirs.push(dir);
    return dir;
  };

  test('SQLite: exits 1 naming the port, with the store closed cleanly', async () => {
    const dir = tempDir();
    const run = await serveUntilExit({ PORT: String(port), DATA_DIR: dir }, 60_000);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}\\b.*PORT.*already in use`));
    assert.ok(existsSync(join(dir, DATABASE_FILE)), 'the store had been opened');
    assert.ok(!existsSync(join(dir, `${DATABASE_FILE}-wal`)), 'the store was closed (its WAL folded back) before exiting');
  });

  test('a gRPC port in use: exits 1 naming GRPC_PORT', async () => {
    const run = await serveUntilExit({ PORT: '0', GRPC_PORT: String(port), DATA_DIR: tempDir() }, 60_000);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`cannot listen for gRPC on 127\\.0\\.0\\.1:${port} \\(settings HOST, GRPC_PORT\\)`));
  });

  test('PostgreSQL: exits 1 naming the port instead of hanging on open connections', async () => {
    const run = await serveUntilExit({ PORT: String(port), DATA_DIR: tempDir(), STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: SCHEMA, POD_NAME: 'failstart-0' }, 60_000);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}\\b.*PORT`));
  });

  test('PostgreSQL, in process: the failed start leaves no database connection behind', async () => {
    const pod = `failstart-${randomBytes(3).toString('hex')}`;
    await assert.rejects(
      startTestAgent({ PORT: String(port), STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: SCHEMA, POD_NAME: pod }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`),
    );
    const open = async () =>
      (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`, [`kagent-a2a ${pod}%`])).rows[0]!.n;
    await waitFor('the pod\'s connections to be closed', async () => (await open()) === 0, 30_000);
  });
});
