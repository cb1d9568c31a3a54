import type { SharedStore } from '../store/task-store.js';
import type { EventBus } from './event-bus.js';
import { KeyedQueue } from './keyed-queue.js';

/**
 * With a shared store, a task's events are produced on whichever pod runs it.
 * Every pod hears "task X is now at version V" from the store; a pod with
 * listeners for X (open streams, a waiting blocking call, the skill run that
 * must notice a cancel) reads the events it has not seen and publishes them
 * on its own bus. Subscribers drop versions they already have, so an event
 * that was published locally and relayed too is delivered once; a version the
 * bus here has published already (most often: this pod wrote it) is not read
 * from the store at all.
 */
export class ClusterRelay {
  /** The last version relayed, per task that still has listeners here and has not stopped. */
  private readonly relayed = new Map<string, number>();
  private readonly serial = new KeyedQueue();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: SharedStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown) => void,
    /** Seconds from a relayed status change's timestamp to its relay here. */
    private readonly observeLag?: (seconds: number) => void,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.store.onTaskChanged(
      (taskId, version) => this.changed(taskId, version),
      () => this.catchUp(),
    );
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** Tasks the relay keeps a position for (for tests and diagnostics). */
  get size(): number {
    return this.relayed.size;
  }

  private changed(taskId: string, version: number): void {
    if (!this.bus.hasListeners(taskId)) {
      this.relayed.delete(taskId);
      return;
    }
    this.relay(taskId, version - 1, version);
  }

  /**
   * Whether the listeners here have heard of `version` already: a change this
   * pod wrote was published by its writer, after its commit. The commit's
   * answer and the notification come on two connections in either order, so a
   * notification waits one turn of the event loop for the writer before the
   * relay reads the store.
   */
  private async heard(taskId: string, version: number): Promise<boolean> {
    if ((this.bus.newestPublished(taskId) ?? 0) >= version) return true;
    await new Promise((resolve) => setImmediate(resolve));
    return (this.bus.newestPublished(taskId) ?? 0) >= version || !this.bus.hasListeners(taskId);
  }

  /**
   * The change signal was down for a while (the store reconnected): whatever
   * was committed meanwhile was announced to nobody here. Reads every watched
   * task's events since the last one relayed — all of them for a task with
   * none relayed yet; subscribers drop the versions they already have.
   */
  private catchUp(): void {
    for (const taskId of this.bus.taskIds()) this.relay(taskId, 0);
  }

  private relay(taskId: string, fallbackAfter: number, upTo?: number): void {
    void this.serial
      .run(taskId, async () => {
        if (upTo !== undefined && (upTo <= (this.relayed.get(taskId) ?? fallbackAfter) || (await this.heard(taskId, upTo)))) {
          if (!this.bus.hasListeners(taskId)) this.relayed.delete(taskId);
          return;
        }
        const after = this.relayed.get(taskId) ?? fallbackAfter;
        let stopped = false;
        for (const versioned of await this.store.eventsAfter(taskId, after)) {
          this.bus.publish(taskId, versioned);
          if (versioned.event.kind === 'status-update') this.lag(versioned.event.status.timestamp);
          this.relayed.set(taskId, versioned.version);
          stopped = versioned.event.kind === 'status-update' && versioned.event.final;
        }
        // A task that stopped (ended, or waits for input) or that nobody here watches any more needs no position:
        // should it move again, its next change starts from that change.
        if (stopped || !this.bus.hasListeners(taskId)) this.relayed.delete(taskId);
      })
      .catch(this.onError);
  }

  private lag(timestamp: string | undefined): void {
    const stamped = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
    // Clocks of different pods disagree a little: a change from "the future" counts as no lag.
    if (this.observeLag !== undefined && Number.isFinite(stamped)) this.observeLag(Math.max(0, Date.now() - stamped) / 1000);
  }
}
