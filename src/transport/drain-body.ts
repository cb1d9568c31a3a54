import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long the rest of an unread body may take to arrive before the connection is closed. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * For a request answered before its body was read (a refusal, a 413): once
 * the answer is out, reads and drops the rest of the body, up to `limit`
 * bytes, so the answer is not overtaken by the connection reset the kernel
 * sends when a socket closes with request bytes unread. A body past the bound,
 * or one that trickles in too long, gets the connection closed instead.
 */
export function drainUnreadBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  if (req.complete) return;
  res.once('finish', () => {
    let discarded = 0;
    const timer = setTimeout(() => req.destroy(), DRAIN_TIMEOUT_MS).unref();
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limit) req.destroy();
    });
    req.once('close', () => clearTimeout(timer));
    req.resume();
  });
}
