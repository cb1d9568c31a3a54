// The load generator, run by bench/run.mjs as its own process so that it never
// shares an event loop with a server under test. One undici Client (one
// keep-alive connection) per simulated connection, each sending its next request
// as soon as the previous answer is read (closed loop).
//
//   node bench/loadgen.mjs '<json config>'
//
// Modes (config.mode):
//   rr      warm-up, then a fixed duration; latency of every request started in the window
//   seed    send config.count task-mode messages; keep a sample of the created task ids
//   growth  fill a store to config.target tasks; at each checkpoint pause the fill and
//           measure GetTask latency on random stored tasks (1 connection, sequential)
// The last stdout line is the JSON result; growth also prints progress lines.
import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from 'undici';
import { CHECKS, HEADERS, getTaskBody, messageOnlyBody, taskBody, taskIdOf } from './lib/a2a.mjs';
import { Samples, round } from './lib/stats.mjs';

const config = JSON.parse(process.argv[2]);
const origin = config.origin;
const path = config.path;
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const newClient = () =>
  new Client(origin, { pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000, keepAliveTimeout: 65_000, connect: { timeout: 10_000 } });

let stopRequested = false;
process.stdin.on('data', (chunk) => {
  if (chunk.toString().includes('stop')) stopRequested = true;
});
process.stdin.on('error', () => {});

class Errors {
  http = 0;
  rpc = 0;
  network = 0;
  sample = undefined;
  note(kind, detail) {
    this[kind]++;
    if (this.sample === undefined) this.sample = `${kind}: ${String(detail).slice(0, 300)}`;
  }
  get total() {
    return this.http + this.rpc + this.network;
  }
  toJSON() {
    return { total: this.total, http: this.http, rpc: this.rpc, network: this.network, sample: this.sample };
  }
}

async function send(client, body) {
  const res = await client.request({ path, method: 'POST', headers: HEADERS, body });
  return { status: res.statusCode, text: await res.body.text() };
}

function bodyMaker(kind, ids) {
  switch (kind) {
    case 'message':
      return messageOnlyBody;
    case 'task':
      return () => taskBody();
    case 'get':
      if (ids.length === 0) throw new Error('GetTask needs stored task ids');
      return () => getTaskBody(ids[(Math.random() * ids.length) | 0]);
    default:
      throw new Error(`unknown request kind ${kind}`);
  }
}

async function rr() {
  const ids = config.idsFile ? JSON.parse(readFileSync(config.idsFile, 'utf8')) : [];
  const makeBody = bodyMaker(config.kind, ids);
  const check = CHECKS[config.check];
  const clients = Array.from({ length: config.connections }, newClient);
  const samples = new Samples();
  const errors = new Errors();
  const t0 = performance.now();
  const measureFrom = t0 + config.warmupMs;
  const measureTo = measureFrom + config.durationMs;
  let completed = 0;

  const loop = async (client) => {
    while (!stopRequested) {
      const started = performance.now();
      if (started >= measureTo) return;
      const measured = started >= measureFrom;
      try {
        const { status, text } = await send(client, makeBody());
        if (!measured) continue;
        completed++;
        samples.add(performance.now() - started);
        if (status < 200 || status > 299) errors.note('http', `${status} ${text}`);
        else if (!check(text)) errors.note('rpc', text);
      } catch (error) {
        if (measured) errors.note('network', error?.code ?? error?.message ?? error);
        // A refused or reset connection fails at once: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  await Promise.all(clients.map(loop));
  const durationMs = Math.max(1, Math.min(performance.now(), measureTo) - measureFrom);
  await Promise.allSettled(clients.map((c) => c.close()));
  return {
    requests: completed,
    durationMs: round(durationMs, 1),
    rps: round((completed / durationMs) * 1000, 1),
    latencyMs: samples.summary(),
    errors: errors.toJSON(),
  };
}

/** Keeps a uniform random sample of the task ids created so far. */
class Reservoir {
  ids = [];
  seen = 0;
  constructor(size) {
    this.size = size;
  }
  add(id) {
    this.seen++;
    if (this.ids.length < this.size) this.ids.push(id);
    else {
      const j = (Math.random() * this.seen) | 0;
      if (j < this.size) this.ids[j] = id;
    }
  }
}

/** Sends task-mode messages until `until()` says stop, on `connections` connections. */
async function fill(clients, reservoir, errors, until) {
  let created = 0;
  const loop = async (client) => {
    while (!stopRequested && !until(created)) {
      try {
        const { status, text } = await send(client, taskBody());
        const id = status === 200 && CHECKS.completed(text) ? taskIdOf(text) : undefined;
        if (id === undefined) errors.note(status === 200 ? 'rpc' : 'http', `${status} ${text}`);
        else {
          created++;
          reservoir.add(id);
        }
      } catch (error) {
        errors.note('network', error?.code ?? error?.message ?? error);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (errors.total > config.maxErrors) throw new Error(`too many errors: ${errors.sample}`);
    }
  };
  await Promise.all(clients.map(loop));
  return created;
}

async function seed() {
  const clients = Array.from({ length: config.connections }, newClient);
  const reservoir = new Reservoir(config.keepIds);
  const errors = new Errors();
  const started = performance.now();
  const deadline = started + config.maxMs;
  let issued = 0;
  // `issued` is counted before sending so that the total is exact under concurrency.
  const created = await fill(clients, reservoir, errors, () => issued++ >= config.count || performance.now() > deadline);
  const ms = performance.now() - started;
  await Promise.allSettled(clients.map((c) => c.close()));
  writeFileSync(config.idsFile, JSON.stringify(reservoir.ids));
  return { created, ms: round(ms, 0), perSecond: round((created / ms) * 1000, 1), errors: errors.toJSON(), timedOut: performance.now() > deadline };
}

async function probe(client, ids, count) {
  // Unrecorded first: the first GetTasks after a long fill pay for cold code paths, not for the store's size.
  for (let i = 0; i < Math.min(100, count) && !stopRequested; i++) {
    try {
      await send(client, getTaskBody(ids[(Math.random() * ids.length) | 0]));
    } catch {
      // counted below if it persists
    }
  }
  const samples = new Samples();
  const errors = new Errors();
  for (let i = 0; i < count && !stopRequested; i++) {
    const started = performance.now();
    try {
      const { status, text } = await send(client, getTaskBody(ids[(Math.random() * ids.length) | 0]));
      samples.add(performance.now() - started);
      if (status !== 200 || !CHECKS.task(text)) errors.note('rpc', text);
    } catch (error) {
      errors.note('network', error?.code ?? error?.message ?? error);
    }
  }
  return { ...samples.summary(), errors: errors.total };
}

async function growth() {
  const clients = Array.from({ length: config.connections }, newClient);
  const probeClient = newClient();
  const reservoir = new Reservoir(config.keepIds);
  const errors = new Errors();
  const started = performance.now();
  const deadline = started + config.maxMs;
  let total = 0;
  const progress = setInterval(() => emit({ type: 'progress', tasks: total + pending, t: round(performance.now() - started, 0) }), 1000);
  let pending = 0;
  const checkpoints = [];
  let stoppedBy = 'target';
  try {
    for (const checkpoint of config.checkpoints) {
      let issued = total;
      const created = await fill(clients, reservoir, errors, (n) => {
        pending = n;
        return issued++ >= checkpoint || performance.now() > deadline;
      });
      total += created;
      pending = 0;
      const latency = await probe(probeClient, reservoir.ids, config.probeCount);
      const point = { type: 'checkpoint', tasks: total, t: round(performance.now() - started, 0), getTask: latency };
      checkpoints.push(point);
      emit(point);
      if (stopRequested) {
        stoppedBy = 'stop';
        break;
      }
      if (performance.now() > deadline) {
        stoppedBy = 'time';
        break;
      }
    }
  } finally {
    clearInterval(progress);
    await Promise.allSettled([...clients, probeClient].map((c) => c.close()));
  }
  const ms = performance.now() - started;
  return { created: total, ms: round(ms, 0), perSecond: round((total / ms) * 1000, 1), stoppedBy, checkpoints, errors: errors.toJSON() };
}

/** One request of the scenario's kind: the answer must pass its check before any load is measured. */
async function preflight() {
  const ids = config.idsFile ? JSON.parse(readFileSync(config.idsFile, 'utf8')) : [];
  const client = newClient();
  try {
    const { status, text } = await send(client, bodyMaker(config.kind, ids)());
    if (status !== 200 || !CHECKS[config.check](text)) throw new Error(`the server's answer fails the "${config.check}" check: ${status} ${text.slice(0, 400)}`);
    return { ok: true };
  } finally {
    await client.close();
  }
}

const modes = { rr, seed, growth, preflight };
try {
  const result = await modes[config.mode]();
  const cpu = process.cpuUsage();
  emit({ type: 'result', ...result, cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2) });
  process.exit(0);
} catch (error) {
  emit({ type: 'result', failed: String(error?.stack ?? error) });
  process.exit(1);
}
