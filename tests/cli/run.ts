import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PATIENCE_MS } from '../support/patience.js';
import { assertNoWarnings, warningLines } from '../support/process-warnings.js';

// The CLI as a user runs it: a separate node process on the built main.js.

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; a process warning on its stderr fails the call. */
export function cli(args: string[], env: Record<string, string> = {}, timeoutMs = PATIENCE_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', GRPC_PORT: '0', ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      const warnings = warningLines(stderr);
      if (warnings.length > 0) return reject(new Error(`kagent-a2a ${args[0]} wrote process warnings:\n${warnings.join('\n')}`));
      resolve({ code, stdout, stderr });
    });
  });
}

export interface LiveRun {
  readonly child: ChildProcess;
  /** The next line the CLI prints on stdout; fails after `timeoutMs` or when stdout ends first. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Everything on stderr so far. */
  stderr(): string;
  /** The exit code (or -1 for a signal); fails after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<number>;
  /** Closes our end of its stdout, as `| head -1` does after the first line. */
  closeStdout(): void;
  kill(): void;
}

/** Starts the CLI and reads its stdout line by line as it prints. */
export function liveCli(args: string[]): LiveRun {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', GRPC_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let ended = false;
  const reader = createInterface({ input: child.stdout! });
  reader.on('line', (line) => {
    const next = waiting.shift();
    if (next === undefined) lines.push(line);
    else next(line);
  });
  reader.on('close', () => {
    ended = true;
    for (const next of waiting.splice(0)) next(undefined);
  });
  const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms; stderr: ${err}`)), ms);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  };
  return {
    child,
    nextLine(timeoutMs = PATIENCE_MS) {
      const queued = lines.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (ended) return Promise.reject(new Error(`stdout ended; stderr: ${err}`));
      const line = new Promise<string>((resolve, reject) =>
        waiting.push((l) => (l === undefined ? reject(new Error(`stdout ended; stderr: ${err}`)) : resolve(l))),
      );
      return within(line, timeoutMs, 'no line on stdout');
    },
    stderr: () => err,
    exit: async (timeoutMs = PATIENCE_MS) => {
      const code = await within(exited, timeoutMs, 'the CLI did not exit');
      assertNoWarnings(`kagent-a2a ${args[0]}`, err);
      return code;
    },
    closeStdout() {
      reader.close();
      child.stdout!.destroy();
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs the CLI once per argument list, a few at a time (the machine may have two cores), results in order. */
export async function cliAll(argLists: string[][], atOnce = 4): Promise<Run[]> {
  const results: Run[] = [];
  for (let i = 0; i < argLists.length; i += atOnce) results.push(...(await Promise.all(argLists.slice(i, i + atOnce).map((args) => cli(args)))));
  return results;
}
