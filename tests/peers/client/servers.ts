// Real HTTP servers on loopback for the client's tests: the official SDK's
// server (A2A 1.0, and its 0.3 compatibility layer) as a foreign agent, a
// scripted server that fails on purpose, and a forwarding proxy.

import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { AGENT_CARD_PATH, Role, TaskState } from '@a2a-js/sdk';
import type { Message, Part, Task } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import type { AgentExecutor, ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

function textPart(text: string): Part {
  return { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined };
}

function firstText(message: Message): string {
  const part = message.parts.find((p) => p.content?.$case === 'text');
  return part?.content?.$case === 'text' ? part.content.value : '';
}

/**
 * submitted → working → artifact "echo-1" ("echo: <text>") → completed. A text
 * containing "slow" spends 5 × 150 ms working, checking for a cancel each step.
 */
class TaskEchoExecutor implements AgentExecutor {
  private readonly cancelled = new Set<string>();

  async cancelTask(taskId: string): Promise<void> {
    this.cancelled.add(taskId);
  }

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = ctx;
    const message = ctx.userMessage;
    const text = firstText(message);
    const status = (state: TaskState) =>
      AgentEvent.statusUpdate({ taskId, contextId, status: { state, message: undefined, timestamp: new Date().toISOString() }, metadata: undefined });
    const initial: Task = ctx.task ?? {
      id: taskId,
      contextId,
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
      artifacts: [],
      history: [message],
      metadata: undefined,
    };
    bus.publish(AgentEvent.task(initial));
    bus.publish(status(TaskState.TASK_STATE_WORKING));
    if (text.includes('slow')) {
      for (let i = 0; i < 5; i++) {
        await sleep(150);
        if (this.cancelled.delete(taskId)) {
          bus.publish(status(TaskState.TASK_STATE_CANCELED));
          return;
        }
      }
    }
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        append: false,
        lastChunk: true,
        metadata: undefined,
        artifact: { artifactId: 'echo-1', name: 'echo', description: '', parts: [textPart(`echo: ${text}`)], metadata: undefined, extensions: [] },
      }),
    );
    bus.publish(status(TaskState.TASK_STATE_COMPLETED));
  }
}

export interface SeenRequest {
  method: string;
  path: string;
  a2aVersion: string | null;
  rpcMethod?: string;
}

export interface SdkAgent {
  url: string;
  /** Every request the agent received, in order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

export interface SdkAgentOptions {
  /** Turn on the SDK's A2A 0.3 compatibility (0.3 interfaces in the card, 0.3 JSON-RPC accepted). */
  legacy?: boolean;
  /**
   * Serve only a 0.3-era card, at /.well-known/agent.json (no agent-card.json):
   * what a peer that predates A2A 1.0 publishes. Implies `legacy`.
   */
  only03Card?: boolean;
}

/** The official SDK's server with Express, JSON-RPC at /a2a/jsonrpc and HTTP+JSON at /a2a/rest. */
export async function startSdkAgent(options: SdkAgentOptions = {}): Promise<SdkAgent> {
  const legacy = options.legacy === true || options.only03Card === true;
  const app = express();
  const seen: SeenRequest[] = [];
  app.use((req, _res, next) => {
    seen.push({ method: req.method, path: req.path, a2aVersion: req.header('a2a-version') ?? null });
    next();
  });
  const server = createServer(app);
  const url = await listen(server);
  const interfaces = [
    { url: `${url}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    { url: `${url}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
  ];
  const skills = [{ id: 'echo', name: 'Echo', description: 'echo', tags: ['echo'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }];
  const card = {
    name: 'SDK Echo Agent',
    description: 'echoes text',
    version: '1.0.0',
    supportedInterfaces: legacy ? duplicateInterfacesForLegacy(interfaces, ['JSONRPC', 'HTTP+JSON']) : interfaces,
    provider: { organization: 'test', url: 'https://example.com' },
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills,
    signatures: [],
  };
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), new TaskEchoExecutor());
  const legacyCompat = { enabled: legacy };
  if (options.only03Card) {
    app.get('/.well-known/agent.json', (_req, res) => {
      res.json({
        protocolVersion: '0.3.0',
        name: card.name,
        description: card.description,
        version: card.version,
        url: `${url}/a2a/jsonrpc`,
        preferredTransport: 'JSONRPC',
        capabilities: { streaming: true },
        defaultInputModes: card.defaultInputModes,
        defaultOutputModes: card.defaultOutputModes,
        skills: [{ id: 'echo', name: 'Echo', description: 'echo', tags: ['echo'] }],
      });
    });
  } else {
    app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: requestHandler, legacyCompat }));
  }
  app.use('/a2a/jsonrpc', express.json(), (req, _res, next) => {
    const last = seen.at(-1);
    if (last !== undefined && typeof req.body?.method === 'string') last.rpcMethod = req.body.method;
    next();
  });
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication, legacyCompat }));
  app.use('/a2a/rest', restHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication, legacyCompat }));
  return { url, seen, close: closer(server) };
}

export { Role };

// ---- a scripted server ------------------------------------------------------

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The parsed JSON body, when it is JSON. */
  json: any;
  /** Date.now() when the request arrived. */
  at: number;
  /** The client's port: requests on one kept-alive connection share it. */
  clientPort: number;
}

export type Script = (req: Received, res: ServerResponse, index: number) => void | Promise<void>;

export interface ScriptedServer {
  url: string;
  /** The card a scripted server serves by default. */
  card(): unknown;
  /** Requests received, agent-card fetches excluded. */
  received: Received[];
  close(): Promise<void>;
}

/**
 * A loopback server whose answers a test writes: it serves a 1.0 agent card
 * naming itself (JSON-RPC at /a2a) and hands every other request to `script`
 * with its index among those requests. With `card` null, card fetches go to
 * the script too.
 */
export async function startScriptedServer(script: Script, card?: ((url: string) => unknown) | null): Promise<ScriptedServer> {
  const received: Received[] = [];
  let url = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (card !== null && req.method === 'GET' && path === '/.well-known/agent-card.json') {
        const body = card === undefined ? defaultCard(url) : card(url);
        if (body === undefined) return void res.writeHead(404).end();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      const entry: Received = { method: req.method ?? '', path, headers: req.headers, body, json, at: Date.now(), clientPort: req.socket.remotePort ?? 0 };
      received.push(entry);
      void Promise.resolve(script(entry, res, received.length - 1)).catch(() => res.destroy());
    });
  });
  url = await listen(server);
  return { url, received, card: () => defaultCard(url), close: closer(server) };
}

function defaultCard(url: string): unknown {
  return {
    name: 'scripted',
    description: 'fails on purpose',
    version: '1',
    supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
  };
}

/** A 1.0 Task on the wire, completed, echoing one text. */
export function wireTask(id: string, text = 'done'): Record<string, unknown> {
  return {
    id,
    contextId: 'ctx-1',
    status: { state: 'TASK_STATE_COMPLETED', timestamp: new Date().toISOString() },
    artifacts: [{ artifactId: 'a1', parts: [{ text }] }],
  };
}

export function replyJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** A JSON-RPC result for the request it answers. */
export function rpcResult(req: Received, result: unknown): unknown {
  return { jsonrpc: '2.0', id: req.json?.id ?? null, result };
}

export function rpcError(req: Received, code: number, message: string, data?: unknown): unknown {
  return { jsonrpc: '2.0', id: req.json?.id ?? null, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

// ---- a port nobody listens on -------------------------------------------------

/** A loopback port that was free a moment ago: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await closer(server)();
  return port;
}

// ---- a forwarding proxy -------------------------------------------------------

export interface Forwarded {
  path: string;
  a2aVersion: string | null;
  /** The JSON-RPC method, for a JSON-RPC call. */
  rpcMethod?: string;
  /** The Last-Event-ID the request carried (a stream that resumes). */
  lastEventId: string | null;
}

export interface Proxy {
  url: string;
  /** The requests that went through the proxy, in order. */
  forwarded: Forwarded[];
  /** Drops the connections of every answer still under way (a stream cut by the network); returns how many. */
  cut(): number;
  close(): Promise<void>;
}

/**
 * Forwards every request to `target` (streams too), answering 404 for the
 * paths in `hide`: a stand-in for a port-forward or an ingress, which also
 * shows what the client put on the wire.
 */
export async function startProxy(target: string, hide: string[] = []): Promise<Proxy> {
  const forwarded: Forwarded[] = [];
  const open = new Set<ServerResponse>();
  const to = new URL(target);
  const server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks);
      const entry: Forwarded = {
        path,
        a2aVersion: (req.headers['a2a-version'] as string | undefined) ?? null,
        lastEventId: (req.headers['last-event-id'] as string | undefined) ?? null,
      };
      try {
        const method = (JSON.parse(body.toString('utf8')) as { method?: unknown }).method;
        if (typeof method === 'string') entry.rpcMethod = method;
      } catch {
        // not JSON: a GET, or a body the agent will refuse
      }
      forwarded.push(entry);
      if (hide.includes(path)) return void res.writeHead(404).end();
      const upstream = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path, headers: { ...req.headers, host: to.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    });
  });
  const url = await listen(server);
  const cut = () => {
    const count = open.size;
    for (const res of open) res.socket?.destroy();
    return count;
  };
  return { url, forwarded, cut, close: closer(server) };
}
