import { redactCredentials } from '../observability/redact.js';
import type { Config } from './load.js';
import type { SettingName } from './schema.js';
import { SETTINGS } from './schema.js';

/** One setting as `GET /settings` shows it. */
export interface ShownSetting {
  name: SettingName;
  /** The value in force, as text; undefined when unset. */
  value: string | undefined;
  default: string | undefined;
  live: boolean;
  /** Edited in the watched file since start; applies after a restart. */
  restartPending: boolean;
}

/**
 * Settings whose value may itself be a credential: shown as set or not, never
 * read out. Every other secret is a file path (the *_FILE and *_DIR settings),
 * which names the secret without holding it.
 */
const WITHHELD: ReadonlySet<SettingName> = new Set(['DATABASE_URL']);

/** The settings in force, for an operator to read: URL credentials blanked, credential-valued settings withheld. */
export function shownSettings(config: Config, restartPending: ReadonlySet<string>): ShownSetting[] {
  return (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const raw = config[name];
    const shown = SETTINGS[name].type.kind === 'duration' ? `${String(raw)}ms` : text(raw);
    const value = raw === undefined ? undefined : WITHHELD.has(name) ? '(set, not shown)' : redactCredentials(shown);
    return { name, value, default: SETTINGS[name].default, live: SETTINGS[name].live, restartPending: restartPending.has(name) };
  });
}

function text(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}
