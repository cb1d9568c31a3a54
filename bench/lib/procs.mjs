// Child processes of the benchmark: every one in its own process group, all of
// them killed when the run ends, however it ends.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const children = new Set();

export function killAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Starts a process in a new group; its stderr (and stdout unless piped) go to `logFile`. */
export function start(command, args, { env = {}, logFile, pipeStdout = false, cwd } = {}) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.stderr.pipe(log);
  if (!pipeStdout) child.stdout.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  child.exited = exited;
  return child;
}

/** Asks a process group to stop (SIGTERM), then kills it after `graceMs`. */
export async function stop(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
}

/**
 * Runs a helper script to completion, bounded by `timeoutMs`. Its stdout lines
 * are JSON; `onLine` sees each one; resolves with the last `{"type":"result"}`.
 */
export async function runJson(command, args, { logFile, timeoutMs, onLine, env } = {}) {
  const child = start(command, args, { logFile, pipeStdout: true, env });
  let result;
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let cut;
    while ((cut = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 1);
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      if (obj.type === 'result') result = obj;
      else onLine?.(obj, child);
    }
  });
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (result === undefined) throw new Error(`${args[0]} ended (code ${code}, signal ${signal}) without a result; see ${logFile}`);
  if (result.failed) throw new Error(`${args[0]} failed: ${result.failed}`);
  return result;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx, the process exits, or `timeoutMs` passes. */
export async function waitReady(child, url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

// ---- /proc readings (Linux) -------------------------------------------------

/** Resident set size now and its peak since the last reset, in MB. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: NaN, hwmMB: NaN };
  }
}

/** Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; false where not permitted. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) the process used so far. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Samples a process's RSS every `everyMs` until stopped: the peak seen, and the
 * series when `keepSeries` (for memory-over-time charts).
 */
export function sampleMemory(pid, { everyMs = 250, extra } = {}) {
  const series = [];
  let peak = 0;
  const startedAt = Date.now();
  const tick = () => {
    const { rssMB } = memory(pid);
    if (Number.isFinite(rssMB)) peak = Math.max(peak, rssMB);
    series.push({ t: Date.now() - startedAt, rssMB: Math.round(rssMB * 10) / 10, ...(extra?.() ?? {}) });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { peakMB: peak, series };
    },
  };
}

/**
 * CPU seconds the whole machine spent running processes and kernel threads so far
 * (all cores, from /proc/stat). Interrupt and softirq time is left out: it is
 * mostly the loopback network work of the run itself and is charged to no process.
 */
export function systemBusySeconds() {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
    const [user, nice, system, , , , , steal] = f.map(Number);
    return (user + nice + system + steal) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by every process visible now: pid -> {name, kernel, seconds}. */
export function processCpu() {
  const out = new Map();
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Kernel threads are children of kthreadd (pid 2).
      out.set(Number(pid), { name, kernel: f[1] === '2' || pid === '2', seconds: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * What the machine spent, between two snapshots, outside the processes in `mine`:
 * kernel threads (disk writeback, journaling: partly caused by the server's own
 * syncs), other user processes, and the rest (processes that came and went, interrupts).
 */
export function otherCpu(before, after, busySeconds, mineSeconds, mine) {
  let kernel = 0;
  let foreign = 0;
  const top = [];
  for (const [pid, p] of after) {
    if (mine.has(pid)) continue;
    const d = p.seconds - (before.get(pid)?.seconds ?? 0);
    if (d <= 0) continue;
    if (p.kernel) kernel += d;
    else foreign += d;
    top.push({ name: p.name, kernel: p.kernel, seconds: d });
  }
  top.sort((a, b) => b.seconds - a.seconds);
  return {
    kernelSeconds: kernel,
    foreignSeconds: foreign,
    unattributedSeconds: Math.max(0, busySeconds - mineSeconds - kernel - foreign),
    top: top.slice(0, 4),
  };
}
