import type { VersionedEvent } from '../model/model.js';

export type { VersionedEvent };

export type EventListener = (event: VersionedEvent) => void;

/**
 * In-process fan-out of task events. Publishing never waits on a listener:
 * listeners must only enqueue (each subscriber owns its bounded buffer).
 */
export class EventBus {
  private readonly listeners = new Map<string, Set<EventListener>>();
  /** The newest version published on each task that has listeners. */
  private readonly newest = new Map<string, number>();

  subscribe(taskId: string, listener: EventListener): () => void {
    let set = this.listeners.get(taskId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(taskId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(taskId);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size > 0) return;
      this.listeners.delete(taskId);
      this.newest.delete(taskId);
    };
  }

  publish(taskId: string, event: VersionedEvent): void {
    const set = this.listeners.get(taskId);
    if (set === undefined) return;
    if (event.version > (this.newest.get(taskId) ?? 0)) this.newest.set(taskId, event.version);
    for (const listener of [...set]) listener(event);
  }

  /**
   * The newest version published on the task since it last had no listeners:
   * whoever listens has heard of it, and drops an older one that comes later.
   */
  newestPublished(taskId: string): number | undefined {
    return this.newest.get(taskId);
  }

  hasListeners(taskId: string): boolean {
    return this.listeners.has(taskId);
  }

  /** The tasks that have listeners now. */
  taskIds(): string[] {
    return [...this.listeners.keys()];
  }
}
