import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskState } from '../model/model.js';
import { TASK_STATES } from '../model/model.js';

/** The service's Prometheus metrics, in a registry of their own. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'a2a_requests_total',
    help: 'A2A requests by method, protocol version and outcome (ok or the error reason)',
    labelNames: ['method', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'a2a_request_duration_seconds',
    help: 'Time to answer an A2A request (for streams: to the first event)',
    labelNames: ['method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly tasks = new Gauge({
    name: 'a2a_tasks',
    help: 'Stored tasks by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly streamSubscribers = new Gauge({
    name: 'a2a_stream_subscribers',
    help: 'Open SSE streams',
    registers: [this.registry],
  });
  readonly streamsCut = new Counter({
    name: 'a2a_streams_disconnected_total',
    help: 'Streams closed by the server because the client fell too far behind',
    registers: [this.registry],
  });
  readonly skillFailures = new Counter({
    name: 'a2a_skill_failures_total',
    help: 'Skill runs that threw',
    registers: [this.registry],
  });
  readonly tasksResumed = new Counter({
    name: 'a2a_tasks_resumed_total',
    help: 'Interrupted tasks run again from their stored request: after a restart, or taken over from a pod whose lease lapsed',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly tasksExpired = new Counter({
    name: 'a2a_tasks_expired_total',
    help: 'Terminal tasks deleted by the retention sweep',
    registers: [this.registry],
  });

  readonly configReloads = new Counter({
    name: 'kagent_config_reloads_total',
    help: 'Reloads of the watched settings: applied, or rejected (the last good config stays)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly restartPending = new Gauge({
    name: 'kagent_config_restart_pending',
    help: 'Restart-only settings edited in the watched file since start: 1 until the pod restarts',
    labelNames: ['setting'] as const,
    registers: [this.registry],
  });
  readonly peers = new Gauge({
    name: 'a2a_peers',
    help: 'Discovered peer agents by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly peerCardsRefused = new Counter({
    name: 'a2a_peer_cards_refused_total',
    help: 'Peer agent cards refused because they lack a valid signature by the key configured for the peer (discovery checks and delegation)',
    registers: [this.registry],
  });
  readonly egressRefused = new Counter({
    name: 'a2a_egress_refused_total',
    help: 'Calls the egress guard refused (a URL a peer or caller supplied that leads to an internal address), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'kagent_auth_failures_total',
    help: 'Requests refused because they were not authenticated, by reason (missing, rejected, malformed, expired, wrong-audience, …)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly limited = new Counter({
    name: 'kagent_limited_total',
    help: 'Requests refused by a limit: rate, tasks (running tasks) or streams (open streams) per caller, unauthenticated (failed authentications per client address)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly discoverySeconds = new Histogram({
    name: 'a2a_peer_discovery_duration_seconds',
    help: 'Time to fetch one peer agent card',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly httpConnections: Gauge = new Gauge({
    name: 'a2a_http_connections',
    help: 'Open HTTP connections (A2A clients, probes and scrapes)',
    registers: [this.registry],
    collect: (): void => this.httpConnections.set(this.connectionCount()),
  });
  readonly idleConnectionsClosed = new Counter({
    name: 'a2a_http_idle_connections_closed_total',
    help: 'Idle keep-alive connections closed at MAX_CONNECTIONS to make room for a new connection',
    registers: [this.registry],
  });
  readonly httpRejected = new Counter({
    name: 'a2a_http_rejected_total',
    help: 'Connections and requests cut or refused before an A2A answer: request_timeout, bad_request, client_aborted, connection_limit',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly storeFull: Gauge = new Gauge({
    name: 'a2a_store_full',
    help: '1 while the task store refuses writes for lack of room (disk or database full); the pod is not ready meanwhile',
    registers: [this.registry],
    collect: (): void => this.storeFull.set(this.storeIsFull() ? 1 : 0),
  });
  readonly storeWriteFailures = new Counter({
    name: 'a2a_store_write_failures_total',
    help: 'Task store writes that failed, by reason (full: no room on the disk or in the database)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private connectionCount: () => number = () => 0;
  private storeIsFull: () => boolean = () => false;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Present from the start, so that alerts on its rate see a zero rather than no series.
    this.storeWriteFailures.inc({ reason: 'full' }, 0);
  }

  /** Seeds the per-state gauge from the store once; transitions keep it current. */
  setTaskCounts(counts: Partial<Record<TaskState, number>>): void {
    for (const state of TASK_STATES) this.tasks.set({ state }, counts[state] ?? 0);
  }

  taskEntered(state: TaskState, previous: TaskState | undefined): void {
    this.tasks.inc({ state });
    if (previous !== undefined) this.tasks.dec({ state: previous });
  }

  setPeerStates(states: readonly string[]): void {
    this.peers.reset();
    for (const state of ['pending', 'healthy', 'stale', 'unreachable', 'untrusted']) this.peers.set({ state }, states.filter((s) => s === state).length);
  }

  tasksDeleted(deleted: Partial<Record<TaskState, number>>): void {
    for (const [state, count] of Object.entries(deleted)) {
      this.tasks.dec({ state }, count);
      this.tasksExpired.inc(count);
    }
  }

  /** Where a2a_http_connections reads the open connection count at scrape time. */
  countConnections(count: () => number): void {
    this.connectionCount = count;
  }

  /** Where a2a_store_full reads the store's state at scrape time. */
  watchStore(isFull: () => boolean): void {
    this.storeIsFull = isFull;
  }

  skillFailed(): void {
    this.skillFailures.inc();
  }

  taskResumed(trigger: 'restart' | 'lease'): void {
    this.tasksResumed.inc({ trigger });
  }
}
