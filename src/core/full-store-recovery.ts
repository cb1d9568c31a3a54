import type { TaskStore } from '../store/task-store.js';

export interface FullStoreRecoveryOptions {
  store: Pick<TaskStore, 'isFull' | 'probeWrite'>;
  /** Frees room: the retention sweep, run now instead of at its next interval. */
  sweep: () => Promise<void>;
  /** Pause between attempts while the store stays full. */
  intervalMs: number;
  /** The store became full (once per episode), and writes fit again. */
  onFull: () => void;
  onRecovered: () => void;
}

/**
 * What the agent does while its store is full: sweep expired terminal tasks at
 * once, then probe with a small write, again and again, until writes fit.
 * Readiness follows `store.isFull`; this loop is what clears it when no
 * caller writes (a pod that is not ready gets little traffic).
 */
export class FullStoreRecovery {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: FullStoreRecoveryOptions) {}

  /** A write found the store full; starts recovering unless that is under way. */
  noticeFull(): void {
    if (this.running !== undefined || this.stopped) return;
    this.options.onFull();
    this.running = this.recover().finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  private async recover(): Promise<void> {
    const { store } = this.options;
    while (!this.stopped) {
      await this.options.sweep();
      if (!store.isFull) break;
      try {
        await store.probeWrite();
        break;
      } catch {
        // Still full: try again after the pause.
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.options.intervalMs);
        this.timer.unref();
      });
    }
    if (!this.stopped && !store.isFull) this.options.onRecovered();
  }
}
