import { DomainError } from '../../model/errors.js';
import type { Message, SendResult, StreamItem, Task, TaskPage, TaskState } from '../../model/model.js';
import { TASK_STATES } from '../../model/model.js';
import { wireCodes } from '../../protocol/errors.js';
import type { Codec, OutgoingSend, ProtocolVersion } from '../../protocol/codec.js';
import { requestEnvelope } from '../../protocol/jsonrpc.js';
import type { Operation } from '../../protocol/methods.js';
import { methodName } from '../../protocol/methods.js';
import { v03Codec } from '../../protocol/v03/codec.js';
import { v1Codec } from '../../protocol/v1/codec.js';
import type { Endpoint } from './card.js';
import type { ClientErrorDetails } from './errors.js';
import { A2AClientError, TaskNotFoundError } from './errors.js';
import type { HttpRequest, RawResponse } from './http.js';
import { header } from './http.js';
import { parseRetryAfter } from './retry.js';
import type { SseItem } from '../../protocol/sse.js';
import { LAST_EVENT_ID_HEADER } from '../../protocol/resume.js';
import { withoutTrailingSlashes } from '../../model/text.js';

// The wire side of each operation, per binding and version: the request to
// send and how to read its answer. The model types in and out are the same
// for every version; the codecs in protocol/ do the translating.

export interface SendParams {
  returnImmediately?: boolean;
  historyLength?: number;
  acceptedOutputModes?: string[];
}

export interface ListTasksParams {
  contextId?: string;
  /** Only tasks in this state. */
  state?: TaskState;
  /** The same filter as a 1.0 wire enum (TASK_STATE_COMPLETED) or a state name; `state` wins. */
  status?: string;
  pageSize?: number;
  pageToken?: string;
  historyLength?: number;
  /** Only tasks whose status changed at or after this instant. */
  statusTimestampAfter?: string | Date;
  includeArtifacts?: boolean;
}

export interface UnaryOp<T> {
  request: HttpRequest;
  parse(res: RawResponse): T;
}

export interface StreamOp {
  request: HttpRequest;
  /** The answer was not an event stream: throws the error it carries. */
  refuse(res: RawResponse): never;
  /** One event of the stream; undefined for an event to skip. */
  item(event: Extract<SseItem, { type: 'event' }>, url: string): StreamItem | undefined;
}

export interface Protocol {
  readonly endpoint: Endpoint;
  send(message: Message, params: SendParams): UnaryOp<SendResult>;
  stream(message: Message, params: SendParams): StreamOp;
  get(id: string, historyLength?: number): UnaryOp<Task>;
  cancel(id: string): UnaryOp<Task>;
  list(params: ListTasksParams): UnaryOp<TaskPage>;
  /** `lastEventId`: resume after the event with this SSE id (sent as Last-Event-ID). */
  subscribe(id: string, lastEventId?: string): StreamOp;
}

export function protocolFor(endpoint: Endpoint, headers: Record<string, string>): Protocol {
  if (endpoint.binding === 'HTTP+JSON') return new RestProtocol(endpoint, headers);
  return new JsonRpcProtocol(endpoint, headers, endpoint.version === '0.3' ? V03 : V1);
}

// ---- shared reading ---------------------------------------------------------


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ErrorInfo reason and any retry hint in google.rpc details (RetryInfo, or metadata.retryAfterSeconds). */
function readDetails(details: unknown): { reason?: string; retryAfterMs?: number; taskId?: string } {
  const out: { reason?: string; retryAfterMs?: number; taskId?: string } = {};
  const list = Array.isArray(details) ? details : isObject(details) ? [details] : [];
  for (const entry of list) {
    if (!isObject(entry)) continue;
    const type = typeof entry['@type'] === 'string' ? entry['@type'] : '';
    if (typeof entry.reason === 'string' && (type.endsWith('google.rpc.ErrorInfo') || type === '')) {
      out.reason ??= entry.reason;
      const metadata = isObject(entry.metadata) ? entry.metadata : {};
      if (typeof metadata.taskId === 'string') out.taskId ??= metadata.taskId;
      const seconds = Number(metadata.retryAfterSeconds);
      if (metadata.retryAfterSeconds !== undefined && Number.isFinite(seconds) && seconds >= 0) out.retryAfterMs ??= seconds * 1000;
    }
    if (type.endsWith('google.rpc.RetryInfo') && typeof entry.retryDelay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(entry.retryDelay);
      if (match !== null) out.retryAfterMs = Number(match[1]) * 1000;
    }
  }
  return out;
}

function retryAfter(res: RawResponse | undefined, fromDetails: number | undefined): number | undefined {
  const fromHeader = res === undefined ? undefined : parseRetryAfter(header(res.headers, 'retry-after'));
  return fromHeader ?? fromDetails;
}

/** The typed error for an A2A error the agent answered with. */
function agentError(
  code: number | undefined,
  message: string,
  data: unknown,
  res: RawResponse | undefined,
  url: string,
  taskId: string | undefined,
): A2AClientError {
  const facts = readDetails(data);
  const resolved = code ?? (facts.reason === undefined ? undefined : wireCodes(facts.reason)?.jsonRpc);
  const retryAfterMs = retryAfter(res, facts.retryAfterMs);
  const details: ClientErrorDetails = {
    url,
    ...(resolved === undefined ? {} : { code: resolved }),
    ...(res === undefined ? {} : { httpStatus: res.status }),
    ...(facts.reason === undefined ? {} : { reason: facts.reason }),
    ...(data === undefined ? {} : { data }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  if (resolved === -32001 || facts.reason === 'TASK_NOT_FOUND') return new TaskNotFoundError(message, taskId ?? facts.taskId, details);
  return new A2AClientError('rpc', message, details);
}

function httpError(res: RawResponse): A2AClientError {
  const retryAfterMs = retryAfter(res, undefined);
  const snippet = res.text.trim().slice(0, 200);
  return new A2AClientError('http', `${res.url} answered HTTP ${res.status}${snippet === '' ? '' : `: ${snippet}`}`, {
    code: res.status,
    httpStatus: res.status,
    url: res.url,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function invalid(url: string, message: string, cause?: unknown): A2AClientError {
  return new A2AClientError('invalid-response', `${url}: ${message}`, { url, ...(cause === undefined ? {} : { cause }) });
}

/** Runs a codec decoder; a malformed answer becomes 'invalid-response' naming the bad field. */
function decoded<T>(url: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DomainError) throw invalid(url, `the agent's answer is malformed: ${error.message}`, error);
    throw error;
  }
}

function sendResult(item: StreamItem, url: string): SendResult {
  if (item.kind === 'task' || item.kind === 'message') return item;
  throw invalid(url, `a send answered with a ${item.kind} event instead of a task or message`);
}

const STATE_NAMES: ReadonlySet<string> = new Set(TASK_STATES);

function statusFilter(params: ListTasksParams): string | undefined {
  const state = params.state ?? params.status;
  if (state === undefined || state === '') return undefined;
  return STATE_NAMES.has(state) ? v1Codec.encodeTaskState(state as TaskState) : state;
}

function taskPage(value: unknown, url: string): TaskPage {
  return decoded(url, () => v1Codec.decodeTaskPage(value, 'result'));
}

function timestamp(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

/** A subscribe that resumes: the standard SSE header names the last event the client has. */
function withLastEventId(op: StreamOp, lastEventId: string | undefined): StreamOp {
  if (lastEventId !== undefined) op.request.headers[LAST_EVENT_ID_HEADER] = lastEventId;
  return op;
}

// ---- JSON-RPC (1.0 and 0.3) -------------------------------------------------

/** One version's method names for the client's operations, from the server's own table. */
function methodsOf(version: ProtocolVersion): Record<'send' | 'stream' | 'get' | 'cancel' | 'subscribe', string> {
  const name = (operation: Operation): string => {
    const found = methodName(version, operation);
    if (found === undefined) throw new Error(`A2A ${version} has no method for ${operation}`);
    return found;
  };
  return { send: name('send'), stream: name('stream'), get: name('get'), cancel: name('cancel'), subscribe: name('subscribe') };
}

interface JsonRpcDialect {
  codec: Codec;
  methods: ReturnType<typeof methodsOf>;
}

const V1: JsonRpcDialect = { codec: v1Codec, methods: methodsOf('1.0') };
const V03: JsonRpcDialect = { codec: v03Codec, methods: methodsOf('0.3') };
const LIST_TASKS = methodName('1.0', 'list')!;

function outgoingSend(message: Message, params: SendParams): OutgoingSend {
  const send: OutgoingSend = { message };
  if (params.returnImmediately !== undefined) send.returnImmediately = params.returnImmediately;
  if (params.historyLength !== undefined) send.historyLength = params.historyLength;
  if (params.acceptedOutputModes !== undefined) send.acceptedOutputModes = params.acceptedOutputModes;
  return send;
}

let nextId = 1;

class JsonRpcProtocol implements Protocol {
  constructor(
    readonly endpoint: Endpoint,
    private readonly headers: Record<string, string>,
    private readonly dialect: JsonRpcDialect,
  ) {}

  send(message: Message, params: SendParams): UnaryOp<SendResult> {
    return this.unary(this.dialect.methods.send, this.dialect.codec.encodeSend(outgoingSend(message, params)), message.taskId, (result, url) =>
      sendResult(decoded(url, () => this.dialect.codec.decodeStreamItem(result, 'result')), url),
    );
  }

  stream(message: Message, params: SendParams): StreamOp {
    const { returnImmediately: _ignored, ...rest } = params;
    return this.streaming(this.dialect.methods.stream, this.dialect.codec.encodeSend(outgoingSend(message, rest)), message.taskId);
  }

  get(id: string, historyLength?: number): UnaryOp<Task> {
    const params = historyLength === undefined ? { id } : { id, historyLength };
    return this.unary(this.dialect.methods.get, params, id, (result, url) => decoded(url, () => this.dialect.codec.decodeTask(result, 'result')));
  }

  cancel(id: string): UnaryOp<Task> {
    return this.unary(this.dialect.methods.cancel, { id }, id, (result, url) => decoded(url, () => this.dialect.codec.decodeTask(result, 'result')));
  }

  list(params: ListTasksParams): UnaryOp<TaskPage> {
    if (this.dialect.codec.version === '0.3') {
      throw new A2AClientError('unsupported', `${this.endpoint.url} speaks A2A 0.3, which has no ListTasks`, { url: this.endpoint.url });
    }
    const wire: Record<string, unknown> = {};
    if (params.contextId !== undefined) wire.contextId = params.contextId;
    const status = statusFilter(params);
    if (status !== undefined) wire.status = status;
    if (params.pageSize !== undefined) wire.pageSize = params.pageSize;
    if (params.pageToken !== undefined && params.pageToken !== '') wire.pageToken = params.pageToken;
    if (params.historyLength !== undefined) wire.historyLength = params.historyLength;
    if (params.statusTimestampAfter !== undefined) wire.statusTimestampAfter = timestamp(params.statusTimestampAfter);
    if (params.includeArtifacts !== undefined) wire.includeArtifacts = params.includeArtifacts;
    return this.unary(LIST_TASKS, wire, undefined, (result, url) => taskPage(result, url));
  }

  subscribe(id: string, lastEventId?: string): StreamOp {
    return withLastEventId(this.streaming(this.dialect.methods.subscribe, { id }, id), lastEventId);
  }

  private request(method: string, params: Record<string, unknown>, accept: string): { request: HttpRequest; id: number } {
    const id = nextId++;
    if (this.endpoint.tenant !== undefined) params = { ...params, tenant: this.endpoint.tenant };
    return {
      id,
      request: {
        method: 'POST',
        url: this.endpoint.url,
        headers: { ...this.headers, 'content-type': 'application/json', accept, 'a2a-version': this.dialect.codec.version },
        body: requestEnvelope(id, method, params),
      },
    };
  }

  /** The `result` of a JSON-RPC answer, or the typed error it carries. */
  private result(body: unknown, res: RawResponse | undefined, url: string, id: number, taskId: string | undefined): unknown {
    if (isObject(body) && isObject(body.error)) {
      const e = body.error;
      const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'error without a message';
      throw agentError(typeof e.code === 'number' ? e.code : undefined, message, e.data, res, url, taskId);
    }
    if (res !== undefined && (res.status < 200 || res.status > 299)) throw httpError(res);
    if (!isObject(body) || !('result' in body)) throw invalid(url, 'the answer is not a JSON-RPC response');
    if (body.id !== undefined && body.id !== null && body.id !== id) throw invalid(url, `the answer is for request ${JSON.stringify(body.id)}, not ${id}`);
    return body.result;
  }

  private unary<T>(method: string, params: Record<string, unknown>, taskId: string | undefined, read: (result: unknown, url: string) => T): UnaryOp<T> {
    const { request, id } = this.request(method, params, 'application/json');
    return {
      request,
      parse: (res) => read(this.result(parseJson(res.text), res, res.url, id, taskId), res.url),
    };
  }

  private streaming(method: string, params: Record<string, unknown>, taskId: string | undefined): StreamOp {
    const { request, id } = this.request(method, params, 'text/event-stream');
    return {
      request,
      refuse: (res) => {
        this.result(parseJson(res.text), res, res.url, id, taskId);
        throw invalid(res.url, `${method} did not answer with an event stream (HTTP ${res.status}, ${header(res.headers, 'content-type') ?? 'no content type'})`);
      },
      item: (event, url) => {
        const body = parseJson(event.data);
        if (body === undefined) throw invalid(url, `${method} sent an event that is not JSON`);
        return decoded(url, () => this.dialect.codec.decodeStreamItem(this.result(body, undefined, url, id, taskId), 'result'));
      },
    };
  }
}

// ---- HTTP+JSON (1.0) --------------------------------------------------------

class RestProtocol implements Protocol {
  constructor(
    readonly endpoint: Endpoint,
    private readonly headers: Record<string, string>,
  ) {}

  send(message: Message, params: SendParams): UnaryOp<SendResult> {
    return this.unary('POST', '/message:send', v1Codec.encodeSend(outgoingSend(message, params)), message.taskId, (body, url) =>
      sendResult(decoded(url, () => v1Codec.decodeStreamItem(body, 'response')), url),
    );
  }

  stream(message: Message, params: SendParams): StreamOp {
    const { returnImmediately: _ignored, ...rest } = params;
    return this.streaming('/message:stream', v1Codec.encodeSend(outgoingSend(message, rest)), message.taskId);
  }

  get(id: string, historyLength?: number): UnaryOp<Task> {
    const query = historyLength === undefined ? '' : `?historyLength=${historyLength}`;
    return this.unary('GET', `/tasks/${encodeURIComponent(id)}${query}`, undefined, id, (body, url) => decoded(url, () => v1Codec.decodeTask(body, 'response')));
  }

  cancel(id: string): UnaryOp<Task> {
    return this.unary('POST', `/tasks/${encodeURIComponent(id)}:cancel`, {}, id, (body, url) => decoded(url, () => v1Codec.decodeTask(body, 'response')));
  }

  list(params: ListTasksParams): UnaryOp<TaskPage> {
    const query = new URLSearchParams();
    if (params.contextId !== undefined) query.set('contextId', params.contextId);
    const status = statusFilter(params);
    if (status !== undefined) query.set('status', status);
    if (params.pageSize !== undefined) query.set('pageSize', String(params.pageSize));
    if (params.pageToken !== undefined && params.pageToken !== '') query.set('pageToken', params.pageToken);
    if (params.historyLength !== undefined) query.set('historyLength', String(params.historyLength));
    if (params.statusTimestampAfter !== undefined) query.set('statusTimestampAfter', timestamp(params.statusTimestampAfter));
    if (params.includeArtifacts !== undefined) query.set('includeArtifacts', String(params.includeArtifacts));
    const qs = query.toString();
    return this.unary('GET', `/tasks${qs === '' ? '' : `?${qs}`}`, undefined, undefined, (body, url) => taskPage(body, url));
  }

  subscribe(id: string, lastEventId?: string): StreamOp {
    return withLastEventId(this.streaming(`/tasks/${encodeURIComponent(id)}:subscribe`, undefined, id), lastEventId);
  }

  private url(path: string): string {
    const base = withoutTrailingSlashes(this.endpoint.url);
    const tenant = this.endpoint.tenant === undefined ? '' : `/${encodeURIComponent(this.endpoint.tenant)}`;
    return `${base}${tenant}${path}`;
  }

  private request(method: 'GET' | 'POST', path: string, body: unknown, accept: string): HttpRequest {
    const headers: Record<string, string> = { ...this.headers, accept, 'a2a-version': '1.0' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return { method, url: this.url(path), headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
  }

  /** A google.rpc.Status error body (`{"error": {...}}`), or a bare HTTP error. */
  private failure(res: RawResponse | undefined, body: unknown, url: string, taskId: string | undefined): A2AClientError | undefined {
    const status = isObject(body) && isObject(body.error) ? body.error : undefined;
    if (status !== undefined) {
      const message = typeof status.message === 'string' && status.message !== '' ? status.message : `HTTP ${res?.status ?? 'error'}`;
      const code = status.status === 'INVALID_ARGUMENT' ? -32602 : undefined;
      const facts = readDetails(status.details);
      return agentError(facts.reason === undefined ? code : undefined, message, status.details, res, url, taskId);
    }
    if (res !== undefined && (res.status < 200 || res.status > 299)) return httpError(res);
    return undefined;
  }

  private unary<T>(method: 'GET' | 'POST', path: string, body: unknown, taskId: string | undefined, read: (body: unknown, url: string) => T): UnaryOp<T> {
    return {
      request: this.request(method, path, body, 'application/a2a+json, application/json'),
      parse: (res) => {
        const parsed = parseJson(res.text);
        const error = this.failure(res, parsed, res.url, taskId);
        if (error !== undefined) throw error;
        if (!isObject(parsed)) throw invalid(res.url, 'the answer is not a JSON object');
        return read(parsed, res.url);
      },
    };
  }

  private streaming(path: string, body: unknown, taskId: string | undefined): StreamOp {
    return {
      request: this.request('POST', path, body, 'text/event-stream'),
      refuse: (res) => {
        const error = this.failure(res, parseJson(res.text), res.url, taskId);
        if (error !== undefined) throw error;
        throw invalid(res.url, `${path} did not answer with an event stream (HTTP ${res.status}, ${header(res.headers, 'content-type') ?? 'no content type'})`);
      },
      item: (event, url) => {
        const parsed = parseJson(event.data);
        if (parsed === undefined) throw invalid(url, `${path} sent an event that is not JSON`);
        const error = this.failure(undefined, parsed, url, taskId);
        if (error !== undefined) throw error;
        if (event.event === 'error') throw invalid(url, `${path} sent an error event without an error: ${event.data.slice(0, 200)}`);
        return decoded(url, () => v1Codec.decodeStreamItem(parsed, 'event'));
      },
    };
  }
}
