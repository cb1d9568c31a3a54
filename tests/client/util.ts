import assert from 'node:assert/strict';
import type { StreamItem } from '../../src/peers/client/index.js';
import { PATIENCE_MS } from '../support/patience.js';

/** Per-call limits for a test: a hang fails the call instead of blocking the run. */
export function within(ms = PATIENCE_MS): { deadlineMs: number } {
  return { deadlineMs: ms };
}

/** Reads a stream to its end, failing if it has not ended after `ms`. */
export async function collect<T>(items: AsyncIterable<T>, ms = PATIENCE_MS): Promise<T[]> {
  const all: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const reading = (async () => {
    for await (const item of items) all.push(item);
    return all;
  })();
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stream did not end within ${ms} ms; got ${all.length} items`)), ms);
  });
  try {
    return await Promise.race([reading, limit]);
  } finally {
    clearTimeout(timer);
  }
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
