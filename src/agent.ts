import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { podUrlFor, resolveIdentity } from './cluster/identity.js';
import { findSiblings, siblingNames } from './cluster/siblings.js';
import type { Sibling } from './cluster/siblings.js';
import type { PodIdentity } from './cluster/identity.js';
import { withoutTrailingSlashes } from './model/text.js';
import type { Config, RawSettings } from './config/load.js';
import { ConfigError } from './config/load.js';
import { checkSettingsTogether } from './config/cross-checks.js';
import { StoreFullError } from './model/errors.js';
import type { Caller } from './model/model.js';
import { CardSigner } from './auth/card-signer.js';
import { PeerCardKeys } from './auth/peer-card-keys.js';
import { createCallerAuth } from './auth/setup.js';
import type { CallerAuth } from './auth/setup.js';
import type { SkillPermissions } from './auth/skill-permissions.js';
import { Dispatcher } from './core/dispatcher.js';
import { KeyedSlots } from './core/keyed-slots.js';
import type { ProtocolVersion } from './protocol/codec.js';
import type { AgentCardInput } from './transport/agent-card.js';
import { AuthGate } from './transport/auth-gate.js';
import { ConfigWatcher } from './config/watch.js';
import { ClusterRelay } from './core/cluster-relay.js';
import { EventBus } from './core/event-bus.js';
import { FullStoreRecovery } from './core/full-store-recovery.js';
import { LeaseKeeper } from './core/lease-keeper.js';
import { RetentionSweeper } from './core/retention.js';
import { SkillRegistry } from './core/skill-registry.js';
import type { RoutingOptions } from './core/skill-registry.js';
import { TaskService } from './core/task-service.js';
import { createLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { redactCredentials } from './observability/redact.js';
import { startTracing } from './observability/tracing.js';
import { delegateSkill } from './skills/delegate.js';
import { PeerCredentials } from './peers/credentials.js';
import { PeerDiscovery } from './peers/discovery.js';
import type { PeerTarget } from './peers/discovery.js';
import { AllowList, AllowListError, EgressGuard, REFUSAL_REASONS } from './peers/egress/index.js';
import { conformanceSkill } from './skills/conformance.js';
import { assistantSkill, skillAsTool } from './skills/assistant/index.js';
import { clusterSkillFor } from './skills/cluster/routing.js';
import { echoSkill } from './skills/echo.js';
import { helpSkill } from './skills/help.js';
import { AddedSkillError, addedSkills } from './skills/installed.js';
import { loadSkillModules } from './skills/modules.js';
import { looksLikeManifests, manifestReviewSkill } from './skills/manifest-review/index.js';
import type { Skill, SkillDescriptor, SkillLog } from './skills/skill.js';
import type { ChatTurnOptions } from './skills/assistant/index.js';
import { declaredSkills, mcpServerSpecs } from './skills/declarative/declared-skills.js';
import { SkillsFileSource } from './skills/declarative/skills-file-source.js';
import { EMPTY_SKILLS_FILE, SkillsFileError, skillsFilePath } from './config/skills-file.js';
import type { SkillsFile } from './config/skills-file.js';
import { McpServers } from './peers/mcp/mcp-servers.js';
import { SqliteTaskStore } from './store/sqlite/sqlite-store.js';
import { timedStore } from './store/timed-store.js';
import type { TaskStore } from './store/task-store.js';
import { agentCardV03, agentCardV1, cachedDocument } from './transport/agent-card.js';
import type { CachedDocument } from './transport/agent-card.js';
import { ConsoleFiles } from './transport/console-files.js';
import { shownSettings } from './config/shown.js';
import { createHttpServer } from './transport/http-server.js';
import { serveDeadLetters } from './transport/push-dead-letters.js';
import { PushConfigs } from './push/push-configs.js';
import { DeliveryWorker } from './push/delivery-worker.js';
import { JsonRpcHandler } from './transport/jsonrpc-handler.js';
import { A2aGrpcService } from './transport/grpc/a2a-grpc-service.js';
import { startGrpcServer } from './transport/grpc/grpc-server.js';
import { RestHandler } from './transport/rest-handler.js';
import { McpEndpoint } from './transport/mcp-endpoint.js';
import { OwnerRelay } from './transport/owner-routing.js';
import type { ClusterRouting } from './transport/owner-routing.js';
import { PodClient } from './transport/pod-client.js';
import { VERSION } from './version.js';
import { withFields } from './model/with-fields.js';

export interface RunningAgent {
  readonly identity: PodIdentity;
  /** The base URL the agent card advertises. */
  readonly url: string;
  readonly port: number;
  /** The gRPC service's port; undefined when gRPC is off. */
  readonly grpcPort: number | undefined;
  readonly logger: Logger;
  readonly discovery: PeerDiscovery;
  /** The settings in force (live ones follow the watched file). */
  config(): Config;
  /** Reads the watched settings now instead of waiting for the file event. */
  reloadConfig(): void;
  /** Graceful stop: not ready, refuse new work, drain running tasks, close the store. */
  stop(): Promise<void>;
}

export interface ConfigSource {
  /** The settings file or mounted ConfigMap directory to watch. */
  path: string;
  /** Reads every source again, validated. */
  load: () => Config;
  /** The watched file's own values (restart-only edits are reported even when the environment pins them). */
  fileValues?: () => RawSettings;
  pollMs?: number;
}

/** What a start may be told beyond the settings. */
export interface StartOverrides {
  /** Binds gRPC to this port instead of GRPC_PORT, whose 0 means off: a test asks for 0, any free port. */
  grpcPort?: number;
}

export const DATABASE_FILE = 'kagent-a2a.sqlite';

/** While the store is full: how often to sweep and try a write again. */
const STORE_FULL_PROBE_MS = 2_000;

function peerTargets(config: Config): PeerTarget[] {
  return [
    ...(config.VAPORA_URL === undefined ? [] : [{ url: config.VAPORA_URL, source: 'vapora' }]),
    ...config.A2A_PEERS.map((url) => ({ url, source: 'config' })),
  ];
}

/** The parts a start has started, stopped last first: when a later step fails, and at the end of a stop. */
class StartedParts {
  private readonly parts: { name: string; stop: () => unknown }[] = [];

  push(name: string, stop: () => unknown): void {
    this.parts.push({ name, stop });
  }

  /** Stops every part, the last started first; one that fails to stop does not keep the others running. */
  async unwind(onError: (part: string, error: unknown) => void): Promise<void> {
    for (const { name, stop } of this.parts.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        onError(name, error);
      }
    }
  }
}

/** Wires the layers together and starts serving; a start that fails stops whatever it had started. */
export async function startAgent(initial: Config, source?: ConfigSource, overrides: StartOverrides = {}): Promise<RunningAgent> {
  const started = new StartedParts();
  try {
    return await start(initial, source, started, overrides);
  } catch (error) {
    // Left running, the store's connections and the background loops would keep the process alive.
    await started.unwind(() => undefined);
    throw error;
  }
}

async function start(initial: Config, source: ConfigSource | undefined, started: StartedParts, overrides: StartOverrides): Promise<RunningAgent> {
  checkSettingsTogether(initial);
  let config = initial;
  // The pod name is known before the port; the identity is completed once listening.
  const provisional = resolveIdentity({ ...identityInput(config), port: config.PORT });
  const logger = createLogger(config.LOG_LEVEL, { pod: provisional.pod });
  const tracing = await startTracing({
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    protocol: config.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: config.OTEL_SERVICE_NAME,
    instance: provisional.pod,
    timeoutMs: config.OTEL_EXPORTER_OTLP_TIMEOUT,
    onError: (reason) => logger.warn({ reason }, 'trace export failed; those spans are lost'),
  });
  started.push('tracing', () => tracing.shutdown());
  if (tracing.enabled) logger.info({ endpoint: redactCredentials(config.OTEL_EXPORTER_OTLP_ENDPOINT!), protocol: config.OTEL_EXPORTER_OTLP_PROTOCOL }, 'exporting traces');
  const metrics = new Metrics();
  const auth = createCallerAuth(config, logger, provisional.pod);
  if (!auth.authenticator.enabled) logger.warn('AUTH_MODE=none: every caller is anonymous and may use every task and skill; set AUTH_MODE outside development');
  const cardSigner = await cardSignerFor(config);
  const peerCardKeys = PeerCardKeys.parse(config.A2A_PEER_CARD_KEYS, {
    cooldownMs: config.AUTH_JWKS_COOLDOWN,
    maxAgeMs: config.AUTH_JWKS_MAX_AGE,
    onFetchError: (url, error) => logger.warn({ err: error, url }, "fetching a peer's card signing keys failed"),
  });

  const egress = new EgressGuard({
    allow: egressAllowList(config),
    onRefused: (refused) => {
      metrics.egressRefused.inc({ reason: refused.reason });
      logger.warn({ host: refused.host, reason: refused.reason, address: refused.address }, 'egress refused');
    },
  });
  started.push('egress guard', () => egress.close());
  const peerCredentials = new PeerCredentials(config.A2A_PEER_CREDENTIALS_DIR, {
    onReload: (hosts) => logger.info({ hosts }, 'peer credentials loaded'),
    onProblem: (file, problem) => logger.error({ file, problem }, 'a peer credential file cannot be used'),
    onError: (error) => logger.error({ err: error, dir: config.A2A_PEER_CREDENTIALS_DIR }, 'reading the peer credentials failed; keeping the ones in force'),
  });
  peerCredentials.load();
  for (const reason of REFUSAL_REASONS) metrics.egressRefused.inc({ reason }, 0);
  let vaporaAnswered = false;
  // A VAPORA that has not answered since this start (or since its URL changed) is as overdue as one that stopped answering.
  const watchVapora = (url: string | undefined) => metrics.vaporaLastHealthy.set(url === undefined ? 0 : Date.now() / 1000);
  watchVapora(config.VAPORA_URL);
  metrics.discoveryInterval.set(config.A2A_DISCOVERY_INTERVAL / 1000);
  const discovery = new PeerDiscovery({
    intervalMs: config.A2A_DISCOVERY_INTERVAL,
    // The peer's URL is the operator's; where a redirect points is the peer's word, and the guard
    // drops the credential once a hop leaves the first origin.
    fetch: (url, init) => egress.fetch(url, { ...init, headers: { ...init.headers, ...peerCredentials.headersFor(url) } }, { trustedOrigin: url }),
    trustedCardKey: (url) => peerCardKeys.keyFor(url),
    onChecked: (peer, seconds) => {
      metrics.discoverySeconds.observe(seconds);
      if (peer.state === 'untrusted') metrics.peerCardsRefused.inc();
      metrics.setPeerStates(discovery.list().map((p) => p.state));
      // Only the VAPORA configured now counts: a check of the one before a live change may still land.
      if (peer.source === 'vapora' && peer.state === 'healthy' && config.VAPORA_URL !== undefined && discovery.get(config.VAPORA_URL)?.url === peer.url) {
        vaporaAnswered = true;
        metrics.vaporaLastHealthy.set(Date.now() / 1000);
      }
      const level = peer.state === 'healthy' ? 'debug' : 'warn';
      logger[level]({ peer: peer.url, state: peer.state, error: peer.lastError }, 'peer checked');
    },
  });
  const delegate = delegateSkill({
    peers: () => discovery.list(),
    self: provisional.pod,
    egress,
    trustedCardKey: (url) => peerCardKeys.keyFor(url),
    onCardRefused: () => metrics.peerCardsRefused.inc(),
    credentials: peerCredentials,
    observer: {
      delegated: (peer, outcome) => metrics.delegations.inc({ peer, outcome }),
      called: (peer, call) => {
        metrics.outboundCalls.inc({ peer, method: call.method, outcome: call.outcome });
        if (call.attempts > 1) metrics.outboundRetries.inc({ peer, method: call.method }, call.attempts - 1);
      },
    },
    // Skills run only once the task service below is built (its store open); it knows which runs edit metadata.
    taskMetadata: { read: (taskId) => service.taskMetadata(taskId), merge: (taskId, patch) => service.mergeTaskMetadata(taskId, patch) },
  });
  const skills = await buildSkills(config, delegate, auth.permissions, logger, metrics, () => registry.descriptors());
  // Declared skills (the skills file) and the MCP servers they call; the file is watched once serving.
  const mcpServers = new McpServers({
    egress,
    onConnect: (server, outcome, error) => {
      metrics.mcpConnects.inc({ outcome });
      if (outcome === 'error') logger.warn({ server, reason: error instanceof Error ? error.message : String(error) }, 'connecting to an MCP server failed; retrying with backoff');
    },
  });
  started.push('MCP servers', () => mcpServers.close());
  const skillsFile = skillsFileSource(config, source, skills, delegate, mcpServers, discovery, metrics, logger, (declared, file) => {
    registry.replaceDeclared(declared);
    mcpServers.configure(mcpServerSpecs(file));
  });
  const declared = loadSkillsFile(skillsFile);
  const registry: SkillRegistry = new SkillRegistry(
    skills,
    defaultSkill(config, [...skills, ...declared.skills]),
    {
      byContent: contentRoutes(skills),
      // A skill this agent lacks goes to a peer that has it — when there are peers to ask.
      forUnknown: () => (discovery.list().some((peer) => peer.source !== 'sibling') ? delegate : undefined),
    },
    declared.skills,
  );
  mcpServers.configure(mcpServerSpecs(declared.file));

  // Settings are all checked (skills included) before the store is opened.
  let recovery: FullStoreRecovery | undefined;
  const store = timedStore(
    await createStore(config, provisional.pod, logger, () => {
      metrics.storeWriteFailures.inc({ reason: 'full' });
      recovery?.noticeFull();
    }),
    (operation, outcome, seconds) => metrics.storeSeconds.observe({ operation, outcome }, seconds),
  );
  metrics.watchStore(() => store.isFull);
  await store.open();
  started.push('task store', () => store.close());
  metrics.setTaskCounts(await store.countByState());

  const bus = new EventBus();
  const service = new TaskService({
    store,
    bus,
    skills: registry,
    pod: provisional.pod,
    streamCapacity: config.STREAM_BUFFER_EVENTS,
    maxRunning: () => config.MAX_RUNNING_TASKS,
    maxResumes: config.MAX_RESUMES,
    authorizeSkill: (caller, skillId) => auth.permissions.authorize(caller, skillId),
    maxRunningPerCaller: config.MAX_TASKS_PER_PRINCIPAL,
    maxArtifactBytes: config.MAX_ARTIFACT_BYTES,
    maxListPageBytes: config.MAX_LIST_PAGE_BYTES,
    skillLog: (skill, taskId) => skillLog(logger, skill, taskId),
    observer: {
      taskEntered: (state, previous) => metrics.taskEntered(state, previous),
      skillFailed: (taskId, error) => {
        metrics.skillFailed();
        logger.warn({ taskId, err: error }, 'skill failed');
      },
      taskResumed: (_taskId, why) => metrics.taskResumed(why),
      runEnded: (skill, state, seconds) => metrics.taskSeconds.observe({ skill, state }, seconds),
      runSuperseded: (taskId) => logger.warn({ taskId }, 'stopped running a task another pod took over while this pod had lost its lease'),
    },
  });
  started.push('running tasks', () => service.drain(Date.now()));
  metrics.countRunning(() => service.runningCount);
  // With a shared store, other pods' events reach this pod's subscribers, and leases expose dead pods.
  const relay =
    store.shared === undefined
      ? undefined
      : new ClusterRelay(
          store.shared,
          bus,
          (error) => logger.warn({ err: error }, 'relaying a task event failed'),
          (seconds) => metrics.relayLagSeconds.observe(seconds),
        );
  await relay?.start();
  started.push('event relay', () => relay?.stop());
  const leases =
    store.shared === undefined
      ? undefined
      : new LeaseKeeper({
          store: store.shared,
          pod: provisional.pod,
          ttlMs: config.LEASE_TTL,
          running: () => service.runningTaskIds(),
          takeOver: async (orphan) => {
            const outcome = await service.takeOver(orphan);
            if (outcome === 'skipped') return;
            logger.warn({ taskId: orphan.id, formerPod: orphan.holder }, `${outcome} a task whose pod stopped renewing its lease`);
          },
          onError: (error) => logger.warn({ err: error }, 'lease upkeep failed'),
        });
  // Before the lease keeper starts: this pod's own tasks are taken back as left off at its restart, not as another pod's orphans.
  const recovered = await service.recoverInterrupted();
  if (recovered.failed > 0) logger.warn({ tasks: recovered.failed }, 'failed tasks that were running when the agent last stopped');
  if (recovered.resumed > 0) logger.warn({ tasks: recovered.resumed }, 'resumed tasks that were running when the agent last stopped');
  // A full disk must not turn into a crash loop: start unready, free room, and settle the rest once writes fit.
  let interrupted = recovered.pending;
  if (interrupted.length > 0) logger.warn({ tasks: interrupted.length }, 'the task store is full: tasks interrupted by the last stop are resumed or failed once it takes writes again');
  leases?.start();
  started.push('leases', () => leases?.stop());

  // Push notifications: configs checked against the egress guard when saved, deliveries posted through it.
  // Signed deliveries name this agent's public URL as their issuer, once it is known (deliveries may start before).
  let pushIssuer: string | undefined;
  const signer = config.PUSH_SIGN_DELIVERIES ? cardSigner : undefined;
  const push = new PushConfigs({ store, egress, enabled: config.PUSH_NOTIFICATIONS, maxPerTask: config.PUSH_MAX_CONFIGS_PER_TASK });
  const deliveries = new DeliveryWorker({
    store: store.push,
    poster: egress,
    timeoutMs: config.PUSH_TIMEOUT,
    maxAttempts: config.PUSH_MAX_ATTEMPTS,
    maxAgeMs: config.PUSH_MAX_AGE,
    retryBaseMs: config.PUSH_RETRY_BASE,
    retryMaxMs: config.PUSH_RETRY_MAX,
    pollMs: config.PUSH_POLL_INTERVAL,
    concurrency: config.PUSH_CONCURRENCY,
    sign: signer === undefined ? undefined : (claims) => signer.signJwt({ ...claims, ...(pushIssuer === undefined ? {} : { iss: pushIssuer }) }),
    onAttempt: (outcome, seconds) => {
      metrics.pushDeliveries.inc({ outcome });
      metrics.pushDeliverySeconds.observe(seconds);
    },
    onDeadLetter: (delivery, error) => logger.warn({ taskId: delivery.taskId, configId: delivery.target.config.id, deliveryId: delivery.id, attempts: delivery.attempts, error }, 'push delivery given up: a dead letter'),
    onError: (error) => logger.warn({ err: error }, 'push outbox upkeep failed'),
  });
  for (const outcome of ['delivered', 'retry', 'dead_letter']) metrics.pushDeliveries.inc({ outcome }, 0);
  // Configs from before a restart (PUSH_NOTIFICATIONS turned off since) are not delivered to either.
  if (config.PUSH_NOTIFICATIONS) deliveries.start();
  started.push('push deliveries', () => deliveries.stop());

  const retention = new RetentionSweeper({
    store,
    retentionMs: config.TASK_RETENTION,
    intervalMs: config.RETENTION_SWEEP_INTERVAL,
    onDeleted: (deleted) => metrics.tasksDeleted(deleted),
    onError: (error) =>
      error instanceof StoreFullError ? logger.warn({ reason: error.reason }, 'retention sweep found the store full') : logger.error({ err: error }, 'retention sweep failed'),
  });
  retention.start();
  started.push('retention sweep', () => retention.stop());
  // A full store: not ready, sweep now rather than at the next interval, probe until writes fit again.
  recovery = new FullStoreRecovery({
    store,
    sweep: () => retention.sweep(),
    intervalMs: STORE_FULL_PROBE_MS,
    onFull: () => logger.warn('the task store is full: writes are refused with a retryable error and the pod is not ready until they fit again'),
    onRecovered: () => {
      logger.info('the task store takes writes again');
      if (interrupted.length === 0) return;
      const left = interrupted;
      interrupted = [];
      // The same InterruptedTask versions: a task another pod took over meanwhile is skipped.
      void service.recoverInterrupted(left).then(
        (done) => {
          interrupted = [...done.pending, ...interrupted];
          if (done.failed + done.resumed > 0) logger.warn({ resumed: done.resumed, failed: done.failed }, 'settled tasks interrupted by the last stop, now that the store takes writes');
        },
        (error: unknown) => logger.error({ err: error }, 'settling tasks interrupted by the last stop failed'),
      );
    },
  });
  const fullRecovery = recovery;
  started.push('full-store recovery', () => fullRecovery.stop());
  if (store.isFull) fullRecovery.noticeFull();

  let siblings: Sibling[] = [];
  const refreshPeers = () => discovery.setPeers([...peerTargets(config), ...siblings.map((s) => ({ url: s.url, source: 'sibling' }))]);
  refreshPeers();
  discovery.start();
  started.push('peer discovery', () => discovery.stop());

  let accepting = false;
  const isReady = () => accepting && store.isOpen && !store.isFull && (!config.READY_REQUIRES_VAPORA || vaporaAnswered);
  let cards: { v1: CachedDocument; v03: CachedDocument } | undefined;
  // Per-pod stores answer for every task by routing to its owner; a shared store needs no routing.
  const template = provisional.podUrlTemplate;
  const routing: ClusterRouting | undefined =
    config.STORE === 'sqlite' && template !== undefined
      ? {
          self: provisional.pod,
          urlOf: (pod) => podUrlFor(template, pod, provisional.namespace),
          siblings: () => (siblings.length > 0 ? siblings.map((s) => s.pod) : [provisional.pod]),
          isSibling: siblingNames({ pod: provisional.pod, replicas: config.A2A_REPLICAS, discovered: provisional.namespace !== undefined }),
          client: new PodClient({
            connectMs: config.A2A_POD_CONNECT_TIMEOUT,
            responseMs: config.A2A_POD_RESPONSE_TIMEOUT,
            streamIdleMs: 2 * config.STREAM_HEARTBEAT_INTERVAL + config.A2A_POD_RESPONSE_TIMEOUT,
          }),
          vouch: vouchFor(auth),
        }
      : undefined;
  let cardInput: AgentCardInput | undefined;
  // Where signatures say our key set is; known once listening, before any card is served.
  let jku: string | undefined;
  const signed = async (card: Record<string, unknown>) => (cardSigner === undefined ? card : cardSigner.sign(card, jku));
  // One cap for a caller's open A2A streams and MCP tool calls alike.
  const streamsPerCaller = config.MAX_STREAMS_PER_PRINCIPAL === undefined ? undefined : new KeyedSlots(config.MAX_STREAMS_PER_PRINCIPAL);
  const dispatcher = new Dispatcher({
    service,
    replicas:
      routing === undefined
        ? undefined
        : new OwnerRelay(routing, { streamCapacity: config.STREAM_BUFFER_EVENTS, counted: (outcome) => metrics.ownerRouting.inc({ outcome }) }),
    extendedCard: auth.authenticator.enabled ? (caller, version) => signed(extendedCard(cardInput!, auth, caller, version)) : undefined,
    streamsPerCaller,
    push,
  });
  const mcp = new McpEndpoint({
    service,
    skills: () => registry.descriptors(),
    mayUse: (caller, skillId) => auth.permissions.allows(caller, skillId),
    enabled: () => config.MCP_SERVER,
    streamsPerCaller,
    logger,
    metrics,
  });
  const gate = new AuthGate({
    authenticator: auth.authenticator,
    rateLimiter: auth.rateLimiter,
    failedAuthLimit: auth.failedAuthLimit,
    metricsToken: auth.metricsToken,
    maxBodyBytes: config.MAX_BODY_BYTES,
    metrics,
    logger,
  });
  const jsonRpc = new JsonRpcHandler({ dispatcher, logger, metrics, heartbeatMs: config.STREAM_HEARTBEAT_INTERVAL });
  const rest = new RestHandler({ dispatcher, logger, metrics, heartbeatMs: config.STREAM_HEARTBEAT_INTERVAL });
  auth.start();
  started.push('authentication', () => auth.stop());
  peerCredentials.start();
  started.push('peer credentials', () => peerCredentials.stop());
  started.push('pod client', () => routing?.client.close());
  // Settings edited in the watched file that apply after a restart; the pod as /settings shows it (complete once listening).
  const restartPending = new Set<string>();
  let shownIdentity: PodIdentity = provisional;
  const server = createHttpServer({
    jsonRpc,
    rest,
    cards: () => cards,
    cardMaxAgeSeconds: Math.floor(config.CARD_CACHE_MAX_AGE / 1000),
    ...(cardSigner === undefined ? {} : { jwks: cachedDocument(cardSigner.jwks) }),
    maxBodyBytes: config.MAX_BODY_BYTES,
    headersTimeoutMs: config.HEADERS_TIMEOUT,
    requestTimeoutMs: config.REQUEST_TIMEOUT,
    maxConnections: config.MAX_CONNECTIONS,
    metrics,
    logger,
    isReady,
    peers: () => discovery.publicView(),
    deadLetters: config.PUSH_NOTIFICATIONS
      ? (req, res, path, caller) =>
          serveDeadLetters(req, res, path, caller, store.push, () => {
            metrics.pushDeadLettersRetried.inc();
            deliveries.wake();
          })
      : undefined,
    settings: () => ({
      pod: { name: shownIdentity.pod, ordinal: shownIdentity.ordinal, namespace: shownIdentity.namespace, podUrl: shownIdentity.podUrl, publicUrl: shownIdentity.publicUrl },
      settings: shownSettings(config, restartPending),
    }),
    ...(config.CONSOLE ? { console: ConsoleFiles.load() ?? 'not-built' } : {}),
    mcp,
    gate,
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new Error(`cannot listen on ${config.HOST}:${config.PORT} (settings HOST, PORT): ${why}`, { cause: error }));
    };
    server.once('error', failed);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', failed);
      resolve();
    });
  });
  // A step after this one that fails must not leave the port open; a stop has closed it already by the time it unwinds.
  started.push('HTTP server', () => {
    if (!server.listening) return undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    return closed;
  });
  const port = (server.address() as AddressInfo).port;
  const identity = resolveIdentity({ ...identityInput(config), port });
  shownIdentity = identity;
  pushIssuer = identity.publicUrl;
  const grpcPort = overrides.grpcPort ?? (config.GRPC_PORT === 0 ? undefined : config.GRPC_PORT);
  const grpcService = new A2aGrpcService({ dispatcher, gate, logger, metrics });
  const grpcServer =
    grpcPort === undefined
      ? undefined
      : await startGrpcServer(grpcService, { host: config.HOST, port: grpcPort, maxMessageBytes: config.MAX_BODY_BYTES, keepaliveMs: config.STREAM_HEARTBEAT_INTERVAL });
  if (grpcServer !== undefined) started.push('gRPC server', () => grpcServer.stop(Date.now()));
  jku = `${withoutTrailingSlashes(identity.publicUrl)}/.well-known/jwks.json`;
  // Built again whenever the declared skills change: the card (and its ETag) follows the skills in force.
  const publishCards = async () => {
    const input: AgentCardInput = {
      name: config.AGENT_NAME,
      description: config.AGENT_DESCRIPTION,
      version: VERSION,
      url: identity.publicUrl,
      // The pod's stable host: a gRPC client keeps its channel to one replica, as a stream does.
      ...(grpcServer === undefined ? {} : { grpcUrl: `${new URL(identity.podUrl).hostname}:${grpcServer.port}` }),
      skills: registry.descriptors(),
      security: auth.authenticator.declarations,
      extendedCard: auth.authenticator.enabled,
      pushNotifications: config.PUSH_NOTIFICATIONS,
      // Scopes mean something to token callers only.
      skillScopes: config.AUTH_MODE === 'jwt' || config.AUTH_MODE === 'apikey+jwt' ? (id) => auth.permissions.scopesFor(id) : undefined,
    };
    // The public card lists the skills open to every caller; restricted ones show on a permitted caller's extended card.
    const publicCard = { ...input, skills: input.skills.filter((skill) => !auth.permissions.isRestricted(skill.id)) };
    const next = { v1: cachedDocument(await signed(agentCardV1(publicCard))), v03: cachedDocument(await signed(agentCardV03(publicCard))) };
    cardInput = input;
    cards = next;
  };
  await publishCards();
  // One rebuild at a time, so a slower signing of an older set never lands after a newer one.
  let rebuilding = Promise.resolve();
  registry.onChange(() => {
    rebuilding = rebuilding.then(publishCards).catch((error: unknown) => logger.error({ err: error }, 'rebuilding the agent card failed; the previous card is served'));
  });
  const siblingRefresh = identity.podUrlTemplate === undefined ? undefined : startSiblingRefresh(identity, config, logger, (found) => {
    siblings = found;
    refreshPeers();
  }, () => config.A2A_DISCOVERY_INTERVAL);
  accepting = true;
  logger.info(
    { url: identity.publicUrl, podUrl: identity.podUrl, ordinal: identity.ordinal, port, dataDir: config.DATA_DIR, skills: registry.descriptors().map((s) => s.id) },
    'kagent-a2a serving',
  );

  const watcher =
    source === undefined
      ? undefined
      : new ConfigWatcher({
          path: source.path,
          initial,
          load: source.load,
          fileValues: source.fileValues,
          pollMs: source.pollMs,
          onChange: ({ config: next, live, restartOnly }) => {
            config = next;
            if (live.includes('LOG_LEVEL')) logger.level = next.LOG_LEVEL;
            if (live.includes('A2A_DISCOVERY_INTERVAL')) discovery.setInterval(next.A2A_DISCOVERY_INTERVAL);
            if (live.includes('A2A_DISCOVERY_INTERVAL')) metrics.discoveryInterval.set(next.A2A_DISCOVERY_INTERVAL / 1000);
            // Another VAPORA has not answered yet: readiness waits for it again.
            if (live.includes('VAPORA_URL')) vaporaAnswered = false;
            if (live.includes('VAPORA_URL')) watchVapora(next.VAPORA_URL);
            if (live.includes('VAPORA_URL') || live.includes('A2A_PEERS')) refreshPeers();
            if (live.length > 0) metrics.configReloads.inc({ outcome: 'applied' });
            if (live.length > 0) logger.info({ settings: live }, 'settings changed and applied');
            for (const setting of restartOnly) metrics.restartPending.set({ setting }, 1);
            for (const setting of restartOnly) restartPending.add(setting);
            if (restartOnly.length > 0) logger.warn({ settings: restartOnly }, 'settings changed; they take effect after a restart');
          },
          onError: (error) => {
            metrics.configReloads.inc({ outcome: 'rejected' });
            logger.error({ err: error, path: source.path }, 'settings reload rejected; keeping the last good settings');
          },
        });
  watcher?.start();
  skillsFile?.start();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      accepting = false;
      logger.info({ running: service.runningCount }, 'stopping: draining running tasks');
      watcher?.stop();
      skillsFile?.stop();
      auth.stop();
      peerCredentials.stop();
      siblingRefresh?.stop();
      discovery.stop();
      const left = await service.drain(Date.now() + config.DRAIN_TIMEOUT);
      if (left.length > 0) logger.warn({ tasks: left.length }, 'left running tasks to be resumed: they did not finish within DRAIN_TIMEOUT');
      leases?.stop();
      await leases?.handOver(left);
      const grpcStopped = grpcServer?.stop(Date.now() + 500);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Streams of tasks still waiting for input would hold the server open: end them cleanly,
      // give the final bytes a moment to leave, then drop whatever connection remains.
      dispatcher.closeStreams();
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
      server.closeAllConnections();
      await closed;
      await grpcStopped;
      // Then everything else, the last started first: the tracer last of all, so the drain's spans leave too.
      // Every acknowledged write is already durable: a part that cannot stop cleanly (a store on a full disk) is no reason to fail the stop.
      await started.unwind((part, error) => logger.warn({ part, reason: error instanceof Error ? error.message : String(error) }, `the ${part} did not stop cleanly`));
      logger.info('stopped');
    })());
  return {
    identity,
    url: identity.publicUrl,
    port,
    grpcPort: grpcServer?.port,
    logger,
    discovery,
    config: () => config,
    reloadConfig: () => {
      void watcher?.reload();
      skillsFile?.reload();
    },
    stop,
  };
}

/** The card signer CARD_SIGNING_KEY_FILE names, checked at start; none without it. */
async function cardSignerFor(config: Config): Promise<CardSigner | undefined> {
  if (config.CARD_SIGNING_KEY_FILE === undefined) {
    if (config.CARD_SIGNING_KEY_ID !== undefined) throw new ConfigError('CARD_SIGNING_KEY_ID', 'settings', 'is set but CARD_SIGNING_KEY_FILE is not: there is no key to name');
    return undefined;
  }
  return CardSigner.fromFile(config.CARD_SIGNING_KEY_FILE, 'CARD_SIGNING_KEY_FILE', config.CARD_SIGNING_KEY_ID === undefined ? {} : { keyId: config.CARD_SIGNING_KEY_ID });
}

/** The card an authenticated caller gets: every skill it may use, in the version it speaks. */
function extendedCard(input: AgentCardInput, auth: CallerAuth, caller: Caller, version: ProtocolVersion): Record<string, unknown> {
  const own = { ...input, skills: input.skills.filter((skill) => auth.permissions.allows(caller, skill.id)) };
  return version === '1.0' ? agentCardV1(own) : agentCardV03(own);
}

/** Looks up the StatefulSet's replicas now and then every discovery interval; lookups never block requests. */
function startSiblingRefresh(
  identity: PodIdentity,
  config: Config,
  logger: Logger,
  found: (siblings: Sibling[]) => void,
  interval: () => number,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const refresh = async () => {
    try {
      const list = await findSiblings({
        pod: identity.pod,
        namespace: identity.namespace,
        headlessService: config.HEADLESS_SERVICE,
        podUrlTemplate: identity.podUrlTemplate!,
        replicas: config.A2A_REPLICAS,
      });
      found(list);
    } catch (error) {
      logger.warn({ err: error }, 'sibling lookup failed; keeping the last known replicas');
    }
    if (!stopped) {
      timer = setTimeout(() => void refresh(), interval());
      timer.unref();
    }
  };
  void refresh();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The assistant may call these skills as tools. */
const ASSISTANT_TOOL_SKILLS = ['manifest-review', 'cluster-inspect', 'cluster-diagnose'];

/** Every skill this configuration offers; the agent card lists exactly these. */
async function buildSkills(
  config: Config,
  delegate: Skill,
  permissions: SkillPermissions,
  logger: Logger,
  metrics: Metrics,
  offered: () => SkillDescriptor[],
): Promise<Skill[]> {
  const skills: Skill[] = [echoSkill({ maxDelayMs: config.ECHO_MAX_DELAY }), delegate, manifestReviewSkill({ roots: config.MANIFEST_ROOTS, maxFindings: config.MAX_FINDINGS, log: (fields, message) => logger.warn(fields, message) })];
  if (config.CONFORMANCE_AGENT) skills.push(conformanceSkill());
  if (config.KUBERNETES_SKILLS) {
    // The Kubernetes client takes a while to load: only when the skills are on.
    const { clusterSkills, loadKubeConfig, KubeConfigError } = await import('./skills/cluster/index.js');
    try {
      // In a pod: its service account. Otherwise KUBECONFIG, else ~/.kube/config.
      skills.push(...clusterSkills({ kubeConfig: loadKubeConfig({ kubeconfig: config.KUBECONFIG }) }));
    } catch (error) {
      if (error instanceof KubeConfigError) throw new ConfigError(error.setting, 'settings', error.detail);
      throw error;
    }
  }
  // checkSettingsTogether refused a URL without a model.
  if (config.LLM_URL !== undefined && config.LLM_MODEL !== undefined) {
    const tools = skills.filter((skill) => ASSISTANT_TOOL_SKILLS.includes(skill.descriptor.id)).map((skill) => skillAsTool(skill));
    skills.push(
      assistantSkill({
        baseUrl: config.LLM_URL,
        model: config.LLM_MODEL,
        apiKey: config.LLM_API_KEY_FILE === undefined ? undefined : secretFile('LLM_API_KEY_FILE', config.LLM_API_KEY_FILE),
        maxToolRounds: config.LLM_MAX_TOOL_ROUNDS,
        maxTokens: config.LLM_MAX_TOKENS,
        resumable: config.ASSISTANT_RESUMABLE,
        timeoutMs: config.LLM_TIMEOUT,
        tools,
        log: (fields, message) => logger.warn(fields, message),
        onModelCall: countModelCall(metrics),
      }),
    );
  }
  skills.push(...(await skillsAdded(config, skills)));
  // The same rule as the extended card; without authentication the caller is anonymous, so only the open skills show.
  // Every skill in force, declared ones included.
  skills.push(helpSkill((caller) => offered().filter((skill) => permissions.allows(caller, skill.id))));
  return skills;
}

function countModelCall(metrics: Metrics): NonNullable<ChatTurnOptions['onModelCall']> {
  return ({ outcome, promptTokens, completionTokens }) => {
    metrics.llmCalls.inc({ outcome });
    if (promptTokens !== undefined) metrics.llmTokens.inc({ kind: 'prompt' }, promptTokens);
    if (completionTokens !== undefined) metrics.llmTokens.inc({ kind: 'completion' }, completionTokens);
  };
}

/**
 * The skills file (SKILLS_FILE, else skills.yaml of the ConfigMap directory),
 * none without one. Its reloads follow the rule of live settings: applied
 * whole, or refused with the reason and counted, the last good set in force.
 */
function skillsFileSource(
  config: Config,
  settings: ConfigSource | undefined,
  builtIns: readonly Skill[],
  delegate: Skill,
  mcp: McpServers,
  discovery: PeerDiscovery,
  metrics: Metrics,
  logger: Logger,
  apply: (skills: Skill[], file: SkillsFile) => void,
): SkillsFileSource | undefined {
  const path = skillsFilePath(config, settings?.path ?? config.CONFIG_PATH);
  if (path === undefined) return undefined;
  return new SkillsFileSource({
    path,
    pollMs: settings?.pollMs,
    build: (file) =>
      declaredSkills(file, path, {
        builtIn: (id) => builtIns.find((skill) => skill.descriptor.id === id),
        mcp,
        peers: () => discovery.list(),
        delegateSkillId: delegate.descriptor.id,
        onModelCall: countModelCall(metrics),
        log: (fields, message) => logger.warn(fields, message),
      }),
    apply,
    onApplied: (ids) => {
      metrics.skillsFileReloads.inc({ outcome: 'applied' });
      logger.info({ path, skills: ids }, 'skills file changed and applied');
    },
    onWatchError: (error) => logger.warn({ err: error, path }, 'watching the skills file failed; it is still read every poll interval'),
    onRejected: (error) => {
      metrics.skillsFileReloads.inc({ outcome: 'rejected' });
      logger.error({ err: error, path }, 'skills file rejected; keeping the skills in force');
    },
  });
}

/** The skills file's first read: a bad file is a bad SKILLS_FILE, which stops the start. */
function loadSkillsFile(source: SkillsFileSource | undefined): { skills: Skill[]; file: SkillsFile } {
  if (source === undefined) return { skills: [], file: EMPTY_SKILLS_FILE };
  try {
    return source.load();
  } catch (error) {
    if (error instanceof SkillsFileError) throw new ConfigError('SKILLS_FILE', error.path, error.detail);
    throw error;
  }
}

/** A skill run's log: the agent's logger, each line tagged with the skill and the task (which the skill cannot overwrite). */
function skillLog(logger: Logger, skill: string, taskId: string): SkillLog {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields: Record<string, unknown> = {}) => {
      // Most lines are below the level: nothing is built for them.
      if (logger.isLevelEnabled(level)) logger[level](withFields(fields, { skill, taskId }), message);
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** The installed skills and those of SKILL_MODULES; one that cannot be used is a bad SKILL_MODULES naming its module. */
async function skillsAdded(config: Config, builtIns: readonly Skill[]): Promise<Skill[]> {
  // help is built after the added skills (it lists them) but its id is taken all the same.
  const builtInIds = [...builtIns.map((skill) => skill.descriptor.id), 'help'];
  try {
    return addedSkills(builtInIds, await loadSkillModules(config.SKILL_MODULES)).map((added) => added.skill);
  } catch (error) {
    if (error instanceof AddedSkillError) throw new ConfigError('SKILL_MODULES', error.source, error.detail);
    throw error;
  }
}

/** Skills picked by what a message holds, when it names none: manifests to review, cluster questions. */
/** How a relaying pod names the caller to the owner: only with authentication on, and then only with the shared secret. */
function vouchFor(auth: CallerAuth): ClusterRouting['vouch'] {
  const assertion = auth.clusterAssertion;
  if (!auth.authenticator.enabled || assertion === undefined) return undefined;
  return (caller, pod) => assertion.sign(caller, pod);
}

function contentRoutes(skills: readonly Skill[]): RoutingOptions['byContent'] {
  const offered = new Set(skills.map((skill) => skill.descriptor.id));
  const routes: NonNullable<RoutingOptions['byContent']> = [{ skillId: 'manifest-review', matches: looksLikeManifests }];
  for (const id of ['cluster-diagnose', 'cluster-inspect'] as const) {
    if (offered.has(id)) routes.push({ skillId: id, matches: (message) => clusterSkillFor(message) === id });
  }
  return routes;
}

/** The conformance agent in conformance mode; else DEFAULT_SKILL, where 'auto' is the assistant if there is one, else help. */
function defaultSkill(config: Config, skills: readonly Skill[]): string {
  if (config.CONFORMANCE_AGENT) return 'conformance';
  if (config.DEFAULT_SKILL !== 'auto') {
    if (!skills.some((skill) => skill.descriptor.id === config.DEFAULT_SKILL)) {
      throw new ConfigError('DEFAULT_SKILL', 'settings', `"${config.DEFAULT_SKILL}" is not a skill of this agent (${skills.map((s) => s.descriptor.id).join(', ')})`);
    }
    return config.DEFAULT_SKILL;
  }
  return skills.some((skill) => skill.descriptor.id === 'assistant') ? 'assistant' : 'help';
}

/** EGRESS_ALLOW, each entry checked before anything starts. */
function egressAllowList(config: Config): AllowList {
  try {
    return new AllowList(config.EGRESS_ALLOW);
  } catch (error) {
    if (error instanceof AllowListError) throw new ConfigError('EGRESS_ALLOW', 'settings', error.message);
    throw error;
  }
}

/** A secret mounted as a file, trimmed; an unreadable or empty file is a bad setting. */
function secretFile(setting: string, path: string): string {
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
  }
  if (value === '') throw new ConfigError(setting, path, 'the file is empty');
  return value;
}

async function createStore(config: Config, pod: string, logger: Logger, onFull: () => void): Promise<TaskStore> {
  if (config.STORE === 'sqlite') {
    return new SqliteTaskStore({
      path: join(config.DATA_DIR, DATABASE_FILE),
      synchronous: config.SQLITE_SYNCHRONOUS,
      maxPages: config.SQLITE_MAX_PAGES,
      onFull,
      onCheckpointFailed: (message) => logger.warn({ reason: message }, 'a background checkpoint of the SQLite WAL failed; it is tried again'),
    });
  }
  // Loaded only for the shared store: the PostgreSQL driver and store would add some 16 MB to every SQLite pod.
  const { PostgresTaskStore } = await import('./store/postgres/postgres-store.js');
  return new PostgresTaskStore({
    connectionString: databaseUrl(config),
    schema: config.DATABASE_SCHEMA,
    poolSize: config.DATABASE_POOL_SIZE,
    leaseTtlMs: config.LEASE_TTL,
    pod,
    onBackgroundError: (error) => logger.warn({ err: error }, 'database connection problem'),
    onFull,
  });
}

/** DATABASE_URL, or the contents of DATABASE_URL_FILE (a mounted Secret). */
function databaseUrl(config: Config): string {
  if (config.DATABASE_URL !== undefined) return config.DATABASE_URL;
  // checkSettingsTogether refused STORE=postgres with neither.
  return secretFile('DATABASE_URL_FILE', config.DATABASE_URL_FILE ?? '');
}

function identityInput(config: Config) {
  return {
    podName: config.POD_NAME,
    namespace: config.POD_NAMESPACE,
    headlessService: config.HEADLESS_SERVICE,
    serviceName: config.SERVICE_NAME,
    podUrlTemplate: config.A2A_POD_URL_TEMPLATE,
    publicUrl: config.PUBLIC_URL,
    host: config.HOST,
  };
}
