import type { KeyObject } from 'node:crypto';
import { base64url, decodeProtectedHeader, flattenedVerify } from 'jose';
import type { CryptoKey, FlattenedJWSInput, JWK, JWSHeaderParameters } from 'jose';
import { UnavailableError } from '../../model/errors.js';
import { cardSigningInput } from '../../protocol/card-signature.js';
import { A2AClientError } from './errors.js';

/**
 * The key an agent's card must be signed with: a public key, a JWK, or a
 * function picking one by the signature's protected header (a JWK set, e.g.
 * jose's createLocalJWKSet or createRemoteJWKSet).
 */
export type TrustedCardKey =
  | KeyObject
  | CryptoKey
  | JWK
  | ((protectedHeader: JWSHeaderParameters, jws: FlattenedJWSInput) => Promise<KeyObject | CryptoKey> | KeyObject | CryptoKey);

/** Asymmetric algorithms only: never `none`, never an HMAC a public key could be fed to as a secret. */
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
/** A card listing more signatures than this is refused rather than checked one by one. */
const MAX_SIGNATURES = 8;

/**
 * Checks that a card carries at least one signature (A2A §8.4) that verifies
 * with `key` over the card's canonical form. The card's own `jku` is never
 * followed: trust comes from the key the caller configured. Throws an
 * A2AClientError of kind 'untrusted-card' saying what is wrong.
 */
export async function verifyCardSignature(card: unknown, key: TrustedCardKey, where = 'the agent'): Promise<void> {
  const refuse = (why: string): never => {
    throw new A2AClientError('untrusted-card', `the agent card of ${where} is refused: ${why}`);
  };
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return refuse('it is not a JSON object');
  const signatures = (card as Record<string, unknown>).signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) return refuse('it is not signed (no signatures), and a signature by the trusted key is required');
  if (signatures.length > MAX_SIGNATURES) return refuse(`it lists ${signatures.length} signatures; at most ${MAX_SIGNATURES} are checked`);
  let payload: string;
  try {
    payload = base64url.encode(cardSigningInput(card as Record<string, unknown>));
  } catch (error) {
    return refuse(`it has no canonical JSON form (${error instanceof Error ? error.message : String(error)})`);
  }
  const problems: string[] = [];
  for (const [i, entry] of signatures.entries()) {
    const problem = await checkOne(entry, payload, key);
    if (problem === undefined) return;
    problems.push(`signatures[${i}]: ${problem}`);
  }
  refuse(`no signature verifies with the trusted key (${problems.join('; ')})`);
}

async function checkOne(entry: unknown, payload: string, key: TrustedCardKey): Promise<string | undefined> {
  if (typeof entry !== 'object' || entry === null) return 'not an object';
  const { protected: header, signature, header: unprotected } = entry as Record<string, unknown>;
  if (typeof header !== 'string' || typeof signature !== 'string') return 'protected and signature must be strings';
  if (unprotected !== undefined && (typeof unprotected !== 'object' || unprotected === null || Array.isArray(unprotected))) return 'header must be an object';
  let alg: unknown;
  try {
    alg = decodeProtectedHeader({ protected: header, signature, payload }).alg;
  } catch {
    return 'the protected header is not base64url JSON';
  }
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) return `algorithm ${JSON.stringify(alg ?? null)} is not accepted`;
  const jws: FlattenedJWSInput = { protected: header, signature, payload, ...(unprotected === undefined ? {} : { header: unprotected as JWSHeaderParameters }) };
  try {
    if (typeof key === 'function') await flattenedVerify(jws, key, { algorithms: ALGORITHMS });
    else await flattenedVerify(jws, key, { algorithms: ALGORITHMS });
    return undefined;
  } catch (error) {
    if (error instanceof A2AClientError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'the signature does not match the card (altered, or signed by another key)';
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') return 'signed with a key the trusted key set does not hold';
    if (error instanceof UnavailableError) return 'the trusted key set cannot be fetched right now, so the card cannot be checked';
    return error instanceof Error ? error.message : String(error);
  }
}
