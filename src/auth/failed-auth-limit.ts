import type { RequestFacts } from './authenticator.js';
import { addressKey, clientAddress } from './client-address.js';
import type { Admission, RateLimiter } from './rate-limit.js';
import type { TrustedNetworks } from './trusted-proxy.js';

/**
 * A token bucket per client address over the requests that fail
 * authentication: a credential-guessing flood empties its address's bucket
 * and is then refused before any credential is checked, so guessing gets no
 * answer at all until the bucket refills. Requests that authenticate take no
 * token. The address is the TCP peer, or the client a trusted proxy names
 * (clientAddress).
 */
export class FailedAuthLimit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly trustedProxies: TrustedNetworks,
  ) {}

  /** Before authenticating: whether this client's address may try at all. */
  admit(request: RequestFacts): Admission {
    return this.limiter.peek(this.keyOf(request));
  }

  /** After a refused request: counts it; not allowed when this refusal was already one too many. */
  failed(request: RequestFacts): Admission {
    return this.limiter.take(this.keyOf(request));
  }

  /** Addresses tracked now (bounded by the limiter). */
  get size(): number {
    return this.limiter.size;
  }

  private keyOf(request: RequestFacts): string {
    return addressKey(clientAddress(request, this.trustedProxies));
  }
}
