import assert from 'node:assert/strict';
import { InvalidParamsError } from '../../src/model/errors.js';
import { PATIENCE_MS } from '../support/patience.js';

/** Fails (instead of hanging the run) when `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms = PATIENCE_MS, label = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets every already-queued microtask and I/O callback run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Asserts that `fn` throws InvalidParamsError naming exactly `field`; returns the error for further checks. */
export function assertInvalidParams(fn: () => unknown, field: string): InvalidParamsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected InvalidParamsError for ${field}, but nothing was thrown`);
  assert.ok(caught instanceof InvalidParamsError, `expected InvalidParamsError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.equal(caught.details.field, field);
  assert.ok(caught.message.includes(field), `message "${caught.message}" should name ${field}`);
  return caught;
}

/** Every object key anywhere inside a JSON value. */
export function keysDeep(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysDeep(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      into.add(key);
      keysDeep(inner, into);
    }
  }
  return into;
}

/** What a peer receives: the value after a JSON round trip. */
export function overTheWire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
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
