// A minimal HTTP/1.1 client for SSE streams, for the stream benchmark: one raw
// TCP socket per stream, and nothing done per network read but keeping the bytes
// and their arrival time. The response (status line, headers, chunked or
// close-delimited body, SSE frames) is parsed only after the run, so that a
// client holding 1,000 streams records arrival times without delaying them.
// node:http would run its parser, a stream machinery and several events per
// read: with every stream's read landing in the same instant, that work queued
// in the client is what an http.request client measures, not the server.
import net from 'node:net';

const CHUNKED_END = Buffer.from('0\r\n\r\n');
const DATA = Buffer.from('data:');

/**
 * Sends one POST and keeps what comes back. `opened` resolves at the first
 * `data:` line (the stream's first event) and rejects if the connection fails
 * first; `ended` resolves when the response ends (a chunked body's last chunk,
 * or the server closing the connection), or when the socket fails.
 */
export function openRawStream({ host, port, path, headers, body }) {
  const reads = [];
  const times = [];
  const state = { opened: false, closed: false, error: undefined };
  let resolveOpened;
  let rejectOpened;
  const opened = new Promise((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  opened.catch(() => {});
  let resolveEnded;
  const ended = new Promise((resolve) => (resolveEnded = resolve));
  const end = () => {
    if (state.closed) return;
    state.closed = true;
    if (!state.opened) rejectOpened(new Error(state.error ?? 'the stream ended before its first event'));
    resolveEnded();
  };
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  const head = [`POST ${path} HTTP/1.1`, `Host: ${host}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', ''];
  socket.write(head.join('\r\n') + body);
  let tail = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    times.push(Date.now());
    reads.push(chunk);
    if (!state.opened && chunk.includes(DATA)) {
      state.opened = true;
      resolveOpened();
    }
    // The last chunk of a chunked body, possibly split over two reads (an SSE frame's data ends in a blank line, never in "0\r\n").
    const last = chunk.length >= CHUNKED_END.length ? chunk.subarray(chunk.length - CHUNKED_END.length) : Buffer.concat([tail, chunk]).subarray(-CHUNKED_END.length);
    if (last.equals(CHUNKED_END)) end();
    tail = last;
  });
  socket.on('end', end);
  socket.on('close', end);
  socket.on('error', (error) => {
    state.error ??= String(error?.code ?? error?.message ?? error);
    end();
  });
  return { opened, ended, state, close: () => socket.destroy(), reads, times };
}

/**
 * The response a stream received, parsed: status, content type, and its SSE
 * frames in order, each an event's data (`data`) or a comment (`comment`) with
 * the time the read that completed it arrived (`receivedAt`, ms since the epoch).
 */
export function parseRawStream({ reads, times }) {
  const raw = Buffer.concat(reads).toString('latin1');
  // Where each read ends in `raw`: a frame's arrival is that of the read holding its last byte.
  const readEnds = [];
  let offset = 0;
  for (const r of reads) readEnds.push((offset += r.length));
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1) return { status: undefined, contentType: '', frames: [], text: raw };
  const headLines = raw.slice(0, headEnd).split('\r\n');
  const status = Number(headLines[0].split(' ')[1]);
  const header = (name) => headLines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
  const chunked = header('transfer-encoding').toLowerCase().includes('chunked');
  // The body as pieces of `raw`: [start, end) ranges, in order.
  const pieces = [];
  let at = headEnd + 4;
  if (!chunked) pieces.push([at, raw.length]);
  else {
    for (;;) {
      const lineEnd = raw.indexOf('\r\n', at);
      if (lineEnd === -1) break;
      const size = Number.parseInt(raw.slice(at, lineEnd), 16);
      if (!Number.isFinite(size) || size === 0) break;
      const start = lineEnd + 2;
      if (start + size > raw.length) {
        pieces.push([start, raw.length]);
        break;
      }
      pieces.push([start, start + size]);
      at = start + size + 2;
    }
  }
  const body = pieces.map(([s, e]) => raw.slice(s, e)).join('');
  // Maps an offset in `body` to the time its byte arrived.
  let piece = 0;
  let pieceStart = 0;
  let read = 0;
  const arrival = (bodyOffset) => {
    while (piece < pieces.length - 1 && bodyOffset >= pieceStart + (pieces[piece][1] - pieces[piece][0])) {
      pieceStart += pieces[piece][1] - pieces[piece][0];
      piece++;
    }
    const rawOffset = pieces[piece][0] + (bodyOffset - pieceStart);
    while (read < readEnds.length - 1 && rawOffset >= readEnds[read]) read++;
    return times[read];
  };
  const frames = [];
  let start = 0;
  for (let cut = body.indexOf('\n\n'); cut !== -1; cut = body.indexOf('\n\n', start)) {
    const frame = body.slice(start, cut);
    const receivedAt = arrival(cut + 1);
    start = cut + 2;
    const lines = frame.split('\n');
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
    if (data.length > 0) frames.push({ data: Buffer.from(data.join('\n'), 'latin1').toString('utf8'), receivedAt });
    else if (lines.some((l) => l.startsWith(':'))) frames.push({ comment: true, receivedAt });
  }
  return { status, contentType: header('content-type'), frames, text: raw.slice(0, 300) };
}
