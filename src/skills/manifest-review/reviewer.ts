// Runs reviews in a worker thread, one at a time. Parsing a megabyte of YAML
// and checking thousands of objects takes seconds of CPU; on the event loop
// that would stall every other request and the health probes with it. In the
// worker it stalls nothing, it is bounded in memory (a review that needs more
// fails alone, the process lives on), and a canceled review stops at once.
import { Worker } from 'node:worker_threads';
import type { ReviewJob, ReviewOutcome } from './review-job.js';

export interface ReviewerOptions {
  /** Heap one review may use, in MB. */
  maxHeapMb?: number;
}

interface Pending {
  job: ReviewJob;
  signal: AbortSignal;
  resolve: (outcome: ReviewOutcome) => void;
  reject: (error: unknown) => void;
}

/** A review failed for want of memory, or its worker broke; the task fails with this message. */
export class ReviewerError extends Error {
  override name = 'ReviewerError';
}

const WORKER_URL = new URL('./review-worker.js', import.meta.url);

export class Reviewer {
  private worker: Worker | undefined;
  private current: Pending | undefined;
  private readonly queue: Pending[] = [];
  private readonly maxHeapMb: number;

  constructor(options: ReviewerOptions = {}) {
    this.maxHeapMb = options.maxHeapMb ?? 192;
  }

  /** Reviews in turn; a review waits for those before it. Aborting `signal` drops a waiting review, or stops a running one. */
  review(job: ReviewJob, signal: AbortSignal): Promise<ReviewOutcome> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, signal, resolve, reject };
      signal.addEventListener('abort', () => this.abort(pending), { once: true });
      this.queue.push(pending);
      this.next();
    });
  }

  /** Stops the worker; reviews waiting or running fail. */
  async close(): Promise<void> {
    for (const pending of this.queue.splice(0)) pending.reject(new ReviewerError('the reviewer stopped'));
    const worker = this.worker;
    this.worker = undefined;
    this.current?.reject(new ReviewerError('the reviewer stopped'));
    this.current = undefined;
    await worker?.terminate();
  }

  private next(): void {
    if (this.current !== undefined) return;
    const pending = this.queue.shift();
    if (pending === undefined) {
      // An idle reviewer keeps no process alive; a busy one does, until its answer arrives.
      this.worker?.unref();
      return;
    }
    this.current = pending;
    const worker = this.ensureWorker();
    worker.ref();
    worker.postMessage(pending.job);
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: 32 } });
    worker.on('message', (reply: { ok: true; outcome: ReviewOutcome } | { ok: false; message: string }) => {
      const done = this.current;
      this.current = undefined;
      if (done !== undefined) {
        if (reply.ok) done.resolve(reply.outcome);
        else done.reject(new ReviewerError(`the review failed: ${reply.message}`));
      }
      this.next();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.replaceWorker(
        worker,
        new ReviewerError(outOfMemory ? `the review needed more than the ${this.maxHeapMb} MB a review may use; send fewer manifests at a time` : `the reviewer broke: ${error.message}`),
      );
    });
    worker.on('exit', () => this.replaceWorker(worker, new ReviewerError('the reviewer stopped unexpectedly')));
    this.worker = worker;
    return worker;
  }

  /** The worker is gone: whatever it was doing fails, and the next review gets a new one. */
  private replaceWorker(worker: Worker, failure: unknown): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const lost = this.current;
    this.current = undefined;
    lost?.reject(failure);
    this.next();
  }

  private abort(pending: Pending): void {
    const waiting = this.queue.indexOf(pending);
    if (waiting !== -1) {
      this.queue.splice(waiting, 1);
      pending.reject(pending.signal.reason);
      return;
    }
    if (this.current !== pending || this.worker === undefined) return;
    // A review cannot be interrupted inside the worker: the worker goes, with it.
    const worker = this.worker;
    this.replaceWorker(worker, pending.signal.reason);
    void worker.terminate();
  }
}
