import type { ServerResponse } from 'node:http';
import type { StreamSink, TaskStream } from '../core/task-stream.js';
import { streamItemWithHistoryLimit } from '../model/history.js';
import { isLast } from '../model/lifecycle.js';
import type { Metrics } from '../observability/metrics.js';
import { SSE_HEADERS, SSE_HEARTBEAT } from '../protocol/sse.js';
import type { SseFramer } from './event-frames.js';

export interface SseOptions {
  heartbeatMs: number;
  /** Encodes one item, with the task version it shows, as a whole SSE event. */
  frame: SseFramer;
  onOverflow: () => void;
}

/**
 * Writes a task stream as server-sent events until it ends, the client goes
 * away, or the client reads too slowly (the stream overflows, and the
 * connection is cut). A client leaving never cancels the task.
 *
 * While the socket takes data, the writer is the stream's sink: an event is
 * written in the call that publishes it, so one event reaches every
 * subscriber's socket in one pass. When a write finds the socket's buffer
 * full, events queue in the stream (up to its capacity) until it drains.
 */
export function writeSse(res: ServerResponse, stream: TaskStream, options: SseOptions): Promise<void> {
  // Set one by one (not passed to writeHead) so that whoever ends the response later can read them back.
  for (const [name, value] of Object.entries(SSE_HEADERS)) {
    // A client that asked to close the connection after this answer is told so (by node:http), and the connection ends with the stream.
    if (name === 'connection' && !res.shouldKeepAlive) continue;
    res.setHeader(name, value);
  }
  res.writeHead(200);
  res.flushHeaders();
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(SSE_HEARTBEAT);
    }, options.heartbeatMs);
    const onClientGone = () => stream.close();

    // Each event's id is the task version it shows: a client that reconnects sends the last one back as Last-Event-ID.
    // False when the socket takes no more for now.
    const write: StreamSink = ({ item, version }) => {
      if (res.destroyed) {
        stream.close();
        return false;
      }
      const frame = options.frame(item, version);
      if (isLast(item)) {
        // The last frame and the end of the response in one write.
        res.end(frame);
        return true;
      }
      return res.write(frame);
    };
    const sink: StreamSink = (entry) => {
      if (write(entry)) return true;
      res.once('drain', pump);
      return false;
    };
    // Writes what the stream holds, then takes its events as they come. Once the stream has ended no
    // more will come, so what it still holds (at most its capacity) is written without waiting for a drain.
    function pump(): void {
      if (finished) return;
      for (let entry = stream.take(); entry !== undefined; entry = stream.take()) {
        if (!write(entry) && stream.endReason === undefined) {
          res.once('drain', pump);
          return;
        }
      }
      if (stream.endReason === undefined) stream.attach(sink);
      else finish();
    }
    function finish(): void {
      if (finished) return;
      finished = true;
      clearInterval(heartbeat);
      res.off('close', onClientGone);
      res.off('drain', pump);
      const reason = stream.endReason;
      if (reason === 'overflow') {
        options.onOverflow();
        res.destroy();
      } else if (reason !== 'failed' && !res.destroyed && !res.writableEnded) {
        res.end();
      }
      // A failed stream's error is thrown on to the binding, which ends the response with it as the last event.
      if (reason === 'failed') reject(stream.error);
      else resolve();
    }

    res.on('close', onClientGone);
    // A stream that is cut drops what it held; one that is done (or failed) has the rest written first.
    stream.onClose(() => {
      if (stream.endReason === 'done' || stream.endReason === 'failed') pump();
      else finish();
    });
    pump();
  });
}

/**
 * Answers with a dispatcher's stream, counted as an open subscriber while it
 * lasts; `frame` encodes an event in the binding's and version's shape, its
 * task's history already cut to what the caller asked for.
 */
export async function writeStreamAnswer(
  res: ServerResponse,
  answer: { stream: TaskStream; historyLength?: number },
  frame: SseFramer,
  options: { heartbeatMs: number; metrics: Metrics },
): Promise<void> {
  const { metrics } = options;
  const { historyLength } = answer;
  metrics.streamSubscribers.inc();
  try {
    await writeSse(res, answer.stream, {
      heartbeatMs: options.heartbeatMs,
      // Only a Task snapshot carries history: the events published to every stream pass through as they are, their encoding shared.
      frame: historyLength === undefined ? frame : (item, version) => frame(streamItemWithHistoryLimit(item, historyLength), version),
      onOverflow: () => metrics.streamsCut.inc(),
    });
  } finally {
    metrics.streamSubscribers.dec();
  }
}
