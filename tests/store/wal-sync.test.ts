import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { fstatSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '../../src/model/errors.js';
import { FullState } from '../../src/store/full-store.js';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import type { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.js';
import { ALICE, T0, openStore, seed, tempDir } from './fixtures.js';
import type { TempDir } from './fixtures.js';

/** A turn of the event loop: long enough for anything already settled to be seen as settled. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { readonly settled: boolean; promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/**
 * A disk flush held until the test lets it finish (or fail). A real fdatasync
 * cannot be made to wait or fail on demand, so this stands in for it.
 */
class HeldSyncs {
  readonly calls: ((error: Error | null) => void)[] = [];
  private arrived: (() => void) | undefined;

  readonly sync = (done: (error: Error | null) => void): void => {
    this.calls.push(done);
    this.arrived?.();
  };

  /** Resolves once `n` syncs have been asked for. */
  async asked(n: number): Promise<void> {
    while (this.calls.length < n) await new Promise<void>((resolve) => (this.arrived = resolve));
  }
}

describe('group commit with a WAL sync off the event loop', () => {
  let db: Database.Database;
  let syncs: HeldSyncs;
  let commits: GroupCommit;
  const insert = (value: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(value).changes;

  beforeEach(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (v TEXT)');
    syncs = new HeldSyncs();
    commits = new GroupCommit(db, new FullState(), syncs.sync);
  });
  afterEach(() => db.close());

  test('a write is acknowledged only when the sync begun after its commit has finished', async () => {
    const write = watch(commits.run(insert('a')));
    await syncs.asked(1);
    // Committed (another reader on the connection sees it), not yet acknowledged.
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
    await turn();
    assert.equal(write.settled, false);
    syncs.calls[0]!(null);
    assert.equal(await write.promise, 1);
  });

  test('writes asked for while a sync runs are committed together when it ends, and acknowledged after the next sync', async () => {
    const rows = () => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;
    const first = watch(commits.run(insert('a')));
    await syncs.asked(1);
    const later = [watch(commits.run(insert('b')))];
    await turn();
    later.push(watch(commits.run(insert('c'))));
    await turn();
    assert.equal(syncs.calls.length, 1, 'no second sync starts while the first runs');
    assert.equal(rows(), 1, 'nothing is committed while a sync runs');
    syncs.calls[0]!(null);
    await first.promise;
    assert.equal(rows(), 3, 'both waiting writes committed as the sync ended');
    await syncs.asked(2);
    await turn();
    assert.ok(later.every((w) => !w.settled), 'the writes committed after the first sync began wait for the next one');
    syncs.calls[1]!(null);
    await Promise.all(later.map((w) => w.promise));
    assert.equal(syncs.calls.length, 2, 'two commits, two syncs');
  });

  test('a read answers what it saw only once every commit before it is synced', async () => {
    assert.equal(commits.durable('nothing pending'), 'nothing pending', 'no wait, not even a promise, when all is synced');
    void commits.run(insert('a'));
    await syncs.asked(1);
    const seen = (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;
    const read = watch(Promise.resolve(commits.durable(seen)));
    await turn();
    assert.equal(read.settled, false);
    syncs.calls[0]!(null);
    assert.equal(await read.promise, 1);
  });

  test('a failed sync fails the writes and reads waiting on it, and every write and read after it', async () => {
    const write = commits.run(insert('a'));
    await syncs.asked(1);
    const read = Promise.resolve(commits.durable('x'));
    const queued = commits.run(insert('q'));
    syncs.calls[0]!(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const expected = (error: unknown) => error instanceof UnavailableError && /could not sync its write-ahead log to disk \(EIO\)/.test(error.message);
    await assert.rejects(write, expected);
    await assert.rejects(read, expected);
    await assert.rejects(queued, expected, 'a write asked for during the failed sync is refused, not left waiting');
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1, 'and was never committed');
    assert.equal(commits.broken, true);
    await assert.rejects(commits.run(insert('b')), expected);
    await assert.rejects(Promise.resolve(commits.durable('y')), expected);
    assert.equal(syncs.calls.length, 1, 'nothing is written after a failed sync');
  });

  test('settled waits for the sync in flight', async () => {
    void commits.run(insert('a'));
    await syncs.asked(1);
    const settled = watch(commits.settled());
    await turn();
    assert.equal(settled.settled, false);
    syncs.calls[0]!(null);
    await settled.promise;
  });
});

describe('SqliteTaskStore with synchronous=full', () => {
  let tmp: TempDir;
  let store: SqliteTaskStore | undefined;
  const realFdatasync = fs.fdatasync;
  /** fdatasync calls the store made, each held until the test lets it run. */
  let held: { fd: number; run: () => void; fail: (error: Error) => void }[];
  let arrived: (() => void) | undefined;

  beforeEach(() => {
    tmp = tempDir();
    held = [];
    // The real fdatasync, on the real WAL file, runs when the test lets it: nothing else can show what waits for it.
    (fs as { fdatasync: unknown }).fdatasync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      held.push({ fd, run: () => realFdatasync(fd, callback), fail: (error) => callback(error) });
      arrived?.();
    };
    syncBuiltinESMExports();
  });
  afterEach(async () => {
    while (held.length > 0) held.shift()!.run();
    (fs as { fdatasync: unknown }).fdatasync = realFdatasync;
    syncBuiltinESMExports();
    await store?.close();
    store = undefined;
    tmp.cleanup();
  });

  async function syncAsked(): Promise<{ fd: number; run: () => void; fail: (error: Error) => void }> {
    while (held.length === 0) await new Promise<void>((resolve) => (arrived = resolve));
    return held.shift()!;
  }

  test('a created task is acknowledged, and shown to readers, only after its WAL is synced to disk', async () => {
    const path = join(tmp.dir, 'durable.sqlite');
    store = await openStore(path, 'full');
    const open = store;
    const created = watch(seed(open, { id: 't1', at: T0 }));
    const sync = await syncAsked();
    assert.equal(fstatSync(sync.fd).ino, statSync(`${path}-wal`).ino, 'the file synced is the WAL');
    const read = watch(open.getTask(ALICE, 't1'));
    await turn();
    assert.equal(created.settled, false, 'not acknowledged before the sync');
    assert.equal(read.settled, false, 'not shown before the sync');
    sync.run();
    await created.promise;
    assert.equal((await read.promise)?.task.id, 't1');
  });

  test('a WAL sync that fails refuses the write, and the store turns not open (not ready) and answers nothing more', async () => {
    store = await openStore(join(tmp.dir, 'failing.sqlite'), 'full');
    const open = store;
    const created = seed(open, { id: 't1', at: T0 });
    (await syncAsked()).fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await assert.rejects(created, UnavailableError);
    assert.equal(open.isOpen, false);
    await assert.rejects(open.getTask(ALICE, 't1'), UnavailableError);
    await assert.rejects(seed(open, { id: 't2', at: T0 }), UnavailableError);
  });

  test('with synchronous=normal nothing waits for a sync', async () => {
    store = await openStore(join(tmp.dir, 'fast.sqlite'), 'normal');
    await seed(store, { id: 't1', at: T0 });
    assert.equal((await store.getTask(ALICE, 't1'))?.task.id, 't1');
    assert.equal(held.length, 0);
  });
});
