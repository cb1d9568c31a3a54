import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startService } from '../support/service-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Before this was checked, a sweep interval of 25d started a service that swept
// the store every millisecond (and printed a TimeoutOverflowWarning each time).
test('a service given an interval longer than a timer can wait refuses to start, naming the setting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-durations-'));
  dirs.push(dir);
  let failure: Error | undefined;
  try {
    const started = await startService(dir, { RETENTION_SWEEP_INTERVAL: '25d' });
    await started.dispose();
  } catch (error) {
    failure = error as Error;
  }
  assert.ok(failure !== undefined, 'the service started');
  assert.match(failure.message, /exited before it was ready/);
  assert.match(failure.message, /invalid setting RETENTION_SWEEP_INTERVAL \(from environment\): 25d is longer than the maximum/);
});
