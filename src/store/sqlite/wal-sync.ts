import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes what is in a file on disk durable; the callback runs when it is (or failed). */
export type DurableSync = (done: (error: Error | null) => void) => void;

/**
 * The WAL file of a database in WAL mode, synced off the event loop.
 *
 * SQLite's synchronous=FULL syncs the WAL inside every COMMIT, on the thread
 * that commits: for us the event loop, which then serves nobody for the
 * length of a disk flush. Instead the connection commits with
 * synchronous=NORMAL (which keeps the database consistent and syncs the WAL
 * before each checkpoint) and this syncs the WAL from libuv's thread pool; the
 * group commit acknowledges a write only once a sync that began after its
 * commit has finished. One sync covers every commit made before it began, so
 * commits made while one sync runs share the next.
 */
export class WalSync {
  private readonly fd: number;
  private closed = false;

  /** Opens the WAL file of `databasePath`, which must exist (the connection is in WAL mode and has written). */
  constructor(databasePath: string) {
    this.fd = openSync(`${databasePath}-wal`, 'r+');
    // A new WAL file's name must survive power loss too, not only its contents.
    const dir = openSync(dirname(databasePath), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  readonly sync: DurableSync = (done) => {
    if (this.closed) {
      done(new Error('the WAL file is closed'));
      return;
    }
    fdatasync(this.fd, (error) => done(error));
  };

  /** Closes the file; call once no sync runs (the group commit has settled every write). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
