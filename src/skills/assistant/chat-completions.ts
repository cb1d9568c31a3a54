import { STATUS_CODES } from 'node:http';
import { SseParser } from '../../protocol/sse.js';
import type { JsonObject } from '../../model/model.js';
import { withoutTrailingSlashes } from '../../model/text.js';
import { redactCredentials } from '../../observability/redact.js';

// The OpenAI chat-completions wire format, streaming flavour: the dialect
// Ollama, vLLM, llama.cpp and the hosted APIs all speak. Only what the
// assistant needs: messages, function tools, streamed text and tool calls,
// usage, and errors.

export interface ChatEndpoint {
  /** Base URL up to (not including) `/chat/completions`, e.g. http://ollama:11434/v1. */
  baseUrl: string;
  model: string;
  apiKey?: string;
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatToolSpec {
  type: 'function';
  function: { name: string; description: string; parameters: JsonObject };
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools: ChatToolSpec[];
  /** Upper bound on the reply's tokens (`max_tokens`). */
  maxTokens: number;
}

export interface ChatReply {
  content: string;
  toolCalls: ChatToolCall[];
  /** The model's finish_reason; 'stopped' when `onText` asked to stop reading. */
  finishReason: string;
  usage?: ChatUsage;
}

export interface ChatCallbacks {
  signal: AbortSignal;
  /**
   * The text that arrived in one network read (never empty). Returning false
   * stops reading: the request is aborted and the reply so far is returned.
   */
  onText(text: string): Promise<boolean> | boolean;
}

/**
 * The endpoint could not be reached, refused the request, or answered
 * something that is not a chat completion. `message` is ours and says what
 * happened; `detail` is what the endpoint sent, which may echo what it was
 * sent (the API key among it): for the log, redacted, never for the task.
 */
export class ChatError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

const ERROR_BODY_LIMIT = 64 * 1024;

/** POSTs a streaming chat completion and reads it to the end (or until `onText` says stop). */
export async function streamChat(endpoint: ChatEndpoint, request: ChatRequest, callbacks: ChatCallbacks): Promise<ChatReply> {
  const url = `${withoutTrailingSlashes(endpoint.baseUrl)}/chat/completions`;
  const body: JsonObject = {
    model: endpoint.model,
    messages: request.messages as unknown as JsonObject[],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: request.maxTokens,
  };
  if (request.tools.length > 0) body.tools = request.tools as unknown as JsonObject[];
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' };
  if (endpoint.apiKey !== undefined && endpoint.apiKey !== '') headers.authorization = `Bearer ${endpoint.apiKey}`;

  // Our own controller, so that stopping early (budget) closes the connection too.
  const controller = new AbortController();
  const abort = () => controller.abort(callbacks.signal.reason);
  if (callbacks.signal.aborted) throw callbacks.signal.reason;
  callbacks.signal.addEventListener('abort', abort, { once: true });
  try {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
    } catch (error) {
      if (callbacks.signal.aborted) throw callbacks.signal.reason;
      throw new ChatError(`could not reach the model endpoint ${redactCredentials(url)}: ${describe(error)}`);
    }
    if (!res.ok) throw await httpError(url, res);
    const type = (res.headers.get('content-type') ?? '').toLowerCase();
    if (type.includes('application/json')) return await readWhole(res, callbacks);
    if (type !== '' && !type.includes('text/event-stream')) {
      await res.body?.cancel().catch(() => {});
      throw new ChatError(`the model endpoint answered with ${mediaTypeName(type)}, not an event stream of chat-completion chunks`);
    }
    return await readStream(res, callbacks, controller);
  } catch (error) {
    if (callbacks.signal.aborted) throw callbacks.signal.reason;
    throw error;
  } finally {
    callbacks.signal.removeEventListener('abort', abort);
  }
}

async function readStream(res: Response, callbacks: ChatCallbacks, controller: AbortController): Promise<ChatReply> {
  const reply = new ReplyBuilder();
  const parser = new SseParser();
  let done = false;
  let stopped = false;
  if (res.body === null) throw new ChatError('the model endpoint answered without a body');
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  try {
    for await (const chunk of body) {
      let text = '';
      for (const item of parser.push(chunk)) {
        if (item.type !== 'event') continue;
        if (item.data.trim() === '[DONE]') {
          done = true;
          break;
        }
        text += reply.add(parseChunk(item.data));
      }
      if (text !== '' && !(await callbacks.onText(text))) stopped = true;
      if (done || stopped) break;
    }
  } catch (error) {
    if (error instanceof ChatError || callbacks.signal.aborted) throw error;
    throw new ChatError(`the model's stream broke off: ${describe(error)}`);
  }
  if (stopped) {
    controller.abort();
    return reply.result('stopped');
  }
  if (!done && reply.finishReason === undefined) {
    throw new ChatError('the model stream ended before the reply was complete (no finish_reason and no [DONE])');
  }
  return reply.result(reply.finishReason ?? 'stop');
}

async function readWhole(res: Response, callbacks: ChatCallbacks): Promise<ChatReply> {
  // A server that ignores `stream: true` answers with one chat.completion object.
  let parsed: unknown;
  const text = await res.text();
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ChatError('the model endpoint sent a malformed reply: it is not JSON', undefined, snippet(text, 500));
  }
  const choice = firstChoice(parsed);
  const message = isObject(choice?.message) ? choice.message : undefined;
  if (message === undefined) throw new ChatError('the model endpoint sent a reply without choices[0].message', undefined, snippet(text, 500));
  const reply = new ReplyBuilder();
  const content = reply.add({ ...(parsed as JsonObject), choices: [{ index: 0, delta: message, finish_reason: choice!.finish_reason ?? 'stop' }] });
  if (content !== '') await callbacks.onText(content);
  return reply.result(reply.finishReason ?? 'stop');
}

function parseChunk(data: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new ChatError('the model endpoint sent a malformed stream: a chunk is not JSON', undefined, snippet(data, 500));
  }
  if (!isObject(parsed)) throw new ChatError('the model endpoint sent a malformed stream: a chunk is not a chat-completion chunk', undefined, snippet(data, 500));
  if (parsed.error !== undefined) throw new ChatError('the model endpoint reported an error mid-stream', undefined, errorText(parsed.error));
  if (parsed.choices !== undefined && !Array.isArray(parsed.choices)) {
    throw new ChatError('the model endpoint sent a malformed stream: "choices" is not an array', undefined, snippet(data, 500));
  }
  return parsed;
}

/** Accumulates content and tool-call deltas (a call's id, name and arguments arrive in pieces, keyed by index). */
class ReplyBuilder {
  private content = '';
  private readonly calls = new Map<number, ChatToolCall>();
  finishReason: string | undefined;
  private usage: ChatUsage | undefined;

  /** Takes one chunk; returns the content it added. */
  add(chunk: JsonObject): string {
    if (isObject(chunk.usage)) this.usage = chunk.usage as ChatUsage;
    const choice = firstChoice(chunk);
    if (choice === undefined) return '';
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const added = typeof delta.content === 'string' ? delta.content : '';
    this.content += added;
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls.forEach((raw, position) => {
        if (!isObject(raw)) throw new ChatError('the model endpoint sent a malformed tool call', undefined, snippet(JSON.stringify(raw), 500));
        const index = typeof raw.index === 'number' ? raw.index : position;
        let call = this.calls.get(index);
        if (call === undefined) {
          call = { id: '', type: 'function', function: { name: '', arguments: '' } };
          this.calls.set(index, call);
        }
        if (typeof raw.id === 'string' && raw.id !== '') call.id = raw.id;
        const fn = isObject(raw.function) ? raw.function : {};
        // Names come whole in the first delta; some servers repeat them.
        if (typeof fn.name === 'string' && fn.name !== call.function.name) call.function.name += fn.name;
        if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
        // A server that sends arguments as an object instead of a JSON string.
        else if (isObject(fn.arguments)) call.function.arguments = JSON.stringify(fn.arguments);
      });
    }
    return added;
  }

  result(finishReason: string): ChatReply {
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ ...call, id: call.id === '' ? `call_${index}` : call.id }));
    const reply: ChatReply = { content: this.content, toolCalls, finishReason };
    if (this.usage !== undefined) reply.usage = this.usage;
    return reply;
  }
}

async function httpError(url: string, res: Response): Promise<ChatError> {
  let text = '';
  try {
    text = await readBounded(res, ERROR_BODY_LIMIT);
  } catch {
    // The status alone still says what happened.
  }
  let detail = text.trim() === '' ? '(no error message)' : snippet(text, 500);
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && parsed.error !== undefined) detail = errorText(parsed.error);
    else if (isObject(parsed) && typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // Not JSON: the raw text is the message.
  }
  const retryAfter = res.headers.get('retry-after');
  const seconds = retryAfter !== null && /^\d{1,6}$/.test(retryAfter.trim()) ? ` (retry after ${retryAfter.trim()}s)` : '';
  // The standard reason phrase, not the server's: that one is the server's to fill too.
  const phrase = STATUS_CODES[res.status];
  const status = `HTTP ${res.status}${phrase === undefined ? '' : ` ${phrase}`}`;
  // The body stays out of the message: a server may echo the request, Authorization header included.
  return new ChatError(`the model endpoint answered ${status}${seconds}`, res.status, `${redactCredentials(url)}: ${detail}`);
}

async function readBounded(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** OpenAI sends {error: {message, type, code}}; Ollama and others {error: "text"}. */
function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (isObject(error)) {
    const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
    const code = typeof error.code === 'string' ? error.code : typeof error.type === 'string' ? error.type : undefined;
    return code === undefined ? message : `${message} (${code})`;
  }
  return JSON.stringify(error);
}

/** "text/html" from a Content-Type, or a neutral word when the header is not a plain media type. */
function mediaTypeName(contentType: string): string {
  const type = contentType.split(';', 1)[0]!.trim();
  return /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(type) ? type : 'an unexpected content type';
}

function firstChoice(value: unknown): JsonObject | undefined {
  if (!isObject(value) || !Array.isArray(value.choices)) return undefined;
  const choice = value.choices.find((c) => isObject(c) && (c.index === undefined || c.index === 0)) ?? value.choices[0];
  return isObject(choice) ? choice : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function snippet(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    return error.message;
  }
  return String(error);
}
