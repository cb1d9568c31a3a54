import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError, UnavailableError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import { JwksCache } from './jwks-cache.js';
import { SecretFile } from './secret-file.js';
import type { SecretFileEvents } from './secret-file.js';
import { ConfigError } from '../config/load.js';

/** Asymmetric algorithms only: no `none`, and no HS* that would let a public key act as a shared secret. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface JwtSettings {
  issuer: string;
  audience: string;
  principalClaim: string;
  /** A claim naming the caller's tenant; without it every caller's tenant is ''. */
  tenantClaim?: string;
  clockSkewMs: number;
  /** The longest a token may still be valid for when it arrives: a stolen long-lived token is worth less. */
  maxLifetimeMs: number;
}

/** The categories a rejected token falls in: fixed words for the challenge, the log and the metric. */
export type JwtFailure =
  | 'expired'
  | 'not-yet-valid'
  | 'too-long-lived'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'bad-signature'
  | 'unknown-key'
  | 'algorithm'
  | 'malformed'
  | 'no-principal';

const DESCRIPTIONS: Readonly<Record<JwtFailure, string>> = {
  expired: 'the token has expired',
  'not-yet-valid': 'the token is not valid yet',
  'too-long-lived': 'the token stays valid for longer than this agent accepts',
  'wrong-issuer': 'the token is not from the issuer this agent trusts',
  'wrong-audience': 'the token is not meant for this agent',
  'bad-signature': 'the token signature does not verify',
  'unknown-key': 'the token is signed with a key this agent does not know',
  algorithm: 'the token signing algorithm is not accepted',
  malformed: 'the token is malformed or lacks a required claim',
  'no-principal': 'the token does not name its subject',
};

/** A token that was refused, with the category it fell in. */
export class JwtRejected extends UnauthenticatedError {
  constructor(readonly failure: JwtFailure) {
    super(`invalid token: ${DESCRIPTIONS[failure]}`, 'invalid_token');
  }
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Verifies bearer JWTs: signature against the configured keys, then iss, aud, exp and nbf with the allowed clock skew. */
export class JwtVerifier {
  constructor(
    private readonly key: JWTVerifyGetKey | KeyObject,
    private readonly settings: JwtSettings,
  ) {}

  async verify(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [...JWT_ALGORITHMS],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: Math.round(this.settings.clockSkewMs / 1000),
        requiredClaims: ['exp'],
      };
      const result = typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options);
      payload = result.payload;
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new JwtRejected(classify(error));
    }
    // exp is required above; a token that stays valid for years is refused, whatever its signer thought.
    if ((payload.exp ?? 0) * 1000 - Date.now() > this.settings.maxLifetimeMs + this.settings.clockSkewMs) throw new JwtRejected('too-long-lived');
    const principal = payload[this.settings.principalClaim];
    // Control characters have no place in a name that ends up in logs and the store (as for a proxy-named caller).
    if (typeof principal !== 'string' || principal === '' || principal.length > 512 || CONTROL.test(principal)) throw new JwtRejected('no-principal');
    let tenant = '';
    if (this.settings.tenantClaim !== undefined) {
      const claimed = payload[this.settings.tenantClaim];
      if (typeof claimed !== 'string' || claimed.length > 512 || CONTROL.test(claimed)) throw new JwtRejected('malformed');
      tenant = claimed;
    }
    return { tenant, principal, scopes: scopesOf(payload) };
  }
}

function classify(error: unknown): JwtFailure {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'not-yet-valid';
    if (error.claim === 'iss') return 'wrong-issuer';
    if (error.claim === 'aud') return 'wrong-audience';
    return 'malformed';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'unknown-key';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'algorithm';
  // A key of the wrong type for the token's algorithm (an RSA key named by an ES256 token).
  if (error instanceof TypeError) return 'algorithm';
  return 'malformed';
}

/** `scope` (space-separated, RFC 8693) and `scp` (an array, or a string in some issuers), together. */
function scopesOf(payload: JWTPayload): string[] {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') for (const scope of value.split(' ')) if (scope !== '') scopes.add(scope);
    if (Array.isArray(value)) for (const scope of value) if (typeof scope === 'string' && scope !== '') scopes.add(scope);
  };
  add(payload.scope);
  add(payload.scp);
  return [...scopes];
}

/** A key file's content: one public key, or a key set that picks by `kid`. */
export type VerificationKey = JWTVerifyGetKey | KeyObject;

/**
 * The verification key from a file: a PEM public key (or certificate), a JWK,
 * or a JWK set ({"keys": [...]}) whose entries are chosen by `kid`. A
 * symmetric key is refused: tokens are verified with public keys only. The
 * file is watched (start()): a rotated key is in force as soon as it is read,
 * and tokens signed by the key it replaced are refused from then on.
 */
export function keyFile(path: string, events: SecretFileEvents = {}, setting = 'AUTH_JWT_PUBLIC_KEY_FILE', pollMs?: number): SecretFile<VerificationKey> {
  return new SecretFile(path, setting, parseVerificationKey, events, pollMs);
}

/** A key file read once (keys fixed at start, such as a peer's card key): a ConfigError naming `setting` if it is unreadable or not a key. */
export function keyFromFile(path: string, setting: string): VerificationKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
  }
  try {
    return parseVerificationKey(text);
  } catch (error) {
    throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
  }
}

/** Asks whichever key the file holds now, so a JwtVerifier built once follows a rotation. */
export function currentKey(file: SecretFile<VerificationKey>): JWTVerifyGetKey {
  return (header, token) => {
    const key = file.current;
    return typeof key === 'function' ? key(header, token) : key;
  };
}

function parseVerificationKey(text: string): VerificationKey {
  try {
    if (text.startsWith('{')) {
      const doc = JSON.parse(text) as JSONWebKeySet | JWK;
      const keys = 'keys' in doc && Array.isArray(doc.keys) ? doc.keys : [doc as JWK];
      if (keys.length === 0) throw new Error('the key set is empty');
      if (keys.some((key) => key.kty === 'oct')) throw new Error('symmetric (oct) keys are not accepted; give public keys');
      // One JWK is the key, whatever kid a signature names (a JWK set picks by kid).
      if (!('keys' in doc)) return createPublicKey({ key: doc as JsonWebKey, format: 'jwk' });
      // Each key is imported now: a broken entry would otherwise surface only when a token names it.
      for (const key of keys) createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
      return createLocalJWKSet({ keys });
    }
    return createPublicKey(text);
  } catch (error) {
    throw new Error(`not a PEM public key, JWK or JWK set: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The JWKS endpoint's keys, cached (see JwksCache). */
export function keysFromUrl(url: string, options: { cooldownMs: number; maxAgeMs: number; onFetchError?: (error: unknown) => void }): JwksCache {
  return new JwksCache({ url: new URL(url), cooldownMs: options.cooldownMs, maxAgeMs: options.maxAgeMs, timeoutMs: 5000, onFetchError: options.onFetchError });
}
