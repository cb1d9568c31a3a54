import type { InterruptedTask, SharedStore } from '../store/task-store.js';

export interface LeaseKeeperOptions {
  store: SharedStore;
  pod: string;
  ttlMs: number;
  /** The tasks this pod is running now. */
  running: () => string[];
  /** Takes over a task whose pod stopped renewing its lease: resumes or fails it (compare-and-swap: one pod wins). */
  takeOver: (orphan: InterruptedTask) => Promise<void>;
  onError: (error: unknown) => void;
}

/**
 * Keeps this pod's running tasks leased, and takes over tasks whose pod let
 * its lease lapse — it died or lost the database — so no task stays
 * "working" forever when a pod vanishes.
 */
export class LeaseKeeper {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: LeaseKeeperOptions) {}

  start(): void {
    const { ttlMs } = this.options;
    // Renew three times per lease, so one slow round does not lose it.
    this.timers.push(setInterval(() => void this.renew(), Math.max(100, Math.floor(ttlMs / 3))));
    this.timers.push(setInterval(() => void this.reap(), Math.max(100, Math.floor(ttlMs / 2))));
    for (const timer of this.timers) timer.unref();
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async renew(): Promise<void> {
    const ids = this.options.running();
    if (ids.length === 0) return;
    await this.options.store.renewLeases(this.options.pod, ids).catch(this.options.onError);
  }

  /** Gives up the leases of tasks this pod stops running, so that another pod takes them over now rather than after the TTL. */
  async handOver(taskIds: readonly string[]): Promise<void> {
    await this.options.store.releaseLeases(this.options.pod, taskIds).catch(this.options.onError);
  }

  async reap(): Promise<void> {
    try {
      for (const orphan of await this.options.store.expiredLeases(100)) {
        await this.options.takeOver(orphan);
      }
    } catch (error) {
      this.options.onError(error);
    }
  }
}
