import { createLocalJWKSet, errors } from 'jose';
import type { FlattenedJWSInput, JWSHeaderParameters, JSONWebKeySet, CryptoKey } from 'jose';
import { UnavailableError } from '../model/errors.js';

export interface JwksCacheOptions {
  url: URL;
  /** Least time between two fetches, whatever their outcome: unknown `kid`s cannot make us hammer the endpoint. */
  cooldownMs: number;
  /** A key set older than this is refreshed in the background while it keeps serving. */
  maxAgeMs: number;
  timeoutMs: number;
  onFetchError?: (error: unknown) => void;
  onFetched?: (keys: number) => void;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

const RETRY_AFTER_SECONDS = 5;

/**
 * The signing keys of a JWKS URL, for jose's jwtVerify. Unlike jose's own
 * remote set, a key set once fetched keeps serving while the endpoint is
 * down (stale keys are refreshed in the background, never awaited), and the
 * minimum refetch interval counts failed fetches too. An unknown `kid` waits
 * for one refetch, at most once per cooldown.
 */
export class JwksCache {
  private local: LocalSet | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: JwksCacheOptions) {}

  /** Fetches now (deduplicated with a fetch in flight); never rejects: failures go to onFetchError. */
  refresh(): Promise<void> {
    this.pending ??= this.fetchKeys().finally(() => (this.pending = undefined));
    return this.pending;
  }

  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (this.local === undefined) {
      if (this.mayFetch()) await this.refresh();
      if (this.local === undefined) throw new UnavailableError('the token signing keys cannot be fetched right now; retry shortly', RETRY_AFTER_SECONDS);
    } else if (Date.now() - this.fetchedAt > this.options.maxAgeMs && this.mayFetch()) {
      void this.refresh();
    }
    try {
      return await this.local(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.mayFetch()) throw error;
      // A key the set does not have yet (a rotation): look once more.
      await this.refresh();
      return this.local(header, token);
    }
  };

  private mayFetch(): boolean {
    return Date.now() - this.attemptedAt >= this.options.cooldownMs;
  }

  private async fetchKeys(): Promise<void> {
    this.attemptedAt = Date.now();
    try {
      const res = await fetch(this.options.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`the JWKS endpoint answered HTTP ${res.status}`);
      }
      const body = (await res.json()) as JSONWebKeySet;
      const local = createLocalJWKSet(body);
      this.local = local;
      this.fetchedAt = Date.now();
      this.options.onFetched?.(Array.isArray(body.keys) ? body.keys.length : 0);
    } catch (error) {
      this.options.onFetchError?.(error);
    }
  }
}
