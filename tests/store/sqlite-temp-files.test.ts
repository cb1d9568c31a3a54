// The SQLite store keeps its temporary data in memory: the undo journal of the
// savepoint each write of a batch runs in (when one write of the batch fails,
// the batch runs again a savepoint each) would otherwise spill to a temporary
// file past 64 KiB, created, written a page per system call and deleted on
// every such batch. SQLite makes those files in SQLITE_TMPDIR, which it reads
// once per process at its first temporary file: each test file runs in a
// process of its own, and this one points it at a directory it watches before
// any store opens.
import assert from 'node:assert/strict';
import { watch, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { T0, agentMessage, openStore, seed, status, tempDir } from './fixtures.js';
import { waitFor } from '../support/wait.js';

const sqliteTmp = tempDir('kagent-a2a-sqlite-tmpdir-');
process.env.SQLITE_TMPDIR = sqliteTmp.dir;
const data = tempDir();
const seen: string[] = [];
const watcher = watch(sqliteTmp.dir, (event, name) => seen.push(`${event} ${name ?? '?'}`));
after(() => {
  watcher.close();
  sqliteTmp.cleanup();
  data.cleanup();
});

test('a busy batch of writes (each in its savepoint, all in one transaction) makes no temporary file', async () => {
  const store = await openStore(join(data.dir, 'tasks.sqlite'), 'full');
  try {
    const ids = Array.from({ length: 300 }, (_, i) => `kagent-0.temp-${i}`);
    // Asked in one turn: one transaction, with a page or more of new rows per write.
    // One write of each batch fails (a taken request key, a task that is not there), so the batch runs a savepoint per write.
    const created = await Promise.allSettled([
      ...ids.map((id, i) => seed(store, { id, at: T0 + i, requestKey: `rk-${i}` })),
      seed(store, { id: 'kagent-0.temp-twin', at: T0, requestKey: 'rk-0' }),
    ]);
    assert.deepEqual(
      created.map((o) => o.status),
      [...ids.map(() => 'fulfilled'), 'rejected'],
    );
    const text = 'x'.repeat(3000);
    const run = (id: string, i: number) =>
      store.applyRunChanges(
        id,
        `ctx-${id}`,
        [
          { kind: 'status', status: status('working', T0 + 1000 + i) },
          { kind: 'artifact', artifact: { artifactId: 'a', parts: [{ kind: 'text', text }] }, append: false, lastChunk: true },
          { kind: 'status', status: status('completed', T0 + 2000 + i, agentMessage(`done-${id}`, text)) },
        ],
        0,
      );
    const ran = await Promise.allSettled([...ids.map(run), run('kagent-0.temp-absent', 0)]);
    assert.deepEqual(
      ran.map((o) => o.status),
      [...ids.map(() => 'fulfilled'), 'rejected'],
    );
  } finally {
    await store.close();
  }
  // The watcher reports in order: once a file of ours shows, anything SQLite made before it has shown too.
  const marker = join(sqliteTmp.dir, 'marker');
  writeFileSync(marker, '');
  unlinkSync(marker);
  await waitFor('the marker file to be seen', () => seen.some((event) => event.endsWith(' marker')));
  assert.deepEqual(
    seen.filter((event) => !event.endsWith(' marker')),
    [],
    'SQLite made temporary files',
  );
});
