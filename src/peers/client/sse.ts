// A server-sent events reader (WHATWG "event stream interpretation"): lines end
// in LF, CRLF or CR, and any of them may be split across network chunks;
// `data:` lines accumulate until a blank line dispatches the event; lines that
// start with ":" are comments, which servers send as heartbeats.

export type SseItem =
  | { type: 'event'; event: string; data: string; id?: string }
  | { type: 'comment'; text: string };

export class SseParser {
  private buffer = '';
  /** The previous chunk ended in CR: an LF starting the next one belongs to it. */
  private pendingCr = false;
  private started = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private readonly decoder = new TextDecoder('utf-8');

  /** Feeds bytes (or text); returns the items completed by them. */
  push(chunk: Uint8Array | string): SseItem[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const items: SseItem[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), items);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return items;
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
