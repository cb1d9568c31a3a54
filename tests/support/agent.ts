import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../../src/agent.js';
import type { RunningAgent, StartOverrides } from '../../src/agent.js';
import { loadConfig, readSettingsPath } from '../../src/config/load.js';

export interface TestAgent extends RunningAgent {
  dataDir: string;
  /** Stops the agent and deletes its data dir. */
  dispose(): Promise<void>;
}

/**
 * Starts a real agent in this process: HTTP on a free loopback port, SQLite in
 * a fresh temporary data dir. `settings` are raw setting values by name, as in
 * the environment (e.g. { CONFORMANCE_AGENT: 'true' }). With `watched`, the
 * settings file or directory is read too and watched for live changes.
 * gRPC is off unless `overrides.grpcPort` is given (0: a free port).
 */
export async function startTestAgent(
  settings: Record<string, string> = {},
  dataDir?: string,
  watched?: { configPath: string; pollMs?: number },
  overrides: StartOverrides = {},
): Promise<TestAgent> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'kagent-a2a-test-'));
  // Tests talk to echo unless they name a skill: the workhorse of lifecycle tests.
  const env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', GRPC_PORT: '0', DATA_DIR: dir, SQLITE_SYNCHRONOUS: 'normal', DEFAULT_SKILL: 'echo', ...settings };
  const load = () =>
    loadConfig({
      env,
      file: watched === undefined ? undefined : { path: watched.configPath, values: readSettingsPath(watched.configPath) },
    });
  let agent: RunningAgent;
  try {
    agent = await startAgent(load(), watched === undefined ? undefined : { path: watched.configPath, load, pollMs: watched.pollMs, fileValues: () => readSettingsPath(watched.configPath) }, overrides);
  } catch (error) {
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...agent,
    dataDir: dir,
    async dispose() {
      await agent.stop();
      if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
