import { createHash, timingSafeEqual } from 'node:crypto';
import { SecretDirectory } from '../config/secret-dir.js';
import type { SecretProblems } from '../config/secret-dir.js';

/** Shorter keys are refused: they can be guessed. */
export const MIN_KEY_LENGTH = 16;
const PRINCIPAL_PATTERN = /^[A-Za-z0-9._-]{1,253}$/;

export interface ApiKeyEvents {
  /** A reload changed the set of principals (names only: keys are never reported). */
  onReload?: (principals: readonly string[]) => void;
  /** A file that cannot be used (too short, duplicate, unreadable); names the file, never its content. */
  onProblem?: (principal: string, problem: string) => void;
  onError?: (error: unknown) => void;
}

/**
 * API keys from a directory laid out like a mounted Secret (see
 * SecretDirectory): each file's name is a principal and its trimmed content
 * that principal's key. A key removed from the Secret stops working as soon
 * as the change is read.
 *
 * Only SHA-256 digests of the keys are held. A presented key is hashed and
 * compared with every digest in constant time, so neither the comparison nor
 * which entry matched shows in the timing.
 */
export class ApiKeyStore {
  private digests: ReadonlyMap<string, Buffer> = new Map();
  private readonly directory: SecretDirectory;

  constructor(
    dir: string,
    private readonly events: ApiKeyEvents = {},
    pollMs = 10_000,
  ) {
    this.directory = new SecretDirectory({
      setting: 'AUTH_API_KEYS_DIR',
      dir,
      names: { pattern: PRINCIPAL_PATTERN, rule: 'a principal name: letters, digits, ".", "_", "-"' },
      pollMs,
      apply: (files) => this.apply(files),
      ...(events.onProblem === undefined ? {} : { onProblem: events.onProblem }),
      ...(events.onError === undefined ? {} : { onError: events.onError }),
    });
  }

  /** Reads the directory once; an unreadable directory at start is a ConfigError. */
  load(): void {
    this.directory.load();
  }

  start(): void {
    this.directory.start();
  }

  stop(): void {
    this.directory.stop();
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
    this.directory.reload();
  }

  private apply(files: ReadonlyMap<string, string>): SecretProblems {
    const read = new Map<string, Buffer>();
    const problems: SecretProblems = new Map();
    const byDigest = new Map<string, string>();
    for (const [name, key] of files) {
      if (key.length < MIN_KEY_LENGTH) {
        problems.set(name, `the key is shorter than ${MIN_KEY_LENGTH} characters and is ignored`);
        continue;
      }
      const digest = sha256(key);
      const hex = digest.toString('hex');
      const twin = byDigest.get(hex);
      if (twin !== undefined) {
        // One key for two principals would make the caller's identity a guess: neither gets in.
        problems.set(name, `it holds the same key as "${twin}"; both are ignored`);
        problems.set(twin, `it holds the same key as "${name}"; both are ignored`);
        read.delete(twin);
        continue;
      }
      byDigest.set(hex, name);
      read.set(name, digest);
    }
    const before = [...this.digests.keys()].sort().join('\n');
    const changed = before !== [...read.keys()].sort().join('\n') || [...read].some(([p, d]) => !this.digests.get(p)?.equals(d));
    this.digests = read;
    if (changed) this.events.onReload?.([...read.keys()]);
    return problems;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
