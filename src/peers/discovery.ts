/** What discovery knows of one peer agent. */
export interface PeerStatus {
  /** The base URL it was configured with. */
  url: string;
  /** Where the peer came from: 'vapora', 'config', 'sibling'. */
  source: string;
  /** pending: not checked yet; healthy: its card answered; stale: it answered but its card was unusable, the last good one is kept; unreachable: no answer. */
  state: 'pending' | 'healthy' | 'stale' | 'unreachable';
  name?: string;
  description?: string;
  protocolVersions: string[];
  skills: { id: string; name: string; tags: string[] }[];
  lastSeen?: string;
  lastError?: string;
  lastErrorAt?: string;
  consecutiveFailures: number;
  nextCheckAt: string;
}

export interface PeerTarget {
  url: string;
  source: string;
}

export interface DiscoveryOptions {
  intervalMs: number;
  /** Per-fetch timeout. */
  timeoutMs?: number;
  onChecked?: (peer: PeerStatus, seconds: number) => void;
  /** 0..1: random lengthening of each wait, so replicas do not fetch in lockstep. */
  jitter?: number;
  random?: () => number;
  /**
   * Fetches a card from a peer's configured URL. The agent passes its egress
   * guard's, which checks every redirect hop; without one, no redirect is followed.
   */
  fetch?: (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;
}

interface Entry {
  status: PeerStatus;
  etag?: string;
  nextAt: number;
  checking: boolean;
}

const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent.json'];
const MAX_BACKOFF_FACTOR = 8;

/**
 * Fetches each peer's agent card every interval (jittered), with
 * If-None-Match, in the background. A failing peer is retried with backoff,
 * never more often than the interval. Requests never wait on discovery.
 */
export class PeerDiscovery {
  private readonly peers = new Map<string, Entry>();
  private intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: DiscoveryOptions) {
    this.intervalMs = options.intervalMs;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  get interval(): number {
    return this.intervalMs;
  }

  /** A new pace applies at once: no peer waits longer than one new interval. */
  setInterval(intervalMs: number): void {
    this.intervalMs = intervalMs;
    const latest = Date.now() + this.wait(intervalMs);
    for (const entry of this.peers.values()) {
      if (entry.status.consecutiveFailures === 0 && entry.nextAt > latest) this.setNext(entry, latest);
    }
    this.schedule();
  }

  /** Replaces the peer list: new peers are checked at once, removed ones forgotten. */
  setPeers(targets: readonly PeerTarget[]): void {
    const wanted = new Map(targets.map((t) => [normalize(t.url), t]));
    for (const url of this.peers.keys()) if (!wanted.has(url)) this.peers.delete(url);
    for (const [url, target] of wanted) {
      const existing = this.peers.get(url);
      if (existing !== undefined) {
        existing.status.source = target.source;
        continue;
      }
      const entry: Entry = {
        status: { url, source: target.source, state: 'pending', protocolVersions: [], skills: [], consecutiveFailures: 0, nextCheckAt: '' },
        nextAt: 0,
        checking: false,
      };
      this.setNext(entry, Date.now());
      this.peers.set(url, entry);
    }
    this.schedule();
  }

  list(): PeerStatus[] {
    return [...this.peers.values()].map((entry) => ({ ...entry.status }));
  }

  get(url: string): PeerStatus | undefined {
    const entry = this.peers.get(normalize(url));
    return entry === undefined ? undefined : { ...entry.status };
  }

  /** Checks every peer now (tests and readiness use it); resolves when all answered or failed. */
  async checkAll(): Promise<void> {
    await Promise.all([...this.peers.values()].map((entry) => this.check(entry)));
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running || this.peers.size === 0) return;
    const next = Math.min(...[...this.peers.values()].map((e) => e.nextAt));
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private tick(): void {
    const now = Date.now();
    for (const entry of this.peers.values()) if (entry.nextAt <= now && !entry.checking) void this.check(entry);
    this.schedule();
  }

  private async check(entry: Entry): Promise<void> {
    if (entry.checking) return;
    entry.checking = true;
    // Until this check ends, the peer is not due again.
    entry.nextAt = Number.POSITIVE_INFINITY;
    const started = process.hrtime.bigint();
    try {
      await this.fetchCard(entry);
    } finally {
      entry.checking = false;
      const failures = entry.status.consecutiveFailures;
      const factor = failures === 0 ? 1 : Math.min(2 ** (failures - 1), MAX_BACKOFF_FACTOR);
      this.setNext(entry, Date.now() + this.wait(this.intervalMs * factor));
      this.options.onChecked?.({ ...entry.status }, Number(process.hrtime.bigint() - started) / 1e9);
      if (this.peers.get(entry.status.url) === entry) this.schedule();
    }
  }

  private async fetchCard(entry: Entry): Promise<void> {
    const { status } = entry;
    const timeout = this.options.timeoutMs ?? Math.min(this.intervalMs, 10_000);
    for (const path of CARD_PATHS) {
      let res: Response;
      try {
        res = await (this.options.fetch ?? fetchNoRedirect)(status.url + path, {
          headers: { accept: 'application/json', ...(entry.etag !== undefined && path === CARD_PATHS[0] ? { 'if-none-match': entry.etag } : {}) },
          signal: AbortSignal.timeout(timeout),
        });
      } catch (error) {
        return this.failed(entry, 'unreachable', describe(error));
      }
      if (res.status === 404 && path !== CARD_PATHS[CARD_PATHS.length - 1]) {
        await res.body?.cancel();
        continue;
      }
      if (res.status === 304) return this.succeeded(entry);
      if (!res.ok) {
        await res.body?.cancel();
        return this.failed(entry, 'unreachable', `GET ${path} answered HTTP ${res.status}`);
      }
      let card: unknown;
      try {
        card = await res.json();
      } catch {
        return this.failed(entry, 'stale', `the card at ${path} is not JSON`);
      }
      const problem = this.absorbCard(status, card);
      if (problem !== undefined) return this.failed(entry, 'stale', `the card at ${path} is unusable: ${problem}`);
      const etag = res.headers.get('etag');
      if (etag !== null && path === CARD_PATHS[0]) entry.etag = etag;
      else delete entry.etag;
      return this.succeeded(entry);
    }
  }

  /** Takes what routing needs from a card; returns what is wrong with it, if anything. */
  private absorbCard(status: PeerStatus, raw: unknown): string | undefined {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
    const card = raw as Record<string, unknown>;
    if (typeof card.name !== 'string') return 'no name';
    const interfaces = Array.isArray(card.supportedInterfaces) ? (card.supportedInterfaces as Record<string, unknown>[]) : [];
    const versions = new Set(interfaces.map((i) => String(i.protocolVersion ?? '')).filter((v) => v !== ''));
    if (typeof card.protocolVersion === 'string') versions.add(card.protocolVersion);
    if (versions.size === 0) versions.add('0.3');
    const skills = Array.isArray(card.skills) ? (card.skills as Record<string, unknown>[]) : [];
    status.name = card.name;
    if (typeof card.description === 'string') status.description = card.description;
    status.protocolVersions = [...versions];
    status.skills = skills
      .filter((s) => typeof s.id === 'string')
      .map((s) => ({ id: String(s.id), name: String(s.name ?? s.id), tags: Array.isArray(s.tags) ? s.tags.map(String) : [] }));
    return undefined;
  }

  private succeeded(entry: Entry): void {
    entry.status.state = 'healthy';
    entry.status.lastSeen = new Date().toISOString();
    entry.status.consecutiveFailures = 0;
  }

  private failed(entry: Entry, state: 'stale' | 'unreachable', error: string): void {
    // A peer that answers with an unusable card keeps its last good one; one that never gave one has nothing to keep.
    entry.status.state = state === 'stale' && entry.status.name === undefined ? 'unreachable' : state;
    entry.status.lastError = error;
    entry.status.lastErrorAt = new Date().toISOString();
    entry.status.consecutiveFailures += 1;
  }

  private setNext(entry: Entry, at: number): void {
    entry.nextAt = at;
    entry.status.nextCheckAt = new Date(at).toISOString();
  }

  /** The base wait lengthened by up to `jitter` of itself: jitter never makes checks more frequent than the interval. */
  private wait(base: number): number {
    const jitter = this.options.jitter ?? 0.1;
    const random = this.options.random ?? Math.random;
    return Math.round(base * (1 + jitter * random()));
  }
}

/** A redirect from a peer's URL leads somewhere the operator did not name: without a guard to check it, it is not followed. */
function fetchNoRedirect(url: string, init: { headers: Record<string, string>; signal: AbortSignal }): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual' });
}

function normalize(url: string): string {
  return url.replace(/\/+$/, '');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = error.cause;
    if (cause instanceof Error) return `${cause.message}`;
    return error.message;
  }
  return String(error);
}
