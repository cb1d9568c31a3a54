// Writes asked for in one turn of the event loop, sent to the database as ONE
// statement: one round trip and one commit for all of them, the group commit
// of the shared store (new tasks, and the turns of runs). A statement applies
// whole or not at all, so when it fails (most often one task's request key is
// taken: a retried message) each write is sent again on its own, and only the
// one that caused it fails.

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes the items asked for in one turn of the event loop together. `many`
 * writes a batch as one statement and gives each item's result, in order;
 * when it fails for a batch of several, each item is written again alone, so
 * that an error lands on the item that caused it.
 */
export class TurnBatch<T, R = void> {
  private pending: Pending<T, R>[] = [];

  constructor(private readonly many: (items: readonly T[]) => Promise<readonly R[]>) {}

  write(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const results = await this.many(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(
        batch.map((p) =>
          this.many([p.item]).then(
            ([result]) => p.resolve(result!),
            (alone: unknown) => p.reject(alone),
          ),
        ),
      );
    }
  }
}
