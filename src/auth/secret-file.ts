import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { watchMountedPath } from '../config/mounted-path.js';
import type { MountedPathWatch } from '../config/mounted-path.js';

/** A secret file larger than this is refused unread: keys and tokens are small. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

export interface SecretFileEvents {
  /** A changed file was read and is now in force (its content is never reported). */
  onReload?: () => void;
  /** The file could not be read or used; the value in force stays. Reported once per distinct problem. */
  onError?: (problem: string) => void;
}

/**
 * One value read from a mounted Secret file (a token verification key, a
 * bearer token) and kept current: the file is watched like the API key
 * directory (watchMountedPath), so a rotated Secret takes effect without a
 * restart. A file that becomes unreadable or unusable keeps the last good
 * value in force: a half-written or deleted Secret must not lock every caller
 * out, and the operator hears of it in the log.
 */
export class SecretFile<T> {
  private value: T;
  private text: string;
  private watch: MountedPathWatch | undefined;
  private lastProblem: string | undefined;

  /**
   * Reads the file now: an unreadable or unusable file at start is a
   * ConfigError naming the setting. `parse` throws an Error whose message says
   * what is wrong, never the content.
   */
  constructor(
    readonly path: string,
    private readonly setting: string,
    private readonly parse: (text: string) => T,
    private readonly events: SecretFileEvents = {},
    private readonly pollMs = 10_000,
  ) {
    try {
      this.text = read(path);
      this.value = parse(this.text);
    } catch (error) {
      throw new ConfigError(setting, path, describe(error));
    }
  }

  get current(): T {
    return this.value;
  }

  start(): void {
    this.watch = watchMountedPath(this.path, () => this.reload(), {
      pollMs: this.pollMs,
      debounceMs: 50,
      onError: (error) => this.report(`watching it failed: ${describe(error)}`),
    });
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Reads the file now; an unchanged file changes nothing. */
  reload(): void {
    let text: string;
    let value: T;
    try {
      text = read(this.path);
      if (text === this.text) {
        this.lastProblem = undefined;
        return;
      }
      value = this.parse(text);
    } catch (error) {
      this.report(describe(error));
      return;
    }
    this.text = text;
    this.value = value;
    this.lastProblem = undefined;
    this.events.onReload?.();
  }

  private report(problem: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.events.onError?.(`${this.setting} (${this.path}): ${problem}; the value read before stays in force`);
  }
}

function read(path: string): string {
  if (statSync(path).size > MAX_SECRET_FILE_BYTES) throw new Error(`the file is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
  return readFileSync(path, 'utf8').trim();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
