// The benchmark harness: `npm run bench` (full, for the README) or
// `npm run bench -- --quick` (under two minutes, for development).
//
// Starts this service and reference servers built with the official
// @a2a-js/sdk (in-memory and SQLite task stores) plus a bare node:http ceiling,
// each in its own process on 127.0.0.1, drives the same load at each in turn
// from a separate load-generator process, and writes bench/results/<date>.json
// and .md. Options:
//   --quick            short runs, smaller stores (development)
//   --only a,b         run only these scenarios: message-only, task-send, task-send-pg, get-task,
//                      fanout, idle-streams, store-growth (empty: none)
//   --rounds N         alternation rounds per load level
//   --cpu-prof         also profile our server (V8 --cpu-prof) under task-mode and message-only
//                      load and summarise where its time goes
//   --readme / --no-readme   write the table into README.md (default: on for full runs)
//   --keep             keep the temporary data and logs
//   --readme-from F    only rewrite README.md's section from result file F
//   --quiet-wait S     before each run, wait up to S seconds for the machine to go idle (full: 10, quick: 0)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { summariseProfile } from './lib/profile.mjs';
import { cpuSeconds, killAll, memory, otherCpu, processCpu, resetPeak, runJson, sampleMemory, systemBusySeconds } from './lib/procs.mjs';
import { BENCH_POSTGRES, OUR_LOG_LEVEL, ROOT, SERVERS, createBenchDatabase, startServer } from './lib/servers.mjs';
import { median, round } from './lib/stats.mjs';
import { renderMarkdown, updateReadme } from './lib/report.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    readme: { type: 'boolean' },
    'no-readme': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    'readme-from': { type: 'string' },
  },
});

// Only rewrite the README's section from an earlier result file, without running anything.
if (opts['readme-from'] !== undefined) {
  const file = opts['readme-from'];
  updateReadme(join(ROOT, 'README.md'), JSON.parse(readFileSync(file, 'utf8')), relative(ROOT, resolve(file)));
  console.log(`README.md now shows ${file}`);
  process.exit(0);
}

const PROFILES = {
  quick: {
    rounds: 1,
    warmupMs: 1000,
    durationMs: 2000,
    connections: [50],
    get: { seed: 5_000, seedMaxMs: 20_000 },
    fanout: { subscribers: [1000], delayMs: 6000, clients: 2 },
    idle: { streams: 5000, tasks: 50, holdMs: 1000 },
    growth: { target: 15_000, oursMaxMs: 12_000, theirsMaxMs: 4_000, checkpoints: [2_000, 8_000, 15_000] },
    profileMs: 5000,
    quietWaitMs: 0,
    retryNoisy: false,
    deadlineMs: 6 * 60_000,
  },
  full: {
    rounds: 2,
    warmupMs: 2000,
    durationMs: 5000,
    connections: [1, 50],
    get: { seed: 100_000, seedMaxMs: 180_000 },
    fanout: { subscribers: [100, 1000], delayMs: 8_500, clients: 2 },
    idle: { streams: 5000, tasks: 100, holdMs: 5000 },
    growth: {
      target: 1_000_000,
      oursMaxMs: 540_000,
      theirsMaxMs: 30_000,
      checkpoints: [1_000, 10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000],
    },
    profileMs: 10_000,
    quietWaitMs: 10_000,
    retryNoisy: true,
    deadlineMs: 40 * 60_000,
  },
};

const mode = opts.quick ? 'quick' : 'full';
const P = PROFILES[mode];
if (opts.rounds !== undefined) P.rounds = Math.max(1, Math.min(10, Number(opts.rounds) || 1));
if (opts['quiet-wait'] !== undefined) P.quietWaitMs = Math.max(0, Math.min(120, Number(opts['quiet-wait']) || 0)) * 1000;
const SEED_CONNECTIONS = 50;
const NODE = process.execPath;
const tmp = mkdtempSync(join(os.tmpdir(), 'a2a-bench-'));
const logDir = join(tmp, 'logs');
mkdirSync(logDir);
let dataSerial = 0;
const newDataDir = (kind) => join(tmp, `data-${kind}-${dataSerial++}`);
const log = (...parts) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...parts);
const t0 = performance.now();

// The whole run is bounded: whatever happens, nothing outlives it.
const deadline = setTimeout(() => {
  console.error(`benchmark exceeded ${P.deadlineMs / 60000} minutes; stopping`);
  killAll();
  process.exit(3);
}, P.deadlineMs);
deadline.unref();

// ---- one load run -----------------------------------------------------------

/**
 * Runs a client script (load generator or stream client) against one server and
 * reads around it the server's CPU and peak memory, and what everything else on
 * the machine used meanwhile.
 */
async function observedRun(server, script, config, { timeoutMs, onLine } = {}) {
  const pid = server.pid;
  const peakResettable = resetPeak(pid);
  const sampler = sampleMemory(pid);
  const cpu0 = cpuSeconds(pid);
  const busy0 = systemBusySeconds();
  const procs0 = processCpu();
  const wall0 = performance.now();
  const result = await runJson(NODE, [join(ROOT, script), JSON.stringify({ origin: server.origin, path: server.path, ...config })], {
    logFile: join(logDir, `${script.replace(/^.*\//, '').replace(/\.mjs$/, '')}.log`),
    timeoutMs,
    onLine,
  });
  const cpu = cpuSeconds(pid) - cpu0;
  const wall = (performance.now() - wall0) / 1000;
  // What neither the server nor the client used: kernel threads (disk writeback and
  // journaling, partly the server's own doing), other processes, interrupts.
  const busy = systemBusySeconds() - busy0;
  const mine = cpu + (result.cpuSeconds ?? 0);
  const split = otherCpu(procs0, processCpu(), busy, mine, new Set([pid]));
  const sampled = sampler.stop();
  const hwm = memory(pid).hwmMB;
  const pct = (seconds) => round((seconds / wall) * 100, 0);
  // Clock-tick granularity can make a near-zero difference slightly negative.
  const otherCpuPct = pct(Math.max(0, busy - mine));
  return {
    ...result,
    peakRssMB: round(peakResettable ? Math.max(hwm, sampled.peakMB) : sampled.peakMB, 1),
    // Over the client's whole life (warm-up included); 100% is one core.
    serverCpuPct: pct(cpu),
    loadgenCpuPct: pct(result.cpuSeconds ?? NaN),
    otherCpuPct,
    otherCpu: {
      kernelThreadsPct: pct(split.kernelSeconds),
      otherProcessesPct: pct(split.foreignSeconds),
      unattributedPct: pct(split.unattributedSeconds),
      top: split.top.map((t) => `${t.name}${t.kernel ? ' (kernel)' : ''} ${pct(t.seconds)}%`),
    },
    noisy: otherCpuPct > NOISE_LIMIT_PCT,
  };
}

function loadRun(server, config) {
  return observedRun(server, 'bench/loadgen.mjs', config, { timeoutMs: (config.warmupMs ?? 0) + (config.durationMs ?? 0) + (config.maxMs ?? 0) + 60_000 });
}

/** CPU used by anything else during a run (% of one core) beyond which the run counts as noisy. */
const NOISE_LIMIT_PCT = 40;

/**
 * Waits (at most `maxMs`) until the machine is nearly idle, so that a run does
 * not start while other work holds the cores the servers need.
 */
async function waitQuiet(maxMs) {
  const until = performance.now() + maxMs;
  for (;;) {
    const b0 = systemBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busyCores = (systemBusySeconds() - b0) / 0.5;
    if (busyCores < 0.3 || performance.now() > until) return round(busyCores * 100, 0);
  }
}

function checkFor(server, check) {
  return server.kind === 'bare' ? 'result' : check;
}

/** Alternates servers run by run: ours, theirs, ours, …, rotating the order each round. */
function alternation(kinds, roundIndex) {
  const ours = kinds.filter((k) => k.startsWith('ours'));
  const theirs = kinds.filter((k) => !k.startsWith('ours'));
  const order = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    if (i < ours.length) order.push(ours[i]);
    if (i < theirs.length) order.push(theirs[i]);
  }
  const shift = roundIndex % order.length;
  return [...order.slice(shift), ...order.slice(0, shift)];
}

function aggregate(rounds) {
  const pick = (f) => rounds.map(f);
  return {
    rps: round(median(pick((r) => r.rps)), 1),
    p50Ms: round(median(pick((r) => r.latencyMs.p50)), 3),
    p99Ms: round(median(pick((r) => r.latencyMs.p99)), 3),
    maxMs: round(Math.max(...pick((r) => r.latencyMs.max ?? 0)), 3),
    requests: pick((r) => r.requests).reduce((a, b) => a + b, 0),
    errors: pick((r) => r.errors.total).reduce((a, b) => a + b, 0),
    errorSample: rounds.find((r) => r.errors.sample)?.errors.sample,
    peakRssMB: round(Math.max(...pick((r) => r.peakRssMB)), 1),
    serverCpuPct: round(median(pick((r) => r.serverCpuPct)), 0),
    loadgenCpuPct: round(median(pick((r) => r.loadgenCpuPct)), 0),
    otherCpuPct: round(median(pick((r) => r.otherCpuPct)), 0),
    noisyRounds: rounds.filter((r) => r.noisy).length,
    invalid: rounds.some((r) => r.errors.total > INVALID_ERROR_SHARE * Math.max(1, r.requests)),
    rounds: rounds.map((r) => ({
      rps: r.rps,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
      maxMs: r.latencyMs.max,
      errors: r.errors.total,
      peakRssMB: r.peakRssMB,
      serverCpuPct: r.serverCpuPct,
      loadgenCpuPct: r.loadgenCpuPct,
      otherCpuPct: r.otherCpuPct,
      otherCpu: r.otherCpu,
      noisy: r.noisy,
    })),
  };
}

/** ours/theirs for each pair: req/s (higher is better for ours) and p99 (lower is better for ours). */
function ratios(servers) {
  const out = {};
  for (const mine of Object.keys(servers).filter((k) => k.startsWith('ours'))) {
    for (const other of Object.keys(servers).filter((k) => !k.startsWith('ours'))) {
      const a = servers[mine];
      const b = servers[other];
      out[`${mine}/${other}`] = {
        rps: b.rps ? round(a.rps / b.rps, 3) : null,
        p99: b.p99Ms ? round(a.p99Ms / b.p99Ms, 3) : null,
      };
    }
  }
  return out;
}

/** Checks that every server answers the scenario's request as expected, so that no run measures errors. */
async function preflight(servers, kinds, kind, check) {
  for (const k of kinds) {
    const server = servers[k];
    await runJson(NODE, [join(ROOT, 'bench/loadgen.mjs'), JSON.stringify({ mode: 'preflight', origin: server.origin, path: server.path, kind, check: checkFor(server, check), idsFile: server.idsFile })], {
      logFile: join(logDir, 'loadgen.log'),
      timeoutMs: 30_000,
    }).catch((error) => {
      throw new Error(`${SERVERS[k].label}: ${error.message}`);
    });
  }
}

/** A run where more than 1% of the requests failed measures failures, not the server. */
const INVALID_ERROR_SHARE = 0.01;

/** Runs one request/response scenario: every server up, each load level, rounds of alternation. */
async function requestResponse({ id, title, kinds, kind, check, servers, notes }) {
  await preflight(servers, kinds, kind, check);
  const levels = [];
  const crashes = [];
  // A server that died is a finding: keep how it ended, start it again, and go on.
  const revive = async (k, when) => {
    const ended = servers[k].exited();
    if (ended === undefined) return;
    crashes.push({ server: k, when, ...ended });
    log(`${id}: ${SERVERS[k].label} exited (${ended.code ?? ended.signal}) ${when}; restarting it. Its log ends:\n${ended.logTail}`);
    const idsFile = servers[k].idsFile;
    servers[k] = await servers[k].restart();
    servers[k].idsFile = idsFile;
  };
  for (const connections of P.connections) {
    const runs = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let r = 0; r < P.rounds; r++) {
      for (const k of alternation(kinds, r)) {
        await revive(k, `before round ${r + 1} at ${connections} connections`);
        const server = servers[k];
        const config = { mode: 'rr', kind, check: checkFor(server, check), connections, warmupMs: P.warmupMs, durationMs: P.durationMs, idsFile: server.idsFile };
        if (P.quietWaitMs > 0) await waitQuiet(P.quietWaitMs);
        let result = await loadRun(server, config);
        if (result.otherCpuPct > NOISE_LIMIT_PCT && P.retryNoisy) {
          log(`${id} c=${connections} ${SERVERS[k].label}: everything else used ${result.otherCpuPct}% CPU during the run (${result.otherCpu.top.join(', ')}); repeating it once`);
          await new Promise((resolve) => setTimeout(resolve, 2000));
          result = await loadRun(server, config);
        }
        runs[k].push(result);
        await revive(k, `during round ${r + 1} at ${connections} connections`);
        log(`${id} c=${connections} round ${r + 1} ${SERVERS[k].label}: ${result.rps} req/s p50 ${result.latencyMs.p50} ms p99 ${result.latencyMs.p99} ms, ${result.errors.total} errors, ${result.peakRssMB} MB; CPU server ${result.serverCpuPct}%, load generator ${result.loadgenCpuPct}%, others ${result.otherCpuPct}% (${result.otherCpu.top.join(', ')})`);
      }
    }
    const figures = Object.fromEntries(kinds.map((k) => [k, aggregate(runs[k])]));
    levels.push({ connections, servers: figures, ratios: ratios(figures) });
  }
  return { id, title, kind: 'request-response', notes, levels, crashes };
}

async function startAll(kinds, options = () => ({})) {
  const started = await Promise.all(kinds.map((k) => startServer(k, { logDir, dataDir: newDataDir(k), ...options(k) })));
  return Object.fromEntries(started.map((s) => [s.kind, s]));
}

async function stopAll(servers) {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}

// ---- scenarios ---------------------------------------------------------------

const SCENARIOS = {
  'message-only': async () => {
    const kinds = ['ours', 'sdkMemory', 'sdkSqlite', 'bare'];
    const servers = await startAll(kinds, (k) => ({ conformance: k === 'ours' }));
    try {
      return await requestResponse({
        id: 'message-only',
        title: 'Message-only SendMessage (the reply is a Message; no task)',
        kinds,
        kind: 'message',
        check: 'message',
        servers,
        notes: [
          'ours runs with CONFORMANCE_AGENT=true: messageIds starting tck-message-response get a direct Message from the conformance skill; the SDK peer does the same on the same prefix.',
          'Every request has a unique messageId.',
        ],
      });
    } finally {
      await stopAll(servers);
    }
  },

  'task-send': async () => {
    const kinds = ['ours', 'oursNormal', 'sdkMemory', 'sdkSqlite', 'bare'];
    const servers = await startAll(kinds);
    try {
      return await requestResponse({
        id: 'task-send',
        title: 'Task-mode SendMessage, blocking until completed (submitted → working → artifact → completed)',
        kinds,
        kind: 'task',
        check: 'completed',
        servers,
        notes: [
          'ours and SDK sqlite persist every state change before answering (SQLite WAL, synchronous=full); ours (sqlite normal) is the documented SQLITE_SYNCHRONOUS=normal setting.',
          'Every request has a unique messageId (a resent identical message is deduplicated by ours).',
        ],
      });
    } finally {
      await stopAll(servers);
    }
  },

  'task-send-pg': async () => {
    // The shared-store mode: ours with STORE=postgres against the SDK's DatabaseTaskStore, each in a database of its own on one server.
    const kinds = ['oursPg', 'sdkPg'];
    const databases = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await createBenchDatabase(`bench_${k.toLowerCase()}_${process.pid}`)])));
    let servers;
    try {
      servers = await startAll(kinds, (k) => ({ database: databases[k].url }));
      return await requestResponse({
        id: 'task-send-pg',
        title: 'Task-mode SendMessage on PostgreSQL, blocking until completed',
        kinds,
        kind: 'task',
        check: 'completed',
        servers,
        notes: [
          `Both servers store every state change in PostgreSQL before answering (${BENCH_POSTGRES.replace(/\/\/[^@/]*@/, '//')}, a database each); ours is the shared store several replicas use.`,
          'Every request has a unique messageId (a resent identical message is deduplicated by ours).',
        ],
      });
    } finally {
      if (servers !== undefined) await stopAll(servers);
      for (const database of Object.values(databases)) await database.drop();
    }
  },

  'get-task': async () => {
    const kinds = ['ours', 'sdkMemory', 'sdkSqlite', 'bare'];
    const seeded = {};
    const servers = {};
    try {
      for (const k of ['ours', 'sdkMemory', 'sdkSqlite']) {
        const dataDir = newDataDir(k);
        // Filled through the API; the SQLite servers with synchronous=normal to fill fast, then restarted with full.
        let server = await startServer(k, { logDir, dataDir, synchronous: k === 'sdkMemory' ? undefined : 'normal' });
        servers[k] = server;
        const idsFile = join(tmp, `ids-${k}.json`);
        const seed = await loadRun(server, { mode: 'seed', count: P.get.seed, connections: SEED_CONNECTIONS, keepIds: 20_000, idsFile, maxMs: P.get.seedMaxMs, maxErrors: 100 });
        seeded[k] = { created: seed.created, perSecond: seed.perSecond, ms: seed.ms, errors: seed.errors.total, timedOut: seed.timedOut };
        log(`get-task: seeded ${SERVERS[k].label} with ${seed.created} tasks at ${seed.perSecond}/s`);
        if (k !== 'sdkMemory') {
          await server.stop();
          server = await startServer(k, { logDir, dataDir });
          servers[k] = server;
        }
        server.idsFile = idsFile;
      }
      servers.bare = await startServer('bare', { logDir });
      servers.bare.idsFile = servers.ours.idsFile;
      const result = await requestResponse({
        id: 'get-task',
        title: `GetTask on a store of ${P.get.seed.toLocaleString('en-US')} tasks (random stored ids)`,
        kinds,
        kind: 'get',
        check: 'task',
        servers,
        notes: [
          `Each store was filled through the API with ${P.get.seed.toLocaleString('en-US')} completed echo tasks (SendMessage, ${SEED_CONNECTIONS} connections); the SQLite servers (ours and SDK sqlite) filled with synchronous=normal and were then restarted with synchronous=full. GetTask reads only.`,
          'Ids are drawn uniformly from a sample of 20,000 of the stored tasks.',
        ],
      });
      result.seeded = seeded;
      return result;
    } finally {
      await stopAll(servers);
    }
  },

  fanout: async () => {
    const kinds = ['ours', 'sdkMemory', 'sdkSqlite'];
    const levels = [];
    for (const subscribers of P.fanout.subscribers) {
      const figures = {};
      for (const k of alternation(kinds, levels.length)) {
        const server = await startServer(k, { logDir, dataDir: newDataDir(k) });
        try {
          if (P.quietWaitMs > 0) await waitQuiet(P.quietWaitMs);
          const r = await observedRun(
            server,
            'bench/streams.mjs',
            { mode: 'fanout', subscribers, clients: P.fanout.clients, delayMs: P.fanout.delayMs, openTimeoutMs: 30_000, endTimeoutMs: 15_000 },
            { timeoutMs: P.fanout.delayMs + 90_000 },
          );
          figures[k] = {
            subscribers,
            opened: r.opened,
            ended: r.ended,
            events: r.latencyMs.count,
            p50Ms: r.latencyMs.p50,
            p99Ms: r.latencyMs.p99,
            maxMs: r.latencyMs.max,
            progressP99Ms: r.progressLatencyMs.p99,
            finalP99Ms: r.finalLatencyMs.p99,
            errors: r.errors.total + (subscribers - r.opened),
            errorSample: r.errors.sample,
            peakRssMB: r.peakRssMB,
            serverCpuPct: r.serverCpuPct,
            clientCpuPct: r.loadgenCpuPct,
            otherCpuPct: r.otherCpuPct,
            otherCpu: r.otherCpu,
            noisy: r.noisy,
            openMs: r.openMs,
            clientProcesses: r.clients,
            // The first subscriber's latency: what the event took before the fan-out began (the durable write, the publish).
            minMs: r.latencyMs.min,
            perEvent: r.perEvent,
          };
          log(`fanout n=${subscribers} ${SERVERS[k].label}: ${r.latencyMs.count} events, p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms max ${r.latencyMs.max} ms`);
        } finally {
          await server.stop();
        }
      }
      const ratio = {};
      for (const other of ['sdkMemory', 'sdkSqlite']) ratio[`ours/${other}`] = { p99: figures[other].p99Ms ? round(figures.ours.p99Ms / figures[other].p99Ms, 3) : null };
      levels.push({ subscribers, servers: figures, ratios: ratio });
    }
    return {
      id: 'fanout',
      title: 'SendStreamingMessage fan-out: N SubscribeToTask streams on one task, event latency from publish to receipt',
      kind: 'fanout',
      notes: [
        `One echo task with metadata.delayMs=${P.fanout.delayMs} publishes a working status each second, then the artifact and completed. Latency = arrival time at the client − status.timestamp (set by the server when it produced the event; same clock, millisecond resolution), for every status event produced after all N streams were open, across all N streams.`,
        `The N streams are spread over ${P.fanout.clients} client processes, each reading its streams over raw sockets (bench/lib/raw-sse.mjs): while events arrive a client only notes each network read's arrival time, and parses HTTP and SSE after the run. What is left of the client in the figure is one event-loop turn per read.`,
      ],
      levels,
    };
  },

  'idle-streams': async () => {
    const kinds = ['ours', 'sdkMemory', 'sdkSqlite'];
    const figures = {};
    for (const k of alternation(kinds, 0)) {
      const server = await startServer(k, { logDir, dataDir: newDataDir(k), conformance: k === 'ours' });
      try {
        const baseline = memory(server.pid).rssMB;
        let holding;
        if (P.quietWaitMs > 0) await waitQuiet(P.quietWaitMs);
        const r = await observedRun(
          server,
          'bench/streams.mjs',
          { mode: 'idle', streams: P.idle.streams, tasks: P.idle.tasks, holdMs: P.idle.holdMs, openTimeoutMs: 60_000 },
          {
            timeoutMs: P.idle.holdMs + 120_000,
            onLine: (line) => {
              if (line.type === 'holding') holding = { at: Date.now(), rssMB: memory(server.pid).rssMB };
            },
          },
        );
        const peak = r.peakRssMB;
        figures[k] = {
          streams: P.idle.streams,
          opened: r.opened,
          stillOpenAfterHold: r.stillOpenAfterHold,
          openMs: r.openMs,
          baselineRssMB: round(baseline, 1),
          rssWhenAllOpenMB: round(holding?.rssMB ?? NaN, 1),
          peakRssMB: round(peak, 1),
          kbPerStream: round(((peak - baseline) * 1024) / Math.max(1, r.opened), 1),
          serverCpuPct: r.serverCpuPct,
          otherCpuPct: r.otherCpuPct,
          noisy: r.noisy,
          errors: r.errors.total + (P.idle.streams - r.stillOpenAfterHold),
          errorSample: r.errors.sample,
        };
        log(`idle ${P.idle.streams} streams ${SERVERS[k].label}: opened ${r.opened} (${r.openMs} ms), still open ${r.stillOpenAfterHold}, peak RSS ${round(peak, 1)} MB (baseline ${round(baseline, 1)})`);
      } finally {
        await server.stop();
      }
    }
    const ratio = {};
    for (const other of ['sdkMemory', 'sdkSqlite']) ratio[`ours/${other}`] = { peakRssMB: round(figures.ours.peakRssMB / figures[other].peakRssMB, 3) };
    return {
      id: 'idle-streams',
      title: `${P.idle.streams.toLocaleString('en-US')} concurrent idle streams (memory)`,
      kind: 'idle',
      notes: [
        `${P.idle.tasks} tasks stop in input-required (ours: conformance skill, messageId tck-input-required…; SDK peer: same prefix); ${P.idle.streams} SubscribeToTask streams are spread over them and held open ${P.idle.holdMs} ms with no events.`,
      ],
      levels: [{ streams: P.idle.streams, servers: figures, ratios: ratio }],
    };
  },

  'store-growth': async () => {
    const kinds = ['ours', 'sdkMemory', 'sdkSqlite'];
    const figures = {};
    for (const k of kinds) {
      const dataDir = newDataDir(k);
      const server = await startServer(k, { logDir, dataDir });
      try {
        let tasks = 0;
        const sampler = sampleMemory(server.pid, { everyMs: mode === 'quick' ? 250 : 1000, extra: () => ({ tasks, diskMB: server.diskMB() }) });
        const maxMs = k === 'ours' ? P.growth.oursMaxMs : P.growth.theirsMaxMs;
        const checkpoints = P.growth.checkpoints.filter((c) => c <= P.growth.target);
        const r = await observedRun(
          server,
          'bench/loadgen.mjs',
          { mode: 'growth', connections: SEED_CONNECTIONS, checkpoints, probeCount: mode === 'quick' ? 300 : 1000, keepIds: 20_000, maxMs, maxErrors: 100 },
          {
            timeoutMs: maxMs + 120_000,
            onLine: (line) => {
              if (line.type === 'progress' || line.type === 'checkpoint') tasks = line.tasks;
              if (line.type === 'checkpoint') log(`store-growth ${SERVERS[k].label}: ${line.tasks} tasks, GetTask p50 ${line.getTask.p50} ms p99 ${line.getTask.p99} ms, RSS ${round(memory(server.pid).rssMB, 1)} MB`);
            },
          },
        );
        const { peakMB, series } = sampler.stop();
        const settled = series.filter((p) => p.tasks >= Math.min(10_000, r.created));
        figures[k] = {
          created: r.created,
          perSecond: r.perSecond,
          stoppedBy: r.stoppedBy,
          peakRssMB: round(peakMB, 1),
          firstRssMB: series[0]?.rssMB,
          lastRssMB: series.at(-1)?.rssMB,
          // From 10,000 tasks on (the heap has warmed up): how much the RSS still climbs.
          rssGrowthAfter10kMB: settled.length > 1 ? round(Math.max(...settled.map((p) => p.rssMB)) - settled[0].rssMB, 1) : null,
          diskMB: server.diskMB(),
          checkpoints: r.checkpoints.map((c) => ({ tasks: c.tasks, t: c.t, getTaskP50Ms: c.getTask.p50, getTaskP99Ms: c.getTask.p99, getTaskErrors: c.getTask.errors })),
          errors: r.errors.total,
          errorSample: r.errors.sample,
          serverCpuPct: r.serverCpuPct,
          otherCpuPct: r.otherCpuPct,
          noisy: r.noisy,
          series: thin(series, 300),
        };
        log(`store-growth ${SERVERS[k].label}: ${r.created} tasks in ${r.ms} ms (${r.perSecond}/s, stopped by ${r.stoppedBy}), peak RSS ${round(peakMB, 1)} MB, disk ${server.diskMB()} MB`);
      } finally {
        await server.stop();
      }
    }
    return {
      id: 'store-growth',
      title: `Storing tasks: RSS, disk and GetTask latency while the store grows (ours to ${P.growth.target.toLocaleString('en-US')})`,
      kind: 'growth',
      notes: [
        `Completed echo tasks sent through the API on ${SEED_CONNECTIONS} connections. At each checkpoint the fill pauses and ${mode === 'quick' ? 300 : 1000} sequential GetTasks (after 100 unrecorded) on random stored tasks are timed. Ours runs to the target (or ${P.growth.oursMaxMs / 1000} s); the SDK servers are stopped after ${P.growth.theirsMaxMs / 1000} s.`,
        'Disk = the files of the data directory (database, WAL, shared memory).',
      ],
      levels: [{ servers: figures }],
    };
  },
};

function thin(series, n) {
  if (series.length <= n) return series;
  const step = series.length / n;
  return Array.from({ length: n }, (_, i) => series[Math.floor(i * step)]).concat(series.at(-1));
}

// ---- profile ----------------------------------------------------------------

/** Profiles our server under one request/response load; the summary says where its time goes. */
async function profileOurs({ kind, check, conformance }) {
  const dir = join(tmp, `cpu-prof-${kind}`);
  mkdirSync(dir, { recursive: true });
  const server = await startServer('ours', { logDir, dataDir: newDataDir('ours'), cpuProf: dir, conformance });
  const run = await loadRun(server, { mode: 'rr', kind, check, connections: 50, warmupMs: 0, durationMs: P.profileMs });
  await server.stop();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no CPU profile was written');
  const summary = summariseProfile(join(dir, file));
  log(`profile ${kind}: ${run.rps} req/s under the profiler; ${summary.idlePct}% idle`);
  return { load: `${kind === 'task' ? 'task-mode' : 'message-only'} SendMessage, 50 connections`, rpsUnderProfiler: run.rps, otherCpuPct: run.otherCpuPct, ...summary, file: undefined };
}

// ---- targets ------------------------------------------------------------------

function evaluateTargets(scenarios) {
  const find = (id) => scenarios.find((s) => s.id === id);
  const level = (s, pred) => s?.levels.find(pred);
  const targets = [];
  const add = (id, text, value, threshold, better, unit = '×', note) => {
    const met = value === null || value === undefined || Number.isNaN(value) ? null : better === 'higher' ? value >= threshold : value <= threshold;
    targets.push({ id, text, value: round(value, 3), threshold, better, unit, met, note });
  };
  const task = level(find('task-send'), (l) => l.connections === 50);
  const valid = (l) => l !== undefined && !Object.values(l.servers).some((f) => f.invalid);
  if (task && valid(task)) {
    add('task-rps-vs-sdk-sqlite', 'Task-mode SendMessage @50 connections: ours (durable, synchronous=full) req/s ÷ SDK sqlite', task.ratios['ours/sdkSqlite'].rps, 2, 'higher');
    add('task-rps-vs-sdk-memory', 'Task-mode SendMessage @50 connections: ours req/s ÷ SDK in-memory', task.ratios['ours/sdkMemory'].rps, 2.5, 'higher');
    add('task-p99-vs-sdk-sqlite', 'Task-mode SendMessage @50 connections: ours p99 ÷ SDK sqlite p99', task.ratios['ours/sdkSqlite'].p99, 0.5, 'lower');
    add('task-p99-vs-sdk-memory', 'Task-mode SendMessage @50 connections: ours p99 ÷ SDK in-memory p99', task.ratios['ours/sdkMemory'].p99, 0.5, 'lower');
  }
  const taskPg = level(find('task-send-pg'), (l) => l.connections === 50);
  if (taskPg && valid(taskPg)) {
    add('task-pg-rps-vs-sdk-pg', 'Task-mode SendMessage @50 connections on PostgreSQL: ours (shared store) req/s ÷ SDK DatabaseTaskStore', taskPg.ratios['oursPg/sdkPg'].rps, 2, 'higher');
  }
  for (const l of (find('message-only')?.levels ?? []).filter(valid)) {
    add(`message-vs-ceiling-c${l.connections}`, `Message-only SendMessage @${l.connections} connection${l.connections > 1 ? 's' : ''}: ours req/s ÷ bare node:http`, l.ratios['ours/bare'].rps, 0.6, 'higher');
  }
  const idle = find('idle-streams')?.levels[0]?.servers.ours;
  if (idle) {
    add('idle-streams-rss', `${idle.streams} idle streams: ours peak RSS`, idle.peakRssMB, 300, 'lower', 'MB', idle.stillOpenAfterHold < idle.streams ? `only ${idle.stillOpenAfterHold} stayed open` : undefined);
  }
  const fan = level(find('fanout'), (l) => l.subscribers === 1000)?.servers.ours;
  if (fan) {
    add('fanout-1000-p99', 'A published event reaches 1,000 subscribers: ours p99 publish → receipt, all status events', fan.p99Ms, 50, 'lower', 'ms', `progress events alone p99 ${fan.progressP99Ms} ms; the final event (after the artifact, closing every stream) p99 ${fan.finalP99Ms} ms`);
  }
  const growth = find('store-growth')?.levels[0]?.servers.ours;
  if (growth) {
    const scaled = growth.created < 1_000_000 ? `measured up to ${growth.created.toLocaleString('en-US')} tasks, not 1,000,000` : undefined;
    add('growth-rss', 'Store growing: ours peak RSS', growth.peakRssMB, 150, 'lower', 'MB', scaled);
    const cps = growth.checkpoints.filter((c) => c.getTaskP50Ms !== null);
    if (cps.length >= 2) {
      const first = cps[0];
      const last = cps.at(-1);
      add(
        'growth-gettask-latency',
        `GetTask p50 at ${last.tasks.toLocaleString('en-US')} tasks ÷ at ${first.tasks.toLocaleString('en-US')} tasks (flat: ≤ 1.5)`,
        last.getTaskP50Ms / first.getTaskP50Ms,
        1.5,
        'lower',
        '×',
        `p50 ${first.getTaskP50Ms} → ${last.getTaskP50Ms} ms, p99 ${first.getTaskP99Ms} → ${last.getTaskP99Ms} ms${scaled ? `; ${scaled}` : ''}`,
      );
    }
  }
  return targets;
}

// ---- main ---------------------------------------------------------------------

/** The commit the servers were built from, and how many files under src/ differ from it. */
function codeVersion() {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const status = git('status', '--porcelain', '--', 'src');
  return { commit: git('rev-parse', '--short', 'HEAD'), changedSrcFiles: status === undefined ? undefined : status.split('\n').filter(Boolean).length };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    note: 'The load generator, the stream client and the server under test share these cores.',
  };
}

async function main() {
  const selected = opts.only !== undefined ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(SCENARIOS);
  for (const id of selected) if (!(id in SCENARIOS)) throw new Error(`unknown scenario ${id}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  readFileSync(join(ROOT, 'dist/src/cli/main.js'));
  const started = new Date();
  log(`benchmark (${mode}) scenarios: ${selected.join(', ')}; data and logs in ${tmp}`);
  const results = {
    date: started.toISOString(),
    mode,
    machine: machine(),
    code: codeVersion(),
    settings: {
      rounds: P.rounds,
      warmupMs: P.warmupMs,
      durationMs: P.durationMs,
      connections: P.connections,
      ourLogLevel: OUR_LOG_LEVEL,
      loadGenerator: 'bench/loadgen.mjs: undici Client per connection, closed loop, separate process',
      servers: Object.fromEntries(Object.entries(SERVERS).map(([k, v]) => [k, v.what])),
      sdkVersion: JSON.parse(readFileSync(join(ROOT, 'node_modules/@a2a-js/sdk/package.json'), 'utf8')).version,
    },
    scenarios: [],
  };
  for (const id of selected) {
    log(`scenario ${id}`);
    try {
      results.scenarios.push(await SCENARIOS[id]());
    } catch (error) {
      log(`scenario ${id} failed: ${error.stack ?? error}`);
      results.scenarios.push({ id, failed: String(error.message ?? error) });
    }
  }
  if (opts['cpu-prof']) {
    results.profiles = [];
    for (const load of [
      { kind: 'task', check: 'completed', conformance: false },
      { kind: 'message', check: 'message', conformance: true },
    ]) {
      try {
        results.profiles.push(await profileOurs(load));
      } catch (error) {
        results.profiles.push({ load: load.kind, failed: String(error.message ?? error) });
      }
    }
  }
  results.targets = evaluateTargets(results.scenarios.filter((s) => !s.failed));
  const after = codeVersion();
  if (after.commit !== results.code.commit) results.code.changedDuringRun = `HEAD moved to ${after.commit} during the run: servers started later may run newer code`;
  results.durationS = round((performance.now() - t0) / 1000, 1);

  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  const base = join(dir, `${stamp}${mode === 'quick' ? '-quick' : ''}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  writeFileSync(`${base}.md`, markdown);
  log(`wrote ${base}.json and ${base}.md`);
  const readme = opts['no-readme'] ? false : opts.readme ?? mode === 'full';
  if (readme) {
    updateReadme(join(ROOT, 'README.md'), results, `bench/results/${stamp}${mode === 'quick' ? '-quick' : ''}.json`);
    log('updated the benchmark section of README.md');
  }
  console.log(`\n${markdown}`);
  const failed = results.scenarios.filter((s) => s.failed).length;
  return failed === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(error.stack ?? error);
} finally {
  killAll();
  if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
}
process.exit(code);
