import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { UnauthenticatedError, UnavailableError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import type { CredentialVerifier } from './authenticator.js';

/**
 * The header a replica uses to tell the owner of a task who the caller is.
 * The caller's own credential never travels to another pod: the entry pod
 * authenticated it, and vouches for the result with a MAC over a secret the
 * StatefulSet's pods share.
 */
export const CALLER_ASSERTION_HEADER = 'x-kagent-caller';

const VERSION = 'v1';
/** Long enough for a request to cross the cluster, short enough that a copied header is soon worthless. */
const LIFETIME_MS = 30_000;
/** A signer's clock may run this far ahead of ours; an expiry further out is refused (and would pin its nonce). */
const MAX_CLOCK_AHEAD_MS = 30_000;
/**
 * Nonces remembered at once. Each assertion is used once, so this is the
 * relayed requests a pod can take within one lifetime (30 s): about 3,300 a
 * second. Past it, assertions are refused rather than remembered less.
 */
const MAX_REMEMBERED_NONCES = 100_000;
const MIN_SECRET_BYTES = 32;
const MAX_HEADER_LENGTH = 8192;

interface Claims {
  /** Tenant, principal and scopes of the authenticated caller. */
  t: string;
  p: string;
  s?: readonly string[];
  /** The pod the assertion is for: it is refused anywhere else. */
  aud: string;
  exp: number;
  /** Random: makes each assertion unique, so the receiving pod can refuse one it has seen. */
  n: string;
}

/**
 * Signs and checks caller assertions between the replicas of one StatefulSet.
 * An assertion is good for one request: the receiving pod remembers each
 * nonce until its assertion expires and refuses it a second time, so a header
 * copied off the pod network cannot be replayed.
 */
export class ClusterAssertion {
  /** Nonce → expiry of the assertion it came in, oldest first. */
  private readonly seen = new Map<string, number>();

  /** `secrets[0]` signs; every one of them verifies. */
  private constructor(
    private readonly secrets: readonly Buffer[],
    private readonly maxNonces = MAX_REMEMBERED_NONCES,
  ) {}

  /**
   * The secrets in a file, one per line. The first signs and every one
   * verifies, so a secret is rotated without refusing relays between pods of
   * the old and the new rollout: add the new one second, roll out; move it
   * first, roll out; drop the old one, roll out.
   */
  static fromFile(path: string, setting: string, maxNonces = MAX_REMEMBERED_NONCES): ClusterAssertion {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
    }
    const secrets = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
    if (secrets.length === 0) throw new ConfigError(setting, path, 'the file holds no secret');
    secrets.forEach((secret, i) => {
      if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new ConfigError(setting, path, `the shared secret on line ${i + 1} must be at least ${MIN_SECRET_BYTES} bytes`);
    });
    return new ClusterAssertion(secrets.map((secret) => Buffer.from(secret, 'utf8')), maxNonces);
  }

  /** An assertion that `caller` was authenticated, valid for `pod` only, for a short while. */
  sign(caller: Caller, pod: string, now = Date.now()): string {
    const claims: Claims = { t: caller.tenant, p: caller.principal, aud: pod, exp: now + LIFETIME_MS, n: randomBytes(16).toString('base64url') };
    if (caller.scopes !== undefined && caller.scopes.length > 0) claims.s = caller.scopes;
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return `${VERSION}.${payload}.${this.mac(payload, this.secrets[0]!)}`;
  }

  /** The caller an assertion names, if it is ours, for this pod, not expired and not seen before; otherwise UnauthenticatedError. */
  verify(value: string, self: string, now = Date.now()): Caller {
    const parts = value.length <= MAX_HEADER_LENGTH ? value.split('.') : [];
    if (parts.length !== 3 || parts[0] !== VERSION) throw refused();
    const [, payload, mac] = parts as [string, string, string];
    const given = Buffer.from(mac, 'base64url');
    // Every secret is tried, so the time taken does not tell which one matched.
    let matched = false;
    for (const secret of this.secrets) {
      const expected = Buffer.from(this.mac(payload, secret), 'base64url');
      if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
    }
    if (!matched) throw refused();
    const claims = parseClaims(payload);
    if (claims === undefined || claims.aud !== self || claims.exp < now || claims.exp > now + LIFETIME_MS + MAX_CLOCK_AHEAD_MS) throw refused();
    // Remembered only once everything else holds: a forged header cannot fill the cache.
    this.remember(claims.n, claims.exp, now);
    const caller: Caller = { tenant: claims.t, principal: claims.p };
    return claims.s === undefined ? caller : { ...caller, scopes: claims.s };
  }

  /** Records a nonce until its assertion expires; refuses one already seen, and asks for a retry when no more fit. */
  private remember(nonce: string, exp: number, now: number): void {
    for (const [old, expiry] of this.seen) {
      // Expiries arrive nearly in order (each pod signs now + the lifetime); one out of order lingers briefly, still bounded.
      if (expiry >= now) break;
      this.seen.delete(old);
    }
    const expiry = this.seen.get(nonce);
    if (expiry !== undefined && expiry >= now) throw refused();
    // One entry out of order stops the cheap sweep above; before refusing, clear every expired one.
    if (this.seen.size >= this.maxNonces) for (const [old, expiry] of this.seen) if (expiry < now) this.seen.delete(old);
    // Forgetting a live nonce would reopen its replay: ask for a retry instead (503, relayed to the caller).
    if (this.seen.size >= this.maxNonces) throw new UnavailableError('this replica is checking too many relayed requests at once; retry shortly', 1);
    this.seen.set(nonce, exp);
  }

  private mac(payload: string, secret: Buffer): string {
    return createHmac('sha256', secret).update(`${VERSION}.${payload}`).digest('base64url');
  }
}

/**
 * Believes a relayed caller only with a valid assertion. A request that carries
 * the header but fails the check is refused outright — it never falls through
 * to the other verifiers, so a caller who sets the header from outside gains
 * nothing. Without a shared secret the header is refused whenever it appears.
 */
export function clusterAssertionVerifier(assertion: ClusterAssertion | undefined, self: string): CredentialVerifier {
  return {
    async verify(request) {
      const values = request.headersDistinct[CALLER_ASSERTION_HEADER];
      if (values === undefined) return undefined;
      if (assertion === undefined || values.length !== 1) throw refused();
      return assertion.verify(values[0]!, self);
    },
  };
}

function refused(): UnauthenticatedError {
  return new UnauthenticatedError('the relayed caller assertion was not accepted', 'invalid_token');
}

function parseClaims(payload: string): Claims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.t !== 'string' || typeof c.p !== 'string' || typeof c.aud !== 'string' || typeof c.exp !== 'number' || c.p === '') return undefined;
  if (typeof c.n !== 'string' || c.n.length < 11 || c.n.length > 64) return undefined;
  if (c.s !== undefined && !(Array.isArray(c.s) && c.s.every((s) => typeof s === 'string'))) return undefined;
  return { t: c.t, p: c.p, aud: c.aud, exp: c.exp, n: c.n, ...(c.s === undefined ? {} : { s: c.s as string[] }) };
}
