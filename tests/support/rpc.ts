// Raw HTTP helpers for tests: JSON-RPC calls and SSE streams over real sockets,
// without any A2A client library in between.
import { PATIENCE_MS } from './patience.js';
import { readAll, within } from './wait.js';

export interface RpcResponse {
  status: number;
  headers: Headers;
  body: { jsonrpc?: string; id?: unknown; result?: any; error?: { code: number; message: string; data?: any } };
}

let nextId = 1;

export async function rpc(
  url: string,
  method: string,
  params?: unknown,
  headers: Record<string, string> = { 'A2A-Version': '1.0' },
): Promise<RpcResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, ...(params === undefined ? {} : { params }) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RpcResponse['body'] };
}

export async function postRaw(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The JSON-RPC id of the call, which every event repeats. */
  id: string | number;
  /** Parsed `data:` payloads, in order, until the server closes the stream. */
  events(): AsyncGenerator<any>;
  /** Comment lines (heartbeats) seen so far. */
  comments: string[];
  /** The SSE `id:` of each event yielded so far, in order (undefined for an event without one). */
  ids: (string | undefined)[];
  close(): void;
}

/** Opens a streaming JSON-RPC call and reads its server-sent events. */
export async function openStream(
  url: string,
  method: string,
  params: unknown,
  headers: Record<string, string> = { 'A2A-Version': '1.0' },
  id: string | number = nextId++,
): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    signal: controller.signal,
  });
  const comments: string[] = [];
  const ids: (string | undefined)[] = [];
  async function* events(): AsyncGenerator<any> {
    if (res.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          let id: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) {
              ids.push(id);
              yield JSON.parse(line.slice(6));
            } else if (line.startsWith(':')) comments.push(line);
          }
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  }
  return { status: res.status, headers: res.headers, id, events, comments, ids, close: () => controller.abort() };
}

/** Collects every event of a stream until it closes; fails (and drops the connection) if it has not closed within `timeoutMs`. */
export async function collect(stream: SseStream, timeoutMs = PATIENCE_MS): Promise<any[]> {
  try {
    return await readAll(stream.events(), `stream ${stream.id} to close`, timeoutMs);
  } catch (error) {
    stream.close();
    throw error;
  }
}

/**
 * A stream read a step at a time: the first events before the test moves the
 * task on, then the rest to the end. Both are bounded like `collect`.
 */
export function stepwise(stream: SseStream): { next(): Promise<any>; rest(timeoutMs?: number): Promise<any[]> } {
  const iterator = stream.events();
  return {
    async next() {
      const item = await within(PATIENCE_MS, `the next event of stream ${stream.id}`, iterator.next()).catch((error: unknown) => {
        stream.close();
        throw error;
      });
      if (item.done === true) throw new Error(`stream ${stream.id} ended early`);
      return item.value;
    },
    rest: (timeoutMs = PATIENCE_MS) => collect({ ...stream, events: () => iterator }, timeoutMs),
  };
}

export function textMessage(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `m-${Math.random().toString(36).slice(2)}`, parts: [{ text }], ...extra };
}
