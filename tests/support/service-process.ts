import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PATIENCE_MS } from './patience.js';
import { assertNoWarnings } from './process-warnings.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface PortDecade {
  /** The first digits of every port: a URL template's `{ordinal}` completes them. */
  prefix: string;
  port(ordinal: number): number;
  /** The port, released for something other than startService (which takes its PORT itself) to bind. */
  take(ordinal: number): Promise<number>;
}

/** Ports reserved by freePortDecade: a listener holds each until startService hands it to a process. */
const reserved = new Map<number, Server>();

/**
 * Ten consecutive free ports ending in 0..9, for a per-pod URL template like
 * http://127.0.0.1:471{ordinal} that maps ordinals to ports. Each stays bound
 * here until startService is given it as PORT, so that another test file
 * running alongside cannot take it meanwhile; and all lie below Linux's
 * ephemeral range (32768 and up), so no port-0 bind is handed one either.
 */
export async function freePortDecade(): Promise<PortDecade> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = 2000 + Math.floor(Math.random() * 1200);
    const ports = Array.from({ length: 10 }, (_, i) => prefix * 10 + i);
    const held = await Promise.all(ports.map(hold));
    if (held.every((server) => server !== undefined)) {
      ports.forEach((port, i) => reserved.set(port, held[i]!));
      const port = (ordinal: number) => prefix * 10 + ordinal;
      return { prefix: String(prefix), port, take: async (ordinal) => (await handOver(port(ordinal)), port(ordinal)) };
    }
    await Promise.all(held.map((server) => server && new Promise((resolve) => server.close(resolve))));
  }
  throw new Error('no ten consecutive free ports found');
}

/**
 * Binds the port and keeps it (without keeping the process alive), or undefined
 * when it is taken. A replica that calls a sibling not started yet has its
 * connection dropped at once, as near as a held port gets to a refused one.
 */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server.unref()));
  });
}

/** Frees a port freePortDecade reserved, for the process about to bind it. */
async function handOver(port: number): Promise<void> {
  const server = reserved.get(port);
  if (server === undefined) return;
  reserved.delete(port);
  await new Promise((resolve) => server.close(resolve));
}

/** A port nobody listens on right now: bind port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Everything the process wrote so far, for assertion messages. */
  output(): string;
  readonly exited: Promise<Exit>;
  /** Waits for the exit, failing (with the output) if it takes longer than `timeoutMs`, or if the process wrote a warning. */
  waitExit(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL if still running; for cleanup. Fails if the process wrote a warning to stderr. */
  dispose(): Promise<void>;
}

/**
 * Runs `kagent-a2a serve` as a child process and waits until /readyz (or the given probe) answers 200.
 * A process warning on its stderr (a Node "(node:PID) …Warning: …" line) fails
 * the test when the process is disposed of or has exited.
 */
export async function startService(
  dataDir: string,
  env: Record<string, string> = {},
  readyTimeoutMs = PATIENCE_MS,
  probe: '/readyz' | '/healthz' = '/readyz',
): Promise<ServiceProcess> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  await handOver(port);
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      POD_NAME: 'kagent-0',
      DEFAULT_SKILL: 'echo',
      // gRPC only where a test asks for it (with a port of its own): two services never race for 8081.
      GRPC_PORT: '0',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // 'close' comes after the last of its output has been read.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const checkWarnings = async () => {
    await closed;
    assertNoWarnings(`the service ${dataDir} (pid ${child.pid})`, stderr);
  };
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const url = `http://127.0.0.1:${port}`;

  const service: ServiceProcess = {
    child,
    url,
    port,
    output: () => out,
    exited,
    async waitExit(timeoutMs = PATIENCE_MS) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      });
      let exit: Exit;
      try {
        exit = await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
      await checkWarnings();
      return exit;
    },
    async dispose() {
      if (!hasExited) {
        child.kill('SIGKILL');
        await exited;
      }
      await checkWarnings();
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited) throw new Error(`the service exited before it was ready (${JSON.stringify(await exited)}); output:\n${out}`);
    try {
      const res = await fetch(`${url}${probe}`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.dispose();
      throw new Error(`the service was not ready within ${readyTimeoutMs} ms; output:\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Replica `kagent-<ordinal>` on the PostgreSQL store at `databaseUrl`, schema `schema`, shared with the others started so. */
export function startSharedPod(dir: string, ordinal: number, databaseUrl: string, schema: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return startService(dir, { POD_NAME: `kagent-${ordinal}`, STORE: 'postgres', DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema, ...env });
}
