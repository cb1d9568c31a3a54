// Finding a Kustomize and running it on a directory, with a bound on time and
// output, a kill on cancel, no network, and errors that name no server path.
import { spawn } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { kustomizationFile, within } from './kustomize-check.js';

export interface Renderer {
  /** How the command reads in messages ("/usr/bin/kubectl kustomize"). */
  describe: string;
  command: string;
  args: (dir: string) => string[];
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * kubectl's built-in Kustomize, else a standalone kustomize; finding neither
 * is an error. Files stay confined to each kustomization's own directory
 * (LoadRestrictionsRootOnly, the default, said out loud); plugins and Helm
 * stay off, as they are by default.
 */
export function findRenderer(): Renderer {
  const kubectl = onPath('kubectl');
  if (kubectl !== undefined) {
    return { describe: 'kubectl kustomize', command: kubectl, args: (dir) => ['kustomize', '--load-restrictor=LoadRestrictionsRootOnly', dir] };
  }
  const kustomize = onPath('kustomize');
  if (kustomize !== undefined) {
    return { describe: 'kustomize build', command: kustomize, args: (dir) => ['build', '--load-restrictor=LoadRestrictionsRootOnly', dir] };
  }
  throw new Error(
    'cannot render the Kubernetes manifests: neither `kubectl` nor `kustomize` is on PATH. ' +
      'Install kubectl (it embeds Kustomize v5) or a kustomize v5 binary.',
  );
}

export interface RenderOptions {
  renderer?: Renderer;
  /** Kills the renderer when aborted; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  timeoutMs?: number;
  maxOutputBytes?: number;
}

/** Kustomize failed. `message` is short and names no server path; `detail` (what it wrote to stderr) is for the log. */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'RenderError';
  }
}

/** An address where nothing listens: whatever Kustomize would fetch over HTTP(S) fails at once. */
const NO_PROXY_HERE = 'http://127.0.0.1:9';

/**
 * The renderer's environment: none of the agent's own (credentials such as
 * DATABASE_URL stay out), HTTP through a proxy that is not there, and git
 * allowed no protocol at all. Remote references are refused before Kustomize
 * runs; this is the second line.
 */
function rendererEnvironment(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HTTP_PROXY: NO_PROXY_HERE,
    HTTPS_PROXY: NO_PROXY_HERE,
    http_proxy: NO_PROXY_HERE,
    https_proxy: NO_PROXY_HERE,
    ALL_PROXY: NO_PROXY_HERE,
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
}

/** What Kustomize said, on one line without its log prefixes, with `dir` named as `label` and any other absolute path left out. */
function shortReason(stderr: string, dir: string, label: string): string {
  const said = stderr
    .split('\n')
    .map((line) => line.replace(/^[EWIF]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\] /, '').trim())
    .filter((line) => line !== '')
    .join(' ')
    .replace(/^"command failed" err=[<"]?/, '');
  const named = said.split(dir).join(label);
  const pathless = named.replace(/(^|[\s'"(=:])\/[^\s'"():]*/g, '$1…');
  return pathless.length > 300 ? `${pathless.slice(0, 300)}…` : pathless;
}

/** Runs Kustomize on a directory and returns the rendered YAML. `label` is how errors name the directory. */
export function renderKustomize(dir: string, options: RenderOptions = {}, label = basename(dir)): Promise<string> {
  const renderer = options.renderer ?? findRenderer();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const { signal } = options;
  return new Promise((resolvePromise, rejectPromise) => {
    if (signal?.aborted) {
      rejectPromise(signal.reason);
      return;
    }
    // Its own process group, so a kill also reaches what it starts (git for remote bases).
    const child = spawn(renderer.command, renderer.args(dir), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: rendererEnvironment() });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let settled = false;
    let failure: Error | undefined;

    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const stop = (error: Error) => {
      failure ??= error;
      kill();
    };
    const onAbort = () => stop(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop(new Error(`${renderer.describe} ${label} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);

    const finish = (error: Error | undefined, output?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) rejectPromise(error);
      else resolvePromise(output!);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutputBytes) stop(new Error(`${renderer.describe} ${label} wrote more than ${maxOutputBytes} bytes`));
      else stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 8192) stderr += chunk;
    });
    child.on('error', (error) => finish(failure ?? new RenderError(`${renderer.describe} could not start`, error.message)));
    child.on('close', (code, killedBy) => {
      if (failure !== undefined) finish(failure);
      else if (code === 0) finish(undefined, Buffer.concat(stdout).toString('utf8'));
      else {
        const exit = code === null ? `signal ${killedBy}` : `exit ${code}`;
        finish(new RenderError(`${renderer.describe} ${label} failed (${exit}): ${shortReason(stderr, dir, label) || 'no output'}`, stderr.trim()));
      }
    });
  });
}

export function isKustomizeDir(dir: string): boolean {
  return kustomizationFile(dir) !== undefined;
}

export type Resolved =
  | { ok: true; realPath: string; root: string }
  | { ok: false; reason: 'no-roots' | 'outside' | 'missing'; message: string };

/** The roots as real paths; a root that does not exist admits nothing. */
export function realRoots(roots: readonly string[]): string[] {
  const real: string[] = [];
  for (const root of roots) {
    try {
      real.push(realpathSync(resolve(root)));
    } catch {
      // A root that does not exist admits nothing.
    }
  }
  return real;
}

/**
 * Where a requested path really is, if that is under one of the roots. An
 * absolute path is taken as is; a relative one is looked up under each root in
 * turn. Symbolic links are resolved before the check, so a link inside a root
 * that leads out of it is outside.
 */
export function resolveUnderRoots(requested: string, roots: readonly string[]): Resolved {
  const rule = `only paths whose real location lies under a MANIFEST_ROOTS directory are read (${roots.length === 0 ? 'none is configured' : roots.join(', ')})`;
  const real = realRoots(roots);
  if (real.length === 0) {
    return { ok: false, reason: 'no-roots', message: `cannot read ${requested}: ${rule}` };
  }
  const candidates = isAbsolute(requested) ? [resolve(requested)] : roots.map((root) => resolve(root, requested));
  let lexicallyInside = false;
  for (const candidate of candidates) {
    let realPath: string;
    try {
      realPath = realpathSync(candidate);
    } catch {
      if (roots.some((root) => within(resolve(root), candidate))) lexicallyInside = true;
      continue;
    }
    const root = real.find((r) => within(r, realPath));
    if (root !== undefined) return { ok: true, realPath, root };
    return { ok: false, reason: 'outside', message: `cannot read ${requested}: it is outside the allowed roots; ${rule}` };
  }
  if (lexicallyInside) return { ok: false, reason: 'missing', message: `cannot read ${requested}: no such file or directory` };
  return { ok: false, reason: 'outside', message: `cannot read ${requested}: it is outside the allowed roots; ${rule}` };
}
