import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskService } from '../core/task-service.js';
import type { TaskStream } from '../core/task-stream.js';
import type { KeyedSlots } from '../core/keyed-slots.js';
import { LimitExceededError, OwnerUnavailableError, PushNotificationNotSupportedError, UnsupportedOperationError } from '../model/errors.js';
import { streamItemWithHistoryLimit } from '../model/history.js';
import type { Caller } from '../model/model.js';
import type { Codec, ListingCodec, ProtocolVersion, SendRequest } from '../protocol/codec.js';
import type { PushConfigs } from '../push/push-configs.js';
import type { StoredPushConfig } from '../store/push-store.js';
import { jsonRpcError, toWireError } from '../protocol/errors.js';
import type { JsonRpcId } from '../protocol/jsonrpc.js';
import { errorEnvelope, parseJsonRpcRequest, resultEnvelope, salvageId } from '../protocol/jsonrpc.js';
import type { Operation } from '../protocol/methods.js';
import { checkNesting } from '../protocol/read.js';
import { resolveMethod } from '../protocol/methods.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { endSpan, startServerSpan, withSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import { listAcrossPods, MISSING_REPLICAS_HEADER } from './cluster-list.js';
import type { ClusterRouting } from './owner-routing.js';
import { forwardToOwner, HOP_HEADER } from './owner-routing.js';
import { routeTarget } from './alias-routing.js';
import { eventFrame } from './event-frames.js';
import { writeSse } from './sse.js';
import { requestedVersion } from './requested-version.js';
import { resumePosition } from './resume-position.js';
import { encodeSseEvent, isEventStream } from '../protocol/sse.js';

export interface JsonRpcHandlerOptions {
  service: TaskService;
  /** Per-pod stores: requests about another pod's task go to that pod, and lists span every pod. */
  routing?: ClusterRouting;
  logger: Logger;
  metrics: Metrics;
  heartbeatMs: number;
  /** The extended card for an authenticated caller, in the version asked; absent: the agent offers none. */
  extendedCard?: (caller: Caller, version: ProtocolVersion) => Promise<unknown>;
  /** Caps the streams one caller may have open at once; absent: no cap. */
  streamsPerCaller?: KeyedSlots;
  /** The push-config calls and the configs sends carry; absent: push notifications are not supported. */
  push?: PushConfigs;
}

/** Seconds a caller at its stream cap is told to wait: streams end when their tasks do. */
const STREAM_CAP_RETRY_SECONDS = 5;

/** What one call did, for its log line and metrics. */
interface CallRecord {
  method: string;
  version: string;
  taskId?: string;
  /** The request's server span, when tracing is on. */
  span?: Span;
  /** The codec of the version the call speaks, once known: errors are worded in it. */
  codec?: Codec;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const TRANSPORT_STATUSES: ReadonlySet<number> = new Set([401, 403, 413, 429, 503]);

/** Serves A2A JSON-RPC (1.0 and 0.3) over one decoded request body. */
export class JsonRpcHandler {
  private readonly openStreams = new Set<TaskStream>();

  constructor(private readonly options: JsonRpcHandlerOptions) {}

  /** Ends every open stream cleanly (the response is finished, not cut): part of a graceful stop. */
  closeStreams(): void {
    for (const stream of this.openStreams) stream.close();
  }

  /** Serves one call for a caller the transport has authenticated (the anonymous caller when authentication is off). */
  async handle(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller): Promise<void> {
    const span = startServerSpan('a2a request', req.headers, { 'rpc.system': 'jsonrpc' });
    return withSpan(span, () => this.serve(req, res, body, caller, span));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, body: string, caller: Caller, span: Span | undefined): Promise<void> {
    const started = process.hrtime.bigint();
    const record: CallRecord = { method: 'unknown', version: 'unknown', span };
    let id: JsonRpcId = null;
    try {
      const rpc = parseJsonRpcRequest(body);
      id = rpc.id;
      const resolved = resolveMethod(rpc.method, requestedVersion(req), rpc.params);
      // Only known method names become metric labels: callers cannot grow the label set.
      record.method = rpc.method;
      record.version = resolved.version;
      record.codec = resolved.codec;
      span?.updateName(rpc.method);
      checkNesting(rpc.params, 'params');
      const { routing } = this.options;
      if (routing !== undefined) {
        const target = await routeTarget(req, routing, resolved, rpc.params, caller, this.options.service);
        if (target !== undefined) {
          const { taskId, owner } = target;
          record.taskId = taskId;
          try {
            await forwardToOwner(req, res, body, resolved.operation, taskId, owner, routing, caller);
          } catch (error) {
            if (error instanceof OwnerUnavailableError) this.options.metrics.ownerRouting.inc({ outcome: 'owner_unavailable' });
            throw error;
          }
          this.options.metrics.ownerRouting.inc({ outcome: 'forwarded' });
          this.finish(record, 'forwarded', started);
          return;
        }
      }
      await this.dispatch(req, res, resolved.operation, resolved.codec, rpc.params, id, caller, record);
      this.finish(record, 'ok', started);
    } catch (error) {
      if (id === null) id = salvageId(body);
      this.reject(res, id, error, record, started);
    }
  }

  /** Answers a request refused before its body was read (size, content type). */
  reject(res: ServerResponse, id: JsonRpcId, error: unknown, record: CallRecord = { method: 'unknown', version: 'unknown' }, started = process.hrtime.bigint()): void {
    const codec = record.codec;
    const wire = toWireError(error, codec === undefined ? undefined : (state) => codec.encodeTaskState(state));
    if (wire.reason === 'INTERNAL') this.options.logger.error({ err: error, method: record.method }, 'request failed');
    if (error instanceof LimitExceededError && error.reason !== 'RATE_LIMITED') {
      this.options.metrics.limited.inc({ limit: error.reason === 'TOO_MANY_TASKS' ? 'tasks' : 'streams' });
    }
    this.finish(record, wire.reason, started);
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
    res.writeHead(status, headers).end(errorEnvelope(id, jsonRpcError(wire)));
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    operation: Operation,
    codec: Codec,
    params: unknown,
    id: JsonRpcId,
    caller: Caller,
    record: CallRecord,
  ): Promise<void> {
    const { service } = this.options;
    codec = codec.forRequest?.(params) ?? codec;
    const reply = (result: unknown): void => {
      // Serialized before the status line: if it fails, the caller still gets a JSON-RPC error, not half an answer.
      const body = resultEnvelope(id, result);
      res.writeHead(200, JSON_HEADERS).end(body);
    };
    switch (operation) {
      case 'send': {
        const request = codec.decodeSend(params);
        const pushConfig = await this.inlinePushConfig(caller, request, codec);
        record.taskId = request.message.taskId;
        const result = await service.sendMessage(caller, request.message, { ...request, pushConfig });
        if (result.kind === 'task') record.taskId = result.task.id;
        return reply(codec.encodeSendResult(result));
      }
      case 'stream': {
        const request = codec.decodeSend(params);
        const pushConfig = await this.inlinePushConfig(caller, request, codec);
        const release = this.streamSlot(caller);
        let stream: TaskStream;
        try {
          stream = await service.sendStreamingMessage(caller, request.message, { ...request, pushConfig });
        } catch (error) {
          release();
          throw error;
        }
        record.taskId = stream.taskId;
        return this.stream(res, stream, codec, id, release, request.historyLength);
      }
      case 'get': {
        const query = codec.decodeTaskQuery(params);
        record.taskId = query.id;
        return reply(codec.encodeTask(await service.getTask(caller, await service.resolveTaskId(caller, query.id, query.mayBeAlias), query.historyLength)));
      }
      case 'list': {
        const listing = codec as ListingCodec;
        const query = listing.decodeListTasks(params);
        const { routing } = this.options;
        const local = () => service.listTasks(caller, query);
        if (routing === undefined || req.headers[HOP_HEADER] !== undefined) return reply(listing.encodeTaskPage(await local(), query.includeArtifacts));
        const { page: merged, missing } = await listAcrossPods(req, routing, query, params, caller, local);
        const page = service.boundPage(merged);
        if (missing.length > 0) {
          this.options.logger.warn({ missing }, 'ListTasks answered without the replicas that did not answer');
          res.setHeader(MISSING_REPLICAS_HEADER, missing.join(', '));
        }
        return reply(listing.encodeTaskPage(page, query.includeArtifacts));
      }
      case 'cancel': {
        const query = codec.decodeTaskQuery(params);
        record.taskId = query.id;
        return reply(codec.encodeTask(await service.cancelTask(caller, await service.resolveTaskId(caller, query.id, query.mayBeAlias))));
      }
      case 'subscribe': {
        const query = codec.decodeTaskQuery(params);
        record.taskId = query.id;
        const release = this.streamSlot(caller);
        let stream: TaskStream;
        try {
          stream = await service.subscribe(caller, await service.resolveTaskId(caller, query.id, query.mayBeAlias), resumePosition(req, params));
        } catch (error) {
          release();
          throw error;
        }
        return this.stream(res, stream, codec, id, release);
      }
      case 'push-config-create':
      case 'push-config-get':
      case 'push-config-list':
      case 'push-config-delete':
        if (this.options.push === undefined) throw new PushNotificationNotSupportedError();
        return reply(await this.options.push.call(operation, codec, params, caller));
      case 'extended-card': {
        const { extendedCard } = this.options;
        // Without authentication the card does not declare extendedAgentCard, and for that case the spec (3.3.4) asks for UnsupportedOperation.
        if (extendedCard === undefined) throw new UnsupportedOperationError('this agent has no extended agent card (capabilities.extendedAgentCard is false)');
        return reply(await extendedCard(caller, record.version as ProtocolVersion));
      }
    }
  }

  /** The push config a send carried, checked (and for a continued task saved) before any work starts. */
  private async inlinePushConfig(caller: Caller, request: SendRequest, codec: Codec): Promise<StoredPushConfig | undefined> {
    if (this.options.push === undefined) return refusePushConfig(request);
    return this.options.push.forSend(caller, request, codec.version);
  }

  /** One of the caller's stream slots, released when its stream ends; a caller at the cap is refused before any work starts. */
  private streamSlot(caller: Caller): () => void {
    const slots = this.options.streamsPerCaller;
    if (slots === undefined) return () => undefined;
    const release = slots.tryAcquire(`${caller.tenant}\u0000${caller.principal}`);
    if (release === undefined) {
      throw new LimitExceededError(
        'TOO_MANY_STREAMS',
        `this caller already has ${slots.max} streams open, the most allowed at once; close one or retry later`,
        STREAM_CAP_RETRY_SECONDS,
      );
    }
    return release;
  }

  /** Writes a stream; `historyLength`, when the caller set one, bounds the history its Task event carries. */
  private async stream(res: ServerResponse, stream: TaskStream, codec: Codec, id: JsonRpcId, release: () => void, historyLength?: number): Promise<void> {
    const { metrics } = this.options;
    metrics.streamSubscribers.inc();
    this.openStreams.add(stream);
    try {
      await writeSse(res, stream, {
        heartbeatMs: this.options.heartbeatMs,
        frame: (item) => eventFrame(id, streamItemWithHistoryLimit(item, historyLength), codec),
        onOverflow: () => metrics.streamsCut.inc(),
      });
    } finally {
      this.openStreams.delete(stream);
      metrics.streamSubscribers.dec();
      release();
    }
  }

  private finish(record: CallRecord, outcome: string, started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (record.span !== undefined) {
      // What the call was and how it ended; never what the task says.
      record.span.setAttributes({ 'rpc.method': record.method, 'a2a.protocol.version': record.version });
      if (record.taskId !== undefined) record.span.setAttribute('a2a.task.id', record.taskId);
      endSpan(record.span, outcome, outcome === 'ok' || outcome === 'forwarded' ? undefined : outcome);
    }
    this.options.metrics.requests.inc({ method: record.method, version: record.version, outcome });
    this.options.metrics.requestSeconds.observe({ method: record.method }, seconds);
    this.options.logger.info(
      { rpc: record.method, version: record.version, taskId: record.taskId, outcome, ms: Math.round(seconds * 1e4) / 10 },
      'a2a request',
    );
  }
}

/**
 * The card says `pushNotifications: false`, so a send that asks for push
 * notifications is refused before any work starts (spec 3.3.4) rather than run
 * with the config silently dropped: its caller would wait for calls that never come.
 */
function refusePushConfig(request: SendRequest): undefined {
  if (request.pushConfigField === undefined) return undefined;
  throw new PushNotificationNotSupportedError(
    `push notifications are not supported by this agent (its card says pushNotifications: false); send without ${request.pushConfigField} and poll or stream instead`,
  );
}
