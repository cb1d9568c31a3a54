// Finding a Kustomize and running it on a directory, with a bound on time and
// output and a kill on cancel.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';

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

/** kubectl's built-in Kustomize, else a standalone kustomize; finding neither is an error. */
export function findRenderer(): Renderer {
  const kubectl = onPath('kubectl');
  if (kubectl !== undefined) return { describe: `${kubectl} kustomize`, command: kubectl, args: (dir) => ['kustomize', dir] };
  const kustomize = onPath('kustomize');
  if (kustomize !== undefined) return { describe: `${kustomize} build`, command: kustomize, args: (dir) => ['build', dir] };
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

/** Runs Kustomize on a directory and returns the rendered YAML. */
export function renderKustomize(dir: string, options: RenderOptions = {}): Promise<string> {
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
    const child = spawn(renderer.command, renderer.args(dir), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
    const timer = setTimeout(() => stop(new Error(`${renderer.describe} ${dir} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);

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
      if (stdoutBytes > maxOutputBytes) stop(new Error(`${renderer.describe} ${dir} wrote more than ${maxOutputBytes} bytes`));
      else stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 8192) stderr += chunk;
    });
    child.on('error', (error) => finish(failure ?? new Error(`${renderer.describe} could not start: ${error.message}`)));
    child.on('close', (code, killedBy) => {
      if (failure !== undefined) finish(failure);
      else if (code === 0) finish(undefined, Buffer.concat(stdout).toString('utf8'));
      else finish(new Error(`${renderer.describe} ${dir} failed (${code === null ? `signal ${killedBy}` : `exit ${code}`}): ${stderr.trim() || 'no output'}`));
    });
  });
}

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function isKustomizeDir(dir: string): boolean {
  return KUSTOMIZATION_FILES.some((name) => existsSync(join(dir, name)));
}

export type Resolved =
  | { ok: true; realPath: string; root: string }
  | { ok: false; reason: 'no-roots' | 'outside' | 'missing'; message: string };

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Where a requested path really is, if that is under one of the roots. An
 * absolute path is taken as is; a relative one is looked up under each root in
 * turn. Symbolic links are resolved before the check, so a link inside a root
 * that leads out of it is outside.
 */
export function resolveUnderRoots(requested: string, roots: readonly string[]): Resolved {
  const rule = `only paths whose real location lies under a MANIFEST_ROOTS directory are read (${roots.length === 0 ? 'none is configured' : roots.join(', ')})`;
  const realRoots: string[] = [];
  for (const root of roots) {
    try {
      realRoots.push(realpathSync(resolve(root)));
    } catch {
      // A root that does not exist admits nothing.
    }
  }
  if (realRoots.length === 0) {
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
    const root = realRoots.find((r) => within(r, realPath));
    if (root !== undefined) return { ok: true, realPath, root };
    return { ok: false, reason: 'outside', message: `cannot read ${requested}: it is outside the allowed roots; ${rule}` };
  }
  if (lexicallyInside) return { ok: false, reason: 'missing', message: `cannot read ${requested}: no such file or directory` };
  return { ok: false, reason: 'outside', message: `cannot read ${requested}: it is outside the allowed roots; ${rule}` };
}
