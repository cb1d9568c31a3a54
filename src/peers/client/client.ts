import type { Dispatcher } from 'undici';
import type { Message, SendResult, StreamItem, Task, TaskPage } from '../../model/model.js';
import { CARD_PATHS, agentBaseUrl } from './agent-url.js';
import type { AgentCardSummary, Binding, EndpointRule, ProtocolVersion } from './card.js';
import { summarizeCard } from './card.js';
import { A2AClientError, A2ATimeoutError } from './errors.js';
import type { TrustedCardKey } from './card-signature.js';
import { verifyCardSignature } from './card-signature.js';
import type { ClientErrorKind } from './errors.js';
import type { HttpRequest, HttpResponse, RawResponse } from './http.js';
import { AttemptScope, CallScope, header, readBody, sendRequest, sharedDispatcher } from './http.js';
import type { ListTasksParams, Protocol, SendParams, StreamOp, UnaryOp } from './protocol.js';
import { protocolFor } from './protocol.js';
import type { RetryEvent, RetryPolicy } from './retry.js';
import { backoffDelay, isRetryable, resolveRetry } from './retry.js';
import { isEventStream, readSse } from '../../protocol/sse.js';
import { isLast } from '../../model/lifecycle.js';
import { withoutTrailingSlashes } from '../../model/text.js';
import { endSpan, injectTraceHeaders, SpanKind, startSpan, tracingEnabled } from '../../observability/tracing.js';
import type { Span } from '../../observability/tracing.js';

/** Limits of one call. Every field falls back to the client's option of the same name. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Each attempt's limit: until the whole answer is in, or for a stream until it has begun. 0 turns it off. */
  timeoutMs?: number;
  /** The whole call's limit, retries and waits included (a stream: until it ends). 0 turns it off. */
  deadlineMs?: number;
  /** Overrides parts of the client's retry policy for this call; false: one attempt only. */
  retry?: Partial<RetryPolicy> | false;
}

export interface StreamOptions extends CallOptions {
  /** Ends the stream with a timeout error when no event and no heartbeat arrives for this long. 0 turns it off. */
  stallTimeoutMs?: number;
  /** Reconnect a dropped stream and pick up after its last event (default: the client's `resume`, on). */
  resume?: boolean;
}

export interface SendOptions extends CallOptions, SendParams {}

export interface StreamSendOptions extends StreamOptions {
  historyLength?: number;
  acceptedOutputModes?: string[];
}

export interface GetTaskOptions extends CallOptions {
  historyLength?: number;
}

export interface ClientOptions {
  /**
   * Where requests go. 'base' (the default when the card was read from a URL):
   * the endpoint path the card advertises, on the origin of the URL given to
   * connect(); the card's host is often a name only its own network resolves,
   * and this is what works through localhost, a port-forward or a proxy.
   * 'card': the URL exactly as the card advertises it, for an agent whose card
   * is served from another host or port than its endpoint.
   */
  endpoint?: EndpointRule;
  /** Speak only this protocol version (default: the newest the card offers, 1.0 before 0.3). */
  protocolVersion?: ProtocolVersion;
  /** Bindings to use, in order of preference (default JSONRPC, then HTTP+JSON). */
  bindings?: Binding[];
  retry?: Partial<RetryPolicy> | false;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Overall deadline of each call (default none). */
  deadlineMs?: number;
  /** Stream stall timeout (default 60 s). */
  stallTimeoutMs?: number;
  /**
   * A stream that drops before its task ends (connection lost, stalled, the
   * agent unavailable, or closed without a last event) is followed again with
   * SubscribeToTask and Last-Event-ID, so the caller reads every event once
   * (default true). Only agents whose events carry SSE ids can be resumed;
   * reconnections follow the retry policy's attempts and backoff, counted
   * afresh after each event that arrives.
   */
  resume?: boolean;
  /** Sent with every request (e.g. authorization). */
  headers?: Record<string, string>;
  /** The undici dispatcher (connection pool) to use; default one shared by every client in the process. */
  dispatcher?: Dispatcher;
  /** A larger answer is refused as invalid (default 32 MiB). */
  maxResponseBytes?: number;
  /** Called before each retry's wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Called once each call has ended (a stream: once it is over), with what it was and how it went. */
  onCallEnded?: (call: CallEnded) => void;
}

/** One finished call: the A2A method, `ok` or the error kind, and the attempts it took (retries are attempts − 1). */
export interface CallEnded {
  method: CallMethod;
  outcome: 'ok' | ClientErrorKind;
  attempts: number;
}

export type CallMethod = 'SendMessage' | 'SendStreamingMessage' | 'SubscribeToTask' | 'GetTask' | 'CancelTask' | 'ListTasks';

export interface ConnectOptions extends ClientOptions {
  /** Read the card at this path only, instead of /.well-known/agent-card.json then /.well-known/agent.json. */
  cardPath?: string;
  /** Limits of the card fetch itself. */
  signal?: AbortSignal;
  /**
   * The key this agent's card must be signed with (A2A §8.4). With it, a card
   * without a valid signature by that key is refused ('untrusted-card') and
   * nothing is sent to the agent; without it, signatures are not checked.
   */
  trustedCardKey?: TrustedCardKey;
}

export { CARD_PATHS };

const DEFAULTS = { timeoutMs: 30_000, stallTimeoutMs: 60_000, maxResponseBytes: 32 * 1024 * 1024 };

/**
 * An A2A client for one agent. It speaks A2A 1.0 over JSON-RPC or HTTP+JSON,
 * or A2A 0.3 over JSON-RPC, whichever the agent's card offers (or the caller
 * forces), and hands back the same model types whatever the version.
 * Failed attempts are retried per the retry policy; a retried send carries the
 * same messageId, so the agent can recognise it.
 */
export class A2AClient {
  private readonly protocol: Protocol;
  private readonly dispatcher: Dispatcher;

  private constructor(
    readonly card: AgentCardSummary,
    private readonly options: ClientOptions,
  ) {
    const endpoint = { url: card.url, binding: card.binding, version: card.protocolVersion, ...(card.tenant === undefined ? {} : { tenant: card.tenant }) };
    this.protocol = protocolFor(endpoint, { ...(options.headers ?? {}) });
    this.dispatcher = options.dispatcher ?? sharedDispatcher();
  }

  /**
   * Reads the agent card at a base URL (/.well-known/agent-card.json, then
   * /.well-known/agent.json) and picks the interface to speak. A card's own URL
   * is taken as the base it belongs to. Throws a TypeError for a URL that is
   * not http(s).
   */
  static async connect(baseUrl: string, options: ConnectOptions = {}): Promise<A2AClient> {
    const base = agentBaseUrl(baseUrl);
    const paths = options.cardPath === undefined ? CARD_PATHS : [options.cardPath.startsWith('/') ? options.cardPath : `/${options.cardPath}`];
    const dispatcher = options.dispatcher ?? sharedDispatcher();
    let last: A2AClientError | undefined;
    for (const path of paths) {
      const url = base + path;
      const request: HttpRequest = { method: 'GET', url, headers: { ...(options.headers ?? {}), accept: 'application/json' } };
      let raw: unknown;
      try {
        raw = await runUnary(
          dispatcher,
          {
            request,
            parse: (res) => {
              if (res.status < 200 || res.status > 299) {
                const status = res.status;
                throw new A2AClientError('http', `no agent card at ${url}: HTTP ${status}`, { code: status, httpStatus: status, url });
              }
              try {
                return JSON.parse(res.text) as unknown;
              } catch {
                throw new A2AClientError('invalid-response', `the agent card at ${url} is not JSON`, { url });
              }
            },
          },
          options,
          options,
        );
        if (options.trustedCardKey !== undefined) await verifyCardSignature(raw, options.trustedCardKey, base);
        return new A2AClient(summarizeCard(raw, base, options), options);
      } catch (error) {
        if (!(error instanceof A2AClientError)) throw error;
        // Only "nothing here" moves on to the next path; any other failure is the answer.
        const absent = error.kind === 'http' && (error.httpStatus === 404 || error.httpStatus === 410);
        if (!absent && error.kind !== 'unsupported') throw error;
        last = error;
      }
    }
    throw last ?? new A2AClientError('http', `no agent card at ${base}`);
  }

  /** A client for a card already in hand (e.g. from discovery); `baseUrl` is where it came from. */
  static fromCard(card: unknown, options: ClientOptions & { baseUrl?: string } = {}): A2AClient {
    const base = options.baseUrl === undefined ? undefined : withoutTrailingSlashes(options.baseUrl);
    return new A2AClient(summarizeCard(card, base, options), options);
  }

  /** A client for a known endpoint, without reading a card (default: A2A 1.0 over JSON-RPC). */
  static fromUrl(url: string, options: ClientOptions = {}): A2AClient {
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new TypeError(`"${url}" is not an http or https URL`);
    const binding = options.bindings?.[0] ?? 'JSONRPC';
    const version = options.protocolVersion ?? '1.0';
    if (version === '0.3' && binding !== 'JSONRPC') throw new A2AClientError('unsupported', 'A2A 0.3 is spoken over JSONRPC only by this client');
    const card = { supportedInterfaces: [{ url, protocolBinding: binding, protocolVersion: version }] };
    return new A2AClient(summarizeCard(card, undefined, { ...options, endpoint: 'card' }), options);
  }

  /** The protocol version this client speaks to the agent. */
  get protocolVersion(): ProtocolVersion {
    return this.card.protocolVersion;
  }

  get binding(): Binding {
    return this.card.binding;
  }

  /** Sends a message; waits for the task to end or need input unless `returnImmediately`. */
  send(message: Message, options: SendOptions = {}): Promise<SendResult> {
    return this.unary('SendMessage', () => this.protocol.send(message, pickSend(options)), options);
  }

  /** Sends a message and reads the task's events as they happen: first the task (or a lone message), then updates. */
  stream(message: Message, options: StreamSendOptions = {}): AsyncGenerator<StreamItem> {
    return this.streamed('SendStreamingMessage', () => this.protocol.stream(message, pickSend(options)), options);
  }

  /** Follows a running task: its current state first, then its updates until it ends. */
  subscribe(taskId: string, options: StreamOptions & { lastEventId?: string } = {}): AsyncGenerator<StreamItem> {
    return this.streamed('SubscribeToTask', () => this.protocol.subscribe(taskId, options.lastEventId), options);
  }

  getTask(id: string, options?: number | GetTaskOptions): Promise<Task> {
    const opts: GetTaskOptions = typeof options === 'number' ? { historyLength: options } : (options ?? {});
    return this.unary('GetTask', () => this.protocol.get(id, opts.historyLength), opts);
  }

  cancelTask(id: string, options: CallOptions = {}): Promise<Task> {
    return this.unary('CancelTask', () => this.protocol.cancel(id), options);
  }

  /** One page of tasks, newest first (A2A 1.0 only: over 0.3 it fails with kind 'unsupported'). */
  listTasks(params: ListTasksParams = {}, options: CallOptions = {}): Promise<TaskPage> {
    return this.unary('ListTasks', () => this.protocol.list(params), options);
  }

  /** Closes the connection pool, if it is this client's own; the shared one stays. */
  async close(): Promise<void> {
    if (this.options.dispatcher !== undefined) await this.options.dispatcher.close();
  }

  private async unary<T>(method: CallMethod, build: () => UnaryOp<T>, call: CallOptions): Promise<T> {
    const op = build();
    const span = this.traced(method, op.request);
    const tally = { attempts: 0 };
    try {
      const result = await runUnary(this.dispatcher, op, this.options, call, tally);
      endSpan(span, 'ok');
      this.ended(method, undefined, tally);
      return result;
    } catch (error) {
      endCallSpan(span, error);
      this.ended(method, { error }, tally);
      throw error;
    }
  }

  private ended(method: CallMethod, failure: { error: unknown } | undefined, tally: { attempts: number }): void {
    if (this.options.onCallEnded === undefined) return;
    // Anything but a client error is an answer the client could not make sense of.
    const outcome = failure === undefined ? 'ok' : failure.error instanceof A2AClientError ? failure.error.kind : 'invalid-response';
    this.options.onCallEnded({ method, outcome, attempts: Math.max(1, tally.attempts) });
  }

  /** A client span for one call (its retries included), its context in the request's headers; none when tracing is off. */
  private traced(method: string, request: HttpRequest): Span | undefined {
    if (!tracingEnabled()) return undefined;
    const span = startSpan(method, SpanKind.CLIENT, { 'rpc.method': method, 'a2a.binding': this.binding, ...peerAttributes(request.url) });
    injectTraceHeaders(request.headers, span);
    return span;
  }

  private async *streamed(method: CallMethod, build: () => StreamOp, call: StreamOptions): AsyncGenerator<StreamItem> {
    const op = build();
    const span = this.traced(method, op.request);
    const tally = { attempts: 0 };
    // A consumer that stops reading early ends the call as ok.
    let failure: { error: unknown } | undefined;
    try {
      yield* this.resumable(op, call, tally);
    } catch (error) {
      failure = { error };
      throw error;
    } finally {
      if (failure === undefined) endSpan(span, 'ok');
      else endCallSpan(span, failure.error);
      this.ended(method, failure, tally);
    }
  }

  /**
   * One stream, followed across dropped connections: after a drop it
   * subscribes again from the last event id it saw, waiting as the retry
   * policy says between tries; the deadline and signal cover them all.
   */
  private async *resumable(first: StreamOp, call: StreamOptions, tally: { attempts: number }): AsyncGenerator<StreamItem> {
    const scope = new CallScope(call.signal, call.deadlineMs ?? this.options.deadlineMs);
    const resume = call.resume ?? this.options.resume ?? true;
    const policy = resolveRetry(this.options.retry, call.retry);
    const at: StreamPosition = { ended: false };
    let op = first;
    let failures = 0;
    try {
      for (;;) {
        let dropped: A2AClientError;
        try {
          for await (const { item, id } of this.streamOnce(op, call, tally, scope)) {
            // An agent that replays more than asked for: what was read already is not read twice.
            if (isAtOrBefore(id, at.lastId)) continue;
            failures = 0;
            advance(at, item, id);
            yield item;
          }
          if (at.ended || !resume || at.taskId === undefined || at.lastId === undefined) return;
          dropped = new A2AClientError('connection', `${op.request.url}: the stream ended before its task did`, { url: op.request.url });
        } catch (error) {
          if (!(error instanceof A2AClientError) || !resume || at.taskId === undefined || at.lastId === undefined || !mayResume(error, scope)) throw error;
          dropped = error;
        }
        failures++;
        const delayMs = backoffDelay(policy, failures);
        if (failures >= policy.maxAttempts || delayMs >= scope.remaining()) throw dropped;
        this.options.onRetry?.({ attempt: failures, error: dropped, delayMs });
        await scope.sleep(delayMs);
        op = this.protocol.subscribe(at.taskId, at.lastId);
      }
    } finally {
      scope.dispose();
    }
  }

  private async *streamOnce(op: StreamOp, call: StreamOptions, tally: { attempts: number }, scope: CallScope): AsyncGenerator<{ item: StreamItem; id?: string }> {
    const stallMs = call.stallTimeoutMs ?? this.options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs;
    let opened: { attempt: AttemptScope; res: HttpResponse } | undefined;
    try {
      opened = await withRetries(scope, this.options, call, tally, async () => {
        const attempt = new AttemptScope(scope, call.timeoutMs ?? this.options.timeoutMs ?? DEFAULTS.timeoutMs);
        try {
          const res = await sendRequest(op.request, this.dispatcher, attempt);
          if (res.status < 200 || res.status > 299 || !isEventStream(header(res.headers, 'content-type'))) {
            op.refuse(await readBody(res, op.request.url, attempt, this.options.maxResponseBytes ?? DEFAULTS.maxResponseBytes));
          }
          attempt.stopCallTimer();
          return { attempt, res };
        } catch (error) {
          attempt.dispose();
          throw error;
        }
      });
      const { attempt, res } = opened;
      attempt.watchStall(stallMs);
      try {
        for await (const item of readSse(res.body as AsyncIterable<Buffer>, () => attempt.touch())) {
          if (item.type !== 'event') continue;
          const decoded = op.item(item, op.request.url);
          if (decoded === undefined) continue;
          attempt.pauseStall();
          yield item.id === undefined ? { item: decoded } : { item: decoded, id: item.id };
          attempt.touch();
        }
      } catch (error) {
        throw attempt.failure(error, op.request.url);
      }
      if (scope.aborted) throw scope.error(op.request.url);
    } finally {
      if (opened !== undefined) {
        opened.attempt.dispose();
        // A consumer that stops early must not leave the connection streaming.
        if (!opened.res.body.destroyed) opened.res.body.destroy();
      }
    }
  }
}

/** Where a stream is: its task, the id of the last event read, and whether that event ended it. */
interface StreamPosition {
  taskId?: string;
  lastId?: string;
  ended: boolean;
}

function advance(at: StreamPosition, item: StreamItem, id: string | undefined): void {
  if (item.kind === 'task') at.taskId = item.task.id;
  else if (item.kind !== 'message') at.taskId = item.taskId;
  if (id !== undefined && id !== '') at.lastId = id;
  at.ended = isLast(item);
}

/** Whether an event id is one already read (both whole numbers, this one not past the last). */
function isAtOrBefore(id: string | undefined, last: string | undefined): boolean {
  if (id === undefined || last === undefined || !/^\d{1,15}$/.test(id) || !/^\d{1,15}$/.test(last)) return false;
  return Number(id) <= Number(last);
}

/** A drop worth reconnecting after: the connection, a stall, or a transient answer; never the caller's abort or deadline. */
function mayResume(error: A2AClientError, scope: CallScope): boolean {
  if (scope.aborted) return false;
  if (error instanceof A2ATimeoutError) return error.limit !== 'deadline';
  return isRetryable(error);
}

/** Which agent a call went to: its origin only, never a path or query that might carry a secret. */
function peerAttributes(url: string): Record<string, string | number> {
  const parsed = new URL(url);
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { 'server.address': parsed.hostname, 'server.port': port, 'a2a.peer': parsed.origin };
}

function endCallSpan(span: Span | undefined, error: unknown): void {
  if (span === undefined) return;
  if (error instanceof A2AClientError) {
    span.setAttribute('a2a.attempts', error.attempts);
    endSpan(span, error.kind, error.code === undefined ? error.kind : `${error.kind} ${error.code}`);
    return;
  }
  endSpan(span, 'error', error instanceof Error ? error.name : 'error');
}

function pickSend(options: SendOptions | StreamSendOptions): SendParams {
  const params: SendParams = {};
  if ('returnImmediately' in options && options.returnImmediately !== undefined) params.returnImmediately = options.returnImmediately;
  if (options.historyLength !== undefined) params.historyLength = options.historyLength;
  if (options.acceptedOutputModes !== undefined) params.acceptedOutputModes = options.acceptedOutputModes;
  return params;
}

async function runUnary<T>(dispatcher: Dispatcher, op: UnaryOp<T>, options: ClientOptions, call: CallOptions, tally = { attempts: 0 }): Promise<T> {
  const scope = new CallScope(call.signal, call.deadlineMs ?? options.deadlineMs);
  try {
    return await withRetries(scope, options, call, tally, async () => {
      const attempt = new AttemptScope(scope, call.timeoutMs ?? options.timeoutMs ?? DEFAULTS.timeoutMs);
      try {
        const res = await sendRequest(op.request, dispatcher, attempt);
        const raw: RawResponse = await readBody(res, op.request.url, attempt, options.maxResponseBytes ?? DEFAULTS.maxResponseBytes);
        return op.parse(raw);
      } finally {
        attempt.dispose();
      }
    });
  } finally {
    scope.dispose();
  }
}

/**
 * Runs attempts until one succeeds or the policy says stop: the error is not
 * retryable, the attempts are used up, or the next wait would end after the
 * policy's total time or the call's deadline. The error thrown is the last
 * attempt's, with `attempts` set.
 */
async function withRetries<T>(scope: CallScope, options: ClientOptions, call: CallOptions, tally: { attempts: number }, attemptOnce: () => Promise<T>): Promise<T> {
  const policy = resolveRetry(options.retry, call.retry);
  for (let attempt = 1; ; attempt++) {
    tally.attempts = attempt;
    try {
      return await attemptOnce();
    } catch (caught) {
      if (!(caught instanceof A2AClientError)) throw caught;
      const error = scope.aborted ? scope.error(caught.url) : caught;
      error.attempts = attempt;
      if (scope.aborted || attempt >= policy.maxAttempts || !isRetryable(error)) throw error;
      // Never sooner than the agent asked; give up rather than wait past the limits.
      const delayMs = Math.max(backoffDelay(policy, attempt), error.retryAfterMs ?? 0);
      const elapsed = Date.now() - scope.startedAt;
      if (elapsed + delayMs > policy.maxElapsedMs || delayMs >= scope.remaining()) throw error;
      options.onRetry?.({ attempt, error, delayMs });
      try {
        await scope.sleep(delayMs);
      } catch (stopped) {
        if (stopped instanceof A2AClientError) stopped.attempts = attempt;
        throw stopped;
      }
    }
  }
}
