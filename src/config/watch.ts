import { checkSettingsTogether } from './cross-checks.js';
import type { Config, RawSettings } from './load.js';
import { watchMountedPath } from './mounted-path.js';
import type { MountedPathWatch } from './mounted-path.js';
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
 * Watches the settings file or mounted ConfigMap (see watchMountedPath) and
 * reports changed values. A reload that fails validation changes nothing: the
 * last good config stays in force.
 */
export class ConfigWatcher {
  private current: Config;
  private watch: MountedPathWatch | undefined;
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
    this.watch = watchMountedPath(this.options.path, () => this.reload(), {
      pollMs: this.options.pollMs,
      debounceMs: this.options.debounceMs,
      onError: this.options.onError,
    });
  }

  stop(): void {
    this.watch?.stop();
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
}
