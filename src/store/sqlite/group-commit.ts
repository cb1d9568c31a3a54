import type Database from 'better-sqlite3';
import { UnavailableError } from '../../model/errors.js';
import { isOutOfSpace } from '../full-store.js';
import type { FullState } from '../full-store.js';
import type { DurableSync } from './wal-sync.js';

interface PendingWrite {
  job: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** How long a caller refused by a store whose sync failed is asked to wait: long enough for a restart elsewhere. */
const STORE_BROKEN_RETRY_SECONDS = 10;

/** What one write of a batch run a savepoint each came to. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Settles what waited for a sync: with its error, or with none once the commits it waited for are durable. */
type SyncWaiter = (error: unknown) => void;

/**
 * Group commit: writes requested in the same turn of the event loop share
 * one transaction, so one WAL sync makes a whole batch durable. One failing
 * write does not undo the others (the batch runs again, each write in a
 * savepoint of its own; `commit` says when and why),
 * and each promise resolves only after the batch is durable: committed, and,
 * with a `sync`, the sync that began after the commit has finished. The
 * event loop goes on serving while a sync runs; the writes asked for
 * meanwhile are committed together when it ends, and share the next sync.
 *
 * A committed batch is visible to reads on the connection before its sync
 * ends. Readers that answer anybody pass what they read through `durable`,
 * so no reply and no event shows a change a power loss could still undo.
 */
export class GroupCommit {
  private readonly pending: PendingWrite[] = [];
  /** Batches committed, and how many of them a finished sync covers. */
  private committed = 0;
  private synced = 0;
  private syncing = false;
  /** Waiters by the committed count they need synced, oldest first. */
  private readonly waiters: { through: number; settle: SyncWaiter }[] = [];
  /** A failed sync: what was committed may not be on disk, and nothing after it is acknowledged either. */
  private syncFailure: unknown;
  /** Runs one write inside the batch's transaction, in a savepoint of its own. */
  private readonly savepoint: (job: () => unknown) => unknown;
  /** Runs a batch's writes in one transaction, each value pushed as it is written. Built once: better-sqlite3 builds four functions for each. */
  private readonly writeBatch: (batch: readonly PendingWrite[], values: unknown[]) => void;
  /** The same, each write in its savepoint: a write that throws leaves its outcome, not the transaction. */
  private readonly writeBatchEach: (batch: readonly PendingWrite[], outcomes: Outcome[], culprit: { index?: number }) => void;
  private readonly changes: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly fullState: FullState,
    /** Makes commits durable off the event loop; without it a commit is as durable as the connection's synchronous setting makes it. */
    private readonly sync?: DurableSync,
  ) {
    this.savepoint = db.transaction((job: () => unknown) => job());
    this.writeBatch = db.transaction((batch: readonly PendingWrite[], values: unknown[]) => {
      for (const pending of batch) values.push(pending.job());
    });
    this.writeBatchEach = db.transaction((batch: readonly PendingWrite[], outcomes: Outcome[], culprit: { index?: number }) => {
      for (const [i, pending] of batch.entries()) {
        try {
          outcomes.push({ ok: true, value: this.savepoint(pending.job) });
        } catch (error) {
          // Outside the transaction, the writes after this one would each commit on their own.
          if (!this.db.inTransaction) {
            culprit.index = i;
            throw error;
          }
          outcomes.push({ ok: false, error });
        }
      }
    });
    this.changes = db.prepare(`SELECT total_changes() AS n`);
  }

  /** Whether writes are refused because a sync failed (the service must restart). */
  get broken(): boolean {
    return this.syncFailure !== undefined;
  }

  run<T>(job: () => T): Promise<T> {
    if (!this.db.open) return Promise.reject(new Error('task store is not open'));
    if (this.syncFailure !== undefined) return Promise.reject(this.syncFailure);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ job, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1 && !this.syncing) setImmediate(() => this.commitUnlessSyncing());
    });
  }

  /**
   * While a sync runs, writes wait uncommitted: committed now, they would be
   * acknowledged no sooner (only a sync that begins after a commit covers it),
   * and waiting makes everything asked for meanwhile one commit when it ends.
   */
  private commitUnlessSyncing(): void {
    if (!this.syncing) this.flush();
  }

  /** Commits what is pending now (at close: the writes of this turn must not wait for the next one). */
  flush(): void {
    let batch = this.pending.splice(0);
    while (batch.length > 0) batch = this.commit(batch);
  }

  /**
   * `value`, once every commit made before this call is durable: what a
   * reader read is answered only when a power loss can no longer undo it.
   * The value itself when nothing waits for a sync (no promise, no turn).
   */
  durable<T>(value: T): T | Promise<T> {
    if (this.syncFailure !== undefined) return Promise.reject(this.syncFailure);
    if (this.synced === this.committed) return value;
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ through: this.committed, settle: (error) => (error === undefined ? resolve(value) : reject(error)) });
    });
  }

  /** Resolves when no write is pending and every commit is durable (or its sync failed): at close. */
  async settled(): Promise<void> {
    this.flush();
    if (this.synced === this.committed || this.syncFailure !== undefined) return;
    await new Promise<void>((resolve) => this.waiters.push({ through: this.committed, settle: () => resolve() }));
  }

  /** Settles `settle` once the batch just committed is durable. */
  private afterSync(settle: SyncWaiter): void {
    if (this.sync === undefined) {
      settle(undefined);
      return;
    }
    this.committed++;
    this.waiters.push({ through: this.committed, settle });
    if (!this.syncing) this.startSync();
  }

  private startSync(): void {
    const through = this.committed;
    this.syncing = true;
    this.sync!((error) => {
      this.syncing = false;
      if (error !== null) {
        this.failSync(error);
        return;
      }
      this.synced = through;
      while (this.waiters.length > 0 && this.waiters[0]!.through <= through) this.waiters.shift()!.settle(undefined);
      if (this.pending.length > 0) this.flush();
      else if (this.committed > this.synced) this.startSync();
    });
  }

  /**
   * A failed sync leaves unknown which commits reached the disk (the kernel
   * may have dropped the pages it could not write, and a WAL with a lost
   * frame ends there on recovery), so every write and read waiting on one
   * fails, the writes not yet committed with them, and the group commit
   * refuses all writes and reads from then on.
   */
  private failSync(error: Error): void {
    // The code, not the message: a driver's message may name server paths.
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    this.syncFailure = new UnavailableError(`the task store could not sync its write-ahead log to disk (${code}); this replica takes no more writes until it restarts`, STORE_BROKEN_RETRY_SECONDS);
    for (const waiter of this.waiters.splice(0)) waiter.settle(this.syncFailure);
    for (const job of this.pending.splice(0)) job.reject(this.syncFailure);
  }

  /**
   * Runs a batch in one transaction and settles its writes. Returns the writes
   * to run again: when one write made SQLite undo the whole transaction (a
   * full database or disk, an I/O error), that write fails and the others,
   * undone with it, run again in a new transaction.
   *
   * The batch is first tried without a savepoint per write: a savepoint costs
   * two statements, and SQLite copies into its journal every page a write
   * changes that an earlier write of the batch had changed already (a batch's
   * writes share their tables' last pages). Only when a write throws is the
   * transaction undone and the batch run again, each write in its savepoint.
   * A write is a function of what the database holds, so it answers the same
   * the second time.
   */
  private commit(batch: PendingWrite[]): PendingWrite[] {
    if (!this.fullState.isFull) {
      const values: unknown[] = [];
      try {
        this.writeBatch(batch, values);
      } catch (error) {
        // A write threw, and the transaction was undone: the batch runs again, a savepoint each.
        if (values.length < batch.length) return this.commitEach(batch);
        return this.commitFailed(batch, error);
      }
      this.afterSync((syncError) => {
        batch.forEach((pending, i) => (syncError === undefined ? pending.resolve(values[i]) : pending.reject(syncError)));
      });
      return [];
    }
    return this.commitEach(batch);
  }

  /** `commit`, each write in a savepoint of its own: one that fails does not undo the others. */
  private commitEach(batch: PendingWrite[]): PendingWrite[] {
    const outcomes: Outcome[] = [];
    // While full, only a batch that changed rows shows that writes fit again.
    const changesBefore = this.fullState.isFull ? this.totalChanges() : 0;
    const culprit: { index?: number } = {};
    try {
      this.writeBatchEach(batch, outcomes, culprit);
    } catch (error) {
      const { index } = culprit;
      if (index !== undefined) {
        batch[index]!.reject(this.fullState.failed(error));
        return batch.filter((_, i) => i !== index);
      }
      return this.commitFailed(batch, error);
    }
    if (this.fullState.isFull && this.totalChanges() > changesBefore && !outcomes.some((o) => !o.ok && isOutOfSpace(o.error))) {
      this.fullState.succeeded();
    }
    this.afterSync((syncError) => {
      batch.forEach((job, i) => {
        const outcome = outcomes[i]!;
        if (syncError !== undefined) job.reject(syncError);
        else if (outcome.ok) job.resolve(outcome.value);
        else job.reject(this.fullState.failed(outcome.error));
      });
    });
    return [];
  }

  /** The commit itself failed (disk full, I/O error): nothing in the batch is durable, and none of it is run again. */
  private commitFailed(batch: PendingWrite[], error: unknown): PendingWrite[] {
    const failure = this.fullState.failed(error);
    for (const pending of batch) pending.reject(failure);
    return [];
  }

  private totalChanges(): number {
    return (this.changes.get() as { n: number }).n;
  }
}
