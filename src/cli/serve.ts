import { parseArgs } from 'node:util';
import { startAgent } from '../agent.js';
import { ConfigError, loadConfig, readSettingsPath } from '../config/load.js';
import type { RawSettings } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { boundHeapGrowth } from './heap-growth.js';

const FLAG_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  conformance: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags `serve` accepts, e.g. '--port'. */
export const SERVE_FLAGS: readonly string[] = Object.keys(FLAG_OPTIONS).map((name) => `--${name}`);

/** The usage of `serve` and every setting it reads. */
export function serveHelp(): string {
  const lines = Object.entries(SETTINGS).map(([name, spec]) => {
    const flag = 'flag' in spec ? ` (--${spec.flag})` : '';
    const def = spec.default === undefined ? '' : ` [default: ${spec.default}]`;
    const live = spec.live ? ' [live]' : '';
    return `  ${name}${flag}${def}${live}\n      ${spec.description}`;
  });
  return `kagent-a2a serve [--port N] [--host H] [--data-dir DIR] [--config FILE] [--conformance]

Settings (environment variable names; also the keys of the --config file):
${lines.join('\n')}`;
}

/** Runs the agent until SIGTERM or SIGINT, then stops it gracefully. Returns the exit code. */
export async function serve(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAG_OPTIONS, allowPositionals: false, strict: true });
  } catch (error) {
    console.error(`kagent-a2a serve: ${error instanceof Error ? error.message : String(error)}\n\n${serveHelp()}`);
    return 2;
  }
  const flags = parsed.values;
  if (flags.help === true) {
    console.log(serveHelp());
    return 0;
  }
  const flagSettings: RawSettings = {
    PORT: flags.port,
    HOST: flags.host,
    DATA_DIR: flags['data-dir'],
    CONFIG_PATH: flags.config,
    CONFORMANCE_AGENT: flags.conformance === true ? 'true' : undefined,
  };
  const configPath = flags.config ?? (process.env.CONFIG_PATH || undefined);
  const load = () =>
    loadConfig({
      file: configPath === undefined ? undefined : { path: configPath, values: readSettingsPath(configPath) },
      env: process.env,
      flags: flagSettings,
    });
  let config;
  let agent;
  try {
    config = load();
    boundHeapGrowth(config.HEAP_GROWTH_PERCENT);
    agent = await startAgent(
      config,
      configPath === undefined ? undefined : { path: configPath, load, fileValues: () => readSettingsPath(configPath) },
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`kagent-a2a: ${error.message}`);
      return 2;
    }
    throw error;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      agent.logger.info({ signal }, 'signal received');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await agent.stop();
  return 0;
}
