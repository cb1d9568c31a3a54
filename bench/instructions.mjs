// Instructions our server executes per request, counted by valgrind's callgrind:
// a figure that does not move with the machine's load, for comparing two builds
// on a busy machine (req/s there mean nothing). Wall-clock figures stay with run.mjs.
//
//   node bench/instructions.mjs [--kind task|message] [--n 150] [--warmup 200] [--connections 1] [--keep]
//
// The server (dist/, built beforehand) runs under callgrind as `ours` does in the
// benchmark (SQLite synchronous=full, LOG_LEVEL=warn); the counters are zeroed
// after the warm-up and dumped after `n` requests, so start-up and JIT warm-up
// are left out. Counts include everything the process runs (V8, libuv,
// SQLite, the kernel boundary), not the time spent waiting in fsync.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { CHECKS, HEADERS, messageOnlyBody, taskBody } from './lib/a2a.mjs';
import { freePort, start, stop, waitReady } from './lib/procs.mjs';
import { OUR_LOG_LEVEL, ROOT } from './lib/servers.mjs';

const { values: args } = parseArgs({
  options: {
    kind: { type: 'string', default: 'task' },
    n: { type: 'string', default: '150' },
    warmup: { type: 'string', default: '200' },
    connections: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});
const kind = args.kind;
if (kind !== 'task' && kind !== 'message') throw new Error(`--kind is task or message, not ${kind}`);
const n = Number(args.n);
const connections = Number(args.connections);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('valgrind is not installed: instruction counts need it (apt-get install valgrind)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'kagent-instructions-'));
const port = await freePort();
// vgdb finds a process by user and host names; both sides must agree, also where the host has no name.
const vgdbEnv = { HOST: '127.0.0.1' };
const prefix = join(dir, 'vgdb');
const server = start(
  'valgrind',
  ['--tool=callgrind', `--vgdb-prefix=${prefix}`, `--callgrind-out-file=${join(dir, 'callgrind.%p')}`, process.execPath, join(ROOT, 'dist/src/cli/main.js'), 'serve'],
  {
    logFile: join(dir, 'server.log'),
    env: {
      ...vgdbEnv,
      PORT: String(port),
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: OUR_LOG_LEVEL,
      POD_NAME: 'bench-0',
      SQLITE_SYNCHRONOUS: 'full',
      CONFORMANCE_AGENT: kind === 'message' ? 'true' : 'false',
      DEFAULT_SKILL: 'echo',
      DRAIN_TIMEOUT: '2s',
    },
  },
);
const control = (flag) => execFileSync('callgrind_control', [`--vgdb-prefix=${prefix}`, flag, String(server.pid)], { env: { ...process.env, ...vgdbEnv }, stdio: 'pipe' });

try {
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(server, `${origin}/readyz`, 600_000);
  await drive(origin, Number(args.warmup));
  control('--zero');
  await drive(origin, n);
  control('--dump');
  const dump = readdirSync(dir).find((f) => /^callgrind\.\d+\.\d+$/.test(f));
  if (dump === undefined) throw new Error('callgrind wrote no dump');
  const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
  const instructions = Number(totals[1]);
  console.log(JSON.stringify({ kind, n, connections, instructions, perRequest: Math.round(instructions / n) }));
} finally {
  await stop(server, 20_000);
  if (args.keep) console.error(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** `count` requests of the kind over `connections` keep-alive connections; each answer checked. */
async function drive(origin, count) {
  const make = kind === 'task' ? () => taskBody() : messageOnlyBody;
  const check = kind === 'task' ? CHECKS.completed : CHECKS.message;
  let sent = 0;
  const worker = async () => {
    const client = new Client(origin, { pipelining: 1, headersTimeout: 600_000, bodyTimeout: 600_000 });
    try {
      while (sent < count) {
        sent++;
        const res = await client.request({ path: '/', method: 'POST', headers: HEADERS, body: make() });
        const text = await res.body.text();
        if (!check(text)) throw new Error(`unexpected answer: ${text.slice(0, 300)}`);
      }
    } finally {
      await client.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}
