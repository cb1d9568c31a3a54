import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JsonObject } from '../../model/model.js';
import type { EgressGuard } from '../egress/index.js';
import { redactSecrets } from '../../observability/redact.js';
import { VERSION } from '../../version.js';

/** The parts of the MCP SDK the client uses, loaded at the first connect: the SDK (with zod) is some 30 MB a pod that declares no MCP server never needs. */
type ClientSdk = typeof import('@modelcontextprotocol/sdk/client/index.js') &
  typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js') &
  typeof import('@modelcontextprotocol/sdk/types.js');

let clientSdk: Promise<ClientSdk> | undefined;

function loadClientSdk(): Promise<ClientSdk> {
  clientSdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([client, transport, types]) => ({ ...types, ...transport, ...client }));
  return clientSdk;
}

// The MCP servers the skills file names, reached with the official SDK's
// client over streamable HTTP. A connection is made when a server is
// configured and again, after a failure, when a skill next needs it — not
// sooner than its backoff allows. A server that is down is an error a tool
// call reports (the model reads it), never an exception that ends a task.

export interface McpServerSpec {
  url: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** File holding a bearer token (a mounted Secret), read at each connect so a rotated token is used at the next one. */
  tokenFile?: string;
  /** Longest wait for a connect, a tool list or one tool call. */
  timeoutMs: number;
  /** Largest tool result (its text) accepted. */
  maxResultBytes: number;
}

export interface McpTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  inputSchema: JsonObject;
}

/** A server that cannot be reached now (down, refused, or still waiting out its backoff). */
export class McpUnavailableError extends Error {
  constructor(server: string, reason: string, retryInMs: number) {
    super(`MCP server "${server}" is unavailable: ${reason}${retryInMs > 0 ? `; next attempt in ${Math.ceil(retryInMs / 1000)}s` : ''}`);
    this.name = 'McpUnavailableError';
  }
}

export interface McpServersOptions {
  /** Where every request goes: the configured origin as the operator wrote it, any other (a redirect) checked. */
  egress: EgressGuard;
  /** First wait after a failed connect, doubling to maxBackoffMs. Defaults 1s and 60s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Each connect and its outcome, for the log and the metrics. */
  onConnect?: (server: string, outcome: 'ok' | 'error', error?: unknown) => void;
}

/** A tool call's response may exceed its result limit by this much (JSON escaping, the envelope) before it is refused unread. */
const RESPONSE_OVERHEAD_BYTES = 64 * 1024;
/** Any other response (the handshake, a tool list) is refused past this size. */
const MAX_OTHER_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_TOOL_PAGES = 20;

class OversizedResponseError extends Error {}

interface Connection {
  spec: McpServerSpec;
  key: string;
  client?: Client;
  tools?: McpTool[];
  connecting?: Promise<Client>;
  failures: number;
  lastError?: string;
  /** The header values and token sent to it: never repeated in an error (a server may echo the request). */
  secrets: string[];
  notBefore: number;
  closed: boolean;
}

/** The configured MCP servers, connected on demand and again after a failure. */
export class McpServers {
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly options: McpServersOptions) {}

  /** Takes the servers in force: new ones are connected, changed ones connected anew, removed ones closed. */
  configure(specs: Readonly<Record<string, McpServerSpec>>): void {
    for (const [name, connection] of this.connections) {
      const spec = specs[name];
      if (spec === undefined || JSON.stringify(spec) !== connection.key) {
        this.connections.delete(name);
        void this.closeConnection(connection);
      }
    }
    for (const [name, spec] of Object.entries(specs)) {
      if (this.connections.has(name)) continue;
      const connection: Connection = { spec, key: JSON.stringify(spec), failures: 0, notBefore: 0, closed: false, secrets: Object.values(spec.headers ?? {}) };
      this.connections.set(name, connection);
      // Connected now so the first task does not wait for it; a failure only sets the backoff.
      this.connect(name, connection).catch(() => {});
    }
  }

  /** The server's tools, listed when it connected. */
  async tools(server: string): Promise<McpTool[]> {
    const connection = this.connection(server);
    await this.client(server, connection);
    return connection.tools ?? [];
  }

  /** Calls a tool; resolves with its result as text, rejects with an error the model can read. */
  async call(server: string, tool: string, args: JsonObject, signal: AbortSignal): Promise<string> {
    const connection = this.connection(server);
    const client = await this.client(server, connection);
    const { McpError, ErrorCode } = await loadClientSdk();
    const { timeoutMs, maxResultBytes } = connection.spec;
    let result;
    try {
      result = await client.callTool({ name: tool, arguments: args }, undefined, { signal, timeout: timeoutMs });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) throw new Error(`${server}/${tool} did not answer within ${timeoutMs}ms`);
      if (error instanceof OversizedResponseError) throw new Error(`${server}/${tool} answered with more than ${maxResultBytes} bytes, the limit of a tool result`);
      if (error instanceof McpError) throw new Error(`${server}/${tool} refused the call: ${describe(error, connection)}`);
      // Anything else is the connection: the next use connects again, after the backoff.
      this.broken(connection, error);
      throw new McpUnavailableError(server, describe(error, connection), connection.notBefore - Date.now());
    }
    const text = resultText(result as Record<string, unknown>);
    const bytes = Buffer.byteLength(text);
    if (bytes > maxResultBytes) throw new Error(`${server}/${tool} returned ${bytes} bytes, more than the limit of ${maxResultBytes}`);
    if (result.isError === true) throw new Error(`${server}/${tool} reported an error: ${text === '' ? '(no message)' : redactSecrets(text, connection.secrets)}`);
    return text;
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((connection) => this.closeConnection(connection)));
  }

  private connection(server: string): Connection {
    const connection = this.connections.get(server);
    if (connection === undefined) throw new McpUnavailableError(server, 'it is not configured (any more)', 0);
    return connection;
  }

  private async client(server: string, connection: Connection): Promise<Client> {
    if (connection.client !== undefined) return connection.client;
    if (connection.connecting === undefined) {
      const wait = connection.notBefore - Date.now();
      if (wait > 0) throw new McpUnavailableError(server, connection.lastError ?? 'the last connect failed', wait);
    }
    try {
      return await (connection.connecting ?? this.connect(server, connection));
    } catch (error) {
      throw new McpUnavailableError(server, describe(error, connection), connection.notBefore - Date.now());
    }
  }

  private connect(server: string, connection: Connection): Promise<Client> {
    connection.connecting ??= (async () => {
      const { spec } = connection;
      const { Client, StreamableHTTPClientTransport } = await loadClientSdk();
      const client = new Client({ name: 'kagent-a2a', version: VERSION });
      try {
        const headers: Record<string, string> = { ...spec.headers };
        if (spec.tokenFile !== undefined) {
          const token = readToken(spec.tokenFile);
          connection.secrets = [...Object.values(spec.headers ?? {}), token];
          headers.authorization = `Bearer ${token}`;
        }
        const transport = new StreamableHTTPClientTransport(new URL(spec.url), {
          fetch: this.guardedFetch(spec),
          requestInit: { headers },
          // The transport's own stream retries are few; a lost server is reconnected here, with the backoff.
          reconnectionOptions: { initialReconnectionDelay: 1000, maxReconnectionDelay: 10_000, reconnectionDelayGrowFactor: 2, maxRetries: 2 },
        });
        await client.connect(transport, { timeout: spec.timeoutMs });
        const tools = await listTools(client, spec.timeoutMs);
        if (connection.closed) throw new Error('the server was removed from the configuration');
        client.onclose = () => {
          if (connection.client === client) connection.client = undefined;
        };
        connection.client = client;
        connection.tools = tools;
        connection.failures = 0;
        connection.lastError = undefined;
        this.options.onConnect?.(server, 'ok');
        return client;
      } catch (error) {
        await client.close().catch(() => {});
        this.failed(connection, error);
        this.options.onConnect?.(server, 'error', error);
        throw error;
      } finally {
        connection.connecting = undefined;
      }
    })();
    return connection.connecting;
  }

  private failed(connection: Connection, error: unknown): void {
    connection.failures += 1;
    connection.lastError = describe(error, connection);
    const first = this.options.backoffMs ?? 1000;
    const delay = Math.min(this.options.maxBackoffMs ?? 60_000, first * 2 ** (connection.failures - 1));
    connection.notBefore = Date.now() + delay;
  }

  private broken(connection: Connection, error: unknown): void {
    const client = connection.client;
    connection.client = undefined;
    void client?.close().catch(() => {});
    this.failed(connection, error);
  }

  private async closeConnection(connection: Connection): Promise<void> {
    connection.closed = true;
    const client = connection.client;
    connection.client = undefined;
    await client?.close().catch(() => {});
  }

  /**
   * Requests through the egress guard, the configured origin trusted as the
   * operator wrote it; a POST's answer is read whole, up to its bound, so an
   * oversized result fails the call instead of filling the memory.
   */
  private guardedFetch(spec: McpServerSpec): FetchLike {
    const callLimit = spec.maxResultBytes * 2 + RESPONSE_OVERHEAD_BYTES;
    return async (url, init) => {
      const method = (init?.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') throw new Error(`unexpected ${method} request`);
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const res = (await this.options.egress.fetch(
        url.toString(),
        {
          method,
          headers,
          ...(typeof init?.body === 'string' ? { body: init.body } : {}),
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        { trustedOrigin: spec.url },
      )) as unknown as Response;
      if (method !== 'POST' || res.body === null) return res;
      const body = await readBounded(res, isToolCall(init?.body) ? callLimit : MAX_OTHER_RESPONSE_BYTES);
      return new Response(res.status === 204 || res.status === 202 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  }
}

async function listTools(client: Client, timeoutMs: number): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const listed = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: timeoutMs });
    for (const tool of listed.tools) {
      tools.push({ name: tool.name, description: tool.description ?? tool.title ?? tool.name, inputSchema: tool.inputSchema as JsonObject });
    }
    cursor = listed.nextCursor;
    if (cursor === undefined) break;
  }
  return tools;
}

function isToolCall(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const message: unknown = JSON.parse(body);
    return typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'tools/call';
  } catch {
    return false;
  }
}

async function readBounded(res: Response, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) {
      await res.body?.cancel().catch(() => {});
      throw new OversizedResponseError(`the response is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function readToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`its tokenFile cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (token === '') throw new Error('its tokenFile is empty');
  return token;
}

/** A tool result as the model reads it: text as is, other content named. */
function resultText(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  const parts = content.map((item) => {
    if (item.type === 'text' && typeof item.text === 'string') return item.text;
    if (item.type === 'resource' && typeof item.resource === 'object' && item.resource !== null) {
      const resource = item.resource as Record<string, unknown>;
      return typeof resource.text === 'string' ? resource.text : `[resource ${String(resource.uri)}, not shown]`;
    }
    if (item.type === 'resource_link') return `[resource ${String(item.uri)}]`;
    return `[${String(item.type)}${typeof item.mimeType === 'string' ? ` (${item.mimeType})` : ''}, not shown]`;
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}

/** An error as the model and the log read it, without what was sent to the server. */
function describe(error: unknown, connection: Connection): string {
  let text = String(error);
  if (error instanceof Error) {
    const cause = error.cause;
    text = cause instanceof Error ? `${error.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : error.message;
  }
  return redactSecrets(text, connection.secrets);
}
