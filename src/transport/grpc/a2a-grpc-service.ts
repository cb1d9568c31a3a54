import * as grpc from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestFacts } from '../../auth/authenticator.js';
import { requestTaskId, resultTaskId } from '../../core/dispatcher.js';
import type { A2aRequest, A2aResult, Dispatcher } from '../../core/dispatcher.js';
import { UnavailableError, UnsupportedOperationError } from '../../model/errors.js';
import { streamItemWithHistoryLimit } from '../../model/history.js';
import type { Caller } from '../../model/model.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { startServerSpan, withSpan } from '../../observability/tracing.js';
import { ERROR_TABLE, ProtocolError, protocolErrors, wireCodes } from '../../protocol/errors.js';
import type { WireError } from '../../protocol/errors.js';
import { decodeToJson, encodeFromJson, ProtoWireError } from '../../protocol/grpc/proto-json.js';
import { a2aService, A2A_SERVICE, messageType } from '../../protocol/grpc/schema.js';
import { grpcError, STATUS_DETAILS_TRAILER } from '../../protocol/grpc/status.js';
import { parseVersionHeader, resolveMethod } from '../../protocol/methods.js';
import type { Operation } from '../../protocol/methods.js';
import { checkNesting } from '../../protocol/read.js';
import { LAST_EVENT_ID_HEADER } from '../../protocol/resume.js';
import type { SentPosition } from '../../protocol/resume.js';
import { v1Codec } from '../../protocol/v1/codec.js';
import { encodeResult } from '../answer.js';
import type { JsonResult } from '../answer.js';
import type { AuthGate } from '../auth-gate.js';
import { decodeCall } from '../jsonrpc-handler.js';
import { CallRecorder } from '../call-record.js';
import type { CallRecord } from '../call-record.js';

export interface A2aGrpcServiceOptions {
  dispatcher: Dispatcher;
  gate: AuthGate;
  logger: Logger;
  metrics: Metrics;
}

/** Seconds a subscriber cut for reading too slowly is told to wait before subscribing again. */
const OVERFLOW_RETRY_SECONDS = 1;

type Bytes = Buffer;
type UnaryCall = grpc.ServerUnaryCall<Bytes, Bytes>;
type StreamCall = grpc.ServerWritableStream<Bytes, Bytes>;

/**
 * Serves the A2A 1.0 gRPC service (`lf.a2a.v1.A2AService`). Each call is
 * admitted through the same gate as HTTP (metadata read as headers), its
 * request read into ProtoJSON and decoded by the 1.0 codec, carried out by the
 * dispatcher (owner routing included), and its answer encoded back; errors
 * leave as the status of their reason with a google.rpc.Status (ErrorInfo
 * first) in `grpc-status-details-bin`. Messages stay raw bytes through grpc-js
 * so that a malformed one is this binding's INVALID_ARGUMENT with details, not
 * the library's bare INTERNAL.
 */
export class A2aGrpcService {
  private readonly calls: CallRecorder;

  constructor(private readonly options: A2aGrpcServiceOptions) {
    this.calls = new CallRecorder(options.logger, options.metrics);
  }

  /** The service definition and its handlers, for `grpc.Server.addService`. */
  definition(): { service: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation } {
    const service: Record<string, grpc.MethodDefinition<Bytes, Bytes>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of a2aService().methodsArray) {
      const streaming = method.responseStream === true;
      service[method.name] = {
        path: `/${A2A_SERVICE}/${method.name}`,
        originalName: method.name,
        requestStream: false,
        responseStream: streaming,
        requestSerialize: (bytes: Bytes) => bytes,
        requestDeserialize: (bytes: Bytes) => bytes,
        responseSerialize: (bytes: Bytes) => bytes,
        responseDeserialize: (bytes: Bytes) => bytes,
      };
      const info: MethodInfo = {
        name: method.name,
        operation: resolveMethod(method.name, '1.0').operation,
        request: messageType(method.resolvedRequestType!.fullName.slice(1)),
        response: messageType(method.resolvedResponseType!.fullName.slice(1)),
      };
      handlers[method.name] = streaming
        ? (call: StreamCall) => void this.serve(call, info, (result) => this.writeStream(call, result, info))
        : (call: UnaryCall, callback: grpc.sendUnaryData<Bytes>) =>
            void this.serve(call, info, async (result) => callback(null, encodeAnswer(info.response, encodeResult(result as JsonResult, v1Codec))), (error) => callback(error));
    }
    return { service, handlers };
  }

  /** Admits, decodes and dispatches one call; `answer` writes its result, `refuse` its error (a stream's by default). */
  private async serve(
    call: UnaryCall | StreamCall,
    method: MethodInfo,
    answer: (result: A2aResult) => Promise<void>,
    refuse: (error: grpc.ServiceError) => void = (error) => call.emit('error', error),
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const span = startServerSpan(method.name, headersOf(call.metadata), { 'rpc.system': 'grpc', 'rpc.service': A2A_SERVICE });
    const record: CallRecord = { method: method.name, version: '1.0', stateName: (state) => v1Codec.encodeTaskState(state), ...(span === undefined ? {} : { span }) };
    const gone = new AbortController();
    const onCancelled = () => gone.abort();
    call.once('cancelled', onCancelled);
    await withSpan(span, async () => {
      try {
        const caller: Caller = await this.options.gate.authorize(requestFacts(call), call.getPath());
        checkVersion(call.metadata);
        const request = readCall(method, call.request, sentPosition(call.metadata));
        record.taskId = requestTaskId(request);
        const result = await this.options.dispatcher.dispatch(caller, request, { signal: gone.signal });
        record.taskId = resultTaskId(result) ?? record.taskId;
        await answer(result);
        this.calls.finish(record, call.cancelled ? 'cancelled' : result.via === undefined ? 'ok' : 'forwarded', started);
      } catch (error) {
        const wire = this.calls.failed(record, error instanceof ProtoWireError ? new ProtocolError(error.message, 'PARSE_ERROR') : error, started);
        if (!call.cancelled) refuse(serviceError(wire));
      } finally {
        call.off('cancelled', onCancelled);
      }
    });
  }

  /** Writes a stream's events until its last, a client cancel or deadline, or a stop; a stream cut short ends with its error. */
  private async writeStream(call: StreamCall, result: A2aResult, method: MethodInfo): Promise<void> {
    if (result.kind !== 'stream') throw new ProtocolError(`${method.name} answered with a ${result.kind}`, 'INTERNAL');
    const { stream, historyLength } = result;
    const { metrics } = this.options;
    const ended = new Promise<void>((resolve) => stream.onClose(resolve));
    // A client that cancels, or whose deadline passes, ends its stream here; the task runs on.
    const onCancelled = () => stream.close();
    call.on('cancelled', onCancelled);
    // Gone while the stream was being opened: it would otherwise wait for the task's next event to notice.
    if (call.cancelled) stream.close();
    metrics.streamSubscribers.inc();
    try {
      for await (const item of stream) {
        if (call.cancelled) break;
        const bytes = encodeAnswer(method.response, v1Codec.encodeStreamItem(streamItemWithHistoryLimit(item, historyLength)));
        if (!call.write(bytes)) await Promise.race([new Promise((resolve) => call.once('drain', resolve)), ended]);
      }
    } finally {
      call.off('cancelled', onCancelled);
      metrics.streamSubscribers.dec();
      stream.close();
    }
    if (stream.endReason === 'overflow') {
      metrics.streamsCut.inc();
      throw new UnavailableError('this stream fell too far behind the task and was cut; subscribe again to continue', OVERFLOW_RETRY_SECONDS);
    }
    if (!call.cancelled) call.end();
  }
}

interface MethodInfo {
  name: string;
  operation: Operation;
  request: ReturnType<typeof messageType>;
  response: ReturnType<typeof messageType>;
}

/** A request message decoded by the 1.0 codec, by way of its ProtoJSON (its depth bounded as JSON-RPC params are). */
function readCall(method: MethodInfo, bytes: Bytes, position: SentPosition | undefined): A2aRequest {
  const params = decodeToJson(method.request, bytes, { emptyLists: true });
  checkNesting(params, 'params');
  return decodeCall(method.operation, v1Codec, params, position);
}

/**
 * SubscribeToTask's resume position: the `last-event-id` metadata entry, the
 * header SSE clients send (SubscribeToTaskRequest has no field for it).
 */
function sentPosition(metadata: grpc.Metadata): SentPosition | undefined {
  const sent = metadata.get(LAST_EVENT_ID_HEADER)[0];
  if (sent === undefined || String(sent).trim() === '') return undefined;
  // Named as over HTTP: the same position under the same name, so every binding says the same error.
  return { value: String(sent), source: 'Last-Event-ID' };
}

/**
 * An answer as protobuf. What JSON holds but protobuf cannot (metadata nested
 * past its 100 levels, stored through another binding) is refused with a reason
 * the caller can act on, not an internal error.
 */
function encodeAnswer(type: MethodInfo['response'], json: unknown): Bytes {
  try {
    return Buffer.from(encodeFromJson(type, json));
  } catch (error) {
    if (!(error instanceof ProtoWireError)) throw error;
    throw new UnsupportedOperationError(`${error.message}; read it over JSON-RPC or HTTP+JSON, which carry any depth up to 100 levels`);
  }
}

/**
 * The A2A-Version a caller may send as metadata: this service is A2A 1.0
 * (package lf.a2a.v1), so any other version is refused rather than served as 1.0.
 */
function checkVersion(metadata: grpc.Metadata): void {
  const sent = metadata.get('a2a-version')[0];
  if (sent === undefined || String(sent).trim() === '') return;
  if (parseVersionHeader(String(sent)) !== '1.0') throw protocolErrors.versionNotSupported(String(sent), ['1.0']);
}

/** The gRPC error for a wire error: its reason's status, and the details every binding gives. */
function serviceError(wire: WireError): grpc.ServiceError {
  const status = grpcError(wire, (wireCodes(wire.reason) ?? ERROR_TABLE.INTERNAL).grpc);
  const metadata = new grpc.Metadata();
  metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(status.details));
  return Object.assign(new Error(status.message), { code: status.code, details: status.message, metadata });
}

/** gRPC metadata as the request headers the authenticator and tracing read; binary entries are no headers. */
function headersOf(metadata: grpc.Metadata): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') headers[name] = value;
  return headers;
}

function requestFacts(call: UnaryCall | StreamCall): RequestFacts {
  const headersDistinct: Record<string, string[]> = {};
  for (const name of Object.keys(call.metadata.getMap())) {
    if (name.endsWith('-bin')) continue;
    headersDistinct[name] = call.metadata.get(name).map((value) => value.toString());
  }
  return { headers: headersOf(call.metadata), headersDistinct, remoteAddress: peerAddress(call.getPeer()) };
}

/** The address of a peer as grpc-js names it ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"), without its port. */
function peerAddress(peer: string): string | undefined {
  const match = /^(?:ipv[46]:)?\[?([^\]]*?)\]?:\d+$/.exec(peer);
  return match?.[1];
}
