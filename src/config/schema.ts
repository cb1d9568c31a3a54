// Every setting, declared once: its environment name (also its key in a config
// file or the ConfigMap), type, default, and whether a running service applies
// a change without a restart. Loading, validation, documentation and the
// manifests' tests all read this table.

import { OTLP_PROTOCOLS } from '../observability/tracing.js';

export type SettingType =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'string' }
  | { kind: 'url' }
  | { kind: 'bool' }
  /** maxMs defaults to the longest wait a Node timer can hold (2^31-1 ms, about 24.8 days). */
  | { kind: 'duration'; minMs: number; maxMs?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'list' };

export interface SettingSpec {
  type: SettingType;
  default: string | undefined;
  live: boolean;
  description: string;
  /** The `serve` flag that sets it, if any. */
  flag?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SETTINGS = {
  PORT: { type: { kind: 'int', min: 0, max: 65535 }, default: '8080', live: false, flag: 'port', description: 'TCP port to listen on (0 picks a free one)' },
  HOST: { type: { kind: 'string' }, default: '0.0.0.0', live: false, flag: 'host', description: 'interface to listen on' },
  CONFIG_PATH: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    flag: 'config',
    description: 'settings file (YAML/JSON map) or directory (a mounted ConfigMap: one file per key), watched for live changes',
  },
  DATA_DIR: { type: { kind: 'string' }, default: './data', live: false, flag: 'data-dir', description: 'directory of the embedded SQLite store' },
  LOG_LEVEL: { type: { kind: 'enum', values: LOG_LEVELS }, default: 'info', live: true, description: 'log level' },
  PUBLIC_URL: {
    type: { kind: 'url' },
    default: undefined,
    live: false,
    description: 'base URL clients reach this agent at, advertised in the agent card (default: http://<host>:<port>)',
  },
  POD_NAME: { type: { kind: 'string' }, default: undefined, live: false, description: 'replica name (a StatefulSet pod name, kagent-<ordinal>); default: the host name' },
  POD_NAMESPACE: { type: { kind: 'string' }, default: undefined, live: false, description: 'Kubernetes namespace of the pod; set means "running in Kubernetes"' },
  HEADLESS_SERVICE: { type: { kind: 'string' }, default: 'kagent-headless', live: false, description: 'headless Service that gives each pod its stable DNS name' },
  SERVICE_NAME: { type: { kind: 'string' }, default: 'kagent', live: false, description: 'ClusterIP Service clients use when any pod may answer' },
  A2A_POD_URL_TEMPLATE: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: 'stable per-pod URL with {pod}, {ordinal}, {namespace} (default: http://{pod}.<HEADLESS_SERVICE>.{namespace}.svc.cluster.local:<PORT>)',
  },
  A2A_REPLICAS: {
    type: { kind: 'int', min: 1, max: 1000 },
    default: undefined,
    live: false,
    description: 'number of replicas: siblings are ordinals 0..N-1 through A2A_POD_URL_TEMPLATE (default: from the headless Service DNS)',
  },
  A2A_POD_CONNECT_TIMEOUT: {
    type: { kind: 'duration', minMs: 10 },
    default: '2s',
    live: false,
    description: 'per-pod stores: longest wait for a connection to another replica (owner routing, ListTasks)',
  },
  A2A_POD_RESPONSE_TIMEOUT: {
    type: { kind: 'duration', minMs: 100 },
    default: '10s',
    live: false,
    description:
      'per-pod stores: longest wait for another replica to begin answering (a blocking send waits for its task instead, while the owner\'s /healthz answers within it); a relayed stream silent for twice STREAM_HEARTBEAT_INTERVAL plus this is ended as OWNER_UNAVAILABLE',
  },
  VAPORA_URL: { type: { kind: 'url' }, default: undefined, live: true, description: 'base URL of the VAPORA orchestrator, discovered like a peer' },
  A2A_PEERS: { type: { kind: 'list' }, default: '', live: true, description: 'base URLs of other A2A agents to discover (comma or space separated)' },
  A2A_DISCOVERY_INTERVAL: { type: { kind: 'duration', minMs: 100 }, default: '30s', live: true, description: 'how often peer agent cards are fetched (jittered)' },
  EGRESS_ALLOW: {
    type: { kind: 'list' },
    default: '',
    live: false,
    description:
      'hosts (peer.internal, *.agents.internal), IP addresses or CIDRs the egress guard admits although they are loopback, private, link-local or otherwise internal (comma separated)',
  },
  A2A_PEER_CREDENTIALS_DIR: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description:
      "directory of this agent's own credentials for the agents it calls (a mounted Secret): each file is named after a host (or <host>_<port>) and holds the token sent to it as Authorization: Bearer; watched",
  },
  READY_REQUIRES_VAPORA: {
    type: { kind: 'bool' },
    default: 'false',
    live: false,
    description: 'not ready until VAPORA_URL answered once',
  },
  AGENT_NAME: { type: { kind: 'string' }, default: 'kagent', live: false, description: 'name in the agent card' },
  AGENT_DESCRIPTION: {
    type: { kind: 'string' },
    default: 'Kubernetes agent reachable over A2A',
    live: false,
    description: 'description in the agent card',
  },
  CONFORMANCE_AGENT: {
    type: { kind: 'bool' },
    default: 'false',
    live: false,
    flag: 'conformance',
    description: 'route messages to the A2A conformance-suite (TCK) agent by default',
  },
  MAX_BODY_BYTES: { type: { kind: 'int', min: 1024, max: 64 * 1024 * 1024 }, default: String(1024 * 1024), live: false, description: 'largest request body accepted' },
  HEADERS_TIMEOUT: { type: { kind: 'duration', minMs: 100 }, default: '30s', live: false, description: 'time a client has to send its request headers before the connection is closed' },
  REQUEST_TIMEOUT: {
    type: { kind: 'duration', minMs: 100 },
    default: '60s',
    live: false,
    description: 'time a client has to send a whole request, body included (at least HEADERS_TIMEOUT); responses such as SSE streams are not limited',
  },
  MAX_CONNECTIONS: {
    type: { kind: 'int', min: 1, max: 1_000_000 },
    default: '10000',
    live: false,
    description: 'open connections for A2A clients; at the cap an idle keep-alive connection is closed to make room, else a small reserve above it serves /healthz, /readyz and /metrics only, other requests there get 503',
  },
  MAX_ARTIFACT_BYTES: {
    type: { kind: 'int', min: 1024, max: 1024 * 1024 * 1024 },
    default: String(4 * 1024 * 1024),
    live: false,
    description: 'most bytes (as JSON) the artifacts of one task may add up to; a skill that writes more fails, saying so',
  },
  MAX_LIST_PAGE_BYTES: {
    type: { kind: 'int', min: 1024, max: 1024 * 1024 * 1024 },
    default: String(4 * 1024 * 1024),
    live: false,
    description: 'a ListTasks page stops before the task that would take it past this size (nextPageToken goes on from there); it always holds one task',
  },
  MAX_FINDINGS: {
    type: { kind: 'int', min: 1, max: 100_000 },
    default: '200',
    live: false,
    description: 'most findings one manifest review lists; the summary counts all and says how many are not shown',
  },
  STREAM_HEARTBEAT_INTERVAL: { type: { kind: 'duration', minMs: 100 }, default: '15s', live: false, description: 'interval of SSE keep-alive comments' },
  STREAM_BUFFER_EVENTS: {
    type: { kind: 'int', min: 1, max: 1_000_000 },
    default: '1024',
    live: false,
    description: 'events a stream may hold for a slow client before it is disconnected',
  },
  MAX_RUNNING_TASKS: {
    type: { kind: 'int', min: 1, max: 1_000_000 },
    default: '1000',
    live: true,
    description: 'most tasks this pod runs at once; a message that would start another is refused with a retryable error (HTTP 503, Retry-After, -32050) and creates no task',
  },
  TASK_RETENTION: { type: { kind: 'duration', minMs: 1000, maxMs: 3650 * 86_400_000 }, default: '7d', live: false, description: 'age after which terminal tasks are deleted' },
  RETENTION_SWEEP_INTERVAL: { type: { kind: 'duration', minMs: 100 }, default: '1m', live: false, description: 'how often expired tasks are swept' },
  ECHO_MAX_DELAY: { type: { kind: 'duration', minMs: 0 }, default: '5m', live: false, description: 'longest metadata.delayMs the echo skill honours' },
  STORE: {
    type: { kind: 'enum', values: ['sqlite', 'postgres'] },
    default: 'sqlite',
    live: false,
    description: "'sqlite': each pod keeps its tasks in DATA_DIR and requests are routed to the owner pod; 'postgres': all pods share DATABASE_URL",
  },
  DATABASE_URL: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: 'PostgreSQL connection string for STORE=postgres (or put it in the file named by DATABASE_URL_FILE)',
  },
  DATABASE_URL_FILE: { type: { kind: 'string' }, default: undefined, live: false, description: 'file holding DATABASE_URL (a mounted Secret)' },
  DATABASE_SCHEMA: { type: { kind: 'string' }, default: 'kagent_a2a', live: false, description: 'PostgreSQL schema holding the tables' },
  DATABASE_POOL_SIZE: { type: { kind: 'int', min: 1, max: 100 }, default: '10', live: false, description: 'PostgreSQL connections per pod' },
  LEASE_TTL: {
    type: { kind: 'duration', minMs: 500 },
    default: '30s',
    live: false,
    description: 'STORE=postgres: a running task whose pod has not renewed its lease for this long is taken over by another pod (resumed, or failed)',
  },
  DEFAULT_SKILL: {
    type: { kind: 'string' },
    default: 'auto',
    live: false,
    description:
      "skill for messages that name none and whose content picks none; 'auto': the assistant when LLM_URL is set, else help (a list of the skills)",
  },
  MANIFEST_ROOTS: {
    type: { kind: 'list' },
    default: '',
    live: false,
    description: 'directories under which manifest-review may read a Kustomize directory named in a request (none: only inline manifests)',
  },
  SKILL_MODULES: {
    type: { kind: 'list' },
    default: '',
    live: false,
    description:
      "ES modules that add skills, loaded at start (comma separated): a path (absolute, or starting with ./ or ../ from the working directory) or a package name; each default-exports a skill or a list of skills (the Skill interface of 'kagent-a2a/skill')",
  },
  SKILLS_FILE: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description:
      "file of declarative skills (skills.yaml: skills, models, mcpServers), watched: an edit adds, changes or removes skills without a restart. Default: the skills.yaml key of the CONFIG_PATH directory, when there is one",
  },
  KUBERNETES_SKILLS: {
    type: { kind: 'bool' },
    default: 'false',
    live: false,
    description: 'offer cluster-inspect and cluster-diagnose (read-only; the pod service account in a cluster, else KUBECONFIG)',
  },
  KUBECONFIG: { type: { kind: 'string' }, default: undefined, live: false, description: 'kubeconfig for the cluster skills when not running in a cluster' },
  LLM_URL: {
    type: { kind: 'url' },
    default: undefined,
    live: false,
    description: 'OpenAI-compatible chat-completions base URL (e.g. http://ollama:11434/v1); enables the assistant skill',
  },
  LLM_MODEL: { type: { kind: 'string' }, default: undefined, live: false, description: 'model name for the assistant skill' },
  LLM_API_KEY_FILE: { type: { kind: 'string' }, default: undefined, live: false, description: 'file holding the chat-completions API key (a mounted Secret)' },
  LLM_MAX_TOOL_ROUNDS: { type: { kind: 'int', min: 0, max: 50 }, default: '5', live: false, description: 'most tool-call rounds per assistant turn' },
  LLM_MAX_TOKENS: { type: { kind: 'int', min: 1, max: 1_000_000 }, default: '4096', live: false, description: 'token budget per assistant turn' },
  LLM_TIMEOUT: { type: { kind: 'duration', minMs: 100 }, default: '2m', live: false, description: 'time budget per assistant turn' },
  SQLITE_SYNCHRONOUS: {
    type: { kind: 'enum', values: ['full', 'normal'] },
    default: 'full',
    live: false,
    description: "'full': a write is acknowledged, and shown to readers, only once it is synced to disk (survives power loss); 'normal': survives process crashes only (faster)",
  },
  SQLITE_MAX_PAGES: {
    type: { kind: 'int', min: 16, max: 4_294_967_294 },
    default: undefined,
    live: false,
    description:
      'caps the SQLite database at this many pages (PRAGMA max_page_count; pages are 4096 bytes): reaching it is handled exactly like a full disk. Unset: no cap but the disk',
  },
  HEAP_GROWTH_PERCENT: {
    type: { kind: 'int', min: 0, max: 1000 },
    default: '30',
    live: false,
    description:
      "how far the JavaScript heap may grow past what the last full garbage collection kept before the next one, in percent: lower holds less memory at the cost of more frequent collections; 0: V8's own heuristic (up to 4x the live heap while busy)",
  },
  DRAIN_TIMEOUT: {
    type: { kind: 'duration', minMs: 0 },
    default: '20s',
    live: false,
    description:
      'on SIGTERM, how long running tasks may take to finish before they are failed, or left for the next start to resume when their skill is resumable (keep it below the grace period)',
  },
  MAX_RESUMES: {
    type: { kind: 'int', min: 0, max: 100 },
    default: '3',
    live: false,
    description:
      'how often one task of a resumable skill is run again after a restart or a lapsed lease before it is failed instead (0: interrupted tasks always fail)',
  },
  ASSISTANT_RESUMABLE: {
    type: { kind: 'bool' },
    default: 'false',
    live: false,
    description: 'resume an assistant turn interrupted by a restart (its model calls are paid again); off: it fails like a non-resumable task',
  },
  CARD_SIGNING_KEY_FILE: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description:
      'file holding the private key (a mounted Secret: PEM or JWK; EC P-256/384/521, Ed25519 or RSA of 2048+ bits) the agent cards are signed with (A2A §8.4); its public key is served at /.well-known/jwks.json. Read at start: a new key takes a restart',
  },
  CARD_SIGNING_KEY_ID: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: "the 'kid' card signatures and the JWKS name (default: the JWK's own kid, else its RFC 7638 SHA-256 thumbprint)",
  },
  A2A_PEER_CARD_KEYS: {
    type: { kind: 'list' },
    default: '',
    live: false,
    description:
      'peers whose agent card must be signed: <peer base URL>=<JWKS URL or key file (PEM public key, JWK or JWK set)>, comma separated; a peer listed whose card lacks a valid signature by that key is not used',
  },
  CARD_CACHE_MAX_AGE: { type: { kind: 'duration', minMs: 0 }, default: '5m', live: false, description: 'Cache-Control max-age of the agent card' },
  AUTH_MODE: {
    type: { kind: 'enum', values: ['none', 'apikey', 'jwt', 'apikey+jwt', 'trusted-proxy'] },
    default: 'none',
    live: false,
    description: "who may call: 'none' (anyone; a warning at start), 'apikey', 'jwt', 'apikey+jwt', or 'trusted-proxy' (a header set by a proxy at AUTH_TRUSTED_PROXIES)",
  },
  AUTH_API_KEYS_DIR: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: 'directory of API keys (a mounted Secret): each file is named by its principal and holds its key; watched, a removed key is refused at once',
  },
  AUTH_JWKS_URL: { type: { kind: 'url' }, default: undefined, live: false, description: 'JWKS URL of the token issuer (JWT modes); keys are cached and refetched on an unknown kid' },
  AUTH_JWT_PUBLIC_KEY_FILE: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: 'instead of AUTH_JWKS_URL: a file with the token verification key (PEM public key, JWK or JWK set); watched, a rotated key applies without a restart',
  },
  AUTH_ISSUER: { type: { kind: 'string' }, default: undefined, live: false, description: "the issuer ('iss') tokens must name (required in JWT modes)" },
  AUTH_AUDIENCE: { type: { kind: 'string' }, default: undefined, live: false, description: "the audience ('aud') tokens must name (required in JWT modes)" },
  AUTH_PRINCIPAL_CLAIM: { type: { kind: 'string' }, default: 'sub', live: false, description: 'token claim naming the caller' },
  AUTH_TENANT_CLAIM: { type: { kind: 'string' }, default: undefined, live: false, description: "token claim naming the caller's tenant (default: every caller's tenant is empty)" },
  AUTH_CLOCK_SKEW: { type: { kind: 'duration', minMs: 0 }, default: '60s', live: false, description: 'clock skew allowed when checking exp and nbf' },
  AUTH_MAX_TOKEN_LIFETIME: {
    type: { kind: 'duration', minMs: 1000, maxMs: 3650 * 86_400_000 },
    default: '24h',
    live: false,
    description: "the longest a JWT may still be valid for when it arrives ('exp' that far ahead or further is refused)",
  },
  AUTH_JWKS_COOLDOWN: { type: { kind: 'duration', minMs: 1000 }, default: '30s', live: false, description: 'least time between two JWKS fetches (an unknown kid waits for one)' },
  AUTH_JWKS_MAX_AGE: { type: { kind: 'duration', minMs: 1000 }, default: '10m', live: false, description: 'age after which the cached JWKS is refreshed in the background (it keeps serving meanwhile)' },
  AUTH_PROXY_HEADER: {
    type: { kind: 'string' },
    default: 'x-forwarded-user',
    live: false,
    description: "trusted-proxy: header naming the caller; 'x-forwarded-client-cert' takes the client's URI (SPIFFE id), else Subject",
  },
  AUTH_TRUSTED_PROXIES: {
    type: { kind: 'list' },
    default: '',
    live: false,
    description: "addresses or CIDRs of the proxies in front of the agent (loopback only if listed): trusted-proxy believes their identity header, and every mode takes the client's address from their X-Forwarded-For",
  },
  SKILL_PERMISSIONS: {
    type: { kind: 'string' },
    default: '',
    live: false,
    description: 'skill=scope|principal,…;skill=… (a trailing * matches a prefix); a skill not named is open to every authenticated caller',
  },
  RATE_LIMIT: { type: { kind: 'string' }, default: '', live: false, description: 'A2A requests per principal, a token bucket: <n>/s|m|h[,burst=<n>] (e.g. 20/s,burst=40); empty: no limit' },
  RATE_LIMIT_UNAUTHENTICATED: {
    type: { kind: 'string' },
    default: '5/s,burst=50',
    live: false,
    description: "requests that fail authentication, per client address, a token bucket as in RATE_LIMIT; past it the address gets 429 before any credential is checked. 'off': no limit",
  },
  MAX_TASKS_PER_PRINCIPAL: { type: { kind: 'int', min: 1, max: 1_000_000 }, default: undefined, live: false, description: 'running tasks a principal may have at once on a replica (default: no cap)' },
  MAX_STREAMS_PER_PRINCIPAL: { type: { kind: 'int', min: 1, max: 1_000_000 }, default: undefined, live: false, description: 'open SSE streams a principal may have at once on a replica (default: no cap)' },
  AUTH_CLUSTER_SECRET_FILE: {
    type: { kind: 'string' },
    default: undefined,
    live: false,
    description: 'file holding a secret every replica shares (a mounted Secret, 32 bytes or more): a pod relaying a request to the task\'s owner vouches for the caller with it; several, one per line, while rotating (the first signs, every one verifies)',
  },
  METRICS_TOKEN_FILE: { type: { kind: 'string' }, default: undefined, live: false, description: 'file holding a bearer token /metrics then requires (a mounted Secret; watched: a rotated token applies without a restart)' },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    type: { kind: 'url' },
    default: undefined,
    live: false,
    description: 'OpenTelemetry collector base URL (OTLP over HTTP): spans go to <endpoint>/v1/traces; unset: tracing is off',
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    type: { kind: 'enum', values: OTLP_PROTOCOLS },
    default: 'http/protobuf',
    live: false,
    description: 'how spans are sent to the collector: http/protobuf or http/json',
  },
  OTEL_EXPORTER_OTLP_TIMEOUT: {
    type: { kind: 'int', min: 100, max: 600_000 },
    default: '10000',
    live: false,
    description: 'milliseconds one span export may take, and the last flush at shutdown; a collector slower than this loses those spans',
  },
  CONSOLE: {
    type: { kind: 'bool' },
    default: 'true',
    live: false,
    description: 'serve the web console at /console (a static page; every call it makes is an A2A call that passes authentication like any other)',
  },
  OTEL_SERVICE_NAME: { type: { kind: 'string' }, default: 'kagent-a2a', live: false, description: 'service.name of every span' },
  // The gRPC binding.
  GRPC_PORT: {
    type: { kind: 'int', min: 0, max: 65535 },
    default: '8081',
    live: false,
    description: 'TCP port of the A2A gRPC service (lf.a2a.v1.A2AService, on HOST); 0 turns gRPC off, and the card then lists no gRPC interface',
  },
  PUSH_NOTIFICATIONS: {
    type: { kind: 'bool' },
    default: 'true',
    live: false,
    description: 'push notifications: the push-config methods and configs inline in a send (the card says pushNotifications); false refuses them with PushNotificationNotSupported',
  },
  PUSH_TIMEOUT: {
    type: { kind: 'duration', minMs: 500, maxMs: 60_000 },
    default: '10s',
    live: false,
    description: 'longest wait for a webhook to answer one delivery (the spec asks for 10 to 30 s); a slower receiver counts as a failed attempt',
  },
  PUSH_MAX_ATTEMPTS: { type: { kind: 'int', min: 1, max: 1000 }, default: '10', live: false, description: 'attempts at one delivery before it becomes a dead letter' },
  PUSH_MAX_AGE: {
    type: { kind: 'duration', minMs: 1000 },
    default: '24h',
    live: false,
    description: 'a delivery still failing this long after its event becomes a dead letter, whatever its attempts',
  },
  PUSH_RETRY_BASE: { type: { kind: 'duration', minMs: 10 }, default: '1s', live: false, description: 'wait after a delivery\'s first failure; doubled after each further one (with jitter) up to PUSH_RETRY_MAX' },
  PUSH_RETRY_MAX: { type: { kind: 'duration', minMs: 10 }, default: '5m', live: false, description: 'longest wait between two attempts at one delivery' },
  PUSH_MAX_CONFIGS_PER_TASK: { type: { kind: 'int', min: 1, max: 100 }, default: '10', live: false, description: 'push configs one task may hold; one more is refused with an invalid-params error' },
  PUSH_CONCURRENCY: { type: { kind: 'int', min: 1, max: 1000 }, default: '16', live: false, description: 'deliveries one replica has in flight at once' },
  PUSH_SIGN_DELIVERIES: {
    type: { kind: 'bool' },
    default: 'false',
    live: false,
    description: 'sign every push delivery: a JWT (signed with CARD_SIGNING_KEY_FILE, verifiable at /.well-known/jwks.json) in A2A-Notification-Signature, covering the body\'s SHA-256, the webhook URL and the delivery id',
  },
  PUSH_POLL_INTERVAL: { type: { kind: 'duration', minMs: 50 }, default: '1s', live: false, description: 'how often a replica looks for due deliveries when it found none the last time: the longest an event waits before its first attempt' },
  MCP_SERVER: {
    type: { kind: 'bool' },
    default: 'false',
    live: true,
    description: "serve this agent's skills as MCP tools at /mcp (streamable HTTP, stateless), behind the same authentication and skill permissions as A2A calls",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
