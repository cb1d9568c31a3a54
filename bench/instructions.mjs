// Instructions our server executes per request, counted by valgrind's callgrind:
// a figure that does not move with the machine's load, for comparing two builds
// on a busy machine (req/s there mean nothing). Wall-clock figures stay with run.mjs.
//
//   node bench/instructions.mjs [--kind task|message] [--n 1000] [--warmup 3000] [--connections 1] [--keep]
//   node bench/instructions.mjs --kind fanout [--subscribers 100] [--events 10] [--warmup-events 20] [--delay 300000]
//
// fanout: `subscribers` SubscribeToTask streams on one echo task (metadata.delayMs
// = delay, a progress event each second); the counters are zeroed once every
// stream has its first event and dumped once each has `events` more, and the
// figure is per event delivered to one stream (events counted at the clients).
// A warm-up task with the same subscribers runs first (`warmup-events` events),
// so that the JIT has compiled the path before it is counted.
//
// The server (dist/, built beforehand) runs under callgrind as `ours` does in the
// benchmark (SQLite synchronous=full, LOG_LEVEL=warn); the counters are zeroed
// after the warm-up and dumped after `n` requests, so start-up is left out.
// Counts include everything the process runs (V8, libuv, SQLite, the kernel
// boundary), not the time spent waiting in fsync. They are reported apart for
// the event loop's thread (`eventLoopPerRequest`: what a busy server's
// throughput follows) and for all other threads together: under callgrind V8's
// optimizing compiler is still at work thousands of requests in, on threads of
// its own, and after a few hundred requests it was half of all instructions
// counted while the event loop still ran unoptimized code. Hence the long
// default warm-up, and the event loop's figure to compare builds by.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { CHECKS, HEADERS, messageOnlyBody, subscribeBody, taskBody, taskIdOf } from './lib/a2a.mjs';
import { openRawStream, parseRawStream } from './lib/raw-sse.mjs';
import { freePort, start, stop, waitReady } from './lib/procs.mjs';
import { OUR_LOG_LEVEL, ROOT } from './lib/servers.mjs';

const { values: args } = parseArgs({
  options: {
    kind: { type: 'string', default: 'task' },
    n: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '1' },
    subscribers: { type: 'string', default: '100' },
    delay: { type: 'string', default: '300000' },
    events: { type: 'string', default: '10' },
    'warmup-events': { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const kind = args.kind;
if (kind !== 'task' && kind !== 'message' && kind !== 'fanout') throw new Error(`--kind is task, message or fanout, not ${kind}`);
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
  ['--tool=callgrind', '--separate-threads=yes', `--vgdb-prefix=${prefix}`, `--callgrind-out-file=${join(dir, 'callgrind.%p')}`, process.execPath, join(ROOT, 'dist/src/cli/main.js'), 'serve'],
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
      // Several runs at once must not race for the gRPC port.
      GRPC_PORT: '0',
    },
  },
);
const control = (flag) => execFileSync('callgrind_control', [`--vgdb-prefix=${prefix}`, flag, String(server.pid)], { env: { ...process.env, ...vgdbEnv }, stdio: 'pipe' });

try {
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(server, `${origin}/readyz`, 600_000);
  if (kind === 'fanout') {
    await fanout(origin, false);
    const { delivered, eventLoop, otherThreads } = await fanout(origin, true);
    console.log(
      JSON.stringify({
        kind,
        subscribers: Number(args.subscribers),
        delayMs: Number(args.delay),
        delivered,
        instructions: eventLoop + otherThreads,
        perDelivery: Math.round((eventLoop + otherThreads) / delivered),
        eventLoopPerDelivery: Math.round(eventLoop / delivered),
        otherThreadsPerDelivery: Math.round(otherThreads / delivered),
      }),
    );
  } else {
    await drive(origin, Number(args.warmup));
    control('--zero');
    await drive(origin, n);
    control('--dump');
    const { eventLoop, otherThreads } = dumped();
    console.log(
      JSON.stringify({
        kind,
        n,
        connections,
        instructions: eventLoop + otherThreads,
        perRequest: Math.round((eventLoop + otherThreads) / n),
        eventLoopPerRequest: Math.round(eventLoop / n),
        otherThreadsPerRequest: Math.round(otherThreads / n),
      }),
    );
  }
} finally {
  await stop(server, 20_000);
  if (args.keep) console.error(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/**
 * Opens the streams on a new long echo task and waits until each has `events`
 * more events; `measured`: counts the instructions in between, and the events
 * the streams received meanwhile.
 */
async function fanout(origin, measured) {
  const url = new URL(origin);
  const created = await fetch(origin, { method: 'POST', headers: HEADERS, body: taskBody({ delayMs: Number(args.delay), returnImmediately: true }) });
  const taskId = taskIdOf(await created.text());
  if (taskId === undefined) throw new Error('could not create the task');
  const streams = [];
  for (let i = 0; i < Number(args.subscribers); i++) {
    streams.push(openRawStream({ host: url.hostname, port: Number(url.port), path: '/', headers: { ...HEADERS, accept: 'text/event-stream' }, body: subscribeBody(taskId) }));
    // A few at a time: the server runs 50 times slower than usual.
    if (i % 20 === 19) await Promise.all(streams.slice(-20).map((s) => s.opened.catch(() => undefined)));
  }
  await Promise.all(streams.map((s) => s.opened.catch(() => undefined)));
  const failed = streams.find((s) => !s.state.opened);
  if (failed !== undefined) throw new Error(`a stream did not open (a longer --delay?): ${parseRawStream(failed).text}`);
  const events = (s) => parseRawStream(s).frames.filter((f) => f.data !== undefined).length;
  const before = streams.map(events);
  if (measured) control('--zero');
  // Progress events come a second apart: the count is taken right after one has reached every stream, before the next.
  const want = Number(measured ? args.events : args['warmup-events']);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (streams.every((s, i) => events(s) - before[i] >= want)) break;
  }
  if (measured) control('--dump');
  for (const s of streams) s.close();
  if (!measured) return {};
  const delivered = streams.reduce((n, s, i) => n + events(s) - before[i], 0);
  return { delivered, ...dumped() };
}

/**
 * The instructions of the one dump taken, by thread (callgrind writes a file
 * per thread, the main thread's first): the event loop's, and those of every
 * other thread together — V8 compiling and collecting beside it, libuv's pool,
 * the WAL checkpoint thread. The event loop's figure is the one a busy server's
 * throughput follows; the others run on another core when there is one.
 */
function dumped() {
  const files = readdirSync(dir)
    .filter((f) => /^callgrind\.\d+\.\d+-\d+$/.test(f))
    .sort();
  if (files.length === 0) throw new Error('callgrind wrote no dump');
  const counts = files.map((f) => Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? 0));
  return { eventLoop: counts[0], otherThreads: counts.slice(1).reduce((a, b) => a + b, 0) };
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
