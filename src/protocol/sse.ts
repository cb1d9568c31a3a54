// Server-sent events, the framing every A2A stream uses: how the server writes
// an event, and how a client reads them back (WHATWG "event stream
// interpretation"). Both sides live here so the writer and the readers (our A2A
// client, the assistant's model stream) agree on one format.
//
// Reading: lines end in LF, CRLF or CR, and any of them may be split across
// network chunks; `data:` lines accumulate until a blank line dispatches the
// event; lines that start with ":" are comments, which servers send as heartbeats.

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Proxies such as nginx buffer responses unless told not to.
  'x-accel-buffering': 'no',
} as const;

/** Whether a Content-Type header names an event stream. */
export function isEventStream(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('text/event-stream');
}

/** A comment line: keeps idle connections (and the proxies between) from timing out. */
export const SSE_HEARTBEAT = ': keep-alive\n\n';

/**
 * One event as written on the wire; a line break in `data` starts another
 * `data:` line, as readers expect. `id`, when given, is the event's id (a task
 * stream's: the task version), which a client sends back as Last-Event-ID.
 */
export function encodeSseEvent(data: string, id?: number): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  if (!/[\r\n]/.test(data)) return `${idLine}data: ${data}\n\n`;
  return `${idLine}${data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('')}\n`;
}

export type SseItem =
  | { type: 'event'; event: string; data: string; id?: string }
  | { type: 'comment'; text: string };

export class SseParser {
  /** The line being read: what arrived since the last line break, in pieces (joined once, when the line ends). */
  private partial: string[] = [];
  private partialLength = 0;
  /** The previous chunk ended in CR: an LF starting the next one belongs to it. */
  private pendingCr = false;
  private started = false;
  private data: string[] = [];
  private dataLength = 0;
  private event = '';
  private id: string | undefined;
  private readonly decoder = new TextDecoder('utf-8');

  /** `maxEventLength`: the longest line or event (in characters) a server may send before the stream is refused. */
  constructor(private readonly maxEventLength = 64 * 1024 * 1024) {}

  /** Feeds bytes (or text); returns the items completed by them. */
  push(chunk: Uint8Array | string): SseItem[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    // Only the new text is scanned: rescanning a long unfinished line on every chunk would cost its length squared.
    const items: SseItem[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const piece = text.slice(start, i);
      this.grow(piece.length);
      const line = this.partial.length === 0 ? piece : [...this.partial, piece].join('');
      this.partial = [];
      this.partialLength = 0;
      this.line(line, items);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    if (start < text.length) {
      this.grow(text.length - start);
      this.partial.push(text.slice(start));
      this.partialLength += text.length - start;
    }
    return items;
  }

  private grow(added: number): void {
    if (this.partialLength + added + this.dataLength > this.maxEventLength) {
      throw new Error(`the server sent an event longer than ${this.maxEventLength} characters`);
    }
  }

  /** At the end of the stream: an event not closed by a blank line is dropped, as the standard says. */
  end(): SseItem[] {
    const rest = this.decoder.decode();
    return rest.length > 0 ? this.push(rest) : [];
  }

  private line(line: string, items: SseItem[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const item: SseItem = { type: 'event', event: this.event || 'message', data: this.data.join('\n') };
        if (this.id !== undefined) item.id = this.id;
        items.push(item);
      }
      this.data = [];
      this.dataLength = 0;
      this.event = '';
      return;
    }
    if (line.startsWith(':')) {
      items.push({ type: 'comment', text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.dataLength += value.length;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      default:
        // retry and unknown fields do not concern a client that never reconnects by itself.
        break;
    }
  }
}

/** Reads a byte stream as SSE items; `onChunk` runs for every chunk received, before its items. */
export async function* readSse(body: AsyncIterable<Uint8Array | string>, onChunk: () => void = () => {}): AsyncGenerator<SseItem> {
  const parser = new SseParser();
  for await (const chunk of body) {
    onChunk();
    yield* parser.push(chunk);
  }
  yield* parser.end();
}
