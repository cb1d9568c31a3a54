// Typed client errors. `kind` says where a call failed, coarse enough to switch
// on; subclasses (TaskNotFoundError, A2ATimeoutError) carry the details of the
// cases callers handle specially.

export type ClientErrorKind =
  /** The agent answered with an A2A error (JSON-RPC error, or google.rpc.Status over HTTP+JSON). */
  | 'rpc'
  /** The agent answered with an HTTP error status and no A2A error in the body (e.g. a proxy's 502). */
  | 'http'
  /** No answer: connection refused or reset, host unknown. */
  | 'connection'
  /** A per-call timeout, the overall deadline, or a stalled stream. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** An answer that is not valid A2A (bad JSON, wrong shape, wrong id). */
  | 'invalid-response'
  /** The operation or protocol is not offered by the agent (ListTasks over 0.3, a card with no usable interface). */
  | 'unsupported'
  /** The agent card carries no valid signature by the key the caller trusts for this agent. */
  | 'untrusted-card';

export interface ClientErrorDetails {
  /** The JSON-RPC error code (over HTTP+JSON: the code of the same A2A error), or the HTTP status for kind 'http'. */
  code?: number;
  /** The HTTP status of the answer, when there was one. */
  httpStatus?: number;
  /** The google.rpc.ErrorInfo reason the agent gave, e.g. TASK_NOT_FOUND. */
  reason?: string;
  /** JSON-RPC `error.data`, or google.rpc.Status `details`, as received. */
  data?: unknown;
  /** How long the agent asked the caller to wait (Retry-After, RetryInfo). */
  retryAfterMs?: number;
  /** The URL the failed request went to. */
  url?: string;
  /** The system error code of a connection failure, e.g. ECONNREFUSED. */
  networkCode?: string;
  cause?: unknown;
}

export class A2AClientError extends Error {
  readonly kind: ClientErrorKind;
  /** See ClientErrorDetails.code. */
  readonly code?: number;
  readonly httpStatus?: number;
  readonly reason?: string;
  readonly data?: unknown;
  readonly retryAfterMs?: number;
  readonly url?: string;
  readonly networkCode?: string;
  /** How many attempts the call made before giving up with this error. */
  attempts = 1;

  constructor(kind: ClientErrorKind, message: string, details: number | ClientErrorDetails = {}) {
    const d: ClientErrorDetails = typeof details === 'number' ? { code: details } : details;
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.name = 'A2AClientError';
    this.kind = kind;
    if (d.code !== undefined) this.code = d.code;
    if (d.httpStatus !== undefined) this.httpStatus = d.httpStatus;
    if (d.reason !== undefined) this.reason = d.reason;
    if (d.data !== undefined) this.data = d.data;
    if (d.retryAfterMs !== undefined) this.retryAfterMs = d.retryAfterMs;
    if (d.url !== undefined) this.url = d.url;
    if (d.networkCode !== undefined) this.networkCode = d.networkCode;
  }
}

/** The agent does not know the task (JSON-RPC -32001, HTTP+JSON 404 TASK_NOT_FOUND). */
export class TaskNotFoundError extends A2AClientError {
  constructor(
    message: string,
    /** The task asked for, when the call named one. */
    readonly taskId: string | undefined,
    details: ClientErrorDetails = {},
  ) {
    super('rpc', message, { ...details, code: -32001 });
    this.name = 'TaskNotFoundError';
  }
}

export type TimeoutLimit =
  /** One attempt took longer than timeoutMs (retried while attempts and time remain). */
  | 'call'
  /** The call's overall deadline passed (never retried). */
  | 'deadline'
  /** A stream sent no event and no heartbeat for stallTimeoutMs. */
  | 'stall';

export class A2ATimeoutError extends A2AClientError {
  constructor(
    readonly limit: TimeoutLimit,
    readonly ms: number,
    url: string | undefined,
  ) {
    const what =
      limit === 'call'
        ? `no answer within the call timeout of ${ms} ms`
        : limit === 'deadline'
          ? `the deadline of ${ms} ms passed`
          : `the stream stalled: no event or heartbeat for ${ms} ms`;
    super('timeout', url === undefined ? what : `${url}: ${what}`, url === undefined ? {} : { url });
    this.name = 'A2ATimeoutError';
  }
}
