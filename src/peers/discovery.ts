import { withoutTrailingSlashes } from '../model/text.js';
import { redactCredentials } from '../observability/redact.js';
import type { TrustedCardKey } from './client/card-signature.js';
import { verifyCardSignature } from './client/card-signature.js';

/** What discovery knows of one peer agent. */
export interface PeerStatus {
  /** The base URL it was configured with. */
  url: string;
  /** Where the peer came from: 'vapora', 'config', 'sibling'. */
  source: string;
  /**
   * pending: not checked yet; healthy: its card answered; stale: it answered but its card was unusable, the last good one is kept;
   * unreachable: no answer; untrusted: its card lacks a valid signature by the key configured for it, and the peer is not used.
   */
  state: 'pending' | 'healthy' | 'stale' | 'unreachable' | 'untrusted';
  name?: string;
  description?: string;
  protocolVersions: string[];
  skills: { id: string; name: string; tags: string[] }[];
  lastSeen?: string;
  lastError?: string;
  lastErrorAt?: string;
  consecutiveFailures: number;
  nextCheckAt: string;
  /** When the last check ended, and how long it took (its latency, every card path tried included). */
  lastCheckAt?: string;
  lastCheckMs?: number;
}

export interface PeerTarget {
  url: string;
  source: string;
}

export interface DiscoveryOptions {
  intervalMs: number;
  /** Per-fetch timeout. */
  timeoutMs?: number;
  /** Told after every check, with the peer as anyone may see it (credentials hidden). */
  onChecked?: (peer: PeerStatus, seconds: number) => void;
  /** 0..1: random lengthening of each wait, so replicas do not fetch in lockstep. */
  jitter?: number;
  random?: () => number;
  /**
   * Fetches a card from a peer's configured URL. The agent passes its egress
   * guard's, which checks every redirect hop; without one, no redirect is followed.
   */
  fetch?: (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;
  /** The key a peer's card must be signed with, by the peer's configured URL; undefined: its card need not be signed. */
  trustedCardKey?: (url: string) => TrustedCardKey | undefined;
}

interface Entry {
  status: PeerStatus;
  etag?: string;
  /** When the next check is due; meaningless while one is in flight. */
  nextAt: number;
  /** The check in flight, if any: it ends (answered, failed or timed out) by its deadline. */
  inFlight?: AbortController;
}

type CardInfo = Pick<PeerStatus, 'name' | 'description' | 'protocolVersions' | 'skills'>;

/** What one check found; applied to the peer's status only if the check was not withdrawn. */
type Outcome =
  | { kind: 'healthy'; card?: CardInfo; etag: string | undefined }
  | { kind: 'stale' | 'unreachable' | 'untrusted'; error: string };

/** A check ran past its deadline. */
class CheckTimedOut extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** A check no longer wanted: discovery stopped, or the peer was removed. */
class Withdrawn extends Error {}

const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent.json'];
const MAX_BACKOFF_FACTOR = 8;
/** Node's timers hold at most 2^31-1 ms; a longer (or infinite) delay fires after 1 ms with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fetches each peer's agent card every interval (jittered), with
 * If-None-Match, in the background. A failing peer is retried with backoff,
 * never more often than the interval. Requests never wait on discovery.
 *
 * One timer serves every peer: it is set for the earliest due time among the
 * peers not being checked. A peer being checked is not due; its check ends by
 * its deadline and then sets the peer's next due time and the timer. With
 * every peer mid-check there is no timer at all.
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
    this.timer = undefined;
    for (const entry of this.peers.values()) entry.inFlight?.abort(new Withdrawn());
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
    for (const [url, entry] of this.peers) {
      if (wanted.has(url)) continue;
      entry.inFlight?.abort(new Withdrawn());
      this.peers.delete(url);
    }
    for (const [url, target] of wanted) {
      const existing = this.peers.get(url);
      if (existing !== undefined) {
        existing.status.source = target.source;
        continue;
      }
      const entry: Entry = {
        status: { url, source: target.source, state: 'pending', protocolVersions: [], skills: [], consecutiveFailures: 0, nextCheckAt: '' },
        nextAt: 0,
      };
      this.setNext(entry, Date.now());
      this.peers.set(url, entry);
    }
    this.schedule();
  }

  /** Every peer as this agent uses it: the URLs as configured, credentials included. */
  list(): PeerStatus[] {
    return [...this.peers.values()].map((entry) => ({ ...entry.status }));
  }

  /** Every peer as anyone may see it (GET /peers, logs): credentials in URLs and errors hidden. */
  publicView(): PeerStatus[] {
    return [...this.peers.values()].map((entry) => publicStatus(entry.status));
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
    this.timer = undefined;
    if (!this.running) return;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.peers.values()) if (entry.inFlight === undefined && entry.nextAt < next) next = entry.nextAt;
    // Nothing is due while every peer is being checked: the end of a check schedules again.
    if (next === Number.POSITIVE_INFINITY) return;
    // A due time beyond what a timer holds is reached in several waits.
    this.timer = setTimeout(() => this.tick(), Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const entry of this.peers.values()) if (entry.inFlight === undefined && entry.nextAt <= now) void this.check(entry);
    this.schedule();
  }

  private async check(entry: Entry): Promise<void> {
    if (entry.inFlight !== undefined) return;
    const timeoutMs = this.options.timeoutMs ?? Math.min(this.intervalMs, 10_000);
    // One deadline for the whole check (every card path, headers and body), whatever the peer does.
    const controller = new AbortController();
    entry.inFlight = controller;
    const deadline = setTimeout(() => controller.abort(new CheckTimedOut(timeoutMs)), Math.min(MAX_TIMER_MS, timeoutMs));
    deadline.unref();
    const started = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      // The race ends the check at its deadline even if the fetch is slow to notice the abort.
      outcome = await Promise.race([this.fetchCard(entry.status.url, entry.etag, controller.signal), whenAborted(controller.signal)]);
    } catch (error) {
      outcome = { kind: 'unreachable', error: describe(error) };
    } finally {
      clearTimeout(deadline);
      entry.inFlight = undefined;
    }
    // Stopped, or the peer was removed meanwhile: nothing to record.
    if (controller.signal.reason instanceof Withdrawn) return;
    this.record(entry, outcome);
    entry.status.lastCheckAt = new Date().toISOString();
    entry.status.lastCheckMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    const failures = entry.status.consecutiveFailures;
    const factor = failures === 0 ? 1 : Math.min(2 ** (failures - 1), MAX_BACKOFF_FACTOR);
    this.setNext(entry, Date.now() + this.wait(this.intervalMs * factor));
    this.options.onChecked?.(publicStatus(entry.status), Number(process.hrtime.bigint() - started) / 1e9);
    if (this.peers.get(entry.status.url) === entry) this.schedule();
  }

  /** Fetches the card, trying each path; touches nothing of the peer's status (a late answer must not count). */
  private async fetchCard(url: string, etag: string | undefined, signal: AbortSignal): Promise<Outcome> {
    for (const path of CARD_PATHS) {
      let res: Response;
      try {
        res = await (this.options.fetch ?? fetchNoRedirect)(url + path, {
          headers: { accept: 'application/json', ...(etag !== undefined && path === CARD_PATHS[0] ? { 'if-none-match': etag } : {}) },
          signal,
        });
      } catch (error) {
        return { kind: 'unreachable', error: describe(error) };
      }
      if (res.status === 404 && path !== CARD_PATHS[CARD_PATHS.length - 1]) {
        await res.body?.cancel();
        continue;
      }
      if (res.status === 304) return { kind: 'healthy', etag };
      if (!res.ok) {
        await res.body?.cancel();
        return { kind: 'unreachable', error: `GET ${path} answered HTTP ${res.status}` };
      }
      let raw: unknown;
      try {
        raw = await res.json();
      } catch (error) {
        if (signal.aborted) return { kind: 'unreachable', error: describe(error) };
        return { kind: 'stale', error: `the card at ${path} is not JSON` };
      }
      const key = this.options.trustedCardKey?.(url);
      if (key !== undefined) {
        try {
          await verifyCardSignature(raw, key, redactCredentials(url));
        } catch (error) {
          if (signal.aborted) return { kind: 'unreachable', error: describe(error) };
          return { kind: 'untrusted', error: describe(error) };
        }
      }
      const card = readCard(raw);
      if (typeof card === 'string') return { kind: 'stale', error: `the card at ${path} is unusable: ${card}` };
      const newEtag = res.headers.get('etag');
      return { kind: 'healthy', card, etag: newEtag !== null && path === CARD_PATHS[0] ? newEtag : undefined };
    }
    return { kind: 'unreachable', error: 'no card path answered' };
  }

  private record(entry: Entry, outcome: Outcome): void {
    const { status } = entry;
    if (outcome.kind !== 'healthy') {
      // A peer that answers with an unusable card keeps its last good one; one that never gave one has nothing to keep.
      status.state = outcome.kind === 'stale' && status.name === undefined ? 'unreachable' : outcome.kind;
      status.lastError = outcome.error;
      status.lastErrorAt = new Date().toISOString();
      status.consecutiveFailures += 1;
      return;
    }
    if (outcome.card !== undefined) Object.assign(status, outcome.card);
    if (outcome.etag === undefined) delete entry.etag;
    else entry.etag = outcome.etag;
    status.state = 'healthy';
    status.lastSeen = new Date().toISOString();
    status.consecutiveFailures = 0;
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

/** Takes what routing needs from a card, or says what is wrong with it. */
function readCard(raw: unknown): CardInfo | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const card = raw as Record<string, unknown>;
  if (typeof card.name !== 'string') return 'no name';
  const interfaces = Array.isArray(card.supportedInterfaces) ? (card.supportedInterfaces as Record<string, unknown>[]) : [];
  const versions = new Set(interfaces.map((i) => String(i.protocolVersion ?? '')).filter((v) => v !== ''));
  if (typeof card.protocolVersion === 'string') versions.add(card.protocolVersion);
  if (versions.size === 0) versions.add('0.3');
  const skills = Array.isArray(card.skills) ? (card.skills as Record<string, unknown>[]) : [];
  return {
    name: card.name,
    ...(typeof card.description === 'string' ? { description: card.description } : {}),
    protocolVersions: [...versions],
    skills: skills
      .filter((s) => typeof s.id === 'string')
      .map((s) => ({ id: String(s.id), name: String(s.name ?? s.id), tags: Array.isArray(s.tags) ? s.tags.map(String) : [] })),
  };
}

/** Rejects with the signal's reason once it aborts. */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A redirect from a peer's URL leads somewhere the operator did not name: without a guard to check it, it is not followed. */
function fetchNoRedirect(url: string, init: { headers: Record<string, string>; signal: AbortSignal }): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual' });
}

function publicStatus(status: PeerStatus): PeerStatus {
  const shown: PeerStatus = { ...status, url: redactCredentials(status.url) };
  if (status.lastError !== undefined) shown.lastError = redactCredentials(status.lastError);
  return shown;
}

function normalize(url: string): string {
  return withoutTrailingSlashes(url);
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
