import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { withFields } from '../model/with-fields.js';

/**
 * Ends a response with a JSON text body of known length. With the length set
 * node:http sends the status line, the headers and the body in one write;
 * without it, a response whose headers were given to `writeHead` goes out
 * chunked: four buffers in a `writev`, and more for the client to parse.
 */
export function sendJsonText(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string): void {
  res.writeHead(status, withFields(headers, { 'content-length': Buffer.byteLength(body) })).end(body);
}
