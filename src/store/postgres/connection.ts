import pg from 'pg';
import { applyMigrations } from './migrations.js';

const CONNECT_TIMEOUT_MS = 30_000;

// BIGINT columns hold millisecond times and counts, well inside a double's exact range.
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface ConnectionTarget {
  /** libpq-style URL. */
  connectionString: string;
  /** This pod's name: the server shows it as the connection's application name. */
  pod: string;
}

/** Settings of a connection: the pool's, or the one that listens for changes. */
export function connectionConfig(target: ConnectionTarget, role: 'pool' | 'listen'): pg.ClientConfig {
  return {
    connectionString: target.connectionString,
    application_name: `kagent-a2a ${target.pod}${role === 'listen' ? ' listen' : ''}`,
    types: TYPES,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/**
 * A pool of `poolSize` connections to a schema brought up to date: pending
 * migrations are applied before the pool is handed out.
 */
export async function openPool(
  target: ConnectionTarget & { schema: string; poolSize: number },
  onBackgroundError: (error: unknown) => void,
): Promise<pg.Pool> {
  const pool = new pg.Pool({ ...connectionConfig(target, 'pool'), max: target.poolSize });
  // An idle connection the server dropped: the pool replaces it; nobody awaits this error.
  pool.on('error', onBackgroundError);
  try {
    const client = await pool.connect().catch((error: unknown) => {
      throw new Error(`PostgreSQL store: cannot connect to ${describeTarget(target.connectionString)}: ${messageOf(error)}`, { cause: error });
    });
    await applyMigrations(client, target.schema);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return pool;
}

/** Where the store connects, without credentials, for error messages. */
export function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    return `${url.hostname || 'localhost'}:${url.port || '5432'}${database === '' ? '' : `/${database}`}`;
  } catch {
    return 'the configured PostgreSQL server';
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(messageOf).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
