// Waiting in tests: on a condition or a promise, always with a deadline, so a
// test that waits for something that never happens fails (naming what it
// waited for) instead of hanging the run.
import { setTimeout as sleep } from 'node:timers/promises';
import { readAll as readWithin } from '../../src/testing/read-all.js';
import { PATIENCE_MS } from './patience.js';

/**
 * Polls `probe` until it returns a value other than undefined or false, and
 * returns that value; fails naming `what` after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = PATIENCE_MS,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Fails naming `what` instead of hanging when `promise` does not settle within `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads an async sequence to its end, failing after `ms` with what had arrived: a stream that never closes fails the test. */
export function readAll<T>(items: AsyncIterable<T>, what = 'the stream to end', ms = PATIENCE_MS): Promise<T[]> {
  return readWithin(items, ms, what);
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
