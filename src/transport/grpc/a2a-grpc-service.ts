import * as grpc from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestFacts } from '../../auth/authenticator.js';
import type { KeyedSlots } from '../../core/keyed-slots.js';
import type { TaskService } from '../../core/task-service.js';
import type { TaskStream } from '../../core/task-stream.js';
import { LimitExceededError, PushNotificationNotSupportedError, UnavailableError, UnsupportedOperationError } from '../../model/errors.js';
import { streamItemWithHistoryLimit } from '../../model/history.js';
import type { Caller } from '../../model/model.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { endSpan, startServerSpan } from '../../observability/tracing.js';
import type { Span } from '../../observability/tracing.js';
import type { ProtocolVersion, SendRequest } from '../../protocol/codec.js';
import { ERROR_TABLE, ProtocolError, toWireError, wireCodes } from '../../protocol/errors.js';
import { decodeToJson, encodeFromJson, ProtoWireError } from '../../protocol/grpc/proto-json.js';
import { a2aService, A2A_SERVICE, messageType } from '../../protocol/grpc/schema.js';
import { grpcError, STATUS_DETAILS_TRAILER } from '../../protocol/grpc/status.js';
import { resolveMethod } from '../../protocol/methods.js';
import type { Operation } from '../../protocol/methods.js';
import { checkNesting } from '../../protocol/read.js';
import { v1Codec } from '../../protocol/v1/codec.js';
import type { AuthGate } from '../auth-gate.js';

export interface A2aGrpcServiceOptions {
  service: TaskService;
  gate: AuthGate;
  logger: Logger;
  metrics: Metrics;
  /** The extended card for an authenticated caller; absent: the agent offers none. */
  extendedCard?: (caller: Caller, version: ProtocolVersion) => Promise<unknown>;
  /** Caps the streams one caller may have open at once, shared with the other bindings; absent: no cap. */
  streamsPerCaller?: KeyedSlots;
}

/** Seconds a caller at its stream cap is told to wait: streams end when their tasks do. */
const STREAM_CAP_RETRY_SECONDS = 5;
/** Seconds a subscriber cut for reading too slowly is told to wait before subscribing again. */
const OVERFLOW_RETRY_SECONDS = 1;

type Bytes = Buffer;
type UnaryCall = grpc.ServerUnaryCall<Bytes, Bytes>;
type StreamCall = grpc.ServerWritableStream<Bytes, Bytes>;

/** What a unary call answers: the ProtoJSON of its response message. */
type Answer = unknown;

/**
 * Serves the A2A 1.0 gRPC service (`lf.a2a.v1.A2AService`). Each call is
 * admitted through the same gate as HTTP (metadata read as headers), its
 * request read into ProtoJSON and decoded by the 1.0 codec, served by the task
 * service, and its answer encoded back; errors leave as the status of their
 * reason with a google.rpc.Status (ErrorInfo first) in `grpc-status-details-bin`.
 * Messages stay raw bytes through grpc-js so that a malformed one is this
 * binding's INVALID_ARGUMENT with details, not the library's bare INTERNAL.
 */
export class A2aGrpcService {
  private readonly openStreams = new Set<TaskStream>();

  constructor(private readonly options: A2aGrpcServiceOptions) {}

  /** Ends every open stream cleanly: part of a graceful stop. */
  closeStreams(): void {
    for (const stream of this.openStreams) stream.close();
  }

  /** The service definition and its handlers, for `grpc.Server.addService`. */
  definition(): { service: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation } {
    const service: Record<string, grpc.MethodDefinition<Bytes, Bytes>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of a2aService().methodsArray) {
      const operation = resolveMethod(method.name, '1.0').operation;
      service[method.name] = {
        path: `/${A2A_SERVICE}/${method.name}`,
        originalName: method.name,
        requestStream: false,
        responseStream: method.responseStream === true,
        requestSerialize: (bytes: Bytes) => bytes,
        requestDeserialize: (bytes: Bytes) => bytes,
        responseSerialize: (bytes: Bytes) => bytes,
        responseDeserialize: (bytes: Bytes) => bytes,
      };
      const request = messageType(method.resolvedRequestType!.fullName.slice(1));
      const response = messageType(method.resolvedResponseType!.fullName.slice(1));
      const call = { name: method.name, operation, request, response };
      handlers[method.name] =
        method.responseStream === true
          ? (stream: StreamCall) => void this.serveStream(stream, call)
          : (unary: UnaryCall, callback: grpc.sendUnaryData<Bytes>) => void this.serveUnary(unary, callback, call);
    }
    return { service, handlers };
  }

  private async serveUnary(call: UnaryCall, callback: grpc.sendUnaryData<Bytes>, method: MethodInfo): Promise<void> {
    const record = this.begin(call, method);
    try {
      const caller = await this.admit(call);
      const params = readRequest(method, call.request);
      const answer = await this.answer(method.operation, params, caller, record);
      callback(null, Buffer.from(encodeFromJson(method.response, answer)));
      this.finish(record, 'ok');
    } catch (error) {
      callback(this.failure(error, record));
    }
  }

  private async serveStream(call: StreamCall, method: MethodInfo): Promise<void> {
    const record = this.begin(call, method);
    let stream: TaskStream | undefined;
    let release: () => void = () => undefined;
    try {
      const caller = await this.admit(call);
      const params = readRequest(method, call.request);
      let historyLength: number | undefined;
      release = this.streamSlot(caller);
      if (method.operation === 'stream') {
        const request = v1Codec.decodeSend(params);
        refusePushConfig(request);
        historyLength = request.historyLength;
        stream = await this.options.service.sendStreamingMessage(caller, request.message);
      } else {
        const query = v1Codec.decodeTaskQuery(params);
        record.taskId = query.id;
        stream = await this.options.service.subscribe(caller, query.id);
      }
      record.taskId = stream.taskId;
      await this.write(call, stream, method, historyLength);
      if (stream.endReason === 'overflow') {
        this.options.metrics.streamsCut.inc();
        throw new UnavailableError('this stream fell too far behind the task and was cut; subscribe again to continue', OVERFLOW_RETRY_SECONDS);
      }
      if (!call.cancelled) call.end();
      this.finish(record, call.cancelled ? 'cancelled' : 'ok');
    } catch (error) {
      const failure = this.failure(error, record);
      if (!call.cancelled) call.emit('error', failure);
    } finally {
      stream?.close();
      release();
    }
  }

  /** Writes the stream's events until its last, a client cancel or deadline, or a stop. */
  private async write(call: StreamCall, stream: TaskStream, method: MethodInfo, historyLength: number | undefined): Promise<void> {
    const { metrics } = this.options;
    const ended = new Promise<void>((resolve) => stream.onClose(resolve));
    // A client that cancels, or whose deadline passes, ends its stream here; the task runs on.
    const onCancelled = () => stream.close();
    call.on('cancelled', onCancelled);
    metrics.streamSubscribers.inc();
    this.openStreams.add(stream);
    try {
      for await (const item of stream) {
        if (call.cancelled) break;
        const bytes = Buffer.from(encodeFromJson(method.response, v1Codec.encodeStreamItem(streamItemWithHistoryLimit(item, historyLength))));
        if (!call.write(bytes)) await Promise.race([new Promise((resolve) => call.once('drain', resolve)), ended]);
      }
    } finally {
      call.off('cancelled', onCancelled);
      this.openStreams.delete(stream);
      metrics.streamSubscribers.dec();
    }
  }

  private async answer(operation: Operation, params: Record<string, unknown>, caller: Caller, record: CallRecord): Promise<Answer> {
    const { service } = this.options;
    switch (operation) {
      case 'send': {
        const request = v1Codec.decodeSend(params);
        refusePushConfig(request);
        record.taskId = request.message.taskId;
        const result = await service.sendMessage(caller, request.message, request);
        if (result.kind === 'task') record.taskId = result.task.id;
        return v1Codec.encodeSendResult(result);
      }
      case 'get': {
        const query = v1Codec.decodeTaskQuery(params);
        record.taskId = query.id;
        return v1Codec.encodeTask(await service.getTask(caller, query.id, query.historyLength));
      }
      case 'list': {
        const query = v1Codec.decodeListTasks(params);
        return v1Codec.encodeTaskPage(await service.listTasks(caller, query), query.includeArtifacts);
      }
      case 'cancel': {
        const query = v1Codec.decodeTaskQuery(params);
        record.taskId = query.id;
        return v1Codec.encodeTask(await service.cancelTask(caller, query.id));
      }
      case 'extended-card': {
        const { extendedCard } = this.options;
        if (extendedCard === undefined) throw new UnsupportedOperationError('this agent has no extended agent card (capabilities.extendedAgentCard is false)');
        return extendedCard(caller, '1.0');
      }
      case 'push-config-create':
      case 'push-config-get':
      case 'push-config-list':
      case 'push-config-delete':
        throw new PushNotificationNotSupportedError();
      case 'stream':
      case 'subscribe':
        // Streaming methods have their own handler; the proto never routes them here.
        throw new ProtocolError(`${operation} is a streaming method`, 'INTERNAL');
    }
  }

  /** The caller named by the call's metadata, through the HTTP binding's gate. */
  private admit(call: UnaryCall | StreamCall): Promise<Caller> {
    return this.options.gate.authorize(requestFacts(call), call.getPath());
  }

  /** One of the caller's stream slots, released when its stream ends; a caller at the cap is refused before any work starts. */
  private streamSlot(caller: Caller): () => void {
    const slots = this.options.streamsPerCaller;
    if (slots === undefined) return () => undefined;
    const release = slots.tryAcquire(`${caller.tenant}\u0000${caller.principal}`);
    if (release !== undefined) return release;
    throw new LimitExceededError(
      'TOO_MANY_STREAMS',
      `this caller already has ${slots.max} streams open, the most allowed at once; close one or retry later`,
      STREAM_CAP_RETRY_SECONDS,
    );
  }

  private begin(call: UnaryCall | StreamCall, method: MethodInfo): CallRecord {
    const span = startServerSpan(method.name, headersOf(call.metadata), { 'rpc.system': 'grpc', 'rpc.service': A2A_SERVICE, 'rpc.method': method.name });
    return { method: method.name, started: process.hrtime.bigint(), span };
  }

  /** The gRPC error for a failure: its reason's status and the details every binding gives. */
  private failure(error: unknown, record: CallRecord): grpc.ServiceError {
    const wire = toWireError(error instanceof ProtoWireError ? new ProtocolError(error.message, 'PARSE_ERROR') : error, (state) => v1Codec.encodeTaskState(state));
    if (wire.reason === 'INTERNAL') this.options.logger.error({ err: error, method: record.method }, 'gRPC request failed');
    if (error instanceof LimitExceededError && error.reason !== 'RATE_LIMITED') {
      this.options.metrics.limited.inc({ limit: error.reason === 'TOO_MANY_TASKS' ? 'tasks' : 'streams' });
    }
    this.finish(record, wire.reason);
    const status = grpcError(wire, (wireCodes(wire.reason) ?? ERROR_TABLE.INTERNAL).grpc);
    const metadata = new grpc.Metadata();
    metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(status.details));
    return Object.assign(new Error(status.message), { code: status.code, details: status.message, metadata });
  }

  private finish(record: CallRecord, outcome: string): void {
    const seconds = Number(process.hrtime.bigint() - record.started) / 1e9;
    if (record.span !== undefined) {
      if (record.taskId !== undefined) record.span.setAttribute('a2a.task.id', record.taskId);
      endSpan(record.span, outcome, outcome === 'ok' || outcome === 'cancelled' ? undefined : outcome);
    }
    this.options.metrics.requests.inc({ method: record.method, version: '1.0', outcome });
    this.options.metrics.requestSeconds.observe({ method: record.method }, seconds);
    this.options.logger.info({ rpc: record.method, binding: 'grpc', taskId: record.taskId, outcome, ms: Math.round(seconds * 1e4) / 10 }, 'a2a request');
  }
}

interface MethodInfo {
  name: string;
  operation: Operation;
  request: ReturnType<typeof messageType>;
  response: ReturnType<typeof messageType>;
}

interface CallRecord {
  method: string;
  started: bigint;
  span?: Span;
  taskId?: string;
}

/** A request message as ProtoJSON, its depth bounded as JSON-RPC params are. */
function readRequest(method: MethodInfo, bytes: Bytes): Record<string, unknown> {
  const params = decodeToJson(method.request, bytes);
  checkNesting(params, 'params');
  return params;
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

/** The card says `pushNotifications: false`: a send that asks for push notifications is refused before any work starts (spec 3.3.4). */
function refusePushConfig(request: SendRequest): void {
  if (request.pushConfigField === undefined) return;
  throw new PushNotificationNotSupportedError(
    `push notifications are not supported by this agent (its card says pushNotifications: false); send without ${request.pushConfigField} and poll or stream instead`,
  );
}
