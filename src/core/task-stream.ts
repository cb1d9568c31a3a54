import { isLast } from '../model/lifecycle.js';
import type { StreamItem } from '../model/model.js';

/** 'failed': the source of the events failed (a relayed stream whose owner went away); the reader gets the error after what came before it. */
export type StreamEnd = 'done' | 'overflow' | 'closed' | 'failed';

/** One item with the task version it shows: a Task snapshot's version, or the version its event produced. A lone message has none. */
export interface StreamEntry {
  item: StreamItem;
  version?: number;
}

/**
 * A consumer that takes each item as it is pushed, in the producer's call:
 * returns false when it can take no more for now (its socket's buffer is
 * full), after which items queue until it drains them with `take` and
 * attaches again.
 */
export type StreamSink = (entry: StreamEntry) => boolean;

/**
 * The events one stream consumer will receive, in order. The producer side
 * (`push`) never blocks: when the consumer falls `capacity` items behind, the
 * stream is cut with reason 'overflow' so one stalled reader cannot hold
 * memory or slow the task and the other readers.
 *
 * A consumer either iterates (`entries`, or `for await`), waking once per
 * item, or attaches a sink that is handed each item inside `push`: one event
 * published to many streams then reaches all of their sockets in one pass,
 * with no wake-up per stream. Items queue only while no sink is attached.
 */
export class TaskStream implements AsyncIterable<StreamItem> {
  private readonly queue: StreamEntry[] = [];
  private waiter: (() => void) | undefined;
  private ended: StreamEnd | undefined;
  private readonly cleanups: (() => void)[] = [];
  private failure: unknown;
  private sink: StreamSink | undefined;

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

  /** The error a failed stream ended with. */
  get error(): unknown {
    return this.failure;
  }

  push(item: StreamItem, version?: number): void {
    if (this.ended !== undefined) return;
    const entry: StreamEntry = version === undefined ? { item } : { item, version };
    const sink = this.sink;
    if (sink !== undefined) {
      // The queue is empty while a sink is attached: the item goes straight to it.
      if (!sink(entry)) this.sink = undefined;
    } else {
      if (this.queue.length >= this.capacity) {
        this.finish('overflow');
        return;
      }
      this.queue.push(entry);
    }
    if (isLast(item)) this.finish('done');
    this.wake();
  }

  /** The next queued item, taken without waiting; undefined when none is queued. */
  take(): StreamEntry | undefined {
    return this.queue.shift();
  }

  /**
   * Hands the items pushed from now on to `sink`, until it returns false or
   * the stream ends. The consumer takes what is queued first: a sink is
   * attached only to an empty queue, so that the order holds.
   */
  attach(sink: StreamSink): void {
    if (this.queue.length > 0) throw new Error('a sink is attached only once the queued items are taken');
    if (this.ended === undefined) this.sink = sink;
  }

  /** Ends the stream after what it holds, without a last item: a resumed stream of a task that had already ended, with nothing left to send. */
  end(): void {
    this.finish('done');
  }

  close(): void {
    this.finish('closed');
  }

  /** Ends the stream with an error: the items already queued are delivered, then the reader's loop throws it. */
  fail(error: unknown): void {
    if (this.ended !== undefined) return;
    this.failure = error;
    this.finish('failed');
  }

  private finish(reason: StreamEnd): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    this.sink = undefined;
    // An overflowing or closed stream drops what it had not delivered; a done or failed stream delivers it all.
    if (reason === 'overflow' || reason === 'closed') this.queue.length = 0;
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
        if (this.ended === 'failed') throw this.failure;
        if (this.ended !== undefined) return;
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    } finally {
      this.finish('closed');
    }
  }
}
