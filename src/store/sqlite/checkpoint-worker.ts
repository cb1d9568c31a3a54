import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

// Runs on a thread of its own with a connection of its own: copying the WAL back
// into the database file, and that file's sync, happen beside the requests
// instead of inside whichever commit crossed the autocheckpoint size.

export interface CheckpointWorkerData {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  intervalMs: number;
}

/** What `wal_checkpoint` reports: whether it was blocked, the WAL's frames, and how many of them are in the database file now. */
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Rounds in a row while writers keep appending: the WAL restarts only once a checkpoint has caught up with it. */
const MAX_ROUNDS = 4;

const { path, synchronous, intervalMs } = workerData as CheckpointWorkerData;
const port = parentPort!;
const db = new Database(path, { fileMustExist: true });
db.pragma(`synchronous = ${synchronous}`);
db.pragma('busy_timeout = 1000');

function checkpoint(): void {
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
      if (row === undefined || row.busy !== 0 || row.checkpointed >= row.log) return;
    }
  } catch (error) {
    // A full disk or a locked file: the next round tries again, and the writer's own autocheckpoint is the backstop.
    port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
}

const timer = setInterval(checkpoint, intervalMs);
port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  port.close();
});
