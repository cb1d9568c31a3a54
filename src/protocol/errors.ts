import { DomainError } from '../model/errors.js';
import { TASK_STATES } from '../model/model.js';
import type { TaskState } from '../model/model.js';

// The one place where errors become wire errors: one row per ErrorInfo reason,
// giving the JSON-RPC code, the HTTP status and the gRPC status name. The A2A
// errors follow the spec's mapping table (section 5.4), the request errors
// JSON-RPC 2.0; the codes -32050…-32053 are this server's own (JSON-RPC leaves
// -32000…-32099 to implementations), one per kind of refusal a caller may act on,
// and their reasons carry this agent's own ErrorInfo domain.

/** The google.rpc.Code names this agent answers with. */
export type GrpcStatus =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'UNIMPLEMENTED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** The ErrorInfo domain of A2A's own errors (and the JSON-RPC 2.0 ones every binding shares). */
export const ERROR_DOMAIN = 'a2a-protocol.org';
/** The ErrorInfo domain of this agent's own reasons: the A2A domain is the protocol's, not an implementation's. */
export const AGENT_ERROR_DOMAIN = 'kagent.dev';

/** How one reason is said in each binding, and whose reason it is. */
export interface WireCodes {
  readonly jsonRpc: number;
  readonly http: number;
  readonly grpc: GrpcStatus;
  readonly domain: typeof ERROR_DOMAIN | typeof AGENT_ERROR_DOMAIN;
}

/** A reason the A2A specification (or JSON-RPC 2.0) defines. */
const codes = (jsonRpc: number, http: number, grpc: GrpcStatus): WireCodes => ({ jsonRpc, http, grpc, domain: ERROR_DOMAIN });
/** A reason of this agent's own. */
const ours = (jsonRpc: number, http: number, grpc: GrpcStatus): WireCodes => ({ jsonRpc, http, grpc, domain: AGENT_ERROR_DOMAIN });

export const ERROR_TABLE = {
  // JSON-RPC 2.0 request errors, found before the request reaches the core.
  PARSE_ERROR: codes(-32700, 400, 'INVALID_ARGUMENT'),
  INVALID_REQUEST: codes(-32600, 400, 'INVALID_ARGUMENT'),
  PAYLOAD_TOO_LARGE: ours(-32600, 413, 'INVALID_ARGUMENT'),
  METHOD_NOT_FOUND: codes(-32601, 404, 'UNIMPLEMENTED'),
  /** An HTTP+JSON route asked with an HTTP method it does not take (its answer says which it does, in Allow). */
  HTTP_METHOD_NOT_ALLOWED: ours(-32601, 405, 'UNIMPLEMENTED'),
  INVALID_PARAMS: codes(-32602, 400, 'INVALID_ARGUMENT'),
  UNKNOWN_SKILL: ours(-32602, 400, 'INVALID_ARGUMENT'),
  INTERNAL: codes(-32603, 500, 'INTERNAL'),
  // The A2A errors (spec 5.4).
  TASK_NOT_FOUND: codes(-32001, 404, 'NOT_FOUND'),
  TASK_NOT_CANCELABLE: codes(-32002, 400, 'FAILED_PRECONDITION'),
  PUSH_NOTIFICATION_NOT_SUPPORTED: codes(-32003, 400, 'FAILED_PRECONDITION'),
  UNSUPPORTED_OPERATION: codes(-32004, 400, 'FAILED_PRECONDITION'),
  INVALID_STATE_TRANSITION: ours(-32004, 400, 'FAILED_PRECONDITION'),
  CONTENT_TYPE_NOT_SUPPORTED: codes(-32005, 400, 'INVALID_ARGUMENT'),
  // This agent never answers with the next three; its client reads them from peers.
  INVALID_AGENT_RESPONSE: codes(-32006, 500, 'INTERNAL'),
  EXTENDED_AGENT_CARD_NOT_CONFIGURED: codes(-32007, 400, 'FAILED_PRECONDITION'),
  EXTENSION_SUPPORT_REQUIRED: codes(-32008, 400, 'FAILED_PRECONDITION'),
  VERSION_NOT_SUPPORTED: codes(-32009, 400, 'FAILED_PRECONDITION'),
  // Retry later or elsewhere: draining, the task's owner is away, the store is full.
  UNAVAILABLE: ours(-32050, 503, 'UNAVAILABLE'),
  OWNER_UNAVAILABLE: ours(-32050, 503, 'UNAVAILABLE'),
  STORE_FULL: ours(-32050, 503, 'UNAVAILABLE'),
  // Refusals about the caller.
  UNAUTHENTICATED: ours(-32051, 401, 'UNAUTHENTICATED'),
  SKILL_NOT_ALLOWED: ours(-32052, 403, 'PERMISSION_DENIED'),
  TENANT_NOT_ALLOWED: ours(-32052, 403, 'PERMISSION_DENIED'),
  RATE_LIMITED: ours(-32053, 429, 'RESOURCE_EXHAUSTED'),
  TOO_MANY_TASKS: ours(-32053, 429, 'RESOURCE_EXHAUSTED'),
  TOO_MANY_STREAMS: ours(-32053, 429, 'RESOURCE_EXHAUSTED'),
} as const satisfies Record<string, WireCodes>;

export type WireReason = keyof typeof ERROR_TABLE;

/** The row for a reason, or undefined for one not in the table (a peer's reason is untrusted input). */
export function wireCodes(reason: string): WireCodes | undefined {
  return Object.hasOwn(ERROR_TABLE, reason) ? ERROR_TABLE[reason as WireReason] : undefined;
}


export interface WireError {
  /** JSON-RPC error code. */
  code: number;
  /** HTTP status for the HTTP+JSON binding and for transport-level refusals. */
  httpStatus: number;
  message: string;
  reason: string;
  details: Record<string, string>;
  /** For a validation error: the offending field. */
  field?: string;
  retryAfterSeconds?: number;
}

/** A protocol-level failure found before the request reaches the core. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly reason: WireReason,
    readonly details: Record<string, string> = {},
    /** An HTTP status other than the reason's row says, for a refusal HTTP itself names better (415). */
    private readonly httpStatusOverride?: number,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }

  get code(): number {
    return ERROR_TABLE[this.reason].jsonRpc;
  }

  get httpStatus(): number {
    return this.httpStatusOverride ?? ERROR_TABLE[this.reason].http;
  }
}

export const protocolErrors = {
  parse: (detail: string) => new ProtocolError(`Invalid JSON payload: ${detail}`, 'PARSE_ERROR'),
  invalidRequest: (detail: string) => new ProtocolError(`Invalid JSON-RPC request: ${detail}`, 'INVALID_REQUEST'),
  methodNotFound: (method: string, version: string) =>
    new ProtocolError(`Method not found: "${method}" is not an A2A ${version} method`, 'METHOD_NOT_FOUND', { method, version }),
  versionMissing: (method: string) =>
    new ProtocolError(
      `Method not found: "${method}" is an A2A 1.0 method, and a request without A2A-Version is read as 0.3; send the header "A2A-Version: 1.0" (or the query parameter ?A2A-Version=1.0)`,
      'METHOD_NOT_FOUND',
      { method, version: '0.3' },
    ),
  versionNotSupported: (requested: string, supported: readonly string[]) =>
    new ProtocolError(`A2A version "${requested}" is not supported; this agent speaks ${supported.join(' and ')}`, 'VERSION_NOT_SUPPORTED', {
      requestedVersion: requested,
      supportedVersions: supported.join(','),
    }),
  noRoute: (method: string, path: string) =>
    new ProtocolError(`No A2A route for ${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`, 'METHOD_NOT_FOUND', { method }),
  httpMethodNotAllowed: (method: string, allow: string) =>
    new ProtocolError(`This route does not take ${method}; use ${allow}`, 'HTTP_METHOD_NOT_ALLOWED', { method, allow }),
  // A body in a media type the binding does not read. HTTP names that 415 (RFC 9110 §15.5.16),
  // which the HTTP+JSON binding answers; JSON-RPC keeps its 200 with -32005.
  contentType: (received: string) =>
    new ProtocolError(`Content-Type "${received}" is not supported; send application/json`, 'CONTENT_TYPE_NOT_SUPPORTED', { contentType: received }, 415),
  bodyTooLarge: (limit: number) =>
    new ProtocolError(`Request body exceeds the limit of ${limit} bytes`, 'PAYLOAD_TOO_LARGE', { limitBytes: String(limit) }),
};

/**
 * An error another server of ours answered with (a replica that carried out a
 * relayed call), read back from its JSON-RPC error: the same reason, message,
 * details, field and retry delay, so that it is answered again unchanged in
 * whatever binding and version the caller speaks.
 */
export class ReportedError extends DomainError {
  constructor(
    readonly reason: string,
    message: string,
    details: Record<string, string>,
    override readonly field?: string,
    override readonly retryAfterSeconds?: number,
  ) {
    super(message, details);
  }
}

/**
 * Reads a JSON-RPC `error` back into a ReportedError. Its ErrorInfo gives the
 * reason (else the first A2A reason with its code); `stateOf` turns a state
 * named as the wire names it back into the model's name.
 */
export function fromJsonRpcError(error: unknown, stateOf: (wire: string) => TaskState | undefined): ReportedError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; data?: unknown };
  const details = Array.isArray(e.data) ? (e.data as Record<string, unknown>[]).filter((d) => typeof d === 'object' && d !== null) : [];
  const ofType = (suffix: string) => details.find((d) => typeof d['@type'] === 'string' && (d['@type'] as string).endsWith(suffix));
  const info = ofType('google.rpc.ErrorInfo');
  let reason = typeof info?.reason === 'string' && wireCodes(info.reason) !== undefined ? info.reason : undefined;
  reason ??= (Object.keys(ERROR_TABLE) as WireReason[]).find((r) => ERROR_TABLE[r].jsonRpc === e.code && ERROR_TABLE[r].domain === ERROR_DOMAIN) ?? 'INTERNAL';
  const metadata: Record<string, string> = {};
  if (typeof info?.metadata === 'object' && info.metadata !== null) {
    for (const [key, value] of Object.entries(info.metadata)) if (typeof value === 'string') metadata[key] = value;
  }
  if (metadata.state !== undefined) metadata.state = stateOf(metadata.state) ?? metadata.state;
  const violation = (ofType('google.rpc.BadRequest')?.fieldViolations as { field?: unknown }[] | undefined)?.[0]?.field;
  const delay = ofType('google.rpc.RetryInfo')?.retryDelay;
  const seconds = typeof delay === 'string' ? Number.parseFloat(delay) : Number.NaN;
  return new ReportedError(
    reason,
    typeof e.message === 'string' ? e.message : 'the replica answered with an error',
    metadata,
    typeof violation === 'string' ? violation : undefined,
    Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : undefined,
  );
}

const INTERNAL: WireError = { ...wireOf('INTERNAL'), message: 'Internal error', reason: 'INTERNAL', details: {} };

function wireOf(reason: WireReason): Pick<WireError, 'code' | 'httpStatus'> {
  const row = ERROR_TABLE[reason];
  return { code: row.jsonRpc, httpStatus: row.http };
}

/**
 * The wire error for any failure. With `stateName` (the answering version's
 * spelling of a task state), a `state` in the details is named as that
 * version names states on the wire, never by the model's internal name.
 */
export function toWireError(error: unknown, stateName?: (state: TaskState) => string): WireError {
  if (error instanceof ProtocolError) {
    return { ...wireOf(error.reason), httpStatus: error.httpStatus, message: error.message, reason: error.reason, details: error.details };
  }
  if (error instanceof DomainError) {
    const row = wireCodes(error.reason);
    if (row !== undefined) {
      const details = stateName === undefined ? error.details : withWireState(error.details, stateName);
      const wire: WireError = { code: row.jsonRpc, httpStatus: row.http, message: error.message, reason: error.reason, details };
      if (error.field !== undefined) wire.field = error.field;
      if (error.retryAfterSeconds !== undefined) wire.retryAfterSeconds = error.retryAfterSeconds;
      return wire;
    }
  }
  // Anything else is our bug: say so without leaking internals.
  return { ...INTERNAL, details: {} };
}

function withWireState(details: Record<string, string>, stateName: (state: TaskState) => string): Record<string, string> {
  const state = details.state;
  if (state === undefined || !(TASK_STATES as readonly string[]).includes(state)) return details;
  return { ...details, state: stateName(state as TaskState) };
}

/** `error.data` for JSON-RPC, `details` for google.rpc.Status: ErrorInfo, plus BadRequest for a bad field. */
export function errorDetails(wire: WireError): object[] {
  const details: object[] = [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: wire.reason, domain: wireCodes(wire.reason)?.domain ?? AGENT_ERROR_DOMAIN, metadata: wire.details },
  ];
  if (wire.field !== undefined) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field: wire.field, description: wire.message }],
    });
  }
  if (wire.retryAfterSeconds !== undefined) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${wire.retryAfterSeconds}s` });
  }
  return details;
}

export function jsonRpcError(wire: WireError): { code: number; message: string; data: object[] } {
  return { code: wire.code, message: wire.message, data: errorDetails(wire) };
}
