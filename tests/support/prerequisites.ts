// What some tests need from the machine beyond Node: PostgreSQL, kubectl or
// kustomize, and Chromium for the console's browser tests. Where one is missing, its tests are skipped with a notice naming
// it and how to provide it; with CI=true they run (and fail) instead, and a
// "prerequisite" test fails with the same notice, so CI can never pass by
// skipping them.
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { findRenderer } from '../../src/skills/manifest-review/kustomize.js';

/** Spread into a test's or suite's options: `{ skip: false }` when the tests can run, else the notice. */
export interface Need {
  readonly skip: string | false;
}

const IN_CI = process.env.CI === 'true';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'TEST_DATABASE_URL (not a URL)';
  }
}

function need(what: string, problem: string | undefined, howTo: string): Need {
  const notice = problem === undefined ? undefined : `needs ${what}: ${problem}. ${howTo} (README.md, "Running the tests")`;
  test(`prerequisite: ${what}`, { skip: notice !== undefined && !IN_CI ? notice : false }, () => {
    if (notice !== undefined) throw new Error(`${notice}. CI=true: tests are never skipped for a missing prerequisite`);
  });
  return { skip: notice !== undefined && !IN_CI ? notice : false };
}

/** PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). */
export async function needPostgres(): Promise<Need> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 30_000 });
  client.on('error', () => undefined);
  let problem: string | undefined;
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    problem = `cannot use ${redacted(TEST_DATABASE_URL)} (${error instanceof Error ? error.message || error.name : String(error)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
  return need(
    'PostgreSQL',
    problem,
    'Start PostgreSQL, or set TEST_DATABASE_URL to a database in which the tests may create and drop schemas',
  );
}

/** Drops a schema a test made in the PostgreSQL at TEST_DATABASE_URL, with everything in it. */
export async function dropTestSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** kubectl (its built-in Kustomize) or a standalone kustomize on PATH, found as the manifest-review skill finds it. */
export function needKustomize(): Need {
  let problem: string | undefined;
  try {
    findRenderer();
  } catch {
    problem = 'neither `kubectl` nor `kustomize` is on PATH';
  }
  return need('kubectl or kustomize', problem, 'Install kubectl (it embeds Kustomize v5) or a kustomize v5 binary and put it on PATH');
}

/** Where the browser tests find Chromium: the Debian package's binary unless CHROMIUM says otherwise. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Chromium for the console's browser tests. */
export function needChromium(): Need {
  const problem = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} does not exist`;
  return need('Chromium', problem, 'Install it (`apt-get install -y chromium` on Debian) or set CHROMIUM to its binary');
}
