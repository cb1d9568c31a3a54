import { randomUUID } from 'node:crypto';
import { DomainError } from '../model/errors.js';
import type { Message, Part, StreamItem, Task, SendResult } from '../model/model.js';
import { decodeStreamItem, decodeTask, encodeMessage } from '../protocol/v1/codec.js';

// A small A2A 1.0 JSON-RPC client: enough for the operator CLI and for tests.
// Retries, 0.3 negotiation and discovery build on it later.

export type ClientErrorKind = 'connection' | 'http' | 'rpc' | 'invalid-response';

export class A2AClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    /** The JSON-RPC error code, for kind 'rpc'; the HTTP status, for kind 'http'. */
    readonly code?: number,
  ) {
    super(message);
    this.name = 'A2AClientError';
  }
}

export interface AgentCardSummary {
  name: string;
  description: string;
  version: string;
  /** The JSON-RPC endpoint chosen from the card. */
  url: string;
  skills: { id: string; name: string; description: string; tags: string[] }[];
  raw: Record<string, unknown>;
}

export interface SendOptions {
  returnImmediately?: boolean;
  historyLength?: number;
}

const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent.json'];

export class A2AClient {
  private constructor(readonly card: AgentCardSummary) {}

  /** Reads the agent card at a base URL and picks its A2A 1.0 JSON-RPC interface. */
  static async connect(baseUrl: string): Promise<A2AClient> {
    const base = baseUrl.replace(/\/+$/, '');
    let lastError: A2AClientError | undefined;
    for (const path of CARD_PATHS) {
      let res: Response;
      try {
        res = await fetch(base + path, { headers: { accept: 'application/json' } });
      } catch (error) {
        throw connectionError(base, error);
      }
      if (res.status === 404) {
        lastError = new A2AClientError('http', `no agent card at ${base}${path}`, 404);
        continue;
      }
      if (!res.ok) throw new A2AClientError('http', `GET ${base}${path} answered HTTP ${res.status}`, res.status);
      return new A2AClient(summarizeCard(await res.json().catch(() => undefined), base));
    }
    throw lastError ?? new A2AClientError('http', `no agent card at ${base}`);
  }

  static fromUrl(url: string): A2AClient {
    return new A2AClient({ name: '', description: '', version: '', url, skills: [], raw: {} });
  }

  async send(message: Message, options: SendOptions = {}): Promise<SendResult> {
    const configuration: Record<string, unknown> = {};
    if (options.returnImmediately) configuration.returnImmediately = true;
    if (options.historyLength !== undefined) configuration.historyLength = options.historyLength;
    const result = await this.call('SendMessage', { message: encodeMessage(message), configuration });
    const item = decodeOrThrow(() => decodeStreamItem(result, 'result'));
    if (item.kind === 'task') return item;
    if (item.kind === 'message') return item;
    throw new A2AClientError('invalid-response', 'SendMessage answered with an event instead of a task or message');
  }

  async *stream(message: Message): AsyncGenerator<StreamItem> {
    yield* this.streamCall('SendStreamingMessage', { message: encodeMessage(message) });
  }

  async *subscribe(taskId: string): AsyncGenerator<StreamItem> {
    yield* this.streamCall('SubscribeToTask', { id: taskId });
  }

  async getTask(id: string, historyLength?: number): Promise<Task> {
    const result = await this.call('GetTask', { id, ...(historyLength === undefined ? {} : { historyLength }) });
    return decodeOrThrow(() => decodeTask(result, 'result'));
  }

  async cancelTask(id: string): Promise<Task> {
    const result = await this.call('CancelTask', { id });
    return decodeOrThrow(() => decodeTask(result, 'result'));
  }

  async listTasks(params: { pageSize?: number; pageToken?: string; status?: string; contextId?: string } = {}): Promise<{ tasks: Task[]; nextPageToken: string; totalSize: number }> {
    const result = (await this.call('ListTasks', params)) as { tasks?: unknown[]; nextPageToken?: unknown; totalSize?: unknown };
    return decodeOrThrow(() => ({
      tasks: (result.tasks ?? []).map((t, i) => decodeTask(t, `result.tasks[${i}]`)),
      nextPageToken: typeof result.nextPageToken === 'string' ? result.nextPageToken : '',
      totalSize: typeof result.totalSize === 'number' ? result.totalSize : 0,
    }));
  }

  private async post(method: string, params: unknown, accept: string): Promise<Response> {
    try {
      return await fetch(this.card.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, 'a2a-version': '1.0' },
        body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }),
      });
    } catch (error) {
      throw connectionError(this.card.url, error);
    }
  }

  private async call(method: string, params: unknown): Promise<unknown> {
    const res = await this.post(method, params, 'application/json');
    const body = (await res.json().catch(() => undefined)) as Envelope | undefined;
    return unwrap(res, body);
  }

  private async *streamCall(method: string, params: unknown): AsyncGenerator<StreamItem> {
    const res = await this.post(method, params, 'text/event-stream');
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      unwrap(res, (await res.json().catch(() => undefined)) as Envelope | undefined);
      throw new A2AClientError('invalid-response', `${method} did not answer with an event stream`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data === '') continue;
        let envelope: Envelope;
        try {
          envelope = JSON.parse(data) as Envelope;
        } catch {
          throw new A2AClientError('invalid-response', `${method} sent an event that is not JSON`);
        }
        const result = unwrap(res, envelope);
        yield decodeOrThrow(() => decodeStreamItem(result, 'result'));
      }
    }
  }
}

interface Envelope {
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

function unwrap(res: Response, body: Envelope | undefined): unknown {
  if (body?.error !== undefined) {
    const code = typeof body.error.code === 'number' ? body.error.code : undefined;
    throw new A2AClientError('rpc', typeof body.error.message === 'string' ? body.error.message : 'error without a message', code);
  }
  if (!res.ok) throw new A2AClientError('http', `the agent answered HTTP ${res.status}`, res.status);
  if (body === undefined || !('result' in body)) throw new A2AClientError('invalid-response', 'the answer is not a JSON-RPC response');
  return body.result;
}

function decodeOrThrow<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DomainError) throw new A2AClientError('invalid-response', `the agent's answer is malformed: ${error.message}`);
    throw error;
  }
}

function connectionError(url: string, error: unknown): A2AClientError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  return new A2AClientError('connection', `cannot reach ${url}: ${cause}`);
}

function summarizeCard(raw: unknown, base: string): AgentCardSummary {
  if (typeof raw !== 'object' || raw === null) throw new A2AClientError('invalid-response', `the agent card at ${base} is not a JSON object`);
  const card = raw as Record<string, unknown>;
  const interfaces = Array.isArray(card.supportedInterfaces) ? (card.supportedInterfaces as Record<string, unknown>[]) : [];
  const chosen =
    interfaces.find((i) => i.protocolBinding === 'JSONRPC' && String(i.protocolVersion).startsWith('1.')) ??
    interfaces.find((i) => i.protocolBinding === 'JSONRPC');
  const advertised = typeof chosen?.url === 'string' ? chosen.url : typeof card.url === 'string' ? card.url : base;
  // Keep the endpoint path the card gives but the origin the caller used: behind a
  // port-forward or proxy, the advertised host is often not reachable from here.
  const url = new URL(safePath(advertised), `${base}/`).toString();
  const skills = Array.isArray(card.skills) ? (card.skills as Record<string, unknown>[]) : [];
  return {
    name: String(card.name ?? ''),
    description: String(card.description ?? ''),
    version: String(card.version ?? ''),
    url,
    skills: skills.map((s) => ({
      id: String(s.id ?? ''),
      name: String(s.name ?? ''),
      description: String(s.description ?? ''),
      tags: Array.isArray(s.tags) ? s.tags.map(String) : [],
    })),
    raw: card,
  };
}

function safePath(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/';
  }
}

/** A user message with one text part, ready to send. */
export function userText(text: string, extra: { taskId?: string; contextId?: string; skill?: string } = {}): Message {
  const parts: Part[] = [{ kind: 'text', text }];
  const message: Message = { messageId: randomUUID(), role: 'user', parts };
  if (extra.taskId !== undefined) message.taskId = extra.taskId;
  if (extra.contextId !== undefined) message.contextId = extra.contextId;
  if (extra.skill !== undefined) message.metadata = { skill: extra.skill };
  return message;
}
