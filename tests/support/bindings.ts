// One A2A 1.0 client per binding of our server, all with the same shape, so
// that one table-driven scenario suite runs over every binding and asserts the
// same behaviour. A call takes an operation and its params as A2A 1.0 writes
// them (the JSON-RPC params, the ProtoJSON request); its answer is the result
// as A2A 1.0 writes it, or the error reduced to what every binding carries: its
// ErrorInfo reason and metadata, plus the binding's own code for the table check.
import type { ServiceError } from '@grpc/grpc-js';
import { ERROR_TABLE, wireCodes } from '../../src/protocol/errors.js';
import { GRPC_CODES } from '../../src/protocol/grpc/status.js';
import { methodName } from '../../src/protocol/methods.js';
import type { Operation } from '../../src/protocol/methods.js';
import { decodeA2a, encodeA2a, metadataOf, RawGrpcClient, statusOf } from './grpc-client.js';
import { PATIENCE_MS } from './patience.js';
import { rpc, sseEvents } from './rpc.js';

export interface BindingError {
  reason: string;
  metadata: Record<string, string>;
  message: string;
  /** Whether the binding said it the way the errors table says for this reason (JSON-RPC code, HTTP status, gRPC status). */
  asTabled: boolean;
  /** What the binding said, for failure messages. */
  raw: unknown;
}

export type Answer = { ok: true; value: any } | { ok: false; error: BindingError };

/** A stream's events (StreamResponse objects), and the error that ended it, if one did. */
export interface StreamAnswer {
  events: any[];
  error?: BindingError;
}

export interface Binding {
  name: string;
  call(url: string, operation: Exclude<Operation, 'stream' | 'subscribe'>, params: Record<string, any>, headers?: Record<string, string>): Promise<Answer>;
  /** `opened`: called once the server has begun the stream (its subscription is in place), before its events are read. */
  stream(url: string, operation: 'stream' | 'subscribe', params: Record<string, any>, headers?: Record<string, string>, opened?: () => void): Promise<StreamAnswer>;
}

const V1 = { 'A2A-Version': '1.0' };

function errorInfo(details: unknown): { reason?: string; metadata?: Record<string, string> } {
  const list = Array.isArray(details) ? (details as { '@type'?: string }[]) : [];
  return (list.find((d) => d['@type']?.endsWith('google.rpc.ErrorInfo')) ?? {}) as { reason?: string; metadata?: Record<string, string> };
}

function jsonRpcError(error: { code: number; message: string; data?: unknown }): BindingError {
  const info = errorInfo(error.data);
  const reason = info.reason ?? 'UNKNOWN';
  return { reason, metadata: info.metadata ?? {}, message: error.message, asTabled: wireCodes(reason)?.jsonRpc === error.code, raw: error };
}

export const jsonRpcBinding: Binding = {
  name: 'JSON-RPC',
  async call(url, operation, params, headers = V1) {
    const res = await rpc(url, methodName('1.0', operation)!, params, headers);
    if (res.body.error !== undefined) return { ok: false, error: jsonRpcError(res.body.error) };
    return { ok: true, value: res.body.result };
  },
  async stream(url, operation, params, headers = V1, opened = () => undefined) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'stream', method: methodName('1.0', operation), params }),
      signal: AbortSignal.timeout(PATIENCE_MS),
    });
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const body = (await res.json()) as { error: { code: number; message: string; data?: unknown } };
      return { events: [], error: jsonRpcError(body.error) };
    }
    opened();
    const envelopes = sseEvents(await res.text()).map((e) => JSON.parse(e.data));
    const last = envelopes.at(-1);
    if (last?.error !== undefined) return { events: envelopes.slice(0, -1).map((e) => e.result), error: jsonRpcError(last.error) };
    return { events: envelopes.map((e) => e.result) };
  },
};

function restError(status: number, body: any): BindingError {
  const error = body?.error ?? {};
  const info = errorInfo(error.details);
  const reason = info.reason ?? 'UNKNOWN';
  const row = wireCodes(reason);
  return {
    reason,
    metadata: info.metadata ?? {},
    message: String(error.message ?? ''),
    asTabled: row !== undefined && row.http === status && error.code === status && error.status === row.grpc,
    raw: { status, body },
  };
}

/** Where each operation lives in the HTTP+JSON binding, and what of its params goes in the body. */
function restRequest(operation: Operation, params: Record<string, any>): { method: string; path: string; body?: unknown } {
  // The push-config calls name their task `taskId` (and the config `id`); the others name the task `id`.
  const id = encodeURIComponent(String((operation.startsWith('push-config-') ? params.taskId : params.id) ?? ''));
  switch (operation) {
    case 'send':
      return { method: 'POST', path: '/message:send', body: params };
    case 'stream':
      return { method: 'POST', path: '/message:stream', body: params };
    case 'get':
      return { method: 'GET', path: `/tasks/${id}${params.historyLength === undefined ? '' : `?historyLength=${params.historyLength}`}` };
    case 'list': {
      const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
      return { method: 'GET', path: `/tasks${query.size > 0 ? `?${query}` : ''}` };
    }
    case 'cancel':
      return { method: 'POST', path: `/tasks/${id}:cancel` };
    case 'subscribe':
      return { method: 'POST', path: `/tasks/${id}:subscribe` };
    case 'push-config-create':
      return { method: 'POST', path: `/tasks/${id}/pushNotificationConfigs`, body: params };
    case 'push-config-get':
      return { method: 'GET', path: `/tasks/${id}/pushNotificationConfigs/${encodeURIComponent(params.id)}` };
    case 'push-config-list':
      return { method: 'GET', path: `/tasks/${id}/pushNotificationConfigs` };
    case 'push-config-delete':
      return { method: 'DELETE', path: `/tasks/${id}/pushNotificationConfigs/${encodeURIComponent(params.id)}` };
    case 'extended-card':
      return { method: 'GET', path: '/extendedAgentCard' };
  }
}

export const restBinding: Binding = {
  name: 'HTTP+JSON',
  async call(url, operation, params, headers = V1) {
    const { method, path, body } = restRequest(operation, params);
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { accept: 'application/a2a+json', ...(body === undefined ? {} : { 'content-type': 'application/a2a+json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const parsed = await res.json();
    if (res.status !== 200) return { ok: false, error: restError(res.status, parsed) };
    return { ok: true, value: parsed };
  },
  async stream(url, operation, params, headers = V1, opened = () => undefined) {
    const { method, path, body } = restRequest(operation, params);
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { accept: 'text/event-stream', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(PATIENCE_MS),
    });
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return { events: [], error: restError(res.status, await res.json()) };
    opened();
    const events: any[] = [];
    let error: BindingError | undefined;
    for (const event of sseEvents(await res.text())) {
      const data = JSON.parse(event.data);
      // Once the stream has begun, the HTTP status is 200 whatever happens: the Status's own code carries it.
      if (event.event === 'error') error = restError(Number(data?.error?.code), data);
      else events.push(data);
    }
    return error === undefined ? { events } : { events, error };
  },
};

/** The gRPC method of each operation, with its request and response message types. */
const GRPC_METHODS: Readonly<Record<Operation, { method: string; request: string; response: string }>> = {
  send: { method: 'SendMessage', request: 'SendMessageRequest', response: 'SendMessageResponse' },
  stream: { method: 'SendStreamingMessage', request: 'SendMessageRequest', response: 'StreamResponse' },
  get: { method: 'GetTask', request: 'GetTaskRequest', response: 'Task' },
  list: { method: 'ListTasks', request: 'ListTasksRequest', response: 'ListTasksResponse' },
  cancel: { method: 'CancelTask', request: 'CancelTaskRequest', response: 'Task' },
  subscribe: { method: 'SubscribeToTask', request: 'SubscribeToTaskRequest', response: 'StreamResponse' },
  'push-config-create': { method: 'CreateTaskPushNotificationConfig', request: 'TaskPushNotificationConfig', response: 'TaskPushNotificationConfig' },
  'push-config-get': { method: 'GetTaskPushNotificationConfig', request: 'GetTaskPushNotificationConfigRequest', response: 'TaskPushNotificationConfig' },
  'push-config-list': { method: 'ListTaskPushNotificationConfigs', request: 'ListTaskPushNotificationConfigsRequest', response: 'ListTaskPushNotificationConfigsResponse' },
  'push-config-delete': { method: 'DeleteTaskPushNotificationConfig', request: 'DeleteTaskPushNotificationConfigRequest', response: 'google.protobuf.Empty' },
  'extended-card': { method: 'GetExtendedAgentCard', request: 'GetExtendedAgentCardRequest', response: 'AgentCard' },
};

function grpcError(error: ServiceError): BindingError {
  const status = statusOf(error);
  const info = status.details.find((detail) => detail.type === 'google.rpc.ErrorInfo')?.value ?? {};
  const reason = String(info.reason ?? 'UNKNOWN');
  const row = wireCodes(reason);
  return {
    reason,
    metadata: (info.metadata ?? {}) as Record<string, string>,
    message: status.message,
    asTabled: row !== undefined && GRPC_CODES[row.grpc] === error.code && status.code === error.code,
    raw: { code: error.code, details: error.details, status },
  };
}

/** One client per agent, at the gRPC interface its card lists: the card is how a caller finds the port. */
const grpcClients = new Map<string, RawGrpcClient>();
async function grpcClientFor(url: string): Promise<RawGrpcClient> {
  let client = grpcClients.get(url);
  if (client === undefined) {
    const card = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as { supportedInterfaces: { url: string; protocolBinding: string }[] };
    const target = card.supportedInterfaces.find((entry) => entry.protocolBinding === 'GRPC')?.url;
    if (target === undefined) throw new Error(`the agent at ${url} lists no gRPC interface: start it with { grpcPort: 0 }`);
    client = new RawGrpcClient(target);
    grpcClients.set(url, client);
  }
  return client;
}

/** The response message as ProtoJSON (google.protobuf.Empty, which has no fields, as {}). */
function decodeAnswer(type: string, bytes: Buffer): Record<string, any> {
  return type.startsWith('google.') ? {} : decodeA2a(type, bytes);
}

export const grpcBinding: Binding = {
  name: 'gRPC',
  async call(url, operation, params, headers = {}) {
    const { method, request, response } = GRPC_METHODS[operation];
    const client = await grpcClientFor(url);
    try {
      return { ok: true, value: decodeAnswer(response, await client.unary(method, encodeA2a(request, params), metadataOf(headers))) };
    } catch (error) {
      return { ok: false, error: grpcError(error as ServiceError) };
    }
  },
  async stream(url, operation, params, headers = {}, opened = () => undefined) {
    const { method, request, response } = GRPC_METHODS[operation];
    const call = (await grpcClientFor(url)).stream(method, encodeA2a(request, params), metadataOf(headers));
    // The server's headers go out with its first event: the subscription is in place by then.
    call.once('metadata', () => opened());
    const events: any[] = [];
    try {
      for await (const bytes of call) events.push(decodeAnswer(response, bytes as Buffer));
    } catch (error) {
      return { events, error: grpcError(error as ServiceError) };
    }
    return { events };
  },
};

/** Every binding our server serves; a new binding is one more row. */
export const BINDINGS: readonly Binding[] = [jsonRpcBinding, restBinding, grpcBinding];

/** The reasons the table knows, for assertions. */
export const REASONS = Object.keys(ERROR_TABLE);
