import { errorDetails } from '../errors.js';
import type { GrpcStatus, WireError } from '../errors.js';
import { encodeFromJson } from './proto-json.js';
import { messageType } from './schema.js';

/** google.rpc.Code numbers of the statuses this agent answers with. */
export const GRPC_CODES: Readonly<Record<GrpcStatus, number>> = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

/** The trailer that carries a gRPC error's google.rpc.Status (its details: ErrorInfo, BadRequest, RetryInfo). */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

export interface GrpcError {
  code: number;
  message: string;
  /** The encoded google.rpc.Status, for the `grpc-status-details-bin` trailer. */
  details: Uint8Array;
}

const TYPE_PREFIX = 'type.googleapis.com/';

/** A wire error as gRPC says it: the status code of its reason, and the same details JSON-RPC gives in `error.data`. */
export function grpcError(wire: WireError, status: GrpcStatus): GrpcError {
  const code = GRPC_CODES[status];
  const details = errorDetails(wire).map((detail) => {
    const { '@type': typeUrl, ...fields } = detail as { '@type': string } & Record<string, unknown>;
    const type = messageType(typeUrl.slice(TYPE_PREFIX.length));
    // ProtoJSON writes a Duration as "5s"; the message holds seconds.
    const json = typeof fields.retryDelay === 'string' ? { retryDelay: { seconds: Number.parseInt(fields.retryDelay, 10) } } : fields;
    return { type_url: typeUrl, value: encodeFromJson(type, json) };
  });
  const statusType = messageType('google.rpc.Status');
  const encoded = statusType.encode(statusType.fromObject({ code, message: wire.message, details })).finish();
  return { code, message: wire.message, details: encoded };
}
