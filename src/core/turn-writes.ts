import type { RunChange } from '../store/task-store.js';

/**
 * A skill run's changes, written in batches: those it makes in one turn of the
 * event loop (a synchronous skill's working → artifact → completed) reach the
 * store together, as one write, once the turn is over. The skill goes on at
 * once; whoever reads the task or its events hears of a change only after the
 * write that holds it is durable (the writer publishes after the commit). A
 * write that fails, or that the store refuses, is thrown once: by the run's
 * next change, or by `settled`.
 */
export class TurnWrites {
  private pending: RunChange[] = [];
  private written: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  /** `write` stores one batch, in order after the batches before it, and rejects when the store did not apply all of it. */
  constructor(private readonly write: (changes: RunChange[]) => Promise<void>) {}

  add(change: RunChange): void {
    this.throwIfFailed();
    this.pending.push(change);
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  /** Throws the first failed or refused write not reported yet. */
  throwIfFailed(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    throw failure.error;
  }

  /** Resolves once every change added so far is durable; rejects with why one is not. */
  async settled(): Promise<void> {
    this.flush();
    await this.written;
    this.throwIfFailed();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const changes = this.pending;
    this.pending = [];
    // Each batch is written whatever became of the one before: a refused one refuses the rest anyway, and a failed one (a full disk) may not fail the next.
    this.written = this.written
      .then(() => this.write(changes))
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
  }
}
