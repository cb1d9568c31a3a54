import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { FullState } from '../../src/store/full-store.js';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';

// The writes of one batch share a transaction; each is its own unit all the
// same: the batch is first tried whole, and run again write by write, each in
// a savepoint, only when one of them throws.

function database(): Database.Database {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  return db;
}

const keys = (db: Database.Database) => (db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((row) => row.k);

describe('group commit: the writes of one batch', () => {
  test('all succeed: each runs once, and each gets its own value', async () => {
    const db = database();
    const commits = new GroupCommit(db, new FullState());
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const runs = new Map<string, number>();
    const write = (k: string) =>
      commits.run(() => {
        runs.set(k, (runs.get(k) ?? 0) + 1);
        insert.run(k);
        return `stored ${k}`;
      });
    // Asked for in one turn: one batch.
    const values = await Promise.all(['a', 'b', 'c'].map(write));
    assert.deepEqual(values, ['stored a', 'stored b', 'stored c']);
    assert.deepEqual(Object.fromEntries(runs), { a: 1, b: 1, c: 1 });
    assert.deepEqual(keys(db), ['a', 'b', 'c']);
    db.close();
  });

  test('one throws after it wrote: it fails with its own error and leaves nothing; the others are stored once', async () => {
    const db = database();
    const commits = new GroupCommit(db, new FullState());
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const outcomes = await Promise.allSettled([
      commits.run(() => insert.run('a')),
      commits.run(() => {
        insert.run('b');
        insert.run('b-too');
        throw new Error('b failed after two of its statements');
      }),
      commits.run(() => {
        insert.run('c');
        return 'c stored';
      }),
      // A constraint the database enforces fails the same way: alone.
      commits.run(() => insert.run('a')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /b failed after two of its statements/);
    assert.equal((outcomes[2] as PromiseFulfilledResult<string>).value, 'c stored');
    assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(keys(db), ['a', 'c']);
    db.close();
  });

  test('the batch after a failed one is tried whole again', async () => {
    const db = database();
    const commits = new GroupCommit(db, new FullState());
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    await Promise.allSettled([commits.run(() => insert.run('x')), commits.run(() => insert.run('x'))]);
    let runs = 0;
    await Promise.all(
      ['y', 'z'].map((k) =>
        commits.run(() => {
          runs++;
          insert.run(k);
        }),
      ),
    );
    assert.equal(runs, 2, 'each write of the next batch ran once');
    assert.deepEqual(keys(db), ['x', 'y', 'z']);
    db.close();
  });
});
