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
  readonly skillsFileReloads = new Counter({
    name: 'kagent_skills_file_reloads_total',
    help: 'Reloads of the watched skills file (skills.yaml): applied, or rejected (the last good skills stay)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly mcpConnects = new Counter({
    name: 'kagent_mcp_connects_total',
    help: 'Connections made to the MCP servers of the skills file, by outcome (ok or error: the server is retried with backoff)',
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
  readonly pushDeliveries = new Counter({
    name: 'a2a_push_deliveries_total',
    help: 'Push-notification delivery attempts by outcome: delivered, retry (failed, tried again later) or dead_letter (failed, given up)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly pushDeliverySeconds = new Histogram({
    name: 'a2a_push_delivery_duration_seconds',
    help: 'Time of one push-notification delivery attempt, until the receiver answered or the attempt failed',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly pushDeadLettersRetried = new Counter({
    name: 'a2a_push_dead_letters_retried_total',
    help: 'Dead letters put back in the outbox by their caller (kagent-a2a push retry)',
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
  readonly outboundCalls = new Counter({
    name: 'kagent_a2a_outbound_calls_total',
    help: 'A2A calls this agent made to peer agents, by peer (its configured host), method and outcome (ok or the client error kind); a retried call counts once',
    labelNames: ['peer', 'method', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly outboundRetries = new Counter({
    name: 'kagent_a2a_outbound_retries_total',
    help: 'Attempts of outbound A2A calls that failed and were tried again, by peer and method',
    labelNames: ['peer', 'method'] as const,
    registers: [this.registry],
  });
  readonly mcpToolCalls = new Counter({
    name: 'kagent_mcp_tool_calls_total',
    help: "MCP tool calls at /mcp by tool (a skill id) and outcome: the state the call's task ended in, or the reason it was refused",
    labelNames: ['tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly delegations = new Counter({
    name: 'kagent_delegations_total',
    help: 'Work the delegate skill handed to a peer (outcome delegated) or could not: no_peer, loop (already passed through this pod), refused (the caller may not use the peer skills it would reach, or the peer card is unsigned by its key or points where the egress guard will not go)',
    labelNames: ['peer', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly taskSeconds = new Histogram({
    name: 'kagent_task_duration_seconds',
    help: 'Time one skill run took, by skill and the state it left its task in (interrupted: left to be resumed at shutdown)',
    labelNames: ['skill', 'state'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  readonly tasksRunning: Gauge = new Gauge({
    name: 'kagent_tasks_running',
    help: 'Skill runs in progress in this pod now: the autoscaling signal',
    registers: [this.registry],
    collect: (): void => this.tasksRunning.set(this.runningCount()),
  });
  readonly ownerRouting = new Counter({
    name: 'kagent_owner_routing_total',
    help: 'Requests about another pod\'s task (per-pod stores): forwarded to the owner, or answered OWNER_UNAVAILABLE because it could not be reached',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly storeSeconds = new Histogram({
    name: 'kagent_store_operation_duration_seconds',
    help: 'Time one task store operation took, by operation and outcome (ok or error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly relayLagSeconds = new Histogram({
    name: 'kagent_event_relay_lag_seconds',
    help: 'Shared store: from a status change being stamped on the pod that made it to its relay to this pod\'s listeners',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly llmCalls = new Counter({
    name: 'kagent_llm_calls_total',
    help: 'Chat-completions calls the assistant and the declared skills made, by outcome (ok or error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly llmTokens = new Counter({
    name: 'kagent_llm_tokens_total',
    help: 'Tokens the model endpoints reported for the assistant and the declared skills, by kind (prompt or completion)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly vaporaLastHealthy = new Gauge({
    name: 'kagent_vapora_last_healthy_timestamp_seconds',
    help: 'When VAPORA last answered discovery (Unix seconds); the start of the pod or of the current VAPORA_URL until it first does; 0 without VAPORA_URL',
    registers: [this.registry],
  });
  readonly discoveryInterval = new Gauge({
    name: 'kagent_discovery_interval_seconds',
    help: 'A2A_DISCOVERY_INTERVAL in force: how often peer cards are fetched',
    registers: [this.registry],
  });
  private runningCount: () => number = () => 0;
  private connectionCount: () => number = () => 0;
  private storeIsFull: () => boolean = () => false;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Present from the start, so that alerts on its rate see a zero rather than no series.
    this.storeWriteFailures.inc({ reason: 'full' }, 0);
    // Likewise the refusals whose reasons are a closed set: a panel or a rate reads zero, not "no data".
    for (const limit of ['rate', 'tasks', 'streams', 'unauthenticated']) this.limited.inc({ limit }, 0);
    for (const reason of ['request_timeout', 'bad_request', 'client_aborted', 'connection_limit']) this.httpRejected.inc({ reason }, 0);
    for (const reason of ['missing', 'rejected']) this.authFailures.inc({ reason }, 0);
    for (const trigger of ['restart', 'lease']) this.tasksResumed.inc({ trigger }, 0);
    this.ownerRouting.inc({ outcome: 'forwarded' }, 0);
    this.ownerRouting.inc({ outcome: 'owner_unavailable' }, 0);
    this.skillFailures.inc(0);
    this.streamsCut.inc(0);
    for (const outcome of ['applied', 'rejected']) this.configReloads.inc({ outcome }, 0);
    for (const outcome of ['applied', 'rejected']) this.skillsFileReloads.inc({ outcome }, 0);
    for (const outcome of ['ok', 'error']) this.mcpConnects.inc({ outcome }, 0);
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

  /** Where kagent_tasks_running reads this pod's running skill count at scrape time. */
  countRunning(count: () => number): void {
    this.runningCount = count;
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
