import type { IncomingMessage, ServerResponse } from 'node:http';
import type { A2aRequest, Dispatcher } from '../core/dispatcher.js';
import { requestTaskId, resultTaskId } from '../core/dispatcher.js';
import { InvalidParamsError, TenantNotAllowedError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startServerSpan, withSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import { protocolErrors } from '../protocol/errors.js';
import { methodName, parseVersionHeader } from '../protocol/methods.js';
import { checkNesting } from '../protocol/read.js';
import type { Obj } from '../protocol/read.js';
import { restErrorBody } from '../protocol/rest.js';
import { resumeAfter } from '../protocol/resume.js';
import type { SentPosition } from '../protocol/resume.js';
import type { RestRoute } from '../protocol/rest.js';
import { encodeSseEvent, isEventStream } from '../protocol/sse.js';
import { v1Codec } from '../protocol/v1/codec.js';
import { encodeResult } from './answer.js';
import { CallRecorder, unknownCall } from './call-record.js';
import type { CallRecord } from './call-record.js';
import { resultEventFramer } from './event-frames.js';
import { markMissingReplicas, routingContext } from './owner-routing.js';
import { requestedVersion } from './requested-version.js';
import { sentPosition } from './resume-position.js';
import { writeStreamAnswer } from './sse.js';
import { sendJsonText } from './send-json.js';

export interface RestHandlerOptions {
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
  heartbeatMs: number;
}

/** The media type A2A 1.0 prefers; `application/json` is answered to clients that ask for it alone. */
export const A2A_JSON = 'application/a2a+json';

/** The query parameters of ListTasks (spec 11.5: the camelCase JSON names of its fields). */
const LIST_PARAMS = ['contextId', 'status', 'pageSize', 'pageToken', 'historyLength', 'statusTimestampAfter', 'includeArtifacts'];

/**
 * The HTTP+JSON binding (A2A 1.0, spec 11): a route and its body or query
 * decoded into an operation, carried out by the dispatcher, answered as JSON
 * or server-sent events; errors as google.rpc.Status bodies with the HTTP
 * status of their reason.
 */
export class RestHandler {
  private readonly calls: CallRecorder;

  constructor(private readonly options: RestHandlerOptions) {
    this.calls = new CallRecorder(options.logger, options.metrics);
  }

  /** Serves one routed request; `body` is the request body read within its bound ('' when there was none). */
  async handle(req: IncomingMessage, res: ServerResponse, route: RestRoute, body: string, caller: Caller): Promise<void> {
    const span = startServerSpan('a2a request', req.headers, { 'rpc.system': 'http+json' });
    return withSpan(span, () => this.serve(req, res, route, body, caller, span));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, route: RestRoute, body: string, caller: Caller, span: Span | undefined): Promise<void> {
    const started = process.hrtime.bigint();
    const record = unknownCall(span);
    try {
      // These routes are A2A 1.0's alone (0.3 put its own under /v1): a request that names no version is read as 1.0.
      const asked = requestedVersion(req);
      const version = parseVersionHeader(asked);
      if (version !== undefined && version !== '1.0') throw protocolErrors.versionNotSupported(asked ?? '', ['1.0']);
      record.method = methodName('1.0', route.operation) ?? route.operation;
      record.version = '1.0';
      record.stateName = (state) => v1Codec.encodeTaskState(state);
      span?.updateName(record.method);
      const request = decodeRoute(route, body, queryOf(req), caller, sentPosition(req));
      record.taskId = requestTaskId(request);
      const context = routingContext(req, res);
      try {
        const result = await this.options.dispatcher.dispatch(caller, request, context);
        record.taskId = resultTaskId(result) ?? record.taskId;
        if (result.kind === 'stream') {
          await writeStreamAnswer(res, result, resultEventFramer(v1Codec), { heartbeatMs: this.options.heartbeatMs, metrics: this.options.metrics });
        } else {
          markMissingReplicas(res, result, this.options.logger);
          // Serialized before the status line: if it fails, the caller still gets a Status, not half an answer.
          const json = JSON.stringify(encodeResult(result, v1Codec));
          sendJsonText(res, 200, { 'content-type': answerType(req) }, json);
        }
        this.calls.finish(record, result.via === undefined ? 'ok' : 'forwarded', started);
      } finally {
        context.done();
      }
    } catch (error) {
      this.reject(req, res, error, record, started);
    }
  }

  /** Answers with an error: a google.rpc.Status body, or, once a stream has begun, its last event (`event: error`). */
  reject(req: IncomingMessage, res: ServerResponse, error: unknown, record: CallRecord = unknownCall(), started = process.hrtime.bigint(), headers: Record<string, string> = {}): void {
    const wire = this.calls.failed(record, error, started);
    if (res.headersSent) {
      const stream = isEventStream(String(res.getHeader('content-type') ?? ''));
      if (stream && !res.destroyed) res.end(encodeSseEvent(restErrorBody(wire), { event: 'error' }));
      else res.destroy();
      return;
    }
    const all: Record<string, string> = { ...headers, 'content-type': answerType(req) };
    if (wire.retryAfterSeconds !== undefined) all['retry-after'] = String(wire.retryAfterSeconds);
    sendJsonText(res, wire.httpStatus, all, restErrorBody(wire));
  }
}

/**
 * The media type the client spoke: application/a2a+json to a client that sent or asked for it,
 * application/json to any other: the conformance suite holds a client that names neither to
 * application/json, errors included.
 */
function answerType(req: IncomingMessage): string {
  const spoken = `${req.headers['content-type'] ?? ''},${req.headers.accept ?? ''}`.toLowerCase();
  return spoken.includes(A2A_JSON) ? A2A_JSON : 'application/json';
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const query = (req.url ?? '').split('?', 2)[1];
  return new URLSearchParams(query ?? '');
}

/**
 * A route's params, gathered from its path, query and body as the operation's
 * 1.0 request, and decoded by the 1.0 codec; `position`: a subscribe's resume
 * position from the Last-Event-ID header or `lastEventId` query parameter.
 */
function decodeRoute(route: RestRoute, body: string, query: URLSearchParams, caller: Caller, position: SentPosition | undefined): A2aRequest {
  if (route.tenant !== undefined && route.tenant !== caller.tenant) throw new TenantNotAllowedError(route.tenant);
  const id = route.taskId ?? '';
  switch (route.operation) {
    case 'send':
    case 'stream': {
      const params = jsonBody(body);
      // A tenant in the body is held to the same rule as one in the path.
      if (typeof params.tenant === 'string' && params.tenant !== '' && params.tenant !== caller.tenant) throw new TenantNotAllowedError(params.tenant);
      return { operation: route.operation, send: v1Codec.decodeSend(params), version: '1.0' };
    }
    case 'get':
      return { operation: 'get', query: v1Codec.decodeTaskQuery({ id, ...fromQuery(query, ['historyLength']) }) };
    case 'cancel':
      if (body.trim() !== '') jsonBody(body);
      return { operation: 'cancel', query: { id } };
    case 'subscribe': {
      // A POST's body may hold the position too, in its metadata, as JSON-RPC params may.
      const params = body.trim() === '' ? {} : jsonBody(body);
      const afterVersion = resumeAfter(position, params);
      return { operation: 'subscribe', query: afterVersion === undefined ? { id } : { id, afterVersion } };
    }
    case 'list':
      return { operation: 'list', query: v1Codec.decodeListTasks(fromQuery(query, LIST_PARAMS)) };
    case 'push-config-create': {
      // The body is the TaskPushNotificationConfig; the path names its task.
      const params = jsonBody(body);
      if (typeof params.tenant === 'string' && params.tenant !== '' && params.tenant !== caller.tenant) throw new TenantNotAllowedError(params.tenant);
      if (typeof params.taskId === 'string' && params.taskId !== '' && params.taskId !== id) {
        throw new InvalidParamsError(`params.taskId (${params.taskId}) names another task than the path (${id})`, 'params.taskId');
      }
      return { operation: 'push-config-create', create: v1Codec.decodePushConfigCreate({ ...params, taskId: id }), version: '1.0' };
    }
    case 'push-config-get':
    case 'push-config-delete':
      return { operation: route.operation, ref: v1Codec.decodePushConfigRef({ taskId: id, id: route.configId }) };
    case 'push-config-list':
      return { operation: 'push-config-list', ref: v1Codec.decodePushConfigList({ taskId: id }) };
    case 'extended-card':
      return { operation: 'extended-card', version: '1.0' };
  }
}

/** A request body: one JSON object, nested no deeper than any other request. */
function jsonBody(body: string): Obj {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw protocolErrors.parse(error instanceof Error ? error.message : 'unparseable');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw protocolErrors.parse('the body must be a JSON object');
  checkNesting(value, 'params');
  return value as Obj;
}

/**
 * The named query parameters as ProtoJSON field values: the codec reads
 * decimal strings as integers and enum names or numbers as enums; booleans
 * come as `true`/`false`. Others are left out; of a repeated one, the first counts.
 */
function fromQuery(query: URLSearchParams, names: readonly string[]): Obj {
  const params: Obj = {};
  for (const name of names) {
    const value = query.get(name);
    if (value === null) continue;
    if (name === 'includeArtifacts') params[name] = value === 'true' ? true : value === 'false' ? false : value;
    else if (name === 'status' && /^\d{1,3}$/.test(value)) params[name] = Number(value);
    else params[name] = value;
  }
  return params;
}
