import type { TaskState } from './model.js';

// Domain errors. They say what went wrong in the agent's terms; the protocol
// layer looks each one's reason up in its one table (protocol/errors.ts) for the
// JSON-RPC code, HTTP status and gRPC status.

export abstract class DomainError extends Error {
  /** The ErrorInfo reason, UPPER_SNAKE_CASE: the key of the error's row in the wire table. */
  abstract readonly reason: string;
  /** Bad input: the path of the offending field, as the codecs name it (becomes a BadRequest detail). */
  declare readonly field?: string;
  /** A refusal the caller may retry: how long to wait (becomes RetryInfo and Retry-After). */
  declare readonly retryAfterSeconds?: number;
  /** Structured facts for the error's details (ErrorInfo metadata); strings only. */
  readonly details: Record<string, string>;
  constructor(message: string, details: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class TaskNotFoundError extends DomainError {
  readonly reason = 'TASK_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`task ${taskId} not found`, { taskId });
  }
}

export class TaskNotCancelableError extends DomainError {
  readonly reason = 'TASK_NOT_CANCELABLE';
  constructor(readonly taskId: string, readonly state: TaskState) {
    super(`task ${taskId} is ${state} and cannot be canceled`, { taskId, state });
  }
}

/** A message or subscription aimed at a task that can no longer take it. */
export class UnsupportedOperationError extends DomainError {
  readonly reason = 'UNSUPPORTED_OPERATION';
}

export class InvalidStateTransitionError extends DomainError {
  readonly reason = 'INVALID_STATE_TRANSITION';
  constructor(readonly taskId: string, readonly from: TaskState, readonly to: TaskState) {
    super(`task ${taskId} cannot move from ${from} to ${to}`, { taskId, from, to });
  }
}

/** Bad input discovered after decoding, with the path of the offending field. */
export class InvalidParamsError extends DomainError {
  readonly reason = 'INVALID_PARAMS';
  constructor(message: string, override readonly field: string) {
    super(message, { field });
  }
}

export class UnknownSkillError extends DomainError {
  readonly reason = 'UNKNOWN_SKILL';
  /** The skill is chosen by this field: the same path convention the codecs use for every other invalid one. */
  override readonly field = 'params.message.metadata.skill';
  constructor(readonly skillId: string, known: readonly string[]) {
    super(`no skill with id "${skillId}"; this agent offers: ${known.join(', ')}`, { skill: skillId });
  }
}

export class PushNotificationNotSupportedError extends DomainError {
  readonly reason = 'PUSH_NOTIFICATION_NOT_SUPPORTED';
  constructor(message = 'push notifications are not supported by this agent') {
    super(message);
  }
}

/** The service is draining or not ready; the caller should retry elsewhere or later. */
export class UnavailableError extends DomainError {
  readonly reason = 'UNAVAILABLE';
  constructor(message: string, override readonly retryAfterSeconds: number) {
    super(message, { retryAfterSeconds: String(retryAfterSeconds) });
  }
}

/** The task store has no room left (disk or database full): nothing was written; retry later or elsewhere. */
export class StoreFullError extends DomainError {
  readonly reason = 'STORE_FULL';
  constructor(detail: string, override readonly retryAfterSeconds: number) {
    super(`the task store is full (${detail}); nothing was written, retry later or on another replica`, { retryAfterSeconds: String(retryAfterSeconds) });
  }
}

/** The pod that owns a task cannot be reached (rescheduling, node loss); ask again shortly. */
export class OwnerUnavailableError extends DomainError {
  readonly reason = 'OWNER_UNAVAILABLE';
  constructor(
    readonly taskId: string,
    readonly owner: string,
    cause: string,
    override readonly retryAfterSeconds: number,
  ) {
    super(`task ${taskId} belongs to ${owner}, which is unavailable (${cause}); retry shortly`, {
      taskId,
      owner,
      retryAfterSeconds: String(retryAfterSeconds),
    });
  }
}

/**
 * The request carries no credential, or one that is not accepted. The message
 * is fixed per kind and never says which part of a credential was wrong.
 */
export class UnauthenticatedError extends DomainError {
  readonly reason = 'UNAUTHENTICATED';
  /**
   * RFC 6750 error code for the WWW-Authenticate challenge: absent when the
   * request had no credential at all, 'invalid_token' for a rejected one,
   * 'invalid_request' for a malformed or ambiguous one.
   */
  readonly tokenError: 'invalid_token' | 'invalid_request' | undefined;
  constructor(message: string, tokenError?: 'invalid_token' | 'invalid_request') {
    super(message);
    this.tokenError = tokenError;
  }
}

/** An authenticated caller whose principal and scopes do not include what a skill asks for. */
export class SkillNotAllowedError extends DomainError {
  readonly reason = 'SKILL_NOT_ALLOWED';
  constructor(readonly skillId: string, requiredScopes: readonly string[]) {
    super(
      requiredScopes.length > 0
        ? `skill "${skillId}" needs one of the scopes ${requiredScopes.join(', ')}, which this caller's credential does not carry`
        : `skill "${skillId}" is restricted to principals this caller is not one of`,
      { skill: skillId, requiredScopes: requiredScopes.join(' ') },
    );
  }
}

/**
 * A request names a tenant (an HTTP+JSON path's `/{tenant}` prefix) that is not
 * the caller's: the tenant comes from the credential, and a request may only repeat it.
 */
export class TenantNotAllowedError extends DomainError {
  readonly reason = 'TENANT_NOT_ALLOWED';
  constructor(requested: string) {
    super(`the request names tenant "${requested}", which is not this caller's; a caller's tenant comes from its credential, so leave the prefix out or name that one`, {
      tenant: requested,
    });
  }
}

/** A per-caller limit was reached (request rate, running tasks, open streams); retry after the delay. */
export class LimitExceededError extends DomainError {
  readonly reason: 'RATE_LIMITED' | 'TOO_MANY_TASKS' | 'TOO_MANY_STREAMS';
  constructor(
    reason: 'RATE_LIMITED' | 'TOO_MANY_TASKS' | 'TOO_MANY_STREAMS',
    message: string,
    override readonly retryAfterSeconds: number,
  ) {
    super(message, { retryAfterSeconds: String(retryAfterSeconds) });
    this.reason = reason;
  }
}
