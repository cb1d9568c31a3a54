import assert from 'node:assert/strict';
import { InvalidParamsError } from '../../src/model/errors.js';

/** Lets every already-queued microtask and I/O callback run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Asserts that `fn` throws InvalidParamsError naming exactly `field`; returns the error for further checks. */
export function assertThrowsInvalidParams(fn: () => unknown, field: string): InvalidParamsError {
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

export { deferred } from './wait.js';
export type { Deferred } from './wait.js';
