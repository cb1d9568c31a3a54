import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1. It stands
 * in for a paid API (or a local Ollama / vLLM), which no test here may call:
 * each POST /v1/chat/completions takes the next scripted response from a queue
 * and replays it byte for byte — streamed chunks with pauses, tool calls split
 * across chunks, HTTP errors, broken or never-ending streams — and records
 * what the client sent and whether it hung up before the response was over.
 */

/**
 * `echoHeader` writes what the client sent in that request header, as a server that quotes the request back does;
 * `until` holds the response there until the test lets it go on.
 */
export type Step = { write: string } | { delayMs: number } | { hang: true } | { echoHeader: string } | { until: Promise<void> };

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  steps: Step[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  // The request body as the client sent it; tests read fields of it freely.
  body: any;
  /** Resolves when the client closed the connection before the scripted response was over. */
  closedEarly: Promise<void>;
  /** True once closedEarly has resolved. */
  hungUp: boolean;
}

export interface ChatServer {
  /** The base URL a client is configured with (…/v1). */
  baseUrl: string;
  requests: RecordedRequest[];
  enqueue(...responses: ScriptedResponse[]): void;
  /** Responses not yet used. */
  readonly remaining: number;
  close(): Promise<void>;
}

export async function startChatServer(): Promise<ChatServer> {
  const queue: ScriptedResponse[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = Buffer.concat(chunks).toString('utf8');
      }
      let hangUp!: () => void;
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        hungUp: false,
        closedEarly: new Promise<void>((resolve) => (hangUp = resolve)),
      };
      requests.push(record);
      let over = false;
      res.on('close', () => {
        if (over) return;
        record.hungUp = true;
        hangUp();
      });
      const script = req.method === 'POST' && req.url === '/v1/chat/completions' ? queue.shift() : undefined;
      if (script === undefined) {
        over = true;
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no scripted response for ${req.method} ${req.url}` } }));
        return;
      }
      void play(script, res, req.headers, () => {
        over = true;
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...responses) => void queue.push(...responses),
    get remaining() {
      return queue.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function play(script: ScriptedResponse, res: ServerResponse, requestHeaders: IncomingHttpHeaders, markOver: () => void): Promise<void> {
  res.writeHead(script.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...script.headers });
  res.flushHeaders();
  for (const step of script.steps) {
    if (res.destroyed) return;
    if ('write' in step) res.write(step.write);
    else if ('echoHeader' in step) res.write(String(requestHeaders[step.echoHeader.toLowerCase()] ?? ''));
    else if ('delayMs' in step) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    else if ('until' in step) await step.until;
    else return; // hang: keep the connection open until the client leaves
  }
  markOver();
  res.end();
}

// ---------------------------------------------------------------------------
// Building scripted responses in the chat-completions streaming format.

let chunkCounter = 0;

export function sse(payload: unknown): Step {
  return { write: `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n` };
}

export const DONE: Step = { write: 'data: [DONE]\n\n' };

export function chunk(delta: object, finishReason: string | null = null, extra: object = {}): Step {
  return sse({
    id: `chatcmpl-${++chunkCounter}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'scripted-model',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...extra,
  });
}

export function usageChunk(usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }): Step {
  return sse({ id: `chatcmpl-${++chunkCounter}`, object: 'chat.completion.chunk', created: 1_700_000_000, model: 'scripted-model', choices: [], usage });
}

export interface ReplyOptions {
  delayMs?: number;
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Text streamed piece by piece, a pause between pieces, then finish, usage and [DONE]. */
export function textReply(pieces: string[], options: ReplyOptions = {}): ScriptedResponse {
  const steps: Step[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces) {
    if (options.delayMs) steps.push({ delayMs: options.delayMs });
    steps.push(chunk({ content: piece }));
  }
  steps.push(chunk({}, options.finishReason ?? 'stop'));
  if (options.usage) steps.push(usageChunk(options.usage));
  steps.push(DONE);
  return { steps };
}

export interface ScriptedCall {
  id: string;
  name: string;
  /** The arguments JSON, split into the pieces it is streamed in. */
  args: string[];
}

/** Optional text, then tool calls whose name and arguments arrive in separate chunks (calls interleaved by index). */
export function toolCallReply(calls: ScriptedCall[], options: ReplyOptions & { text?: string[] } = {}): ScriptedResponse {
  const steps: Step[] = [chunk({ role: 'assistant', content: null })];
  for (const piece of options.text ?? []) {
    if (options.delayMs) steps.push({ delayMs: options.delayMs });
    steps.push(chunk({ content: piece }));
  }
  calls.forEach((call, index) => {
    steps.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
  });
  const longest = Math.max(0, ...calls.map((c) => c.args.length));
  for (let i = 0; i < longest; i++) {
    calls.forEach((call, index) => {
      if (i >= call.args.length) return;
      if (options.delayMs) steps.push({ delayMs: options.delayMs });
      steps.push(chunk({ tool_calls: [{ index, function: { arguments: call.args[i] } }] }));
    });
  }
  steps.push(chunk({}, options.finishReason ?? 'tool_calls'));
  if (options.usage) steps.push(usageChunk(options.usage));
  steps.push(DONE);
  return { steps };
}

/** An HTTP error with a JSON (or raw text) body, as the hosted APIs and Ollama send them. */
export function errorReply(status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse {
  return {
    status,
    headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers },
    steps: [{ write: typeof body === 'string' ? body : JSON.stringify(body) }],
  };
}

/** Some text (a pause before each piece), then silence with the connection held open: a stalled model. */
export function hangingReply(pieces: string[] = [], delayMs = 0): ScriptedResponse {
  const steps: Step[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces) {
    if (delayMs) steps.push({ delayMs });
    steps.push(chunk({ content: piece }));
  }
  steps.push({ hang: true });
  return { steps };
}
