import type { IncomingMessage, ServerResponse } from 'node:http';
import { CALLER_ASSERTION_HEADER } from '../auth/cluster-assertion.js';
import { ownerOf } from '../core/task-id.js';
import { OwnerUnavailableError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import { endSpan, injectTraceHeaders, SpanKind, startSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import type { Operation } from '../protocol/methods.js';
import { isEventStream } from '../protocol/sse.js';
import { describeError } from './pod-client.js';
import type { AnswerKind, PodAnswer, PodClient } from './pod-client.js';
import { requestedVersion } from './requested-version.js';
import { sentLastEventId } from './resume-position.js';

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
 * What the caller said that the owner must hear too: protocol version,
 * extensions, trace context. Never credentials (Authorization, cookies, API
 * keys): a pod is not the place the caller addressed them to.
 */
const PASSED_HEADERS = ['a2a-version', 'a2a-extensions', 'traceparent', 'tracestate', 'baggage', 'accept', 'x-request-id'];
const RELAYED_HEADERS = ['content-type', 'retry-after', 'cache-control', 'x-accel-buffering', 'www-authenticate'];
const OWNER_RETRY_AFTER_SECONDS = 5;

/** The task a request is about, read from the raw params (the owner validates them). */
export function routedTaskId(operation: Operation, params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as Record<string, unknown>;
  switch (operation) {
    case 'get':
    case 'cancel':
    case 'subscribe':
      return typeof p.id === 'string' ? p.id : undefined;
    case 'send':
    case 'stream': {
      const message = p.message;
      if (typeof message !== 'object' || message === null) return undefined;
      const m = message as Record<string, unknown>;
      const taskId = m.taskId ?? m.task_id;
      return typeof taskId === 'string' ? taskId : undefined;
    }
    case 'push-config-create':
    case 'push-config-get':
    case 'push-config-list':
    case 'push-config-delete': {
      // 1.0 names the task `taskId` (and the config `id`); 0.3 names it `taskId` in a set, `id` in the others.
      const taskId = p.taskId ?? p.task_id ?? (operation === 'push-config-create' ? undefined : p.id);
      return typeof taskId === 'string' ? taskId : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The pod to forward to: the task's owner, when that is another replica of
 * this StatefulSet and the request was not forwarded already. An id naming
 * anything else is served here, where no such task exists (TaskNotFound):
 * a caller's string never becomes a host.
 */
export function foreignOwner(req: IncomingMessage, routing: ClusterRouting, taskId: string | undefined): string | undefined {
  if (taskId === undefined || req.headers[HOP_HEADER] !== undefined) return undefined;
  const owner = ownerOf(taskId);
  if (owner === undefined || owner === routing.self || !routing.isSibling(owner)) return undefined;
  return owner;
}

/**
 * The headers a request to `pod` carries on the caller's behalf. With tracing
 * on, the trace context names `hop` (the span of this call) as the parent;
 * with it off, the caller's own passes through unchanged.
 */
export function forwardHeaders(req: IncomingMessage, routing: ClusterRouting, caller: Caller, pod: string, hop?: Span): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', [HOP_HEADER]: routing.self };
  for (const name of PASSED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  // A version asked for by query parameter travels as the header: the owner is sent only the body.
  const version = requestedVersion(req);
  if (version !== undefined) headers['a2a-version'] = version;
  // So does a resume position: the owner replays from it (the request's metadata, if it holds one, travels in the body).
  const lastEventId = sentLastEventId(req);
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  injectTraceHeaders(headers, hop);
  if (routing.vouch !== undefined) headers[CALLER_ASSERTION_HEADER] = routing.vouch(caller, pod);
  return headers;
}

/** The span of one call to another replica on a caller's behalf (a client span; the owner's server span hangs under it). */
export function hopSpan(routing: ClusterRouting, pod: string, operation: Operation): Span | undefined {
  return startSpan(`owner-routing ${operation}`, SpanKind.CLIENT, { 'kagent.pod.from': routing.self, 'kagent.pod.to': pod, 'a2a.operation': operation });
}

/** How long the owner may take to begin its answer to this operation. */
function answerKind(operation: Operation): AnswerKind {
  if (operation === 'stream' || operation === 'subscribe') return 'stream';
  // A blocking send is answered when the task stops, however long that takes.
  return operation === 'send' ? 'task' : 'prompt';
}

/**
 * Sends the request to the task's owner and relays its answer unchanged,
 * streams event by event (heartbeats included). An owner that cannot be
 * reached, or stops answering, is a retryable error naming it — never "task
 * not found". When it goes away in the middle of a stream, this throws once
 * the events relayed so far are out, so the stream ends with that error as
 * its last event instead of being cut.
 */
export async function forwardToOwner(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  operation: Operation,
  taskId: string,
  owner: string,
  routing: ClusterRouting,
  caller: Caller,
): Promise<void> {
  const controller = new AbortController();
  const onClientGone = () => controller.abort();
  res.once('close', onClientGone);
  const span = hopSpan(routing, owner, operation);
  let outcome = 'ok';
  try {
    let upstream: PodAnswer;
    try {
      upstream = await routing.client.post(`${routing.urlOf(owner)}/`, forwardHeaders(req, routing, caller, owner, span), body, answerKind(operation), controller.signal);
    } catch (error) {
      outcome = 'owner_unavailable';
      throw new OwnerUnavailableError(taskId, owner, describe(error), OWNER_RETRY_AFTER_SECONDS);
    }
    span?.setAttribute('http.response.status_code', upstream.status);
    const headers: Record<string, string> = {};
    for (const name of RELAYED_HEADERS) {
      const value = upstream.header(name);
      if (value !== undefined) headers[name] = value;
    }
    const isStream = isEventStream(headers['content-type']);
    // Set one by one so that an error after this point can tell a stream (end it with an error event) from a JSON answer.
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.writeHead(upstream.status);
    res.flushHeaders();
    const frames = new FrameSplitter(isStream);
    try {
      for await (const chunk of upstream.chunks()) {
        const whole = frames.push(chunk);
        if (whole.length > 0 && !res.write(whole)) await drained(res);
      }
      res.end(frames.rest());
    } catch (error) {
      outcome = controller.signal.aborted || res.destroyed ? 'client_gone' : 'owner_unavailable';
      if (controller.signal.aborted || res.destroyed) return;
      // Only whole events went out, so an error event can follow them.
      if (isStream) throw new OwnerUnavailableError(taskId, owner, describe(error), OWNER_RETRY_AFTER_SECONDS);
      // A JSON answer cut short cannot be mended: the caller sees the connection drop.
      res.destroy();
    }
  } finally {
    res.off('close', onClientGone);
    endSpan(span, outcome, outcome === 'owner_unavailable' ? `${owner} did not answer` : undefined);
  }
}

/** Resolves when the client has taken what was written, or has gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Passes an SSE body on in whole events only (each ends with a blank line),
 * so that whatever is written last, the stream stays well-formed. Any other
 * body passes through as it comes.
 */
class FrameSplitter {
  private held: Buffer[] = [];
  private lastByte = -1;

  constructor(private readonly byEvent: boolean) {}

  push(chunk: Uint8Array): Buffer {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.byEvent) return buffer;
    let end = buffer.lastIndexOf('\n\n');
    if (end >= 0) end += 2;
    else if (buffer[0] === NEWLINE && this.lastByte === NEWLINE) end = 1;
    if (buffer.length > 0) this.lastByte = buffer[buffer.length - 1]!;
    if (end < 0) {
      this.held.push(buffer);
      return EMPTY;
    }
    const whole = Buffer.concat([...this.held, buffer.subarray(0, end)]);
    this.held = end < buffer.length ? [buffer.subarray(end)] : [];
    return whole;
  }

  /** What is left at a clean end of the body. */
  rest(): Buffer {
    const rest = Buffer.concat(this.held);
    this.held = [];
    return rest;
  }
}

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

export function describe(error: unknown): string {
  return describeError(error, 'unknown failure');
}
