import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

// HTTP between replicas of one StatefulSet, every wait bounded: a replica that
// accepts connections and never answers (a hung event loop, a black-holed
// network path) costs a caller at most these deadlines, never minutes.

export interface PodDeadlines {
  /** Longest wait for a TCP connection to a pod. */
  connectMs: number;
  /** Longest wait for an answer to begin, and longest pause within an answer read whole. */
  responseMs: number;
  /** Longest silence within a streamed answer. Heartbeats count, so it must exceed the heartbeat interval. */
  streamIdleMs: number;
}

/**
 * How long the answer may take to begin. 'prompt': reads, cancels, lists —
 * within `responseMs`. 'stream': an SSE answer, whose headers come at once and
 * whose body may pause up to `streamIdleMs`. 'task': a blocking send, which the
 * owner answers only when the task stops; no deadline for the answer, but the
 * owner's /healthz must keep answering meanwhile.
 */
export type AnswerKind = 'prompt' | 'stream' | 'task';

/** The pod could not be reached, stopped answering, or went away mid-answer; the message says which. */
export class PodCallError extends Error {
  override readonly name = 'PodCallError';
}

export interface PodAnswer {
  status: number;
  header(name: string): string | undefined;
  /** The body as it arrives; throws PodCallError when the pod stalls or goes away. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** The whole body as text (same failures). */
  text(): Promise<string>;
}

export class PodClient {
  private readonly agent: Agent;

  constructor(private readonly deadlines: PodDeadlines) {
    this.agent = new Agent({ connect: { timeout: deadlines.connectMs }, keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
  }

  /** POSTs to a pod and resolves once its answer begins. `signal`: the caller went away. */
  async post(url: string, headers: Record<string, string>, body: string, kind: AnswerKind, signal?: AbortSignal): Promise<PodAnswer> {
    const call = new CallClock(signal);
    const { responseMs, streamIdleMs } = this.deadlines;
    if (kind !== 'task') call.arm(responseMs, `it did not answer within ${responseMs} ms`);
    const liveness = kind === 'task' ? this.watchHealth(url, call) : undefined;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal: call.signal,
        // The clocks above own every deadline; undici's would fire with errors that name none.
        headersTimeout: 0,
        bodyTimeout: 0,
        throwOnError: false,
      });
    } catch (error) {
      call.dispose();
      throw new PodCallError(call.reason ?? this.describe(error));
    } finally {
      call.disarm();
      liveness?.stop();
    }
    const idleMs = kind === 'stream' ? streamIdleMs : responseMs;
    const responseBody = res.body;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        call.arm(idleMs, `its answer stalled for ${idleMs} ms`);
        for await (const chunk of responseBody as AsyncIterable<Uint8Array>) {
          // While the reader holds a chunk (a slow client downstream), the pod is not the one stalling.
          call.disarm();
          yield chunk;
          call.arm(idleMs, `its answer stalled for ${idleMs} ms`);
        }
      } catch (error) {
        throw new PodCallError(call.reason ?? describeError(error, 'it went away mid-answer'));
      } finally {
        call.dispose();
        if (!responseBody.destroyed) responseBody.destroy();
      }
    }
    return {
      status: res.statusCode,
      header: (name) => {
        const value = res.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      chunks,
      text: async () => {
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks()) parts.push(chunk);
        return Buffer.concat(parts).toString('utf8');
      },
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** While a blocking send waits, asks the owner's /healthz every `responseMs`; a failed check ends the call. */
  private watchHealth(url: string, call: CallClock): { stop(): void } {
    const { responseMs } = this.deadlines;
    const health = new URL('/healthz', url).toString();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const check = async () => {
      const probe = new CallClock(call.signal);
      probe.arm(responseMs, `its /healthz did not answer within ${responseMs} ms`);
      try {
        const res = await request(health, { method: 'GET', dispatcher: this.agent, signal: probe.signal, headersTimeout: 0, bodyTimeout: 0 });
        await res.body.dump();
        if (res.statusCode !== 200) throw new PodCallError(`its /healthz answered ${res.statusCode}`);
      } catch (error) {
        if (!stopped) call.fail(`it stopped answering while the task ran: ${probe.reason ?? this.describe(error)}`);
        return;
      } finally {
        probe.dispose();
      }
      if (!stopped) timer = setTimeout(() => void check(), responseMs);
    };
    timer = setTimeout(() => void check(), responseMs);
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private describe(error: unknown): string {
    if ((error as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') return `no connection within ${this.deadlines.connectMs} ms`;
    return describeError(error, 'the call failed');
  }
}

/** One call's abort, with the reason the first deadline (or the caller) gave. */
class CallClock {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  reason: string | undefined;
  private readonly onCallerAbort = () => this.fail('the caller went away');

  constructor(private readonly caller: AbortSignal | undefined) {
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(ms: number, reason: string): void {
    this.disarm();
    if (this.reason === undefined) this.timer = setTimeout(() => this.fail(reason), ms);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  fail(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.disarm();
    this.controller.abort(new PodCallError(reason));
  }

  dispose(): void {
    this.disarm();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

/** A short reason for a failed call: the system code (ECONNREFUSED) when there is one. */
export function describeError(error: unknown, fallback: string): string {
  if (error instanceof PodCallError) return error.message;
  if (!(error instanceof Error)) return fallback;
  const own = (error as NodeJS.ErrnoException).code;
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof own === 'string' && !own.startsWith('UND_ERR_')) return own;
  if (own === 'UND_ERR_SOCKET') return 'the connection closed mid-answer';
  return error.message || fallback;
}
