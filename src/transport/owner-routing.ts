import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CALLER_ASSERTION_HEADER } from '../auth/cluster-assertion.js';
import type { A2aRequest, A2aResult, CallContext, Replicas } from '../core/dispatcher.js';
import { requestTaskId } from '../core/dispatcher.js';
import { ownerOf } from '../core/task-id.js';
import { TaskStream } from '../core/task-stream.js';
import { OwnerUnavailableError } from '../model/errors.js';
import type { Caller, SendResult } from '../model/model.js';
import type { Logger } from '../observability/logger.js';
import { endSpan, injectTraceHeaders, SpanKind, startSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import { fromJsonRpcError } from '../protocol/errors.js';
import { requestEnvelope } from '../protocol/jsonrpc.js';
import { methodName } from '../protocol/methods.js';
import type { Operation } from '../protocol/methods.js';
import { LAST_EVENT_ID_METADATA } from '../protocol/resume.js';
import { isEventStream, readSse } from '../protocol/sse.js';
import { decodeTaskState, encodeListTasks, v1Codec } from '../protocol/v1/codec.js';
import { decodePushConfigAnswerV1, encodePushConfigInputV1 } from '../protocol/v1/push-config.js';
import type { ServedVersion } from '../protocol/codec.js';
import { protoObject } from '../protocol/read.js';
import type { PushConfig } from '../model/push.js';
import { noSuchConfig } from '../push/push-configs.js';
import { describeError } from './pod-client.js';
import type { AnswerKind, PodAnswer, PodClient } from './pod-client.js';

/** How this pod reaches its siblings. Present in per-pod-store mode with a known pod URL template. */
export interface ClusterRouting {
  self: string;
  /** The stable URL of a pod, by name. */
  urlOf(pod: string): string;
  /** Every replica's pod name, this one included. */
  siblings(): readonly string[];
  /** Whether a name is a replica of this StatefulSet: no other name is ever called. */
  isSibling(pod: string): boolean;
  /** Calls to siblings, with connect, response and stall deadlines. */
  client: PodClient;
  /**
   * The header value that tells `pod` who the authenticated caller is (the
   * caller's own credential is never passed on); absent when authentication is
   * off, where every caller is the anonymous one anyway.
   */
  vouch?: (caller: Caller, pod: string) => string;
}

/**
 * Marks a forwarded request: the receiver serves it itself, so a request never
 * travels in a loop. A caller can set it too; then it only gets that pod's own
 * view (its tasks, its list): it is a routing hint, never a credential.
 */
export const HOP_HEADER = 'x-kagent-forwarded-by';

/**
 * Response header of a ListTasks that some replicas did not answer: their pod
 * names, comma separated. Its tasks are the reachable replicas' only. A client
 * that knows nothing of it still gets a valid, if partial, list.
 */
export const MISSING_REPLICAS_HEADER = 'x-kagent-missing-replicas';

/** Request header: `true` asks for every replica's tasks or a retryable error (HTTP 503, -32050) instead of a partial list. */
export const REQUIRE_ALL_REPLICAS_HEADER = 'x-kagent-require-all-replicas';

/**
 * On a relayed call: the A2A version its caller speaks, when not 1.0 (the
 * relay speaks 1.0). A push config it carries is delivered in that version's
 * shape. Only a caller's own configs are shaped by it, so a caller who sets
 * it gains nothing.
 */
export const CALLER_VERSION_HEADER = 'x-kagent-caller-version';

/** The caller's version a relaying replica named, on a relayed call. */
export function relayedCallerVersion(req: IncomingMessage): ServedVersion | undefined {
  if (req.headers[HOP_HEADER] === undefined) return undefined;
  const sent = req.headers[CALLER_VERSION_HEADER];
  return sent === '0.3' || sent === '0.2' ? sent : undefined;
}

/**
 * What the caller said that the owner must hear too: extensions, trace
 * context, request id. Never credentials (Authorization, cookies, API keys):
 * a pod is not the place the caller addressed them to.
 */
const PASSED_HEADERS = ['a2a-extensions', 'traceparent', 'tracestate', 'baggage', 'x-request-id'];
const OWNER_RETRY_AFTER_SECONDS = 5;

/** The routing facts of an HTTP request, for the dispatcher: whether a replica relayed it, and what passes on to an owner. */
export function routingContext(req: IncomingMessage, res: ServerResponse): CallContext & { done(): void } {
  return new HttpCallContext(req, res);
}

/**
 * A class, not an object literal with a getter: V8 keeps a literal's getter in
 * an accessor pair it allocates in the old generation, and from there the
 * getter's closure (and through it the request and response) survived every
 * young collection until the next full one. Every request was promoted that
 * way: under load the young collections copied them all, and a full collection
 * came every tenth of a second.
 */
class HttpCallContext implements CallContext {
  readonly forwarded: boolean;
  readonly requireAllReplicas: boolean;
  readonly passOn: Record<string, string> = {};
  private gone: AbortController | undefined;
  private onClose: (() => void) | undefined;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    for (const name of PASSED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') this.passOn[name] = value;
    }
    this.forwarded = req.headers[HOP_HEADER] !== undefined;
    this.requireAllReplicas = String(req.headers[REQUIRE_ALL_REPLICAS_HEADER] ?? '').toLowerCase() === 'true';
  }

  // Only a call relayed to its owner listens for the caller leaving: most calls never ask, and pay nothing for it.
  get signal(): AbortSignal {
    if (this.gone === undefined) {
      const gone = new AbortController();
      this.gone = gone;
      if (this.res.destroyed) gone.abort();
      else {
        this.onClose = () => gone.abort();
        this.res.once('close', this.onClose);
      }
    }
    return this.gone.signal;
  }

  done(): void {
    if (this.onClose !== undefined) this.res.off('close', this.onClose);
  }
}

/** Names, on a ListTasks answer, the replicas whose tasks it lacks. */
export function markMissingReplicas(res: ServerResponse, result: A2aResult, logger: Logger): void {
  if (result.kind !== 'page' || result.missingReplicas.length === 0) return;
  logger.warn({ missing: result.missingReplicas }, 'ListTasks answered without the replicas that did not answer');
  res.setHeader(MISSING_REPLICAS_HEADER, result.missingReplicas.join(', '));
}

/** The span of one call to another replica on a caller's behalf (a client span; the owner's server span hangs under it). */
function hopSpan(routing: ClusterRouting, pod: string, operation: Operation): Span | undefined {
  return startSpan(`owner-routing ${operation}`, SpanKind.CLIENT, { 'kagent.pod.from': routing.self, 'kagent.pod.to': pod, 'a2a.operation': operation });
}

/** How long the owner may take to begin its answer to this operation. */
function answerKind(operation: Operation): AnswerKind {
  if (operation === 'stream' || operation === 'subscribe') return 'stream';
  // A blocking send is answered when the task stops, however long that takes.
  return operation === 'send' ? 'task' : 'prompt';
}

/**
 * Carries operations out on the replica that owns their task, as A2A 1.0
 * JSON-RPC calls between pods: the operation in, its result or event stream
 * back in the model, whatever binding and version the caller speaks. The
 * caller's credential stays here; the owner is told who the caller is by a
 * signed assertion. An owner that cannot be reached, or stops answering, is a
 * retryable error naming it — never "task not found"; one that goes away in
 * the middle of a stream ends it with that error after the events it sent.
 */
export class OwnerRelay implements Replicas {
  constructor(
    private readonly routing: ClusterRouting,
    private readonly options: {
      /** Events a relayed stream holds for a slow reader before it is cut, as for local streams. */
      streamCapacity: number;
      /** Counts each relayed call by outcome ('forwarded', 'owner_unavailable'). */
      counted?: (outcome: string) => void;
    },
  ) {}

  get self(): string {
    return this.routing.self;
  }

  pods(): readonly string[] {
    return this.routing.siblings();
  }

  ownerElsewhere(taskId: string): string | undefined {
    const owner = ownerOf(taskId);
    // An id naming anything but a sibling is served here, where no such task exists: a caller's string never becomes a host.
    if (owner === undefined || owner === this.routing.self || !this.routing.isSibling(owner)) return undefined;
    return owner;
  }

  async call(pod: string, caller: Caller, request: A2aRequest, context: CallContext): Promise<A2aResult> {
    const span = hopSpan(this.routing, pod, request.operation);
    const taskId = requestTaskId(request) ?? '';
    const upstream = new AbortController();
    const onCallerGone = () => upstream.abort();
    context.signal?.addEventListener('abort', onCallerGone, { once: true });
    const unavailable = (why: unknown) => {
      this.count(context, 'owner_unavailable');
      return new OwnerUnavailableError(taskId, pod, describeError(why, 'unknown failure'), OWNER_RETRY_AFTER_SECONDS);
    };
    // A 0.3 get without a config id asks for the task's first config, which 1.0 has no call for: the owner lists them.
    const onWire: A2aRequest = request.operation === 'push-config-get' && request.ref.configId === undefined ? { operation: 'push-config-list', ref: request.ref } : request;
    let answer: PodAnswer;
    try {
      answer = await this.routing.client.post(
        `${this.routing.urlOf(pod)}/`,
        this.headers(caller, pod, request, context, span),
        requestEnvelope(randomUUID(), methodName('1.0', onWire.operation) ?? onWire.operation, paramsOf(onWire)),
        answerKind(request.operation),
        upstream.signal,
      );
      span?.setAttribute('http.response.status_code', answer.status);
    } catch (error) {
      context.signal?.removeEventListener('abort', onCallerGone);
      endSpan(span, 'owner_unavailable', `${pod} did not answer`);
      throw unavailable(error);
    }
    if (isEventStream(answer.header('content-type'))) {
      const stream = new TaskStream(this.options.streamCapacity, taskId || undefined);
      stream.onClose(() => {
        upstream.abort();
        context.signal?.removeEventListener('abort', onCallerGone);
      });
      void this.pump(answer, stream, unavailable, span);
      this.count(context, 'forwarded');
      return { kind: 'stream', stream, via: pod };
    }
    try {
      const result = answeredAsAsked(request, await this.whole(answer, onWire, unavailable));
      this.count(context, 'forwarded');
      endSpan(span, 'ok');
      return { ...result, via: pod };
    } catch (error) {
      endSpan(span, error instanceof OwnerUnavailableError ? 'owner_unavailable' : 'ok', error instanceof OwnerUnavailableError ? `${pod} did not answer` : undefined);
      throw error;
    } finally {
      context.signal?.removeEventListener('abort', onCallerGone);
    }
  }

  /** Calls to every replica (ListTasks, an alias lookup) are counted by what they serve, not as relayed calls. */
  private count(context: CallContext, outcome: string): void {
    if (context.fanOut !== true) this.options.counted?.(outcome);
  }

  private headers(caller: Caller, pod: string, request: A2aRequest, context: CallContext, hop: Span | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      ...context.passOn,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'a2a-version': '1.0',
      [HOP_HEADER]: this.routing.self,
    };
    const version = 'version' in request ? request.version : undefined;
    if (version !== undefined && version !== '1.0' && (request.operation === 'send' || request.operation === 'stream' || request.operation === 'push-config-create')) {
      headers[CALLER_VERSION_HEADER] = version;
    }
    // With tracing on, the trace context names the hop as the parent; with it off, the caller's own passes through.
    injectTraceHeaders(headers, hop);
    if (this.routing.vouch !== undefined) headers[CALLER_ASSERTION_HEADER] = this.routing.vouch(caller, pod);
    return headers;
  }

  /** A JSON answer: the owner's result in the model, or its error as it said it. */
  private async whole(answer: PodAnswer, request: A2aRequest, unavailable: (why: unknown) => Error): Promise<A2aResult> {
    let text: string;
    try {
      text = await answer.text();
    } catch (error) {
      throw unavailable(error);
    }
    let body: { result?: unknown; error?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw unavailable(`its answer (HTTP ${answer.status}) is not JSON`);
    }
    if (body.error !== undefined || body.result === undefined) throw fromJsonRpcError(body.error, decodeTaskState);
    try {
      return decodeResult(request, body.result);
    } catch (error) {
      throw unavailable(`its answer is malformed: ${describeError(error, 'unreadable')}`);
    }
  }

  /** Passes the owner's events on, in order; the stream fails with the owner's error event, or when the owner goes away. */
  private async pump(answer: PodAnswer, stream: TaskStream, unavailable: (why: unknown) => Error, span: Span | undefined): Promise<void> {
    let outcome = 'ok';
    try {
      for await (const item of readSse(answer.chunks())) {
        if (item.type !== 'event') continue;
        let envelope: { result?: unknown; error?: unknown };
        try {
          envelope = JSON.parse(item.data) as typeof envelope;
        } catch {
          throw unavailable('it sent an event that is not JSON');
        }
        if (envelope.error !== undefined || envelope.result === undefined) {
          stream.fail(fromJsonRpcError(envelope.error, decodeTaskState));
          return;
        }
        let event;
        try {
          event = v1Codec.decodeStreamItem(envelope.result, 'result');
        } catch (error) {
          throw unavailable(`it sent a malformed event: ${describeError(error, 'unreadable')}`);
        }
        // The owner's event id is the task version the event shows: this pod's SSE writes it again, so a client resumes from it on any replica.
        const version = item.id === undefined ? undefined : Number(item.id);
        stream.push(event, version !== undefined && Number.isSafeInteger(version) ? version : undefined);
      }
      // What was passed on is delivered: a resumed stream of an ended task may end without a last event.
      stream.end();
    } catch (error) {
      if (stream.endReason !== undefined) {
        outcome = 'client_gone';
        return;
      }
      outcome = 'owner_unavailable';
      stream.fail(error instanceof OwnerUnavailableError ? error : unavailable(error));
    } finally {
      endSpan(span, outcome, outcome === 'owner_unavailable' ? 'the owner stopped answering mid-stream' : undefined);
    }
  }
}

/** An operation's params as A2A 1.0 writes them. */
function paramsOf(request: A2aRequest): unknown {
  switch (request.operation) {
    case 'send':
    case 'stream': {
      const params = v1Codec.encodeSend(request.send);
      const { pushConfig } = request.send;
      // The caller's config travels whole, credentials too: the owner stores it.
      if (pushConfig !== undefined) params.configuration = { ...(params.configuration as object | undefined), taskPushNotificationConfig: encodePushConfigInputV1(pushConfig) };
      return params;
    }
    case 'push-config-create':
      return { ...encodePushConfigInputV1(request.create.config), taskId: request.create.taskId };
    case 'push-config-get':
    case 'push-config-delete':
      return request.ref.configId === undefined ? { taskId: request.ref.taskId } : { taskId: request.ref.taskId, id: request.ref.configId };
    case 'push-config-list':
      return { taskId: request.ref.taskId };
    case 'get':
    case 'cancel':
      return request.query.historyLength === undefined ? { id: request.query.id } : { id: request.query.id, historyLength: request.query.historyLength };
    case 'subscribe':
      // The resume position travels where a JSON-RPC caller may put it too: the owner replays from it.
      return request.query.afterVersion === undefined ? { id: request.query.id } : { id: request.query.id, metadata: { [LAST_EVENT_ID_METADATA]: String(request.query.afterVersion) } };
    case 'list':
      return encodeListTasks(request.query);
    default:
      return {};
  }
}

/** An owner's JSON-RPC result, read back into the model for the operation asked. */
function decodeResult(request: A2aRequest, result: unknown): A2aResult {
  switch (request.operation) {
    case 'send': {
      const item = v1Codec.decodeStreamItem(result, 'result');
      if (item.kind !== 'task' && item.kind !== 'message') throw new Error('a send was answered with neither a task nor a message');
      const sent: SendResult = item.kind === 'task' ? { kind: 'task', task: item.task } : { kind: 'message', message: item.message };
      return { kind: 'sent', result: sent };
    }
    case 'list':
      return { kind: 'page', page: v1Codec.decodeTaskPage(result, 'result'), includeArtifacts: request.query.includeArtifacts, missingReplicas: [] };
    case 'push-config-create':
      return { kind: 'push-config', taskId: request.create.taskId, config: decodePushConfigAnswerV1(result, 'result') };
    case 'push-config-get':
      return { kind: 'push-config', taskId: request.ref.taskId, config: decodePushConfigAnswerV1(result, 'result') };
    case 'push-config-list':
      return { kind: 'push-configs', taskId: request.ref.taskId, configs: decodePushConfigList(result) };
    case 'push-config-delete':
      return { kind: 'push-config-deleted' };
    default:
      return { kind: 'task', task: v1Codec.decodeTask(result, 'result') };
  }
}

/** The answer to the request a caller made, from the one the owner was asked: a 0.3 get without a config id is its task's first config. */
function answeredAsAsked(request: A2aRequest, result: A2aResult): A2aResult {
  if (request.operation !== 'push-config-get' || result.kind !== 'push-configs') return result;
  const first = result.configs[0];
  if (first === undefined) throw noSuchConfig(request.ref);
  return { kind: 'push-config', taskId: request.ref.taskId, config: first };
}

/** A ListTaskPushNotificationConfigsResponse's configs. */
function decodePushConfigList(result: unknown): PushConfig[] {
  const configs = protoObject(result, 'result').configs ?? [];
  if (!Array.isArray(configs)) throw new Error('result.configs is not a list');
  return configs.map((config, i) => decodePushConfigAnswerV1(config, `result.configs[${i}]`));
}
