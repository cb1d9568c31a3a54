import type { IncomingMessage } from 'node:http';
import { LAST_EVENT_ID_HEADER, LAST_EVENT_ID_QUERY } from '../protocol/resume.js';
import type { SentPosition } from '../protocol/resume.js';

/**
 * The position an HTTP subscribe request (JSON-RPC or HTTP+JSON) resumes
 * after, as sent outside its body: the Last-Event-ID header, else the
 * `lastEventId` query parameter. Empty counts as absent (an SSE client with
 * no id yet sends none). Checked where it is decoded (protocol/resume.ts).
 */
export function sentPosition(req: IncomingMessage): SentPosition | undefined {
  const header = req.headers[LAST_EVENT_ID_HEADER];
  const fromHeader = Array.isArray(header) ? header.join(', ') : header;
  if (fromHeader !== undefined && fromHeader.trim() !== '') return { value: fromHeader, source: 'Last-Event-ID' };
  const query = (req.url ?? '').split('?', 2)[1];
  if (query === undefined) return undefined;
  const value = new URLSearchParams(query).get(LAST_EVENT_ID_QUERY);
  return value === null || value.trim() === '' ? undefined : { value, source: LAST_EVENT_ID_QUERY };
}
