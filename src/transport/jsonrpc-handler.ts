import type { IncomingMessage, ServerResponse } from 'node:http';
import type { A2aRequest, Dispatcher } from '../core/dispatcher.js';
import { requestTaskId, resultTaskId } from '../core/dispatcher.js';
import type { Caller } from '../model/model.js';
import type { Codec, ListingCodec, ProtocolVersion } from '../protocol/codec.js';
import { jsonRpcError } from '../protocol/errors.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';
import { errorEnvelope, parseJsonRpcRequest, resultEnvelope, salvageId } from '../protocol/jsonrpc.js';
import type { Operation } from '../protocol/methods.js';
import { checkNesting } from '../protocol/read.js';
import { resumeAfter } from '../protocol/resume.js';
import type { SentPosition } from '../protocol/resume.js';
import { resolveMethod } from '../protocol/methods.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startServerSpan, withSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import { encodeResult } from './answer.js';
import { CallRecorder, unknownCall } from './call-record.js';
import type { CallRecord } from './call-record.js';
import { markMissingReplicas, relayedCallerVersion, routingContext } from './owner-routing.js';
import { rpcEventFramer } from './event-frames.js';
import { writeStreamAnswer } from './sse.js';
import { requestedVersion } from './requested-version.js';
import { sentPosition } from './resume-position.js';
import { encodeSseEvent, isEventStream } from '../protocol/sse.js';
import { sendJsonText } from './send-json.js';

export interface JsonRpcHandlerOptions {
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: Metrics;
  heartbeatMs: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const TRANSPORT_STATUSES: ReadonlySet<number> = new Set([401, 403, 413, 429, 503]);

/** The JSON-RPC binding (A2A 1.0 and 0.3): decodes a call, has the dispatcher carry it out, and answers in JSON or server-sent events. */
export class JsonRpcHandler {
  private readonly calls: CallRecorder;

  constructor(private readonly options: JsonRpcHandlerOptions) {
    this.calls = new CallRecorder(options.logger, options.metrics);
  }

  /** Serves one call for a caller the transport has authenticated (the anonymous caller when authentication is off). */
  async handle(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller): Promise<void> {
    const span = startServerSpan('a2a request', req.headers, { 'rpc.system': 'jsonrpc' });
    return withSpan(span, () => this.serve(req, res, body, caller, span));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller, span: Span | undefined): Promise<void> {
    const started = process.hrtime.bigint();
    const record = unknownCall(span);
    let id: JsonRpcId = null;
    try {
      const rpc = parseJsonRpcRequest(body);
      id = rpc.id;
      const resolved = resolveMethod(rpc.method, requestedVersion(req), rpc.params);
      // Only known method names become metric labels: callers cannot grow the label set.
      record.method = rpc.method;
      record.version = resolved.version;
      record.stateName = (state) => resolved.codec.encodeTaskState(state);
      span?.updateName(rpc.method);
      checkNesting(rpc.params, 'params');
      // A 0.2 answer names the task as its request did: the codec that answers is the request's.
      const codec = resolved.codec.forRequest?.(rpc.params) ?? resolved.codec;
      const request = decodeCall(resolved.operation, codec, rpc.params, sentPosition(req));
      // A relayed call speaks 1.0; a config it carries keeps the shape its caller asked for.
      const callerVersion = relayedCallerVersion(req);
      if (callerVersion !== undefined && (request.operation === 'send' || request.operation === 'stream' || request.operation === 'push-config-create')) request.version = callerVersion;
      record.taskId = requestTaskId(request);
      const outcome = await this.answer(req, res, request, codec, id, caller, record);
      this.calls.finish(record, outcome, started);
    } catch (error) {
      if (id === null) id = salvageId(body);
      this.reject(res, id, error, record, started);
    }
  }

  /** Answers a request refused before its body was read (size, content type). */
  reject(res: ServerResponse, id: JsonRpcId, error: unknown, record: CallRecord = unknownCall(), started = process.hrtime.bigint()): void {
    const wire = this.calls.failed(record, error, started);
    if (res.headersSent) {
      // A stream already started: end it with the error as its last event. Any other answer
      // cannot be mended once begun (an SSE frame in a JSON body is not JSON-RPC): cut it.
      const stream = isEventStream(String(res.getHeader('content-type') ?? ''));
      if (stream && !res.destroyed) res.end(encodeSseEvent(errorEnvelope(id, jsonRpcError(wire))));
      else res.destroy();
      return;
    }
    // JSON-RPC errors travel in a 200 response; only refusals the transport itself makes change the status,
    // and those about the caller (401, 403, 429), so that proxies, clients and dashboards see them as such.
    const status = TRANSPORT_STATUSES.has(wire.httpStatus) ? wire.httpStatus : 200;
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (wire.retryAfterSeconds !== undefined) headers['retry-after'] = String(wire.retryAfterSeconds);
    sendJsonText(res, status, headers, errorEnvelope(id, jsonRpcError(wire)));
  }

  /** Answers with the dispatcher's result; the outcome says whether another replica carried it out. */
  private async answer(req: IncomingMessage, res: ServerResponse, request: A2aRequest, codec: Codec, id: JsonRpcId, caller: Caller, record: CallRecord): Promise<string> {
    const context = routingContext(req, res);
    try {
      const result = await this.options.dispatcher.dispatch(caller, request, context);
      record.taskId = resultTaskId(result) ?? record.taskId;
      if (result.kind === 'stream') {
        await writeStreamAnswer(res, result, rpcEventFramer(id, codec), { heartbeatMs: this.options.heartbeatMs, metrics: this.options.metrics });
      } else {
        markMissingReplicas(res, result, this.options.logger);
        this.reply(res, id, encodeResult(result, codec));
      }
      return result.via === undefined ? 'ok' : 'forwarded';
    } finally {
      context.done();
    }
  }

  private reply(res: ServerResponse, id: JsonRpcId, result: unknown): void {
    // Serialized before the status line: if it fails, the caller still gets a JSON-RPC error, not half an answer.
    const body = resultEnvelope(id, result);
    sendJsonText(res, 200, JSON_HEADERS, body);
  }
}

/**
 * A call's params (JSON-RPC params, or a gRPC request read as ProtoJSON),
 * decoded in its version into the model; `position`: a resume position the
 * binding found outside the params (a SubscribeToTask's Last-Event-ID).
 */
export function decodeCall(operation: Operation, codec: Codec, params: unknown, position?: SentPosition): A2aRequest {
  switch (operation) {
    case 'send':
    case 'stream':
      return { operation, send: codec.decodeSend(params), version: codec.version };
    case 'get':
    case 'cancel':
      return { operation, query: codec.decodeTaskQuery(params) };
    case 'subscribe': {
      const { id, mayBeAlias } = codec.decodeTaskQuery(params);
      const afterVersion = resumeAfter(position, params);
      return { operation, query: { id, ...(mayBeAlias === undefined ? {} : { mayBeAlias }), ...(afterVersion === undefined ? {} : { afterVersion }) } };
    }
    case 'list':
      return { operation, query: (codec as ListingCodec).decodeListTasks(params) };
    case 'push-config-create':
      return { operation, create: codec.decodePushConfigCreate(params), version: codec.version };
    case 'push-config-get':
    case 'push-config-delete':
      return { operation, ref: codec.decodePushConfigRef(params) };
    case 'push-config-list':
      return { operation, ref: codec.decodePushConfigList(params) };
    case 'extended-card':
      return { operation, version: codec.version as ProtocolVersion };
  }
}
