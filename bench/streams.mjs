// The stream client, run by bench/run.mjs as its own process.
//
//   node bench/streams.mjs '<json config>'
//
// Modes (config.mode):
//   fanout  start one long echo task (metadata.delayMs), open config.subscribers
//           SubscribeToTask streams to it, spread over config.clients client
//           processes (this script, mode fanout-part), and time each status event
//           from its status.timestamp (set when the server produced it) to its
//           arrival at a client. Same machine, same clock; timestamps have
//           millisecond resolution.
//
// Streams are read over raw sockets (lib/raw-sse.mjs): a client only notes the
// time of each network read while events arrive, and parses afterwards.
//   idle    create config.tasks tasks that stop in input-required and hold
//           config.streams SubscribeToTask streams open on them for config.holdMs
//           (no events flow, only keep-alive comments); prints {"type":"holding"}
//           when all are open so the caller can read the server's memory.
// The last stdout line is the JSON result.
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { HEADERS, inputRequiredBody, subscribeBody, taskBody, taskIdOf } from './lib/a2a.mjs';
import { openRawStream, parseRawStream } from './lib/raw-sse.mjs';
import { Samples, round } from './lib/stats.mjs';

const config = JSON.parse(process.argv[2]);
const target = new URL(config.origin);
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Each stream owns its socket: no pooling, no limit on sockets per host.
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: config.path, method: 'POST', headers: HEADERS, agent, timeout: 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens one SSE stream on its own socket (lib/raw-sse.mjs): arrival times are taken per network read, frames parsed after the run. */
function openStream(body) {
  return openRawStream({ host: target.hostname, port: Number(target.port), path: config.path, headers: { ...HEADERS, accept: 'text/event-stream' }, body });
}

/** Opens streams `batch` at a time, so the server's accept backlog never overflows. */
async function openMany(count, bodyFor, { batch = 200, deadline }) {
  const streams = [];
  for (let i = 0; i < count; i += batch) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const s = openStream(bodyFor(j));
      streams.push(s);
      wave.push(s.opened);
    }
    await Promise.race([Promise.allSettled(wave), sleep(Math.max(0, deadline - Date.now()))]);
    if (Date.now() > deadline) break;
  }
  return streams;
}

async function createTask(body) {
  const { status, text } = await post(body);
  const id = taskIdOf(text);
  if (status !== 200 || id === undefined) throw new Error(`could not create the task: ${status} ${text.slice(0, 300)}`);
  return id;
}

/** A stream's status events as [receivedAt, producedAt, state, timestamp]; errors and unreadable frames counted. */
function statusEvents(stream) {
  const { status, contentType, frames, text } = parseRawStream(stream);
  if (status !== 200 || !contentType.startsWith('text/event-stream')) {
    stream.state.error ??= `not a stream: ${status} ${text}`;
    return { events: [], malformed: 0 };
  }
  const events = [];
  let malformed = 0;
  for (const frame of frames) {
    if (frame.data === undefined) continue;
    let payload;
    try {
      payload = JSON.parse(frame.data);
    } catch {
      malformed++;
      continue;
    }
    const s = payload?.result?.statusUpdate?.status;
    if (s?.timestamp !== undefined) events.push([frame.receivedAt, Date.parse(s.timestamp), s.state, s.timestamp]);
  }
  return { events, malformed };
}

/** One client process's share of the fan-out streams: opens them, reports when they are open, then what arrived when. */
async function fanoutPart() {
  const started = Date.now();
  const streams = await openMany(config.subscribers, () => subscribeBody(config.taskId), { deadline: started + config.openTimeoutMs });
  process.send({ type: 'opened', at: Date.now(), opened: streams.filter((s) => s.state.opened).length });
  await Promise.race([Promise.all(streams.map((s) => s.ended)), sleep(Math.max(0, config.endBy - Date.now()))]);
  const ended = streams.filter((s) => s.state.closed).length;
  for (const s of streams) s.close();
  const events = [];
  let malformed = 0;
  for (const s of streams) {
    const r = statusEvents(s);
    events.push(...r.events);
    malformed += r.malformed;
  }
  const errors = streams.filter((s) => s.state.error !== undefined);
  return { opened: streams.filter((s) => s.state.opened).length, ended, events, malformed, errors: errors.length, errorSample: errors[0]?.state.error };
}

/** Runs `count` client processes (this script, mode fanout-part), each with its share of the streams. */
function clientProcesses(count, shareConfig, onOpened) {
  return Array.from({ length: count }, (_, i) => {
    const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(shareConfig(i))], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      let result;
      child.on('message', (m) => (m.type === 'opened' ? onOpened(m) : (result = m)));
      child.on('exit', (code) => (result?.failed === undefined && result !== undefined ? resolve(result) : reject(new Error(result?.failed ?? `client ${i} exited with ${code}`))));
    });
  });
}

async function fanout() {
  const taskId = await createTask(taskBody({ delayMs: config.delayMs, returnImmediately: true }));
  const clients = Math.max(1, Math.min(config.clients ?? 1, config.subscribers));
  const started = Date.now();
  const endBy = started + config.delayMs + config.endTimeoutMs;
  // Every stream is open once every client says so: only events produced after that are live fan-out to all of them.
  let liveFrom = 0;
  const parts = await Promise.all(
    clientProcesses(
      clients,
      (i) => ({
        ...config,
        mode: 'fanout-part',
        taskId,
        subscribers: Math.floor(config.subscribers / clients) + (i < config.subscribers % clients ? 1 : 0),
        endBy,
      }),
      (m) => (liveFrom = Math.max(liveFrom, m.at)),
    ),
  );
  const samples = new Samples();
  const progress = new Samples();
  const final = new Samples();
  let statusEvents = 0;
  let early = 0;
  const perEvent = new Map();
  for (const part of parts) {
    for (const [receivedAt, producedAt, state, timestamp] of part.events) {
      statusEvents++;
      if (producedAt < liveFrom) {
        early++;
        continue;
      }
      const latency = receivedAt - producedAt;
      samples.add(latency);
      (state === 'TASK_STATE_WORKING' ? progress : final).add(latency);
      const key = `${timestamp} ${state}`;
      (perEvent.get(key) ?? perEvent.set(key, new Samples()).get(key)).add(latency);
    }
  }
  const errors = parts.reduce((n, p) => n + p.errors + p.malformed, 0);
  return {
    taskId,
    subscribers: config.subscribers,
    clients,
    opened: parts.reduce((n, p) => n + p.opened, 0),
    ended: parts.reduce((n, p) => n + p.ended, 0),
    openMs: liveFrom - started,
    statusEvents,
    eventsBeforeAllSubscribed: early,
    latencyMs: samples.summary(),
    progressLatencyMs: progress.summary(),
    finalLatencyMs: final.summary(),
    perEvent: [...perEvent].map(([event, s]) => ({ event, ...s.summary() })),
    errors: { total: errors, sample: parts.find((p) => p.errorSample !== undefined)?.errorSample },
    // The client processes' CPU, added to this one's below.
    clientCpuSeconds: parts.reduce((n, p) => n + p.cpuSeconds, 0),
  };
}

async function idle() {
  const tasks = [];
  for (let i = 0; i < config.tasks; i++) tasks.push(await createTask(inputRequiredBody()));
  const started = Date.now();
  const streams = await openMany(config.streams, (j) => subscribeBody(tasks[j % tasks.length]), { deadline: started + config.openTimeoutMs });
  const opened = streams.filter((s) => s.state.opened).length;
  const openMs = Date.now() - started;
  emit({ type: 'holding', opened, openMs });
  await sleep(config.holdMs);
  const stillOpen = streams.filter((s) => !s.state.closed).length;
  for (const s of streams) s.close();
  const comments = streams.reduce((n, s) => n + parseRawStream(s).frames.filter((f) => f.comment).length, 0);
  for (const s of streams) {
    const { status, contentType, text } = parseRawStream(s);
    if (status !== 200 || !contentType.startsWith('text/event-stream')) s.state.error ??= `not a stream: ${status} ${text}`;
  }
  const errors = streams.filter((s) => s.state.error !== undefined);
  return {
    tasks: tasks.length,
    streams: config.streams,
    opened,
    openMs,
    stillOpenAfterHold: stillOpen,
    keepAliveComments: comments,
    errors: { total: errors.length, sample: errors[0]?.state.error },
  };
}

const modes = { fanout, 'fanout-part': fanoutPart, idle };
// A client process of the fan-out answers its parent over IPC; the others print their result.
const report = config.mode === 'fanout-part' ? (obj) => new Promise((resolve) => process.send(obj, resolve)) : async (obj) => emit(obj);
try {
  const { clientCpuSeconds = 0, ...result } = await modes[config.mode]();
  const cpu = process.cpuUsage();
  await report({ type: 'result', ...result, cpuSeconds: round((cpu.user + cpu.system) / 1e6 + clientCpuSeconds, 2) });
  process.exit(0);
} catch (error) {
  await report({ type: 'result', failed: String(error?.stack ?? error) });
  process.exit(1);
}
