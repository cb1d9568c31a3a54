import {
  ConcurrentUpdateError,
  ContentTypeNotSupportedError,
  DomainError,
  ExtendedAgentCardNotConfiguredError,
  InvalidParamsError,
  InvalidStateTransitionError,
  LimitExceededError,
  OwnerUnavailableError,
  PushNotificationNotSupportedError,
  StoreFullError,
  TaskNotCancelableError,
  TaskNotFoundError,
  SkillNotAllowedError,
  UnauthenticatedError,
  UnavailableError,
  UnknownSkillError,
  UnsupportedOperationError,
} from '../model/errors.js';

// The one place where errors become wire errors. Codes follow the A2A spec's
// mapping table (section 5.4) and JSON-RPC 2.0; details are google.rpc types.

export const JSONRPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  PUSH_NOTIFICATION_NOT_SUPPORTED: -32003,
  UNSUPPORTED_OPERATION: -32004,
  CONTENT_TYPE_NOT_SUPPORTED: -32005,
  INVALID_AGENT_RESPONSE: -32006,
  EXTENDED_CARD_NOT_CONFIGURED: -32007,
  EXTENSION_SUPPORT_REQUIRED: -32008,
  VERSION_NOT_SUPPORTED: -32009,
  /** Implementation-defined server error: the agent is draining, the owner is unavailable or the store is full; retry. */
  UNAVAILABLE: -32050,
  /** Implementation-defined: no credential, or one not accepted (HTTP 401). */
  UNAUTHENTICATED: -32051,
  /** Implementation-defined: authenticated, but not allowed to use the skill (HTTP 403). */
  PERMISSION_DENIED: -32052,
  /** Implementation-defined: a per-caller limit was reached; retry after the delay (HTTP 429). */
  RESOURCE_EXHAUSTED: -32053,
} as const;

export const ERROR_DOMAIN = 'a2a-protocol.org';

/** ErrorInfo reasons and their JSON-RPC codes (A2A spec 5.4, plus this server's retryable ones). */
export const REASON_CODES: Readonly<Record<string, number>> = {
  TASK_NOT_FOUND: JSONRPC.TASK_NOT_FOUND,
  TASK_NOT_CANCELABLE: JSONRPC.TASK_NOT_CANCELABLE,
  PUSH_NOTIFICATION_NOT_SUPPORTED: JSONRPC.PUSH_NOTIFICATION_NOT_SUPPORTED,
  UNSUPPORTED_OPERATION: JSONRPC.UNSUPPORTED_OPERATION,
  CONTENT_TYPE_NOT_SUPPORTED: JSONRPC.CONTENT_TYPE_NOT_SUPPORTED,
  INVALID_AGENT_RESPONSE: JSONRPC.INVALID_AGENT_RESPONSE,
  EXTENDED_AGENT_CARD_NOT_CONFIGURED: JSONRPC.EXTENDED_CARD_NOT_CONFIGURED,
  EXTENSION_SUPPORT_REQUIRED: JSONRPC.EXTENSION_SUPPORT_REQUIRED,
  VERSION_NOT_SUPPORTED: JSONRPC.VERSION_NOT_SUPPORTED,
  UNAVAILABLE: JSONRPC.UNAVAILABLE,
  OWNER_UNAVAILABLE: JSONRPC.UNAVAILABLE,
  STORE_FULL: JSONRPC.UNAVAILABLE,
  UNAUTHENTICATED: JSONRPC.UNAUTHENTICATED,
  SKILL_NOT_ALLOWED: JSONRPC.PERMISSION_DENIED,
  RATE_LIMITED: JSONRPC.RESOURCE_EXHAUSTED,
  TOO_MANY_TASKS: JSONRPC.RESOURCE_EXHAUSTED,
  TOO_MANY_STREAMS: JSONRPC.RESOURCE_EXHAUSTED,
};

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
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly httpStatus: number,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const protocolErrors = {
  parse: (detail: string) => new ProtocolError(JSONRPC.PARSE_ERROR, `Invalid JSON payload: ${detail}`, 'PARSE_ERROR', 400),
  invalidRequest: (detail: string) =>
    new ProtocolError(JSONRPC.INVALID_REQUEST, `Invalid JSON-RPC request: ${detail}`, 'INVALID_REQUEST', 400),
  methodNotFound: (method: string, version: string) =>
    new ProtocolError(JSONRPC.METHOD_NOT_FOUND, `Method not found: "${method}" is not an A2A ${version} method`, 'METHOD_NOT_FOUND', 404, {
      method,
      version,
    }),
  versionNotSupported: (requested: string, supported: readonly string[]) =>
    new ProtocolError(
      JSONRPC.VERSION_NOT_SUPPORTED,
      `A2A version "${requested}" is not supported; this agent speaks ${supported.join(' and ')}`,
      'VERSION_NOT_SUPPORTED',
      400,
      { requestedVersion: requested, supportedVersions: supported.join(',') },
    ),
  contentType: (received: string) =>
    new ProtocolError(
      JSONRPC.CONTENT_TYPE_NOT_SUPPORTED,
      `Content-Type "${received}" is not supported; send application/json`,
      'CONTENT_TYPE_NOT_SUPPORTED',
      415,
      { contentType: received },
    ),
  bodyTooLarge: (limit: number) =>
    new ProtocolError(JSONRPC.INVALID_REQUEST, `Request body exceeds the limit of ${limit} bytes`, 'PAYLOAD_TOO_LARGE', 413, {
      limitBytes: String(limit),
    }),
};

export function toWireError(error: unknown): WireError {
  if (error instanceof ProtocolError) {
    return { code: error.code, httpStatus: error.httpStatus, message: error.message, reason: error.reason, details: error.details };
  }
  if (error instanceof DomainError) {
    const base = { message: error.message, reason: error.reason, details: error.details };
    if (error instanceof TaskNotFoundError) return { ...base, code: JSONRPC.TASK_NOT_FOUND, httpStatus: 404 };
    if (error instanceof TaskNotCancelableError) return { ...base, code: JSONRPC.TASK_NOT_CANCELABLE, httpStatus: 400 };
    if (error instanceof PushNotificationNotSupportedError) return { ...base, code: JSONRPC.PUSH_NOTIFICATION_NOT_SUPPORTED, httpStatus: 400 };
    if (error instanceof UnsupportedOperationError) return { ...base, code: JSONRPC.UNSUPPORTED_OPERATION, httpStatus: 400 };
    if (error instanceof ContentTypeNotSupportedError) return { ...base, code: JSONRPC.CONTENT_TYPE_NOT_SUPPORTED, httpStatus: 400 };
    if (error instanceof ExtendedAgentCardNotConfiguredError) return { ...base, code: JSONRPC.EXTENDED_CARD_NOT_CONFIGURED, httpStatus: 400 };
    if (error instanceof InvalidParamsError) return { ...base, code: JSONRPC.INVALID_PARAMS, httpStatus: 400, field: error.field };
    if (error instanceof UnknownSkillError) {
      return { ...base, code: JSONRPC.INVALID_PARAMS, httpStatus: 400, field: 'params.message.metadata.skill' };
    }
    if (error instanceof InvalidStateTransitionError) return { ...base, code: JSONRPC.UNSUPPORTED_OPERATION, httpStatus: 400 };
    if (error instanceof UnavailableError) {
      return { ...base, code: JSONRPC.UNAVAILABLE, httpStatus: 503, retryAfterSeconds: error.retryAfterSeconds };
    }
    if (error instanceof OwnerUnavailableError) {
      return { ...base, code: JSONRPC.UNAVAILABLE, httpStatus: 503, retryAfterSeconds: error.retryAfterSeconds };
    }
    if (error instanceof StoreFullError) {
      return { ...base, code: JSONRPC.UNAVAILABLE, httpStatus: 503, retryAfterSeconds: error.retryAfterSeconds };
    }
    if (error instanceof ConcurrentUpdateError) return { ...base, code: JSONRPC.UNAVAILABLE, httpStatus: 503, retryAfterSeconds: 1 };
    if (error instanceof UnauthenticatedError) return { ...base, code: JSONRPC.UNAUTHENTICATED, httpStatus: 401 };
    if (error instanceof SkillNotAllowedError) return { ...base, code: JSONRPC.PERMISSION_DENIED, httpStatus: 403 };
    if (error instanceof LimitExceededError) {
      return { ...base, code: JSONRPC.RESOURCE_EXHAUSTED, httpStatus: 429, retryAfterSeconds: error.retryAfterSeconds };
    }
  }
  // Anything else is our bug: say so without leaking internals.
  return { code: JSONRPC.INTERNAL_ERROR, httpStatus: 500, message: 'Internal error', reason: 'INTERNAL', details: {} };
}

/** `error.data` for JSON-RPC, `details` for google.rpc.Status: ErrorInfo, plus BadRequest for a bad field. */
export function errorDetails(wire: WireError): object[] {
  const details: object[] = [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: wire.reason, domain: ERROR_DOMAIN, metadata: wire.details },
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
