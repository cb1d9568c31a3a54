import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { statSync } from 'node:fs';
import { checkSettingsTogether } from './cross-checks.js';
import type { Config, RawSettings } from './load.js';
import type { SettingName } from './schema.js';
import { SETTINGS } from './schema.js';

export interface ConfigChange {
  config: Config;
  /** Live settings whose value changed: applied now. */
  live: SettingName[];
  /** Restart-only settings whose value changed: they wait for a restart. */
  restartOnly: SettingName[];
}

export interface ConfigWatcherOptions {
  /** The watched file or directory. */
  path: string;
  initial: Config;
  /** Reads every source again and validates; throws ConfigError on a bad value. */
  load: () => Config;
  /**
   * The watched file's own values. A restart-only setting that the environment
   * also sets does not change the effective config when the file changes, but
   * the operator who edited the file must still hear that it waits for a restart.
   */
  fileValues?: () => RawSettings;
  onChange: (change: ConfigChange) => void;
  onError: (error: unknown) => void;
  /** Re-read this often even without a file event (some volumes send none). */
  pollMs?: number;
  debounceMs?: number;
}

/**
 * Watches the settings file or mounted ConfigMap and reports changed values.
 * Kubernetes updates a mounted ConfigMap by swapping a symlink inside the
 * directory, so the watch is on the directory. A reload that fails validation
 * changes nothing: the last good config stays in force.
 */
export class ConfigWatcher {
  private current: Config;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Restart-only values already reported as waiting, so each change is reported once. */
  private readonly reported = new Map<SettingName, string>();
  /** The last failure reported: the same bad file is reported once, not at every poll. */
  private lastFailure: string | undefined;

  /** The file's values at start, against which restart-only edits are noticed. */
  private readonly fileAtStart: RawSettings;

  constructor(private readonly options: ConfigWatcherOptions) {
    this.current = options.initial;
    this.fileAtStart = this.readFile();
  }

  private readFile(): RawSettings {
    try {
      return this.options.fileValues?.() ?? {};
    } catch {
      return {};
    }
  }

  get config(): Config {
    return this.current;
  }

  start(): void {
    const dir = isDirectory(this.options.path) ? this.options.path : dirname(this.options.path);
    try {
      this.watcher = watch(dir, () => this.scheduleReload());
      this.watcher.on('error', (error) => this.options.onError(error));
    } catch (error) {
      this.options.onError(error);
    }
    this.poll = setInterval(() => this.reload(), this.options.pollMs ?? 10_000);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  /** Reads the sources now; returns the change applied, if any. */
  reload(): ConfigChange | undefined {
    let next: Config;
    try {
      next = this.options.load();
    } catch (error) {
      const failure = error instanceof Error ? error.message : String(error);
      if (failure !== this.lastFailure) this.options.onError(error);
      this.lastFailure = failure;
      return undefined;
    }
    this.lastFailure = undefined;
    const changed = (Object.keys(SETTINGS) as SettingName[]).filter(
      (name) => JSON.stringify(next[name]) !== JSON.stringify(this.current[name]),
    );
    const live = changed.filter((name) => SETTINGS[name].live);
    const file = this.readFile();
    const restartOnly = (Object.keys(SETTINGS) as SettingName[]).filter((name) => {
      if (SETTINGS[name].live) return false;
      const edited = changed.includes(name) || file[name] !== this.fileAtStart[name];
      return edited && this.reported.get(name) !== JSON.stringify([next[name], file[name]]);
    });
    if (live.length === 0 && restartOnly.length === 0) return undefined;
    for (const name of restartOnly) this.reported.set(name, JSON.stringify([next[name], file[name]]));
    // Restart-only values keep their start-time value in the running config.
    const merged: Record<string, unknown> = { ...this.current };
    for (const name of live) merged[name] = next[name];
    try {
      // What would be in force must pass the rules a start applies.
      checkSettingsTogether(merged as Config);
    } catch (error) {
      for (const name of restartOnly) this.reported.delete(name);
      const failure = error instanceof Error ? error.message : String(error);
      if (failure !== this.lastFailure) this.options.onError(error);
      this.lastFailure = failure;
      return undefined;
    }
    this.current = merged as Config;
    const change: ConfigChange = { config: this.current, live, restartOnly };
    this.options.onChange(change);
    return change;
  }

  private scheduleReload(): void {
    clearTimeout(this.debounce);
    // A ConfigMap update is several renames in a row; read once they settle.
    this.debounce = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
    this.debounce.unref();
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
