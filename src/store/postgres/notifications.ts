import { createHash } from 'node:crypto';
import pg from 'pg';

export type ChangeListener = (taskId: string, version: number) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * One LISTEN connection shared by every listener of a store. A pooled
 * connection cannot listen (it goes back to the pool between queries), so this
 * one is a client of its own; it reconnects when the server drops it.
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  /** Per listener: what to do after a reconnect, when changes may have gone unannounced. */
  private readonly onMissed = new Map<ChangeListener, () => void>();
  private wasConnected = false;
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RECONNECT_MIN_MS;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.ready = this.connect();
    // A failure of the first connect is reported through `ready`; later ones through onError.
    this.ready.catch(() => undefined);
  }

  get size(): number {
    return this.listeners.size;
  }

  add(listener: ChangeListener, onMissed?: () => void): void {
    this.listeners.add(listener);
    if (onMissed !== undefined) this.onMissed.set(listener, onMissed);
  }

  delete(listener: ChangeListener): void {
    this.listeners.delete(listener);
    this.onMissed.delete(listener);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      if (error !== undefined) this.onError(error);
      this.scheduleReconnect();
    };
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || msg.payload === undefined) return;
      this.dispatch(msg.payload);
    });
    client.on('error', (error) => onLost(error));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch (error) {
      lost = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    client.on('end', () => onLost());
    this.client = client;
    this.retryDelay = RECONNECT_MIN_MS;
    // NOTIFY reaches only current listeners: what was committed while this connection was down is told by nobody.
    if (this.wasConnected) this.announceGap();
    this.wasConnected = true;
  }

  private announceGap(): void {
    for (const onMissed of [...this.onMissed.values()]) {
      try {
        onMissed();
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((error: unknown) => {
        this.onError(error);
        this.scheduleReconnect();
      });
    }, delay);
    this.retryTimer.unref();
  }

  private dispatch(payload: string): void {
    const space = payload.lastIndexOf(' ');
    const version = Number(payload.slice(space + 1));
    if (space <= 0 || !Number.isSafeInteger(version)) {
      this.onError(new Error(`unexpected task change notification ${JSON.stringify(payload)}`));
      return;
    }
    const taskId = payload.slice(0, space);
    for (const listener of [...this.listeners]) {
      try {
        listener(taskId, version);
      } catch (error) {
        // One listener's failure must not keep the change from the others.
        this.onError(error);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.onMissed.clear();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.ready.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    await client.query(`UNLISTEN ${quoteIdent(this.channel)}`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A NOTIFY channel is an identifier: at most 63 bytes. A long schema name keeps a hash of itself so channels stay distinct. */
export function channelName(schema: string): string {
  const plain = `${schema}_task_changed`;
  if (plain.length <= 63) return plain;
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 16);
  return `${schema.slice(0, 63 - 1 - hash.length - '_task_changed'.length)}_${hash}_task_changed`;
}
