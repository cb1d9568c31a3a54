import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator, RequestFacts } from '../auth/authenticator.js';
import type { FailedAuthLimit } from '../auth/failed-auth-limit.js';
import { JwtRejected } from '../auth/jwt.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import type { StaticToken } from '../auth/static-token.js';
import { LimitExceededError, UnauthenticatedError, UnavailableError } from '../model/errors.js';
import { ANONYMOUS } from '../model/model.js';
import type { Caller } from '../model/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ERROR_TABLE, toWireError, jsonRpcError } from '../protocol/errors.js';
import type { WireError } from '../protocol/errors.js';
import { errorEnvelope } from '../protocol/jsonrpc.js';
import { drainUnreadBody } from './drain-body.js';
import { sendJsonText } from './send-json.js';

export interface AuthGateOptions {
  authenticator: Authenticator;
  rateLimiter?: RateLimiter;
  /** Failed authentications per client address; an address past it is refused before its credential is read. */
  failedAuthLimit?: FailedAuthLimit;
  /** When set, /metrics needs `Authorization: Bearer <this token>`. */
  metricsToken?: StaticToken;
  /** How much of a refused request's body is read and dropped before the connection is closed instead. */
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
}

const REALM = 'kagent';

/**
 * The door of every route that needs a caller: authenticates from the
 * headers alone (a refused request's body is never parsed), then applies the
 * caller's request rate. Refusals are answered here — 401 with a
 * WWW-Authenticate challenge, 429 with Retry-After — as JSON-RPC error
 * envelopes, never inside a 200.
 */
export class AuthGate {
  constructor(private readonly options: AuthGateOptions) {}

  get enabled(): boolean {
    return this.options.authenticator.enabled;
  }

  /**
   * The caller, or undefined once the refusal has been answered; `errorBody`
   * words a refusal in the binding's own error shape (a JSON-RPC envelope
   * unless told otherwise). Without authentication and a rate limit every
   * caller is the anonymous one, answered at once: no promise on the path of
   * every call.
   */
  admit(req: IncomingMessage, res: ServerResponse, errorBody: (wire: WireError) => string = jsonRpcRefusal): Caller | Promise<Caller | undefined> {
    if (!this.enabled && this.options.rateLimiter === undefined) return ANONYMOUS;
    return this.checked(req, res, errorBody);
  }

  private async checked(req: IncomingMessage, res: ServerResponse, errorBody: (wire: WireError) => string): Promise<Caller | undefined> {
    try {
      return await this.authorize(requestFacts(req), req.url);
    } catch (error) {
      this.refuse(req, res, error, errorBody);
      return undefined;
    }
  }

  /**
   * The caller of a request with these facts (headers, or gRPC metadata read
   * as headers), or the refusal to answer it with, thrown once counted and
   * logged: every binding admits its callers through this one door.
   */
  async authorize(facts: RequestFacts, where: string | undefined): Promise<Caller> {
    // Without authentication nothing here can be guessed: an address blocked for wrong metrics tokens still calls A2A.
    const blocked = this.enabled ? this.blockedAddress(facts) : undefined;
    if (blocked !== undefined) throw blocked;
    let caller: Caller;
    try {
      caller = await this.options.authenticator.authenticate(facts);
    } catch (error) {
      const refusal = error instanceof UnauthenticatedError ? (this.countFailure(facts) ?? error) : error;
      this.record(refusal, facts, where);
      throw refusal;
    }
    const limiter = this.options.rateLimiter;
    if (limiter !== undefined) {
      const admission = limiter.take(`${caller.tenant}\u0000${caller.principal}`);
      if (!admission.allowed) {
        this.options.metrics.limited.inc({ limit: 'rate' });
        throw new LimitExceededError('RATE_LIMITED', 'too many requests from this caller; retry after the delay', admission.retryAfterSeconds);
      }
    }
    return caller;
  }

  /** Whether /metrics may be read; answers itself when not (401, or 429 for an address past its failed authentications). */
  metricsAllowed(req: IncomingMessage, res: ServerResponse): boolean {
    const token = this.options.metricsToken;
    if (token === undefined) return true;
    const facts = requestFacts(req);
    let limited = this.blockedAddress(facts);
    if (limited === undefined) {
      // One Authorization header only: of several, Node would keep the first, whichever a proxy in front had read.
      const authorizations = req.headersDistinct.authorization;
      if (authorizations?.length === 1 && token.matches(authorizations[0])) return true;
      this.options.metrics.authFailures.inc({ reason: 'metrics-token' });
      limited = this.countFailure(facts);
    }
    req.resume();
    if (limited !== undefined) {
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limited.retryAfterSeconds) })
        .end(JSON.stringify({ error: limited.message }));
      return false;
    }
    res
      .writeHead(ERROR_TABLE.UNAUTHENTICATED.http, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${REALM}-metrics"` })
      .end(JSON.stringify({ error: 'this endpoint needs Authorization: Bearer <metrics token>' }));
    return false;
  }

  /** The refusal for an address that has used up its failed authentications, before its credential is looked at. */
  private blockedAddress(facts: RequestFacts): LimitExceededError | undefined {
    const admission = this.options.failedAuthLimit?.admit(facts);
    if (admission === undefined || admission.allowed) return undefined;
    this.options.metrics.limited.inc({ limit: 'unauthenticated' });
    return tooManyFailures(admission.retryAfterSeconds);
  }

  /** Counts a failed authentication; the refusal to send instead of the 401 when it was one too many. */
  private countFailure(facts: RequestFacts): LimitExceededError | undefined {
    const admission = this.options.failedAuthLimit?.failed(facts);
    if (admission === undefined || admission.allowed) return undefined;
    this.options.metrics.limited.inc({ limit: 'unauthenticated' });
    this.options.logger.warn({ remote: facts.remoteAddress }, 'too many failed authentications from one address: refusing it for a while');
    return tooManyFailures(admission.retryAfterSeconds);
  }

  /** Counts and logs a refused authentication: who was refused and why in words, never the credential. */
  private record(error: unknown, facts: RequestFacts, where: string | undefined): void {
    if (error instanceof UnauthenticatedError) {
      const reason = error instanceof JwtRejected ? error.failure : error.tokenError === undefined ? 'missing' : error.tokenError === 'invalid_request' ? 'malformed' : 'rejected';
      this.options.metrics.authFailures.inc({ reason });
      this.options.logger.info({ remote: facts.remoteAddress, path: where, reason }, 'request not authenticated');
    } else if (error instanceof UnavailableError) {
      // The signing keys could not be fetched, or a replica has more relayed assertions in flight than it remembers: the error says which.
      this.options.logger.warn({ remote: facts.remoteAddress, reason: error.message }, 'a credential could not be checked now; the caller was asked to retry');
    } else if (!(error instanceof LimitExceededError)) {
      this.options.logger.error({ err: error, path: where }, 'authentication failed unexpectedly');
    }
  }

  private refuse(req: IncomingMessage, res: ServerResponse, error: unknown, errorBody: (wire: WireError) => string): void {
    const wire = toWireError(error);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (error instanceof UnauthenticatedError) headers['www-authenticate'] = challenge(error);
    if (wire.retryAfterSeconds !== undefined) headers['retry-after'] = String(wire.retryAfterSeconds);
    sendJsonText(res, wire.httpStatus, headers, errorBody(wire));
    drainUnreadBody(req, res, this.options.maxBodyBytes);
  }
}

function jsonRpcRefusal(wire: WireError): string {
  return errorEnvelope(null, jsonRpcError(wire));
}

function requestFacts(req: IncomingMessage): RequestFacts {
  return new HttpRequestFacts(req);
}

/**
 * Read when a verifier asks: Node builds `headersDistinct` anew for every request, and most verifiers need neither.
 * A class, so that the getters live on one prototype: an object literal's getters would keep the request alive
 * through young collections (see HttpCallContext in owner-routing.ts).
 */
class HttpRequestFacts implements RequestFacts {
  readonly headers: IncomingHttpHeaders;

  constructor(private readonly req: IncomingMessage) {
    this.headers = req.headers;
  }

  get headersDistinct(): Record<string, string[] | undefined> {
    return this.req.headersDistinct;
  }

  get remoteAddress(): string | undefined {
    return this.req.socket.remoteAddress;
  }
}

function tooManyFailures(retryAfterSeconds: number): LimitExceededError {
  // Says nothing about the credential: the answer is the same whether the next guess would have been right.
  return new LimitExceededError('RATE_LIMITED', 'too many requests that failed authentication from this address; retry after the delay', retryAfterSeconds);
}

/** RFC 6750: the realm, and for a refused credential its error code and a fixed description. */
function challenge(error: UnauthenticatedError): string {
  if (error.tokenError === undefined) return `Bearer realm="${REALM}"`;
  return `Bearer realm="${REALM}", error="${error.tokenError}", error_description="${error.message.replace(/["\\]/g, '')}"`;
}
