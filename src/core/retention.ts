import type { TaskState } from '../model/model.js';
import type { TaskStore } from '../store/task-store.js';

export interface RetentionOptions {
  store: TaskStore;
  retentionMs: number;
  intervalMs: number;
  onDeleted: (deleted: Partial<Record<TaskState, number>>) => void;
  onError: (error: unknown) => void;
}

const BATCH = 500;

/**
 * Deletes terminal tasks older than the retention, in small batches so that a
 * large backlog never holds the store (and the event loop) for long.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly options: RetentionOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One full sweep; concurrent calls share the sweep in progress. */
  sweep(): Promise<void> {
    this.sweeping ??= this.run().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async run(): Promise<void> {
    try {
      const cutoff = Date.now() - this.options.retentionMs;
      for (;;) {
        const deleted = await this.options.store.deleteTerminalBefore(cutoff, BATCH);
        const count = Object.values(deleted).reduce((sum, n) => sum + n, 0);
        if (count > 0) this.options.onDeleted(deleted);
        if (count < BATCH) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.options.onError(error);
    }
  }
}
