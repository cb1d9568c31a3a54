import type { SharedStore } from '../store/task-store.js';
import type { EventBus } from './event-bus.js';
import { KeyedQueue } from './keyed-queue.js';

/**
 * With a shared store, a task's events are produced on whichever pod runs it.
 * Every pod hears "task X is now at version V" from the store; a pod with
 * listeners for X (open streams, a waiting blocking call, the skill run that
 * must notice a cancel) reads the events it has not seen and publishes them
 * on its own bus. Subscribers drop versions they already have, so an event
 * that was published locally and relayed too is delivered once.
 */
export class ClusterRelay {
  private readonly relayed = new Map<string, number>();
  private readonly serial = new KeyedQueue();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: SharedStore,
    private readonly bus: EventBus,
    private readonly onError: (error: unknown) => void,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.store.onTaskChanged((taskId, version) => this.changed(taskId, version));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  private changed(taskId: string, version: number): void {
    if (!this.bus.hasListeners(taskId)) {
      this.relayed.delete(taskId);
      return;
    }
    void this.serial
      .run(taskId, async () => {
        const after = this.relayed.get(taskId) ?? version - 1;
        if (version <= after) return;
        for (const event of await this.store.eventsAfter(taskId, after)) {
          this.bus.publish(taskId, event);
          this.relayed.set(taskId, event.version);
        }
      })
      .catch(this.onError);
  }
}
