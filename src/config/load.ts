import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { SettingName, SettingType } from './schema.js';
import { SETTINGS } from './schema.js';
import { withoutTrailingSlashes } from '../model/text.js';
import { redactCredentials } from '../observability/redact.js';

type ValueOf<T extends SettingType> = T extends { kind: 'int' } | { kind: 'duration' }
  ? number
  : T extends { kind: 'bool' }
    ? boolean
    : T extends { kind: 'list' }
      ? string[]
      : T extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

/** The effective settings, typed; durations in milliseconds. */
export type Config = {
  readonly [K in SettingName]: (typeof SETTINGS)[K]['default'] extends string
    ? ValueOf<(typeof SETTINGS)[K]['type']>
    : ValueOf<(typeof SETTINGS)[K]['type']> | undefined;
};

export class ConfigError extends Error {
  constructor(readonly key: string, readonly source: string, detail: string) {
    super(`invalid setting ${key} (from ${source}): ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Raw string values by setting name, from one source. */
export type RawSettings = Partial<Record<string, string>>;

export interface ConfigSources {
  file?: { path: string; values: RawSettings };
  env?: NodeJS.ProcessEnv;
  flags?: RawSettings;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Durations drive timers, and a Node timer set beyond 2^31-1 ms fires after 1 ms (with a warning) instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
}

function describeMs(ms: number): string {
  if (ms === MAX_TIMER_MS) return `${ms}ms (about 24.8 days, the longest a timer can wait)`;
  return ms % DURATION_UNITS.d! === 0 ? `${ms / DURATION_UNITS.d!}d` : `${ms}ms`;
}

function parseValue(name: string, type: SettingType, raw: string, source: string): unknown {
  const text = raw.trim();
  switch (type.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw new ConfigError(name, source, `"${raw}" is not an integer`);
      const n = Number(text);
      if (n < type.min || n > type.max) throw new ConfigError(name, source, `${n} is outside ${type.min}..${type.max}`);
      return n;
    }
    case 'duration': {
      const ms = parseDuration(text);
      if (ms === undefined) throw new ConfigError(name, source, `"${raw}" is not a duration (e.g. 500ms, 30s, 5m, 2h, 7d)`);
      if (ms < type.minMs) throw new ConfigError(name, source, `${raw} is shorter than the minimum ${type.minMs}ms`);
      const maxMs = type.maxMs ?? MAX_TIMER_MS;
      if (ms > maxMs) throw new ConfigError(name, source, `${raw} is longer than the maximum ${describeMs(maxMs)}`);
      return ms;
    }
    case 'bool':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      throw new ConfigError(name, source, `"${raw}" is not a boolean (true or false)`);
    case 'enum':
      if (!type.values.includes(text)) throw new ConfigError(name, source, `"${raw}" is not one of ${type.values.join(', ')}`);
      return text;
    case 'url': {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new ConfigError(name, source, `"${redactCredentials(raw)}" is not an absolute URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, source, `"${redactCredentials(raw)}" is not an http(s) URL`);
      return withoutTrailingSlashes(text);
    }
    case 'list':
      return text === '' ? [] : text.split(/[\s,]+/).filter((item) => item !== '');
    case 'string':
      return text;
  }
}

/** Reads a config file (YAML or JSON): a flat map of setting names to values, like a ConfigMap's data. */
export function readConfigFile(path: string): RawSettings {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError('--config', path, error instanceof Error ? error.message : String(error));
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('--config', path, 'the file must hold a map of setting names to values');
  const values: RawSettings = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (value === null || typeof value === 'object') throw new ConfigError(key, path, 'the value must be a string, number or boolean');
    values[key] = String(value);
  }
  return values;
}

/** The ConfigMap key (a file in the mounted directory) that holds the declarative skills, not a setting. */
export const SKILLS_KEY = 'skills.yaml';

/**
 * Reads settings from a file (see readConfigFile) or from a directory holding
 * one file per setting, named by it: a ConfigMap mounted as a volume. Entries
 * starting with "." are Kubernetes' bookkeeping (..data, ..2024_…) and skipped,
 * and `skills.yaml` is the skills file (skills-file.ts), read on its own.
 */
export function readSettingsPath(path: string): RawSettings {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new ConfigError('CONFIG_PATH', path, error instanceof Error ? error.message : String(error));
  }
  if (!isDirectory) return readConfigFile(path);
  const values: RawSettings = {};
  for (const name of readdirSync(path)) {
    if (name.startsWith('.') || name === SKILLS_KEY) continue;
    const file = join(path, name);
    if (!statSync(file).isFile()) continue;
    values[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  }
  return values;
}

/**
 * Effective settings: defaults, then the file, then the environment, then
 * flags; the later source wins. An unknown key in a file is an error (a typo
 * must not silently do nothing); the environment holds much else and is only
 * read for known names.
 */
export function loadConfig(sources: ConfigSources): Config {
  if (sources.file !== undefined) {
    for (const key of Object.keys(sources.file.values)) {
      // A ConfigMap's data read as it is: its skills file is known, and read on its own.
      if (!(key in SETTINGS) && key !== SKILLS_KEY) throw new ConfigError(key, sources.file.path, 'not a setting this service knows');
    }
  }
  const result: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS)) {
    const layers: [string, string | undefined][] = [
      ['default', spec.default],
      [sources.file?.path ?? 'file', sources.file?.values[name]],
      ['environment', sources.env?.[name]],
      [`--${'flag' in spec ? spec.flag : name}`, sources.flags?.[name]],
    ];
    // An empty value in a file, the environment or a flag means "not set there".
    let chosen: [string, string] | undefined = spec.default === undefined ? undefined : ['default', spec.default];
    for (const [source, value] of layers.slice(1)) if (value !== undefined && value !== '') chosen = [source, value];
    result[name] = chosen === undefined ? undefined : parseValue(name, spec.type, chosen[1], chosen[0]);
  }
  return result as Config;
}
