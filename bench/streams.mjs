// The stream client, run by bench/run.mjs as its own process.
//
//   node bench/streams.mjs '<json config>'
//
// Modes (config.mode):
//   fanout  start one long echo task (metadata.delayMs), open config.subscribers
//           SubscribeToTask streams to it, and time each progress event from its
//           status.timestamp (set when the server produced it) to its arrival here.
//           Same machine, same clock; timestamps have millisecond resolution.
//   idle    create config.tasks tasks that stop in input-required and hold
//           config.streams SubscribeToTask streams open on them for config.holdMs
//           (no events flow, only keep-alive comments); prints {"type":"holding"}
//           when all are open so the caller can read the server's memory.
// The last stdout line is the JSON result.
import http from 'node:http';
import { HEADERS, inputRequiredBody, subscribeBody, taskBody, taskIdOf } from './lib/a2a.mjs';
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

/**
 * Opens one SSE stream. `onFrame(data, receivedAt)` gets each event's raw data
 * text (parsing waits until the run is over, so that reading 1,000 streams does
 * not delay the arrival times it records); `opened` resolves at the first event,
 * `ended` when the server ends the stream.
 */
function openStream(body, onFrame) {
  let resolveOpened;
  let rejectOpened;
  const opened = new Promise((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  let resolveEnded;
  const ended = new Promise((resolve) => (resolveEnded = resolve));
  const state = { events: 0, comments: 0, closed: false, error: undefined };
  const req = http.request({ host: target.hostname, port: target.port, path: config.path, method: 'POST', headers: { ...HEADERS, accept: 'text/event-stream' }, agent });
  req.on('response', (res) => {
    if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        state.error = `not a stream: ${res.statusCode} ${text.slice(0, 300)}`;
        rejectOpened(new Error(state.error));
        resolveEnded();
      });
      return;
    }
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const receivedAt = Date.now();
      buffer += chunk;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        // A frame is `id:` (the task's event version) and `data:` lines, or a keep-alive comment.
        const data = frame.indexOf('data:');
        if (data === -1) {
          state.comments++;
          continue;
        }
        state.events++;
        if (state.events === 1) resolveOpened();
        onFrame(frame.slice(data + 5), receivedAt);
      }
    });
    const done = () => {
      state.closed = true;
      resolveEnded();
    };
    res.on('end', done);
    res.on('close', done);
    res.on('error', () => {});
  });
  req.on('error', (error) => {
    state.error = String(error?.code ?? error?.message ?? error);
    state.closed = true;
    rejectOpened(error);
    resolveEnded();
  });
  req.end(body);
  opened.catch(() => {});
  return { opened, ended, state, close: () => req.destroy() };
}

/** Opens streams `batch` at a time, so the server's accept backlog never overflows. */
async function openMany(count, bodyFor, onEvent, { batch = 200, deadline }) {
  const streams = [];
  for (let i = 0; i < count; i += batch) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const s = openStream(bodyFor(j), onEvent);
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

async function fanout() {
  const taskId = await createTask(taskBody({ delayMs: config.delayMs, returnImmediately: true }));
  const received = [];
  const onFrame = (data, receivedAt) => received.push(receivedAt, data);
  const started = Date.now();
  const streams = await openMany(config.subscribers, () => subscribeBody(taskId), onFrame, { deadline: started + config.openTimeoutMs });
  const opened = streams.filter((s) => s.state.events > 0).length;
  const liveFrom = Date.now();
  const openMs = liveFrom - started;
  const endBy = started + config.delayMs + config.endTimeoutMs;
  await Promise.race([Promise.all(streams.map((s) => s.ended)), sleep(Math.max(0, endBy - Date.now()))]);
  const ended = streams.filter((s) => s.state.closed).length;
  const errors = streams.filter((s) => s.state.error !== undefined);
  for (const s of streams) s.close();
  const samples = new Samples();
  const progress = new Samples();
  const final = new Samples();
  let statusEvents = 0;
  let early = 0;
  let malformed = 0;
  const perEvent = new Map();
  for (let i = 0; i < received.length; i += 2) {
    let payload;
    try {
      payload = JSON.parse(received[i + 1]);
    } catch {
      malformed++;
      continue;
    }
    const timestamp = payload?.result?.statusUpdate?.status?.timestamp;
    if (timestamp === undefined) continue;
    statusEvents++;
    const producedAt = Date.parse(timestamp);
    // Only events produced once every subscriber was in place are live fan-out to all of them.
    if (producedAt < liveFrom) early++;
    else {
      samples.add(received[i] - producedAt);
      const state = payload.result.statusUpdate.status.state;
      (state === 'TASK_STATE_WORKING' ? progress : final).add(received[i] - producedAt);
      const key = `${timestamp} ${state}`;
      (perEvent.get(key) ?? perEvent.set(key, new Samples()).get(key)).add(received[i] - producedAt);
    }
  }
  return {
    taskId,
    subscribers: config.subscribers,
    opened,
    ended,
    openMs,
    statusEvents,
    eventsBeforeAllSubscribed: early,
    latencyMs: samples.summary(),
    progressLatencyMs: progress.summary(),
    finalLatencyMs: final.summary(),
    perEvent: [...perEvent].map(([event, s]) => ({ event, ...s.summary() })),
    errors: { total: errors.length + malformed, sample: errors[0]?.state.error },
  };
}

async function idle() {
  const tasks = [];
  for (let i = 0; i < config.tasks; i++) tasks.push(await createTask(inputRequiredBody()));
  const started = Date.now();
  const streams = await openMany(config.streams, (j) => subscribeBody(tasks[j % tasks.length]), () => {}, { deadline: started + config.openTimeoutMs });
  const opened = streams.filter((s) => s.state.events > 0).length;
  const openMs = Date.now() - started;
  emit({ type: 'holding', opened, openMs });
  await sleep(config.holdMs);
  const stillOpen = streams.filter((s) => !s.state.closed).length;
  const errors = streams.filter((s) => s.state.error !== undefined);
  for (const s of streams) s.close();
  return {
    tasks: tasks.length,
    streams: config.streams,
    opened,
    openMs,
    stillOpenAfterHold: stillOpen,
    keepAliveComments: streams.reduce((n, s) => n + s.state.comments, 0),
    errors: { total: errors.length, sample: errors[0]?.state.error },
  };
}

const modes = { fanout, idle };
try {
  const result = await modes[config.mode]();
  const cpu = process.cpuUsage();
  emit({ type: 'result', ...result, cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2) });
  process.exit(0);
} catch (error) {
  emit({ type: 'result', failed: String(error?.stack ?? error) });
  process.exit(1);
}
