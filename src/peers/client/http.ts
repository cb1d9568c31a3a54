import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { A2AClientError, A2ATimeoutError } from './errors.js';

// Outbound HTTP over undici: pooled keep-alive connections, and the three
// clocks a call runs against (the caller's signal, the overall deadline, each
// attempt's timeout, plus a stream's stall timer), all turned into one abort
// whose cause is known, so the error says which limit was hit.

let shared: Agent | undefined;

/**
 * The process-wide connection pool every client uses unless given its own
 * dispatcher. Idle sockets do not keep the process alive.
 */
export function sharedDispatcher(): Dispatcher {
  shared ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connect: { timeout: 10_000 } });
  return shared;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/** A response read in full. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  url: string;
}

export function header(headers: RawResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Node's timers hold at most 2^31-1 ms: a longer (or infinite) delay fires after 1 ms, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A limit as a timer delay: none for 0, a negative, NaN or Infinity (no limit); at most what a timer holds. */
function limitDelay(ms: number | undefined): number | undefined {
  if (ms === undefined || !(ms > 0) || ms === Number.POSITIVE_INFINITY) return undefined;
  return Math.min(ms, MAX_TIMER_MS);
}

/** One public call: the caller's signal and the overall deadline. */
export class CallScope {
  readonly startedAt = Date.now();
  readonly deadlineAt: number | undefined;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private cause: 'aborted' | 'deadline' | undefined;
  private readonly onAbort = () => this.fire('aborted');

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly deadlineMs: number | undefined,
  ) {
    const delay = limitDelay(deadlineMs);
    if (delay !== undefined) {
      this.deadlineAt = this.startedAt + delay;
      this.timer = setTimeout(() => this.fire('deadline'), delay);
    }
    if (callerSignal?.aborted) this.fire('aborted');
    else callerSignal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.cause !== undefined;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  remaining(): number {
    return this.deadlineAt === undefined ? Number.POSITIVE_INFINITY : this.deadlineAt - Date.now();
  }

  /** The error for a call ended by the caller or the deadline. */
  error(url?: string): A2AClientError {
    if (this.cause === 'deadline') return new A2ATimeoutError('deadline', this.deadlineMs ?? 0, url);
    const reason: unknown = this.callerSignal?.reason;
    return new A2AClientError('aborted', url === undefined ? 'the call was aborted' : `${url}: the call was aborted`, {
      ...(url === undefined ? {} : { url }),
      ...(reason === undefined ? {} : { cause: reason }),
    });
  }

  /** Waits, unless the call ends first (then throws its error). */
  async sleep(ms: number): Promise<void> {
    if (this.aborted) throw this.error();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0);
      this.signal.addEventListener('abort', done, { once: true });
    });
    if (this.aborted) throw this.error();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onAbort);
  }

  private fire(cause: 'aborted' | 'deadline'): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    clearTimeout(this.timer);
    this.controller.abort(new Error(cause));
  }
}

/** One attempt of a call: its own timeout, and for a stream, the stall timer. */
export class AttemptScope {
  private readonly controller = new AbortController();
  private callTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private stallMs = 0;
  private cause: 'call' | 'stall' | undefined;
  private readonly onCallAbort = () => this.controller.abort(new Error('call ended'));

  constructor(
    private readonly call: CallScope,
    private readonly timeoutMs: number | undefined,
  ) {
    const delay = limitDelay(timeoutMs);
    if (delay !== undefined) this.callTimer = setTimeout(() => this.fire('call'), delay);
    if (call.signal.aborted) this.onCallAbort();
    else call.signal.addEventListener('abort', this.onCallAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The answer has begun: from here a stream is watched by its stall timer instead. */
  stopCallTimer(): void {
    clearTimeout(this.callTimer);
    this.callTimer = undefined;
  }

  /** Starts (or restarts) the stall timer; 0 or undefined turns it off. */
  watchStall(ms: number | undefined): void {
    this.stallMs = limitDelay(ms) ?? 0;
    this.touch();
  }

  /** Something arrived: the stream is alive. */
  touch(): void {
    clearTimeout(this.stallTimer);
    if (this.stallMs > 0 && this.cause === undefined) this.stallTimer = setTimeout(() => this.fire('stall'), this.stallMs);
  }

  /** While the caller holds an item, its slowness is not the server's. */
  pauseStall(): void {
    clearTimeout(this.stallTimer);
  }

  /** Turns whatever an aborted or failed request threw into the error the caller should see. */
  failure(error: unknown, url: string): A2AClientError {
    if (this.call.aborted) return this.call.error(url);
    if (this.cause === 'call') return new A2ATimeoutError('call', this.timeoutMs ?? 0, url);
    if (this.cause === 'stall') return new A2ATimeoutError('stall', this.stallMs, url);
    if (error instanceof A2AClientError) return error;
    return networkError(url, error);
  }

  dispose(): void {
    clearTimeout(this.callTimer);
    clearTimeout(this.stallTimer);
    this.call.signal.removeEventListener('abort', this.onCallAbort);
  }

  private fire(cause: 'call' | 'stall'): void {
    if (this.cause !== undefined || this.controller.signal.aborted) return;
    this.cause = cause;
    this.controller.abort(new Error(cause));
  }
}

function networkError(url: string, error: unknown): A2AClientError {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = systemCode(err);
  const detail = err.cause instanceof Error && err.cause.message !== '' ? err.cause.message : err.message;
  return new A2AClientError('connection', `cannot reach ${url}: ${detail}`, { url, cause: err, ...(code === undefined ? {} : { networkCode: code }) });
}

function systemCode(error: Error): string | undefined {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** Sends one request; resolves when the response headers are in. */
export async function sendRequest(req: HttpRequest, dispatcher: Dispatcher, attempt: AttemptScope): Promise<HttpResponse> {
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body === undefined ? {} : { body: req.body }),
      dispatcher,
      signal: attempt.signal,
      // The scopes own every clock: undici's own would fire with errors that name no limit.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (error) {
    throw attempt.failure(error, req.url);
  }
}

/** Reads a whole response body, refusing one larger than `maxBytes`. */
export async function readBody(res: HttpResponse, url: string, attempt: AttemptScope, maxBytes: number): Promise<RawResponse> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new A2AClientError('invalid-response', `${url} answered with more than ${maxBytes} bytes`, { url, httpStatus: res.status });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw attempt.failure(error, url);
  }
  return { status: res.status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), url };
}
