// The servers under test, each started as its own process on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, start, stop, waitReady } from './procs.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = process.execPath;

/** Log level of our server during the benchmark: request logs at info cost CPU. */
export const OUR_LOG_LEVEL = 'warn';

export const SERVERS = {
  ours: { label: 'ours', what: 'this service, SQLite synchronous=full (the default)' },
  oursNormal: { label: 'ours (sqlite normal)', what: 'this service, SQLITE_SYNCHRONOUS=normal (survives process crashes, not power loss)' },
  sdkMemory: { label: 'SDK in-memory', what: '@a2a-js/sdk Express server, InMemoryTaskStore' },
  sdkSqlite: { label: 'SDK sqlite', what: '@a2a-js/sdk Express server, DatabaseTaskStore on SQLite (kysely + better-sqlite3, WAL, synchronous=full)' },
  bare: { label: 'bare node:http', what: 'node:http answering a fixed JSON body (the ceiling)' },
  oursPg: { label: 'ours (postgres)', what: 'this service, STORE=postgres: the shared store of several replicas, on the local PostgreSQL' },
  sdkPg: { label: 'SDK postgres', what: '@a2a-js/sdk Express server, DatabaseTaskStore on the same PostgreSQL (kysely + pg)' },
};

/** The PostgreSQL both postgres servers use (each in a database of its own, dropped at the end); BENCH_POSTGRES_URL overrides. */
export const BENCH_POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A new, empty database on the bench's PostgreSQL server; returns its URL and how to drop it. */
export async function createBenchDatabase(name) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: BENCH_POSTGRES });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(BENCH_POSTGRES);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: BENCH_POSTGRES });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Creates the SDK's tables in a new SQLite file, with the SDK's own migration tool (`a2a-db upgrade`). */
export function migrateSdkDatabase(file) {
  const bin = join(ROOT, 'node_modules/@a2a-js/sdk/dist/cli/a2a_db.js');
  execFileSync(NODE, [bin, 'upgrade', '--url', `sqlite:${file}`], { stdio: 'pipe', timeout: 60_000 });
}

/**
 * Starts one server. `kind` is a key of SERVERS. Options:
 *   dataDir     where its SQLite files live (reused across restarts)
 *   conformance our server routes messages to the conformance skill (message-only replies, input-required)
 *   synchronous override the SQLite sync mode ('normal' to fill a store fast)
 *   cpuProf     directory for a V8 CPU profile of the process
 *   database    the PostgreSQL URL of the postgres servers (createBenchDatabase)
 */
export async function startServer(kind, options = {}) {
  try {
    return await startOnce(kind, options);
  } catch (error) {
    // The free port may have been taken between choosing it and listening: try once more on another.
    if (!/exited/.test(error.message)) throw error;
    return startOnce(kind, options);
  }
}

/** The NODE_OPTIONS our image runs the service with: the benchmark measures ours as it ships. */
const IMAGE_NODE_OPTIONS = /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';

async function startOnce(kind, { dataDir, logDir, conformance = false, synchronous, cpuProf, database }) {
  const port = await freePort();
  const logFile = join(logDir, `${kind}.log`);
  const nodeFlags = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
  let child;
  let path;
  let readyPath;
  let diskDir;
  const startOurs = (env) =>
    start(NODE, [...nodeFlags, join(ROOT, 'dist/src/cli/main.js'), 'serve'], {
      logFile,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: OUR_LOG_LEVEL,
        POD_NAME: 'bench-0',
        DRAIN_TIMEOUT: '2s',
        // The benchmarks speak HTTP; several runs at once must not race for 8081.
        GRPC_PORT: '0',
        NODE_OPTIONS: IMAGE_NODE_OPTIONS,
        ...env,
      },
    });
  switch (kind) {
    case 'ours':
    case 'oursNormal': {
      mkdirSync(dataDir, { recursive: true });
      child = startOurs({
        SQLITE_SYNCHRONOUS: synchronous ?? (kind === 'oursNormal' ? 'normal' : 'full'),
        CONFORMANCE_AGENT: conformance ? 'true' : 'false',
        // Messages that name no skill go to echo, the skill the SDK peer mirrors.
        ...(conformance ? {} : { DEFAULT_SKILL: 'echo' }),
      });
      path = '/';
      readyPath = '/readyz';
      diskDir = dataDir;
      break;
    }
    case 'oursPg': {
      mkdirSync(dataDir, { recursive: true });
      child = startOurs({ STORE: 'postgres', DATABASE_URL: database, CONFORMANCE_AGENT: 'false', DEFAULT_SKILL: 'echo' });
      path = '/';
      readyPath = '/readyz';
      break;
    }
    case 'sdkPg': {
      const bin = join(ROOT, 'node_modules/@a2a-js/sdk/dist/cli/a2a_db.js');
      execFileSync(NODE, [bin, 'upgrade', '--url', database], { stdio: 'pipe', timeout: 60_000 });
      child = start(NODE, [...nodeFlags, join(ROOT, 'bench/servers/sdk-server.mjs'), '--port', String(port), '--store', 'postgres', '--db', database], { logFile });
      path = '/a2a/jsonrpc';
      readyPath = '/.well-known/agent-card.json';
      break;
    }
    case 'sdkMemory':
    case 'sdkSqlite': {
      const args = [...nodeFlags, join(ROOT, 'bench/servers/sdk-server.mjs'), '--port', String(port)];
      if (kind === 'sdkSqlite') {
        mkdirSync(dataDir, { recursive: true });
        const file = join(dataDir, 'a2a.sqlite');
        if (!safeStat(file)) migrateSdkDatabase(file);
        args.push('--store', 'sqlite', '--db', file, '--synchronous', synchronous ?? 'full');
        diskDir = dataDir;
      }
      child = start(NODE, args, { logFile });
      path = '/a2a/jsonrpc';
      readyPath = '/.well-known/agent-card.json';
      break;
    }
    case 'bare':
      child = start(NODE, [join(ROOT, 'bench/servers/bare-server.mjs'), '--port', String(port)], { logFile });
      path = '/';
      readyPath = '/';
      break;
    default:
      throw new Error(`unknown server ${kind}`);
  }
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, `${origin}${readyPath}`);
  } catch (error) {
    await stop(child, 1000);
    throw new Error(`${SERVERS[kind].label}: ${error.message}; its log ends:\n${tail(logFile)}`);
  }
  return {
    kind,
    label: SERVERS[kind].label,
    origin,
    path,
    pid: child.pid,
    child,
    logFile,
    diskMB: () => (diskDir === undefined ? null : dirSizeMB(diskDir)),
    stop: () => stop(child),
    /** Whether the process has ended, and if so how, with the end of its log. */
    exited: () => (child.exitCode === null && child.signalCode === null ? undefined : { code: child.exitCode, signal: child.signalCode, logTail: tail(logFile, 30) }),
    /** A new process of the same server on the same data. */
    restart: () => startServer(kind, { dataDir, logDir, conformance, synchronous, cpuProf, database }),
  };
}

function tail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function safeStat(file) {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

export function dirSizeMB(dir) {
  let bytes = 0;
  try {
    for (const name of readdirSync(dir)) bytes += safeStat(join(dir, name))?.size ?? 0;
  } catch {
    return null;
  }
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
