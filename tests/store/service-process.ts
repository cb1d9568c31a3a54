import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

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
  /** Waits for the exit, failing (with the output) if it takes longer than `timeoutMs`. */
  waitExit(timeoutMs: number): Promise<Exit>;
  /** SIGKILL if still running; for cleanup. */
  dispose(): Promise<void>;
}

/** Runs `kagent-a2a serve` as a child process and waits until /readyz answers 200. */
export async function startService(dataDir: string, env: Record<string, string> = {}, readyTimeoutMs = 15_000): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      POD_NAME: 'kagent-0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const url = `http://127.0.0.1:${port}`;

  const service: ServiceProcess = {
    child,
    url,
    port,
    output: () => out,
    exited,
    async waitExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async dispose() {
      if (!hasExited) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited) throw new Error(`the service exited before it was ready (${JSON.stringify(await exited)}); output:\n${out}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
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
