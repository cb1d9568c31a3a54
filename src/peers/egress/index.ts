// The egress guard (SSRF): what kagent-a2a may call when the URL did not come
// from the operator. See guard.ts.

export { EgressGuard, EgressRefusedError, systemResolver } from './guard.js';
export type { EgressGuardOptions, GuardedFetchInit, GuardedFetchOptions, ResolvedAddress, Resolver } from './guard.js';
export { AllowList, AllowListError } from './allowlist.js';
export { REFUSAL_REASONS } from './addresses.js';
export type { RefusalReason } from './addresses.js';
