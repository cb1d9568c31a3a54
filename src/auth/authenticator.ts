import type { IncomingHttpHeaders } from 'node:http';
import { UnauthenticatedError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import { ANONYMOUS } from '../model/model.js';
import type { ApiKeyStore } from './api-keys.js';
import type { JwtVerifier } from './jwt.js';
import type { TrustedNetworks } from './trusted-proxy.js';
import { proxyIdentity, XFCC_HEADER } from './trusted-proxy.js';

export const AUTH_MODES = ['none', 'apikey', 'jwt', 'apikey+jwt', 'trusted-proxy'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const API_KEY_HEADER = 'x-api-key';

/** What the transport hands over: the request's headers and its TCP peer. */
export interface RequestFacts {
  headers: IncomingHttpHeaders;
  /** Each header's values, unjoined (Node's `headersDistinct`): a repeated identity header is refused. */
  headersDistinct: Record<string, string[] | undefined>;
  remoteAddress: string | undefined;
}

/**
 * One way a request may prove who sent it. `undefined` means "not my kind of
 * credential" and the next verifier is asked; a thrown UnauthenticatedError
 * ends the search. A pod-to-pod identity assertion (relayed requests) slots in
 * here, ahead of the others.
 */
export interface CredentialVerifier {
  verify(request: RequestFacts, credential: PresentedCredential | undefined): Promise<Caller | undefined>;
}

/** The credential a request carries in Authorization or X-API-Key, before it is checked. */
export type PresentedCredential = { kind: 'bearer'; value: string } | { kind: 'api-key'; value: string };

/** How the card declares what this mode enforces (version-free; the card module renders each version's shape). */
export type SecurityDeclaration =
  | { name: string; type: 'apiKey'; header: string; description: string }
  | { name: string; type: 'http'; scheme: 'Bearer'; bearerFormat?: string; description: string }
  | { name: string; type: 'mtls'; description: string };

const MISSING_CREDENTIAL = 'authentication required: send Authorization: Bearer <API key or token>';
const MISSING_PROXY_IDENTITY = 'authentication required: this agent accepts callers only through its authenticating proxy';

/**
 * Turns a request's headers and TCP peer into a Caller, or throws
 * UnauthenticatedError. In mode `none` every request is the anonymous caller.
 */
export class Authenticator {
  constructor(
    readonly mode: AuthMode,
    private readonly verifiers: readonly CredentialVerifier[],
    readonly declarations: readonly SecurityDeclaration[],
  ) {}

  static none(): Authenticator {
    return new Authenticator('none', [], []);
  }

  get enabled(): boolean {
    return this.mode !== 'none';
  }

  async authenticate(request: RequestFacts): Promise<Caller> {
    if (this.mode === 'none') return ANONYMOUS;
    // Behind a proxy, Authorization belongs to the proxy's scheme (Basic, or a token meant for the proxy): not ours to read.
    const credential = this.mode === 'trusted-proxy' ? undefined : presentedCredential(request);
    for (const verifier of this.verifiers) {
      const caller = await verifier.verify(request, credential);
      if (caller !== undefined) return caller;
    }
    if (this.mode === 'trusted-proxy') throw new UnauthenticatedError(MISSING_PROXY_IDENTITY);
    if (credential === undefined) throw new UnauthenticatedError(MISSING_CREDENTIAL);
    throw new UnauthenticatedError('the credential was not accepted', 'invalid_token');
  }
}

/**
 * Authorization: Bearer <credential>, or X-API-Key: <key>. Both at once, either
 * one repeated, or an Authorization header of another scheme, is refused as
 * ambiguous rather than resolved by a rule a caller might not expect.
 */
function presentedCredential(request: RequestFacts): PresentedCredential | undefined {
  // Node keeps the first of several Authorization headers and drops the rest; a proxy in front may have read another.
  const authorizations = request.headersDistinct.authorization;
  if (authorizations !== undefined && authorizations.length !== 1) throw new UnauthenticatedError('send exactly one Authorization header', 'invalid_request');
  const authorization = authorizations?.[0];
  const apiKeys = request.headersDistinct[API_KEY_HEADER];
  if (authorization !== undefined && apiKeys !== undefined) {
    throw new UnauthenticatedError('send one credential: Authorization or X-API-Key, not both', 'invalid_request');
  }
  if (apiKeys !== undefined) {
    if (apiKeys.length !== 1 || apiKeys[0]!.trim() === '') throw new UnauthenticatedError('send exactly one X-API-Key header', 'invalid_request');
    return { kind: 'api-key', value: apiKeys[0]!.trim() };
  }
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
  if (match === null) throw new UnauthenticatedError('the Authorization header must be "Bearer <API key or token>"', 'invalid_request');
  return { kind: 'bearer', value: match[1]! };
}

/** API keys from the mounted directory: a bearer credential or X-API-Key that matches one names its principal. */
export function apiKeyVerifier(keys: ApiKeyStore): CredentialVerifier {
  return {
    async verify(_request, credential) {
      if (credential === undefined) return undefined;
      const principal = keys.principalFor(credential.value);
      return principal === undefined ? undefined : { tenant: '', principal };
    },
  };
}

/** A bearer credential shaped like a JWT (three dot-separated parts) is verified as one; a bad token ends the search. */
export function jwtVerifier(jwt: JwtVerifier): CredentialVerifier {
  return {
    async verify(_request, credential) {
      if (credential?.kind !== 'bearer' || !/^[\w-]*\.[\w-]*\.[\w-]*$/.test(credential.value)) return undefined;
      return jwt.verify(credential.value);
    },
  };
}

/** Identity named by a header, believed only from a trusted proxy's address. */
export function trustedProxyVerifier(header: string, networks: TrustedNetworks): CredentialVerifier {
  return {
    async verify(request) {
      // From anywhere else the header is just text a caller typed.
      if (!networks.contains(request.remoteAddress)) return undefined;
      const principal = proxyIdentity(header, request.headersDistinct[header]);
      return principal === undefined ? undefined : { tenant: '', principal };
    },
  };
}

/** The schemes a mode declares on the card. */
export function declarationsFor(mode: AuthMode, proxyHeader: string): SecurityDeclaration[] {
  const apiKeyHeader: SecurityDeclaration = { name: 'apiKey', type: 'apiKey', header: 'X-API-Key', description: 'an API key issued by the operator' };
  switch (mode) {
    case 'none':
      return [];
    case 'apikey':
      return [{ name: 'bearer', type: 'http', scheme: 'Bearer', description: 'an API key issued by the operator, as a bearer token' }, apiKeyHeader];
    case 'jwt':
      return [{ name: 'bearer', type: 'http', scheme: 'Bearer', bearerFormat: 'JWT', description: 'an OAuth 2.0 / OIDC access token (JWT) from the trusted issuer' }];
    case 'apikey+jwt':
      return [{ name: 'bearer', type: 'http', scheme: 'Bearer', description: 'an access token (JWT) from the trusted issuer, or an API key issued by the operator' }, apiKeyHeader];
    case 'trusted-proxy':
      return proxyHeader === XFCC_HEADER
        ? [{ name: 'mtls', type: 'mtls', description: 'mutual TLS through the service mesh; the client certificate names the caller' }]
        : [{ name: 'bearer', type: 'http', scheme: 'Bearer', description: 'credentials checked by the authenticating proxy in front of this agent' }];
  }
}
