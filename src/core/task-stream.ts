import { isLast } from '../model/lifecycle.js';
import type { StreamItem } from '../model/model.js';

export type StreamEnd = 'done' | 'overflow' | 'closed';

/** One item with the task version it shows: a Task snapshot's version, or the version its event produced. A lone message has none. */
export interface StreamEntry {
  item: StreamItem;
  version?: number;
}

/**
 * The events one stream consumer will receive, in order. The producer side
 * (`push`) never blocks: when the consumer falls `capacity` items behind, the
 * stream is cut with reason 'overflow' so one stalled reader cannot hold
 * memory or slow the task and the other readers.
 */
export class TaskStream implements AsyncIterable<StreamItem> {
  private readonly queue: StreamEntry[] = [];
  private waiter: (() => void) | undefined;
  private ended: StreamEnd | undefined;
  private readonly cleanups: (() => void)[] = [];

  /** The task whose events these are; undefined for a lone-message reply. */
  constructor(
    private readonly capacity: number,
    readonly taskId?: string,
  ) {}

  /** Why the stream ended, once it has. */
  get endReason(): StreamEnd | undefined {
    return this.ended;
  }

  onClose(cleanup: () => void): void {
    if (this.ended !== undefined) cleanup();
    else this.cleanups.push(cleanup);
  }

  push(item: StreamItem, version?: number): void {
    if (this.ended !== undefined) return;
    if (this.queue.length >= this.capacity) {
      this.finish('overflow');
      return;
    }
    this.queue.push(version === undefined ? { item } : { item, version });
    if (isLast(item)) this.finish('done');
    this.wake();
  }

  /** Ends the stream after what it holds, without a last item: a resumed stream of a task that had already ended, with nothing left to send. */
  end(): void {
    this.finish('done');
  }

  close(): void {
    this.finish('closed');
  }

  private finish(reason: StreamEnd): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    // An overflowing or closed stream drops what it had not delivered; a done stream delivers it all.
    if (reason !== 'done') this.queue.length = 0;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamItem> {
    for await (const entry of this.entries()) yield entry.item;
  }

  /** The items with their versions (an SSE writer sends the version as the event's id). */
  async *entries(): AsyncGenerator<StreamEntry> {
    try {
      for (;;) {
        const entry = this.queue.shift();
        if (entry !== undefined) {
          yield entry;
          continue;
        }
        if (this.ended !== undefined) return;
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    } finally {
      this.finish('closed');
    }
  }
}


