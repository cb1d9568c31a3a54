import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/load.js';
import { watchMountedPath } from '../config/mounted-path.js';
import type { MountedPathWatch } from '../config/mounted-path.js';

/** Shorter keys are refused: they can be guessed. */
export const MIN_KEY_LENGTH = 16;
const MAX_KEY_FILE_BYTES = 4096;
const PRINCIPAL_PATTERN = /^[A-Za-z0-9._-]{1,253}$/;

export interface ApiKeyEvents {
  /** A reload changed the set of principals (names only: keys are never reported). */
  onReload?: (principals: readonly string[]) => void;
  /** A file that cannot be used (too short, duplicate, unreadable); names the file, never its content. */
  onProblem?: (principal: string, problem: string) => void;
  onError?: (error: unknown) => void;
}

/**
 * API keys from a directory laid out like a mounted Secret: each file's name
 * is a principal and its trimmed content that principal's key. Entries
 * starting with "." (the kubelet's `..data` and timestamped directories) are
 * skipped; a file is read through its symlink, so the kubelet's atomic
 * `..data` swap is seen whole. The directory is watched (and polled, since
 * some volumes send no events): a key removed from the Secret stops working
 * as soon as the change is read.
 *
 * Only SHA-256 digests of the keys are held. A presented key is hashed and
 * compared with every digest in constant time, so neither the comparison nor
 * which entry matched shows in the timing.
 */
export class ApiKeyStore {
  private digests: ReadonlyMap<string, Buffer> = new Map();
  private watch: MountedPathWatch | undefined;
  private reported = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly events: ApiKeyEvents = {},
    private readonly pollMs = 10_000,
  ) {}

  /** Reads the directory once; an unreadable directory at start is a ConfigError. */
  load(): void {
    try {
      if (!statSync(this.dir).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new ConfigError('AUTH_API_KEYS_DIR', this.dir, error instanceof Error ? error.message : String(error));
    }
    this.reload();
  }

  start(): void {
    // The kubelet's update is several renames in a row: read once they settle.
    this.watch = watchMountedPath(this.dir, () => this.reload(), { pollMs: this.pollMs, debounceMs: 50, onError: (error) => this.events.onError?.(error) });
  }

  stop(): void {
    this.watch?.stop();
  }

  get principals(): readonly string[] {
    return [...this.digests.keys()];
  }

  /** The principal whose key this is, or undefined. */
  principalFor(presented: string): string | undefined {
    const digest = sha256(presented);
    let found: string | undefined;
    for (const [principal, known] of this.digests) {
      // No early exit: every entry is compared whatever matched.
      if (timingSafeEqual(digest, known) && found === undefined) found = principal;
    }
    return found;
  }

  /** Reads the directory now. A directory that cannot be read keeps the keys in force and is reported. */
  reload(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      this.events.onError?.(error);
      return;
    }
    const read = new Map<string, Buffer>();
    const problems = new Map<string, string>();
    const byDigest = new Map<string, string>();
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const problem = (text: string) => problems.set(name, text);
      if (!PRINCIPAL_PATTERN.test(name)) {
        problem('the file name is not a usable principal name (letters, digits, ".", "_", "-")');
        continue;
      }
      let key: string;
      try {
        const path = join(this.dir, name);
        const stat = statSync(path);
        if (!stat.isFile()) continue;
        if (stat.size > MAX_KEY_FILE_BYTES) {
          problem(`the file is larger than ${MAX_KEY_FILE_BYTES} bytes`);
          continue;
        }
        key = readFileSync(path, 'utf8').trim();
      } catch (error) {
        // The file vanished between listing and reading (a swap in progress): the next read settles it.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problem(`unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
      if (key.length < MIN_KEY_LENGTH) {
        problem(`the key is shorter than ${MIN_KEY_LENGTH} characters and is ignored`);
        continue;
      }
      const digest = sha256(key);
      const hex = digest.toString('hex');
      const twin = byDigest.get(hex);
      if (twin !== undefined) {
        // One key for two principals would make the caller's identity a guess: neither gets in.
        problem(`it holds the same key as "${twin}"; both are ignored`);
        problems.set(twin, `it holds the same key as "${name}"; both are ignored`);
        read.delete(twin);
        continue;
      }
      byDigest.set(hex, name);
      read.set(name, digest);
    }
    for (const [principal, text] of problems) {
      if (this.reported.get(principal) !== text) this.events.onProblem?.(principal, text);
    }
    this.reported = problems;
    const before = [...this.digests.keys()].sort().join('\n');
    const changed = before !== [...read.keys()].sort().join('\n') || [...read].some(([p, d]) => !this.digests.get(p)?.equals(d));
    this.digests = read;
    if (changed) this.events.onReload?.([...read.keys()]);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
