import { createHash, randomUUID } from 'node:crypto';
import type { Codec } from '../protocol/codec.js';
import { v03Codec } from '../protocol/v03/codec.js';
import { v1Codec } from '../protocol/v1/codec.js';
import type { Delivery, PushStore } from '../store/push-store.js';

/** How a webhook is called: the egress guard's fetch (checked again at connect, redirects not followed for POST). */
export interface WebhookPoster {
  fetch(url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal }): Promise<Response>;
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead_letter';

export interface DeliveryWorkerOptions {
  store: PushStore;
  poster: WebhookPoster;
  /** PUSH_TIMEOUT: longest wait for a receiver's answer. */
  timeoutMs: number;
  /** PUSH_MAX_ATTEMPTS: attempts before a delivery becomes a dead letter. */
  maxAttempts: number;
  /** PUSH_MAX_AGE: a delivery older than this after a failed attempt becomes a dead letter. */
  maxAgeMs: number;
  /** PUSH_RETRY_BASE: wait after the first failure; doubled after each further one, up to PUSH_RETRY_MAX, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the outbox is looked at when nothing was due. */
  pollMs: number;
  /** Most deliveries in flight at once. */
  concurrency: number;
  /**
   * Signs a delivery (PUSH_SIGN_DELIVERIES): the JWT of these claims, sent in
   * A2A-Notification-Signature; absent, deliveries are not signed.
   */
  sign?: (claims: DeliveryClaims) => Promise<string>;
  /** Each attempt's outcome and duration, for the metrics. */
  onAttempt?: (outcome: DeliveryOutcome, seconds: number) => void;
  /** A delivery given up on, and why (never with the URL's path or the credentials). */
  onDeadLetter?: (delivery: Delivery, error: string) => void;
  /** The outbox could not be read or written. */
  onError?: (error: unknown) => void;
}

/** What a delivery's signature vouches for: who sent which body to which URL, and when. */
export interface DeliveryClaims {
  /** The webhook URL, as the config names it. */
  aud: string;
  /** Unique per attempt, so a receiver can refuse a replayed request. */
  jti: string;
  iat: number;
  exp: number;
  /** The delivery id (the same on every attempt at one event). */
  delivery_id: string;
  /** Hex SHA-256 of the request body, so the signature covers what was sent. */
  request_body_sha256: string;
}

/** How long a delivery's signature is good for. */
const SIGNATURE_LIFETIME_SECONDS = 300;

/** Time past the delivery timeout a claim holds, for writing the outcome. */
const CLAIM_MARGIN_MS = 5_000;

const CODECS: Readonly<Record<string, { codec: Codec; contentType: string }>> = {
  '1.0': { codec: v1Codec, contentType: 'application/a2a+json' },
  '0.3': { codec: v03Codec, contentType: 'application/json' },
};

/**
 * Posts the outbox's deliveries: each config receives its task's events in
 * order (the store hands out only the oldest pending delivery of each task
 * and config), retried with exponential backoff and jitter until it is
 * delivered or given up on as a dead letter. Nothing is held in memory that
 * the outbox does not hold: after a restart the worker picks up where it was.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<number, { controller: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private claiming = false;
  private again = false;
  private stopped = true;

  constructor(private readonly options: DeliveryWorkerOptions) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks at the outbox now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.claim();
  }

  /** Aborts deliveries in flight; each goes back to the outbox, due at once, for the next start or another pod. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const { controller } of this.inFlight.values()) controller.abort(new Error('the agent is stopping'));
    await Promise.all([...this.inFlight.values()].map((d) => d.done));
  }

  private async claim(): Promise<void> {
    this.claiming = true;
    clearTimeout(this.timer);
    let claimed = 0;
    try {
      const room = this.options.concurrency - this.inFlight.size;
      if (room > 0) {
        const batch = await this.options.store.claimDeliveries(room, this.options.timeoutMs + CLAIM_MARGIN_MS);
        claimed = batch.length;
        for (const delivery of batch) this.begin(delivery);
      }
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.claiming = false;
    }
    if (this.stopped) return;
    if (this.again || claimed > 0) {
      this.again = false;
      // More may be due (a full batch, or a delivery whose successor now heads its queue).
      setImmediate(() => this.wake());
      return;
    }
    this.timer = setTimeout(() => this.wake(), this.options.pollMs);
    this.timer.unref();
  }

  private begin(delivery: Delivery): void {
    const controller = new AbortController();
    const done = this.deliver(delivery, controller.signal)
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.wake();
      });
    this.inFlight.set(delivery.id, { controller, done });
  }

  private async deliver(delivery: Delivery, stopping: AbortSignal): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const error = await this.post(delivery, stopping);
    const { store } = this.options;
    if (error === undefined) {
      await store.delivered(delivery.id);
      this.options.onAttempt?.('delivered', seconds());
      return;
    }
    if (stopping.aborted) {
      // Not the receiver's fault: due again at once, on the next start or another pod.
      await store.retryLater(delivery.id, 0, error);
      return;
    }
    const age = Date.now() - delivery.createdAt;
    if (delivery.attempts >= this.options.maxAttempts || age >= this.options.maxAgeMs) {
      await store.deadLetter(delivery.id, error);
      this.options.onAttempt?.('dead_letter', seconds());
      this.options.onDeadLetter?.(delivery, error);
      return;
    }
    await store.retryLater(delivery.id, this.backoff(delivery.attempts), error);
    this.options.onAttempt?.('retry', seconds());
  }

  /** Undefined when the receiver took the delivery (a 2xx answer); otherwise what went wrong, without the URL. */
  private async post(delivery: Delivery, stopping: AbortSignal): Promise<string | undefined> {
    const { config, version } = delivery.target;
    const wire = CODECS[version] ?? CODECS['1.0']!;
    const deliveryId = `${delivery.taskId}.${delivery.id}`;
    const body = JSON.stringify(wire.codec.encodeStreamItem(delivery.item));
    const headers: Record<string, string> = {
      'content-type': wire.contentType,
      'a2a-delivery-id': deliveryId,
    };
    if (config.token !== undefined) {
      // The SDKs disagree on the name: JS, Python and Java read the first, Go the second.
      headers['x-a2a-notification-token'] = config.token;
      headers['a2a-notification-token'] = config.token;
    }
    if (config.authentication?.credentials !== undefined) headers.authorization = `${config.authentication.scheme} ${config.authentication.credentials}`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      if (this.options.sign !== undefined) headers['a2a-notification-signature'] = await this.options.sign(claims(config.url, deliveryId, body));
      const res = await this.options.poster.fetch(config.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([timeout, stopping]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return undefined;
      return res.status >= 300 && res.status < 400 ? `the receiver answered ${res.status} (redirects are not followed)` : `the receiver answered ${res.status}`;
    } catch (error) {
      if (timeout.aborted) return `the receiver did not answer within ${this.options.timeoutMs} ms`;
      const cause = (error as { cause?: unknown }).cause;
      return cause instanceof Error ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
    }
  }

  /** Exponential, capped, with jitter (half to all of the step): receivers that fail together are not retried together. */
  private backoff(attempts: number): number {
    const step = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(attempts - 1, 30));
    return step / 2 + Math.random() * (step / 2);
  }
}

function claims(url: string, deliveryId: string, body: string): DeliveryClaims {
  const iat = Math.floor(Date.now() / 1000);
  return {
    aud: url,
    jti: randomUUID(),
    iat,
    exp: iat + SIGNATURE_LIFETIME_SECONDS,
    delivery_id: deliveryId,
    request_body_sha256: createHash('sha256').update(body).digest('hex'),
  };
}
