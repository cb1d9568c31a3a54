import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { protocolErrors } from '../protocol/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Caller } from '../model/model.js';
import type { CachedDocument } from './agent-card.js';
import type { AuthGate } from './auth-gate.js';
import type { JsonRpcHandler } from './jsonrpc-handler.js';

export interface HttpServerOptions {
  jsonRpc: JsonRpcHandler;
  cards: { v1: CachedDocument; v03: CachedDocument };
  cardMaxAgeSeconds: number;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
  /** Ready to take traffic: the store is open and the service is not draining. */
  isReady: () => boolean;
  /** The peer registry, as served at /peers. */
  peers: () => unknown;
  /** Who is calling: every A2A call and /peers pass it (cards and health stay open); /metrics has its own token. */
  gate: AuthGate;
}

const JSONRPC_PATHS = new Set(['/', '/a2a']);

/** Routes HTTP requests: agent cards, JSON-RPC, health and metrics. */
export function createHttpServer(options: HttpServerOptions): Server {
  const server = createServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      options.logger.error({ err: error, path: req.url }, 'unhandled error in request');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Streams are long-lived; idle sockets between requests are not.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  return server;
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
  switch (path) {
    case '/.well-known/agent-card.json':
      return card(req, res, options.cards.v1, options.cardMaxAgeSeconds);
    case '/.well-known/agent.json':
      return card(req, res, options.cards.v03, options.cardMaxAgeSeconds);
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz':
      return options.isReady() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready' });
    case '/peers':
      // The peer list shows the topology: callers only, when authentication is on.
      if (options.gate.enabled && (await options.gate.admit(req, res)) === undefined) return;
      return sendJson(res, 200, { peers: options.peers() });
    case '/metrics': {
      if (!options.gate.metricsAllowed(req, res)) return;
      const text = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text);
      return;
    }
    default:
      return sendJson(res, 404, { error: `no route for ${method} ${path}` });
  }
}

async function jsonRpc(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, caller: Caller): Promise<void> {
  const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (!isJson(contentType)) {
    req.resume();
    return options.jsonRpc.reject(res, null, protocolErrors.contentType(contentType || '(none)'));
  }
  const body = await readBody(req, options.maxBodyBytes);
  if (body === undefined) {
    options.jsonRpc.reject(res, null, protocolErrors.bodyTooLarge(options.maxBodyBytes));
    // Closing with request bytes unread makes the kernel send a reset, which can overtake
    // the 413. Discard the rest instead, up to a bound, then close.
    res.once('finish', () => {
      let discarded = 0;
      const timer = setTimeout(() => req.destroy(), 5000).unref();
      req.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > 16 * options.maxBodyBytes) req.destroy();
      });
      req.once('close', () => clearTimeout(timer));
      req.resume();
    });
    return;
  }
  return options.jsonRpc.handle(req, res, body, caller);
}

function isJson(contentType: string): boolean {
  return contentType === 'application/json' || (contentType.startsWith('application/') && contentType.endsWith('+json'));
}

/** The body as text, or undefined once it exceeds the limit (it is never buffered past it). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
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
    req.once('error', reject);
  });
}

function card(req: IncomingMessage, res: ServerResponse, doc: CachedDocument, maxAge: number): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
  const headers = {
    'content-type': 'application/json',
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
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}
