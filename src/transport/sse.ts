import type { ServerResponse } from 'node:http';
import type { TaskStream } from '../core/task-stream.js';
import { isLast } from '../model/lifecycle.js';
import type { StreamItem } from '../model/model.js';
import { SSE_HEADERS, SSE_HEARTBEAT, encodeSseEvent } from '../protocol/sse.js';

export interface SseOptions {
  heartbeatMs: number;
  /** Encodes one item as the `data:` payload (already a JSON string). */
  frame: (item: StreamItem) => string;
  onOverflow: () => void;
}

/**
 * Writes a task stream as server-sent events until it ends, the client goes
 * away, or the client reads too slowly (the stream overflows, and the
 * connection is cut). A client leaving never cancels the task.
 */
export async function writeSse(res: ServerResponse, stream: TaskStream, options: SseOptions): Promise<void> {
  // Set one by one (not passed to writeHead) so that whoever ends the response later can read them back.
  for (const [name, value] of Object.entries(SSE_HEADERS)) res.setHeader(name, value);
  res.writeHead(200);
  res.flushHeaders();
  const ended = new Promise<void>((resolve) => stream.onClose(resolve));
  const onClientGone = () => stream.close();
  res.on('close', onClientGone);
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(SSE_HEARTBEAT);
  }, options.heartbeatMs);
  try {
    // Each event's id is the task version it shows: a client that reconnects sends the last one back as Last-Event-ID.
    for await (const { item, version } of stream.entries()) {
      if (res.destroyed) break;
      if (isLast(item)) {
        // The last frame and the end of the response in one write.
        res.end(encodeSseEvent(options.frame(item), version));
        break;
      }
      if (!res.write(encodeSseEvent(options.frame(item), version))) {
        await Promise.race([new Promise((resolve) => res.once('drain', resolve)), ended]);
      }
    }
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClientGone);
    if (stream.endReason === 'overflow') {
      options.onOverflow();
      res.destroy();
    } else if (!res.destroyed && !res.writableEnded) {
      res.end();
    }
  }
}
