import type Database from 'better-sqlite3';
import { isOutOfSpace } from '../full-store.js';
import type { FullState } from '../full-store.js';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes requested in the same turn of the event loop share
 * one transaction, so one WAL sync makes a whole batch durable. Each write
 * runs in its own savepoint, so one failing write does not undo the others,
 * and each promise resolves only after the batch has committed.
 */
export class GroupCommit {
  private readonly pending: PendingWrite[] = [];
  /** Runs one write inside the batch's transaction, in a savepoint of its own. */
  private readonly savepoint: (job: () => unknown) => unknown;
  private readonly changes: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly fullState: FullState,
  ) {
    this.savepoint = db.transaction((job: () => unknown) => job());
    this.changes = db.prepare(`SELECT total_changes() AS n`);
  }

  run<T>(job: () => T): Promise<T> {
    if (!this.db.open) return Promise.reject(new Error('task store is not open'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: () => this.savepoint(job), resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Commits what is pending now (at close: the writes of this turn must not wait for the next one). */
  flush(): void {
    let batch = this.pending.splice(0);
    while (batch.length > 0) batch = this.commit(batch);
  }

  /**
   * Runs a batch in one transaction and settles its writes. Returns the writes
   * to run again: when one write made SQLite undo the whole transaction (a
   * full database or disk, an I/O error), that write fails and the others,
   * undone with it, run again in a new transaction.
   */
  private commit(batch: PendingWrite[]): PendingWrite[] {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    // While full, only a batch that changed rows shows that writes fit again.
    const changesBefore = this.fullState.isFull ? this.totalChanges() : 0;
    let culprit: number | undefined;
    try {
      this.db.transaction(() => {
        for (const [i, job] of batch.entries()) {
          try {
            outcomes.push({ ok: true, value: job.run() });
          } catch (error) {
            // Outside the transaction, the writes after this one would each commit on their own.
            if (!this.db.inTransaction) {
              culprit = i;
              throw error;
            }
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      if (culprit !== undefined) {
        batch[culprit]!.reject(this.fullState.failed(error));
        return batch.filter((_, i) => i !== culprit);
      }
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      const failure = this.fullState.failed(error);
      for (const job of batch) job.reject(failure);
      return [];
    }
    if (this.fullState.isFull && this.totalChanges() > changesBefore && !outcomes.some((o) => !o.ok && isOutOfSpace(o.error))) {
      this.fullState.succeeded();
    }
    batch.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(this.fullState.failed(outcome.error));
    });
    return [];
  }

  private totalChanges(): number {
    return (this.changes.get() as { n: number }).n;
  }
}
