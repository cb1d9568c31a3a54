// Credentials for tests: API-key directories laid out like a mounted Secret,
// and a local JWKS endpoint with keys made by jose, tokens signed by them.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

/** A fresh key that passes the length rule: 48 hex characters. */
export function newApiKey(): string {
  return randomBytes(24).toString('hex');
}

/** Headers for a 1.0 call with a bearer credential. */
export function bearer(credential: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'A2A-Version': '1.0', authorization: `Bearer ${credential}`, ...extra };
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newSigningKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export interface TokenOptions {
  issuer?: string;
  audience?: string;
  subject?: string;
  /** Seconds from now; negative for a token already expired. */
  expiresIn?: number;
  notBefore?: number;
  claims?: JWTPayload;
  alg?: string;
}

export const ISSUER = 'https://issuer.test.local';
export const AUDIENCE = 'kagent-a2a';

export async function signToken(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(options.claims ?? {}) })
    .setProtectedHeader({ alg: options.alg ?? String(key.publicJwk.alg), kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(options.subject ?? 'vapora')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(key.privateKey);
}

/** An unsigned token (`alg: none`): header and claims, an empty signature. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** A JWKS endpoint on loopback that counts its fetches and can be stopped. */
export class JwksServer {
  fetches = 0;
  /** Answer 503 to every fetch (still counted): an issuer having an outage. */
  failing = false;
  private server: Server | undefined;
  url = '';

  constructor(public keys: JWK[]) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.fetches++;
      if (this.failing) {
        res.writeHead(503).end();
        return;
      }
      if (req.url !== '/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
    return this;
  }

  /** Stops listening and drops kept-alive connections: the endpoint is gone. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
