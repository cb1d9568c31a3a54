import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { UnavailableError } from '../model/errors.js';
import { protocolErrors } from '../protocol/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Caller } from '../model/model.js';
import type { CachedDocument } from './agent-card.js';
import { ConnectionLimit } from './connection-limit.js';
import { drainUnreadBody } from './drain-body.js';
import type { AuthGate } from './auth-gate.js';
import type { JsonRpcHandler } from './jsonrpc-handler.js';
import { isDeadLetterPath } from './push-dead-letters.js';
import { isConsolePath } from './console-files.js';
import type { ConsoleFiles } from './console-files.js';
import type { McpEndpoint } from './mcp-endpoint.js';
import type { RestHandler } from './rest-handler.js';
import { matchRestRoute, restErrorBody } from '../protocol/rest.js';
import { sendJsonText } from './send-json.js';

export interface HttpServerOptions {
  jsonRpc: JsonRpcHandler;
  /** The HTTP+JSON binding: its routes at the root (and under a tenant prefix), and the Status answer of any other path. */
  rest: RestHandler;
  /** The agent cards, once built; until then card requests get 503, never a placeholder. */
  cards: () => { v1: CachedDocument; v03: CachedDocument } | undefined;
  cardMaxAgeSeconds: number;
  /** The JWK set of the card signing key, served at /.well-known/jwks.json; absent: cards are not signed. */
  jwks?: CachedDocument;
  maxBodyBytes: number;
  /** Time a client has to send the request headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included; responses (streams) are not limited. */
  requestTimeoutMs: number;
  /** Connections for A2A work; a small reserve above it serves probes and metrics only. */
  maxConnections: number;
  metrics: Metrics;
  logger: Logger;
  /** Ready to take traffic: the store is open and takes writes, and the service is not draining. */
  isReady: () => boolean;
  /** The peer registry, as served at /peers. */
  peers: () => unknown;
  /** This pod and the settings in force (credentials withheld), as served at /settings; absent: no such route. */
  settings?: () => unknown;
  /** Who is calling: every A2A call and /peers pass it (cards and health stay open); /metrics has its own token. */
  gate: AuthGate;
  /** The caller's push dead letters (`/push/dead-letters`), behind the gate; absent: push notifications are off. */
  deadLetters?: (req: IncomingMessage, res: ServerResponse, path: string, caller: Caller) => Promise<void>;
  /** The web console's files (CONSOLE=true); 'not-built' when the build left none; absent: /console is not served. */
  console?: ConsoleFiles | 'not-built';
  /** This agent's skills as MCP tools at /mcp, while MCP_SERVER is on; behind the same gate as A2A calls. */
  mcp?: McpEndpoint;
}

const JSONRPC_PATHS = new Set(['/', '/a2a']);
/** What a reserve connection (one above MAX_CONNECTIONS) may ask for. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Routes HTTP requests: agent cards, JSON-RPC, HTTP+JSON, health and metrics. */
export function createHttpServer(options: HttpServerOptions): Server {
  const { logger, metrics } = options;
  const server = createServer(
    {
      // Slow or silent clients are cut once they overrun the header or request deadline;
      // a response, however long (an SSE stream), is never cut by these.
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.headersTimeoutMs / 4))),
    },
    (req, res) => {
      if (limit.isReserve(req.socket)) return reserveRequest(req, res, options);
      route(req, res, options).catch((error: unknown) => {
        logger.error({ err: error, path: req.url }, 'unhandled error in request');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 65_000;
  const limit = new ConnectionLimit(server, options.maxConnections, {
    dropped: () => {
      metrics.httpRejected.inc({ reason: 'connection_limit' });
      logger.debug({ max: options.maxConnections }, 'connection dropped: the connection limit and its probe reserve are full');
    },
    idleClosed: () => metrics.idleConnectionsClosed.inc(),
  });
  metrics.countConnections(() => limit.count);
  // A client that overran a deadline or sent garbage: expected under attack, so no stack, no error level.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const reason = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : error.code === 'ECONNRESET' ? 'client_aborted' : 'bad_request';
    metrics.httpRejected.inc({ reason });
    logger.debug({ reason, code: error.code }, 'client connection closed');
    if (reason !== 'client_aborted' && socket.writable && socket.bytesWritten === 0) {
      const status = reason === 'request_timeout' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  return server;
}

/** A request on a reserve connection: probes and metrics are answered, anything else is refused. */
function reserveRequest(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions): void {
  res.shouldKeepAlive = false;
  const path = (req.url ?? '/').split('?', 1)[0]!;
  if (PROBE_PATHS.has(path)) {
    route(req, res, options).catch(() => res.destroy());
    return;
  }
  options.metrics.httpRejected.inc({ reason: 'connection_limit' });
  const refusal = new UnavailableError(
    `the agent holds its maximum of ${options.maxConnections} connections (MAX_CONNECTIONS); retry shortly or on another replica`,
    1,
  );
  req.resume();
  if (JSONRPC_PATHS.has(path)) return options.jsonRpc.reject(res, null, refusal);
  options.rest.reject(req, res, refusal);
}

async function route(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const method = req.method ?? 'GET';
  if (JSONRPC_PATHS.has(path)) {
    if (method !== 'POST') return methodNotAllowed(res, 'POST');
    const caller = await options.gate.admit(req, res);
    if (caller === undefined) return;
    return jsonRpc(req, res, options, caller);
  }
  if (options.deadLetters !== undefined && isDeadLetterPath(path)) {
    const caller = await options.gate.admit(req, res);
    return caller === undefined ? undefined : options.deadLetters(req, res, path, caller);
  }
  if (path === '/mcp' && options.mcp?.enabled === true) {
    // Stateless: no server-sent stream of its own (GET), no session to end (DELETE).
    if (method !== 'POST') return methodNotAllowed(res, 'POST');
    const caller = await options.gate.admit(req, res);
    if (caller === undefined) return;
    return jsonBody(req, res, options, (body) => options.mcp!.handle(req, res, body, caller));
  }
  if (options.console !== undefined && isConsolePath(path)) {
    // The page is static and public like the card; every call it makes passes the gate.
    if (options.console === 'not-built') return sendJson(res, 404, { error: 'the console was not built into this installation (npm run build)' });
    return options.console.serve(req, res, path);
  }
  switch (path) {
    case '/.well-known/agent-card.json':
      return card(req, res, options.cards()?.v1, options.cardMaxAgeSeconds);
    case '/.well-known/agent.json':
      return card(req, res, options.cards()?.v03, options.cardMaxAgeSeconds);
    case '/.well-known/jwks.json':
      if (options.jwks === undefined) return sendJson(res, 404, { error: 'the agent cards are not signed here (CARD_SIGNING_KEY_FILE is not set), so there is no key set' });
      return card(req, res, options.jwks, options.cardMaxAgeSeconds, 'application/jwk-set+json');
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz':
      return options.isReady() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready' });
    case '/peers':
      // The peer list shows the topology: callers only, when authentication is on.
      if (options.gate.enabled && (await options.gate.admit(req, res)) === undefined) return;
      return sendJson(res, 200, { peers: options.peers() });
    case '/settings':
      if (options.settings === undefined) break;
      // Read-only, and behind the same door as /peers.
      if (options.gate.enabled && (await options.gate.admit(req, res)) === undefined) return;
      return sendJson(res, 200, options.settings());
    case '/metrics': {
      if (!options.gate.metricsAllowed(req, res)) return;
      const text = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text);
      return;
    }
  }
  return rest(req, res, options, method, path);
}

/** An HTTP+JSON call: routed, admitted like any A2A call, its body bounded like any other. */
async function rest(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, method: string, path: string): Promise<void> {
  const match = matchRestRoute(method, path);
  if (match.kind !== 'route') {
    req.resume();
    if (match.kind === 'none') return options.rest.reject(req, res, protocolErrors.noRoute(method, path));
    return options.rest.reject(req, res, protocolErrors.httpMethodNotAllowed(method, match.allow), undefined, undefined, { allow: match.allow });
  }
  const caller = await options.gate.admit(req, res, restErrorBody);
  if (caller === undefined) return;
  if (method === 'GET') {
    req.resume();
    return options.rest.handle(req, res, match.route, '', caller);
  }
  const body = await boundedBody(req, res, options, (error) => options.rest.reject(req, res, error));
  if (body === undefined) return;
  const contentType = contentTypeOf(req);
  // A body-less POST (cancel, subscribe) may leave the type out; a body must say it is JSON.
  if (body !== '' && !isJson(contentType)) return options.rest.reject(req, res, protocolErrors.contentType(contentType || '(none)'));
  return options.rest.handle(req, res, match.route, body, caller);
}

function jsonRpc(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, caller: Caller): Promise<void> {
  return jsonBody(req, res, options, (body) => options.jsonRpc.handle(req, res, body, caller));
}

/** Reads a JSON body within MAX_BODY_BYTES and hands it to `serve`; a wrong content type or too large a body is refused as JSON-RPC. */
async function jsonBody(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, serve: (body: string) => Promise<void>): Promise<void> {
  const contentType = contentTypeOf(req);
  if (!isJson(contentType)) {
    req.resume();
    return options.jsonRpc.reject(res, null, protocolErrors.contentType(contentType || '(none)'));
  }
  const body = await boundedBody(req, res, options, (error) => options.jsonRpc.reject(res, null, error));
  if (body === undefined) return;
  return serve(body);
}

/** The request body within MAX_BODY_BYTES; undefined once the request is dealt with (refused as too large, or its client gone). */
async function boundedBody(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, refuse: (error: unknown) => void): Promise<string | undefined> {
  const body = await readBody(req, options.maxBodyBytes);
  if (body === ABORTED) {
    // The client went away or overran REQUEST_TIMEOUT mid-body: nobody is left to answer.
    options.logger.debug({ path: req.url }, 'request body aborted');
    return undefined;
  }
  if (body === undefined) {
    refuse(protocolErrors.bodyTooLarge(options.maxBodyBytes));
    // A client that sent a little too much still reads its 413; one far past the limit is cut.
    drainUnreadBody(req, res, 16 * options.maxBodyBytes);
    return undefined;
  }
  return body;
}

function contentTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function isJson(contentType: string): boolean {
  return contentType === 'application/json' || (contentType.startsWith('application/') && contentType.endsWith('+json'));
}

const ABORTED = Symbol('aborted');

/** The body as text, undefined once it exceeds the limit (it is never buffered past it), or ABORTED when the client left. */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined | typeof ABORTED> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => resolve(ABORTED));
  });
}

/** A public document built once (a card, the JWK set), with its validators for conditional requests. */
function card(req: IncomingMessage, res: ServerResponse, doc: CachedDocument | undefined, maxAge: number, contentType = 'application/json'): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
  if (doc === undefined) {
    // Starting up: a placeholder with a validator would be cached by clients as the card.
    res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' }).end(JSON.stringify({ error: 'the agent card is not built yet; retry shortly' }));
    return;
  }
  const headers = {
    'content-type': contentType,
    'cache-control': `public, max-age=${maxAge}`,
    etag: doc.etag,
    'last-modified': doc.lastModified,
    'access-control-allow-origin': '*',
  };
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === doc.etag || tag.trim() === '*')) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : doc.body);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { allow, 'content-type': 'application/json' }).end(JSON.stringify({ error: `use ${allow}` }));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  // Serialized before the status line goes out, so a failure still leaves room for a 500.
  const body = JSON.stringify(value);
  sendJsonText(res, status, { 'content-type': 'application/json' }, body);
}
