import { Worker } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpoint-worker.js';

const WORKER_URL = new URL('./checkpoint-worker.js', import.meta.url);

/** How often the worker folds the WAL back into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

/**
 * The WAL size (pages) at which a commit checkpoints by itself. Under steady
 * writes the worker's checkpoints never quite catch up with the end of the
 * WAL, and only a fully copied WAL starts over from its beginning: at this
 * size the writer copies the few frames left and the WAL restarts. SQLite's
 * default, 1,000 pages, would put a whole checkpoint and its sync inside a
 * request every few hundred commits.
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 4096;

/** Bytes a restarted WAL file is cut back to: it never stays larger than the writer lets it grow. */
export const WAL_SIZE_LIMIT_BYTES = WRITER_AUTOCHECKPOINT_PAGES * 4096;

/** Checkpoints a database's WAL from a worker thread while the store is open. */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(path: string, synchronous: CheckpointWorkerData['synchronous'], onFailure: (message: string) => void) {
    const data: CheckpointWorkerData = { path, synchronous, intervalMs: CHECKPOINT_INTERVAL_MS };
    // A small heap: the worker holds one connection and a timer. Neither the process's own `--import` modules nor those of
    // NODE_OPTIONS (skills installed from outside, a tracer) are loaded again on this thread: a worker inherits both.
    this.worker = new Worker(WORKER_URL, {
      workerData: data,
      execArgv: [],
      env: {},
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    this.worker.unref();
    this.worker.on('message', (message: { kind: string; message: string }) => {
      if (message.kind === 'failed') onFailure(message.message);
    });
    this.worker.on('error', (error) => onFailure(error.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the worker and waits until its connection is closed. */
  async stop(): Promise<void> {
    // Held by the stop: an unref'd worker's exit alone would not keep the event loop waiting for it.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
