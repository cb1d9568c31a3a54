import type pg from 'pg';

// How the shared store writes: each write is one transaction, and writes to one
// task are serialised by compare-and-swap on its version, retried on a lost race.

/** A lost compare-and-swap is retried; under heavy contention on one task each round lets one writer through. */
const MAX_WRITE_ATTEMPTS = 64;

/** The transaction is rolled back and the call answers with `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/** Another writer changed the task between our read and our compare-and-swap: the write runs again. */
export class LostRace extends Error {}

/**
 * Runs `work` in one transaction on `client`, and releases the client after.
 * `onCommit` runs only when the transaction committed (not when `work` rolled it back).
 */
export async function transaction<T>(client: pg.PoolClient, work: (client: pg.PoolClient) => Promise<T | Rollback<T>>, onCommit?: () => void): Promise<T> {
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const outcome = await work(client);
    if (outcome instanceof Rollback) {
      await client.query('ROLLBACK');
      return outcome.value;
    }
    await client.query('COMMIT');
    onCommit?.();
    return outcome;
  } catch (error) {
    // A connection that cannot even roll back is not given back to the pool for reuse.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Runs a read-check-write on one task again while other writers win the compare-and-swap. */
export async function retryLostRaces<T>(taskId: string, attempt: () => Promise<T>): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof LostRace) && !isTransient(error)) throw error;
      if (round >= MAX_WRITE_ATTEMPTS) {
        throw new Error(`task ${taskId} kept changing under concurrent writers; gave up after ${round} attempts`, { cause: error });
      }
      // Jitter spreads the losers out so that the next round is not the same stampede.
      await sleep(Math.random() * Math.min(50, 2 ** round));
    }
  }
}

/** Runs an `UPDATE … WHERE version = $n RETURNING version`; the new version, or a lost race when another writer got there first. */
export async function compareAndSwap(client: pg.PoolClient, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await client.query<{ version: number }>(sql, params);
  if (rows.length === 0) throw new LostRace();
  return rows[0]!.version;
}

/** Serialization failures and deadlocks: the transaction did nothing and may simply run again. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
