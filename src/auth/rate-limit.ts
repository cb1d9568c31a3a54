import { ConfigError } from '../config/load.js';

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/** `RATE_LIMIT`: `<n>/s|m|h[,burst=<n>]`, e.g. `20/s,burst=40`; the burst defaults to n. Empty: no limit. */
export function parseRateLimit(text: string, setting = 'RATE_LIMIT'): RateLimit | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)(?:\s*,\s*burst\s*=\s*(\d+))?$/.exec(value);
  if (match === null) throw new ConfigError(setting, 'settings', `"${text}" is not <n>/s, <n>/m or <n>/h with an optional ,burst=<n> (e.g. 20/s,burst=40)`);
  const count = Number(match[1]);
  if (count <= 0) throw new ConfigError(setting, 'settings', 'the rate must be above 0');
  const burst = match[3] === undefined ? Math.max(1, Math.ceil(count)) : Number(match[3]);
  if (burst < 1) throw new ConfigError(setting, 'settings', 'burst must be at least 1');
  return { perSecond: count / UNIT_SECONDS[match[2]!]!, burst };
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A token bucket per key (a principal, or a client address). The map is
 * bounded: when it is full, the least recently used buckets that have refilled
 * (the same as a new one) are dropped, else the least recently used one. Making
 * room looks only at the oldest end, so a flood of new keys costs constant
 * work per key, never a sweep of the whole map.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Whether `key` has a token left, without taking it (an unknown key has its full burst). */
  peek(key: string): Admission {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return { allowed: true };
    const tokens = this.refilled(bucket, this.now());
    return tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: this.retryAfter(tokens) };
  }

  take(key: string): Admission {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.makeRoom(now);
      bucket = { tokens: this.limit.burst, at: now };
    } else {
      this.buckets.delete(key);
      bucket.tokens = this.refilled(bucket, now);
      bucket.at = now;
    }
    // Re-inserted on every use: the map's order is least recently used first.
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: this.retryAfter(bucket.tokens) };
  }

  private refilled(bucket: Bucket, now: number): number {
    return Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
  }

  private retryAfter(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.limit.perSecond));
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    // Oldest first: idle buckets that have refilled are forgotten, stopping at the first still in use.
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now) < this.limit.burst) break;
      this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
