import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, FlattenedSign, SignJWT } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { ConfigError } from '../config/load.js';
import type { AgentCardSignature } from '../protocol/card-signature.js';
import { cardSigningInput } from '../protocol/card-signature.js';

/** The JWS algorithm a private key signs with: one per key, so a verifier never has to guess. */
function algorithmOf(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const alg = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[details.namedCurve ?? ''];
      if (alg === undefined) throw new Error(`EC curve ${details.namedCurve ?? '(unknown)'} is not one JWS signs with (P-256, P-384, P-521)`);
      return alg;
    }
    case 'ed25519':
      return 'EdDSA';
    case 'rsa':
      if ((details.modulusLength ?? 0) < 2048) throw new Error(`an RSA key of ${details.modulusLength ?? 0} bits is too short (2048 or more)`);
      return 'RS256';
    default:
      throw new Error(`a ${key.asymmetricKeyType ?? 'symmetric'} key cannot sign agent cards (use EC P-256/384/521, Ed25519 or RSA)`);
  }
}

export interface CardSignerOptions {
  /** The `kid` to name (default: the key's own JWK `kid`, else its RFC 7638 thumbprint). */
  keyId?: string;
}

/**
 * Signs agent cards with one private key, and publishes its public half as a
 * JWK set. The key is read once, at start: replacing the Secret takes a
 * restart (a rolling one keeps every card verifiable, each pod serving a card
 * signed with the key it publishes).
 */
export class CardSigner {
  private constructor(
    private readonly key: KeyObject,
    readonly algorithm: string,
    readonly keyId: string,
    /** The public key as a JWK, with kid, alg and use. */
    readonly publicJwk: JWK,
  ) {}

  /** Reads a PEM (PKCS#8, SEC1 or PKCS#1) or JWK private key; anything unusable is a ConfigError naming `setting`. */
  static async fromFile(path: string, setting: string, options: CardSignerOptions = {}): Promise<CardSigner> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
    }
    let key: KeyObject;
    let ownKid: string | undefined;
    let algorithm: string;
    try {
      if (text.startsWith('{')) {
        const jwk = parseJwk(text);
        if (jwk.kty === 'oct') throw new Error('a symmetric (oct) key cannot sign a card others verify');
        if (typeof jwk.d !== 'string') throw new Error('the JWK holds no private part ("d")');
        key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
        ownKid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
      } else {
        key = createPrivateKey(text);
      }
      algorithm = algorithmOf(key);
    } catch (error) {
      throw new ConfigError(setting, path, `not a usable private key (PEM or JWK): ${error instanceof Error ? error.message : String(error)}`);
    }
    const { kty, crv, x, y, n, e } = createPublicKey(key).export({ format: 'jwk' });
    const bare: JWK = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined));
    const keyId = options.keyId ?? ownKid ?? (await calculateJwkThumbprint(bare, 'sha256'));
    return new CardSigner(key, algorithm, keyId, { ...bare, kid: keyId, alg: algorithm, use: 'sig' });
  }

  /** The JWK set published at /.well-known/jwks.json. */
  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /**
   * The card with one signature of ours in `signatures` (any it had are
   * replaced). `jku` names where our JWK set is published; a verifier should
   * still take the key from its own trust store, never from the card.
   */
  async sign(card: Readonly<Record<string, unknown>>, jku?: string): Promise<Record<string, unknown>> {
    const payload = new TextEncoder().encode(cardSigningInput(card));
    const jws = await new FlattenedSign(payload)
      .setProtectedHeader({ alg: this.algorithm, typ: 'JOSE', kid: this.keyId, ...(jku === undefined ? {} : { jku }) })
      .sign(this.key);
    const signature: AgentCardSignature = { protected: jws.protected!, signature: jws.signature };
    return { ...card, signatures: [signature] };
  }

  /** A JWT with these claims, signed with the same key (push deliveries carry one when PUSH_SIGN_DELIVERIES is on). */
  async signJwt(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: this.algorithm, typ: 'JWT', kid: this.keyId }).sign(this.key);
  }
}

/** The private JWK in `text`; a parse error never quotes it (V8's messages echo the text around the fault). */
function parseJwk(text: string): JWK {
  try {
    return JSON.parse(text) as JWK;
  } catch (error) {
    const at = error instanceof SyntaxError ? / at position \d+/.exec(error.message)?.[0] ?? '' : '';
    throw new Error(`it starts like a JWK but is not valid JSON${at}`);
  }
}
