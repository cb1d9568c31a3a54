import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './load.js';
import { watchMountedPath } from './mounted-path.js';
import type { MountedPathWatch } from './mounted-path.js';

/** Entries the consumer refused, by file name: why each cannot be used (never its content). */
export type SecretProblems = Map<string, string>;

export interface SecretDirectoryOptions {
  /** The setting that names the directory: a directory unreadable at start is a ConfigError naming it. */
  setting: string;
  dir: string;
  /** File names the consumer can use; another name is reported and skipped. */
  names: { pattern: RegExp; rule: string };
  /** Default 4096: a Secret's value is a key or a token, not a document. */
  maxBytes?: number;
  /** Re-read this often even without a file event (some volumes send none). Default 10 s. */
  pollMs?: number;
  /**
   * Takes every usable file (name → trimmed content) at each read; returns the
   * files it would not use, with why. Called on every read, changed or not.
   */
  apply: (files: ReadonlyMap<string, string>) => SecretProblems;
  /** A file that cannot be used; reported once per distinct problem, by file name only. */
  onProblem?: (name: string, problem: string) => void;
  /** The directory could not be read: the values read before stay in force. */
  onError?: (error: unknown) => void;
}

const DEFAULT_MAX_BYTES = 4096;

/**
 * A directory laid out like a mounted Secret, one value per file: each file's
 * name is a key, its trimmed content the value. Entries starting with "." (the
 * kubelet's `..data` and timestamped directories) are skipped; a file is read
 * through its symlink, so the kubelet's atomic `..data` swap is seen whole.
 * The directory is watched, and polled since some volumes send no events, so
 * a value removed from the Secret is gone as soon as the change is read.
 *
 * Contents go to `apply` only: this class never reports one.
 */
export class SecretDirectory {
  private watch: MountedPathWatch | undefined;
  private reported: SecretProblems = new Map();

  constructor(private readonly options: SecretDirectoryOptions) {}

  /** Reads the directory once; one unreadable at start is a ConfigError. */
  load(): void {
    try {
      if (!statSync(this.options.dir).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new ConfigError(this.options.setting, this.options.dir, error instanceof Error ? error.message : String(error));
    }
    this.reload();
  }

  start(): void {
    this.watch = watchMountedPath(this.options.dir, () => this.reload(), {
      pollMs: this.options.pollMs ?? 10_000,
      debounceMs: 50,
      onError: (error) => this.options.onError?.(error),
    });
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Reads the directory now. One that cannot be read keeps the values in force and is reported. */
  reload(): void {
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch (error) {
      this.options.onError?.(error);
      return;
    }
    const maxBytes = this.options.maxBytes ?? DEFAULT_MAX_BYTES;
    const files = new Map<string, string>();
    const problems: SecretProblems = new Map();
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      if (!this.options.names.pattern.test(name)) {
        problems.set(name, `the file name is not usable (${this.options.names.rule})`);
        continue;
      }
      try {
        const path = join(this.options.dir, name);
        const stat = statSync(path);
        if (!stat.isFile()) continue;
        if (stat.size > maxBytes) {
          problems.set(name, `the file is larger than ${maxBytes} bytes`);
          continue;
        }
        files.set(name, readFileSync(path, 'utf8').trim());
      } catch (error) {
        // The file vanished between listing and reading (a swap in progress): the next read settles it.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') problems.set(name, `unreadable (${code ?? 'error'})`);
      }
    }
    for (const [name, problem] of this.options.apply(files)) problems.set(name, problem);
    for (const [name, problem] of problems) {
      if (this.reported.get(name) !== problem) this.options.onProblem?.(name, problem);
    }
    this.reported = problems;
  }
}
