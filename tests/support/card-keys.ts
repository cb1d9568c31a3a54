import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64url, flattenedVerify } from 'jose';
import type { JWK } from 'jose';

/** A card signing key pair written to `dir`: the private half as PEM (or JWK), the public half as a JWK file. */
export interface CardKeyFiles {
  privateFile: string;
  publicFile: string;
  publicKey: KeyObject;
  publicJwk: JWK;
}

export function writeCardKey(dir: string, name: string, kind: 'ec' | 'ed25519' | 'rsa', format: 'pem' | 'jwk' = 'pem', extra: Partial<JWK> = {}): CardKeyFiles {
  const pair =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  const privateFile = join(dir, `${name}.${format === 'pem' ? 'pem' : 'jwk'}`);
  writeFileSync(
    privateFile,
    format === 'pem' ? pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) : JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), ...extra }),
  );
  const publicJwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const publicFile = join(dir, `${name}.public.jwk`);
  writeFileSync(publicFile, JSON.stringify(publicJwk));
  return { privateFile, publicFile, publicKey: pair.publicKey, publicJwk };
}

/**
 * The signed bytes computed independently of the service's canonicalizer:
 * empty members dropped, `signatures` left out, keys sorted by JSON.stringify
 * through a replacer (card member names are never integer-like, whose order
 * JavaScript objects would not keep).
 */
export function independentSigningInput(card: Record<string, unknown>): string {
  const { signatures: _ignored, ...rest } = card;
  const clean = (value: unknown): unknown => {
    if (value === null || value === '' || value === undefined) return undefined;
    if (Array.isArray(value)) {
      const kept = value.map(clean).filter((v) => v !== undefined);
      return kept.length === 0 ? undefined : kept;
    }
    if (typeof value === 'object') {
      const kept = Object.entries(value as object)
        .map(([k, v]) => [k, clean(v)] as const)
        .filter(([, v]) => v !== undefined);
      return kept.length === 0 ? undefined : Object.fromEntries(kept);
    }
    return value;
  };
  return JSON.stringify(clean(rest), (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value,
  );
}

/** Verifies a card's first signature with plain jose over the independently computed input; throws when it does not verify. */
export async function joseVerifyCard(card: Record<string, unknown>, key: KeyObject): Promise<{ alg: string; kid?: string; typ?: string; jku?: string }> {
  const [entry] = card.signatures as { protected: string; signature: string }[];
  const result = await flattenedVerify({ ...entry!, payload: base64url.encode(independentSigningInput(card)) }, key);
  return result.protectedHeader as { alg: string; kid?: string; typ?: string; jku?: string };
}
