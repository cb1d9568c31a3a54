import type { ServerResponse } from 'node:http';
import type { TaskStream } from '../core/task-stream.js';
import { streamItemWithHistoryLimit } from '../model/history.js';
import { isLast } from '../model/lifecycle.js';
import type { StreamItem } from '../model/model.js';
import type { Metrics } from '../observability/metrics.js';
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
        res.end(encodeSseEvent(options.frame(item), { id: version }));
        break;
      }
      if (!res.write(encodeSseEvent(options.frame(item), { id: version }))) {
        await Promise.race([new Promise((resolve) => res.once('drain', resolve)), ended]);
      }
    }
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClientGone);
    if (stream.endReason === 'overflow') {
      options.onOverflow();
      res.destroy();
    } else if (stream.endReason !== 'failed' && !res.destroyed && !res.writableEnded) {
      // A failed stream's error is thrown on to the binding, which ends the response with it as the last event.
      res.end();
    }
  }
}

/**
 * Answers with a dispatcher's stream, counted as an open subscriber while it
 * lasts; `frame` encodes an event in the binding's and version's shape, its
 * task's history already cut to what the caller asked for.
 */
export async function writeStreamAnswer(
  res: ServerResponse,
  answer: { stream: TaskStream; historyLength?: number },
  frame: (item: StreamItem) => string,
  options: { heartbeatMs: number; metrics: Metrics },
): Promise<void> {
  const { metrics } = options;
  metrics.streamSubscribers.inc();
  try {
    await writeSse(res, answer.stream, {
      heartbeatMs: options.heartbeatMs,
      frame: (item) => frame(streamItemWithHistoryLimit(item, answer.historyLength)),
      onOverflow: () => metrics.streamsCut.inc(),
    });
  } finally {
    metrics.streamSubscribers.dec();
  }
}
