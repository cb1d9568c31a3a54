import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The checkpoint thread is a worker, and a worker loads the `--import` modules of its process
// again, those of the command line and those of NODE_OPTIONS alike: a skill installer or a
// tracer would run twice, the second time in a thread whose heap is held to 16 MB. Each child
// here preloads a module that notes the thread it runs on, starts a checkpointer and stops it:
// the stop returns once the worker has run its module (it answers the stop from there), and a
// worker's preloads run before its module, so a preload loaded there has noted it by then.
const CHECKPOINTER = JSON.stringify(fileURLToPath(new URL('../../src/store/sqlite/wal-checkpointer.js', import.meta.url)));

const SCRIPT = `
import Database from 'better-sqlite3';
import { WalCheckpointer } from ${CHECKPOINTER};
const [path] = process.argv.slice(1);
const db = new Database(path);
db.pragma('journal_mode = WAL');
const checkpointer = new WalCheckpointer(path, 'NORMAL', (message) => { throw new Error(message); });
await checkpointer.stop();
db.close();
`;

let dir: string;
let notes: string;
let preload: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kagent-checkpointer-'));
  notes = join(dir, 'threads');
  preload = join(dir, 'preload.mjs');
  writeFileSync(
    preload,
    `import { appendFileSync } from 'node:fs';\nimport { isMainThread } from 'node:worker_threads';\nappendFileSync(${JSON.stringify(notes)}, isMainThread ? 'main\\n' : 'worker\\n');\n`,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string>): Promise<string[]> {
  writeFileSync(notes, '');
  return new Promise((resolve, reject) => {
    const child = [...args, '--input-type=module', '-e', SCRIPT, join(dir, 'store.db')];
    execFile(process.execPath, child, { env: { ...process.env, ...env }, timeout: 60_000 }, (error) => {
      if (error) reject(error);
      else resolve(readFileSync(notes, 'utf8').trim().split('\n'));
    });
  });
}

test('the checkpoint thread does not load the modules the command line imports', async () => {
  assert.deepEqual(await run([`--import=${pathToFileURL(preload).href}`], {}), ['main']);
});

test('the checkpoint thread does not load the modules NODE_OPTIONS imports', async () => {
  assert.deepEqual(await run([], { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` }), ['main']);
});
