import { A2AClientError, A2ATimeoutError } from './errors.js';

/**
 * When and how often a failed call is tried again: exponential backoff with
 * jitter, bounded by a number of attempts and by the total time spent.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means never retry. */
  maxAttempts: number;
  /** The wait before the first retry, before jitter. */
  initialDelayMs: number;
  /** No wait (before jitter) grows beyond this. */
  maxDelayMs: number;
  /** Each wait is this many times the one before. */
  multiplier: number;
  /** 0..1: each wait is drawn uniformly from [wait × (1 − jitter), wait], so callers that failed together do not retry together. */
  jitter: number;
  /** No retry starts later than this after the call began (waits included). */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: 0.5,
  maxElapsedMs: 30_000,
});

export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY, maxAttempts: 1 });

/** Later layers override earlier ones; `false` anywhere turns retries off. */
export function resolveRetry(...layers: (Partial<RetryPolicy> | false | undefined)[]): RetryPolicy {
  let policy: RetryPolicy = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    if (layer === false) return { ...NO_RETRY };
    if (layer !== undefined) policy = { ...policy, ...definedOnly(layer) };
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError(`retry.maxAttempts must be a whole number ≥ 1, got ${policy.maxAttempts}`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) throw new RangeError(`retry.jitter must be between 0 and 1, got ${policy.jitter}`);
  for (const key of ['initialDelayMs', 'maxDelayMs', 'maxElapsedMs', 'multiplier'] as const) {
    if (!(policy[key] >= 0)) throw new RangeError(`retry.${key} must be ≥ 0, got ${policy[key]}`);
  }
  return policy;
}

function definedOnly(layer: Partial<RetryPolicy>): Partial<RetryPolicy> {
  return Object.fromEntries(Object.entries(layer).filter(([, value]) => value !== undefined)) as Partial<RetryPolicy>;
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (retry - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** JSON-RPC codes that say the request itself is wrong: sending it again cannot help. */
const CLIENT_ERROR_CODES: ReadonlySet<number> = new Set([
  -32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004, -32005, -32006, -32007, -32008, -32009,
]);
/** This project's "unavailable" server error: draining, or the task's owner is away. */
export const UNAVAILABLE_CODE = -32050;

/**
 * Whether a failed attempt may be tried again:
 * - no answer (connection refused or reset) and an attempt's own timeout: yes;
 * - the overall deadline, a stalled stream, the caller's abort, a malformed answer: no;
 * - an HTTP error without an A2A error: 5xx and 429 yes, every other status no;
 * - an A2A error: never for the request errors (-32700, -32600…-32602, -32001…-32009),
 *   always for -32050 (unavailable); any other code (-32603, other server-defined
 *   -320xx) only when the HTTP status marks it transient (5xx, 429).
 */
export function isRetryable(error: A2AClientError): boolean {
  switch (error.kind) {
    case 'connection':
      return true;
    case 'timeout':
      return error instanceof A2ATimeoutError && error.limit === 'call';
    case 'http':
      return transientStatus(error.httpStatus);
    case 'rpc':
      if (error.code !== undefined && CLIENT_ERROR_CODES.has(error.code)) return false;
      if (error.code === UNAVAILABLE_CODE) return true;
      return transientStatus(error.httpStatus);
    default:
      return false;
  }
}

function transientStatus(status: number | undefined): boolean {
  return status !== undefined && (status === 429 || (status >= 500 && status <= 599));
}

/** A Retry-After header: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface RetryEvent {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  error: A2AClientError;
  /** The wait before the next attempt. */
  delayMs: number;
}
