import assert from 'node:assert/strict';
import type { StreamItem } from '../../../src/peers/client/index.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { readAll } from '../../support/wait.js';

/** Per-call limits for a test: a hang fails the call instead of blocking the run. */
export function callDeadline(ms = PATIENCE_MS): { deadlineMs: number } {
  return { deadlineMs: ms };
}

/** Reads a stream to its end, failing if it has not ended after `ms`. */
export function collect<T>(items: AsyncIterable<T>, ms = PATIENCE_MS): Promise<T[]> {
  return readAll(items, 'the stream to end', ms);
}

/** One line per stream item: kind plus state or artifact id, for order assertions. */
export function describeItem(item: StreamItem): string {
  switch (item.kind) {
    case 'task':
      return `task:${item.task.status.state}`;
    case 'message':
      return 'message';
    case 'status-update':
      return `status:${item.status.state}`;
    case 'artifact-update':
      return `artifact:${item.artifact.artifactId}`;
  }
}

/** Runs `action`, which must fail; returns its error. */
export async function rejection(action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}
