import type { IncomingMessage } from 'node:http';
import { LAST_EVENT_ID_HEADER, LAST_EVENT_ID_METADATA, LAST_EVENT_ID_QUERY, parseEventId } from '../protocol/resume.js';

/**
 * The position a subscribe request resumes after, as sent: the Last-Event-ID
 * header, else the `lastEventId` query parameter. Empty counts as absent (an
 * SSE client with no id yet sends none). Not checked here: the pod that
 * serves the request does that, and a relaying pod passes it on as the header.
 */
export function sentLastEventId(req: IncomingMessage): string | undefined {
  const header = req.headers[LAST_EVENT_ID_HEADER];
  const fromHeader = Array.isArray(header) ? header.join(', ') : header;
  if (fromHeader !== undefined && fromHeader.trim() !== '') return fromHeader;
  const query = (req.url ?? '').split('?', 2)[1];
  if (query === undefined) return undefined;
  const value = new URLSearchParams(query).get(LAST_EVENT_ID_QUERY);
  return value === null || value.trim() === '' ? undefined : value;
}

/**
 * The task version a SubscribeToTask (tasks/resubscribe) request resumes
 * after: the header, else the query parameter, else `params.metadata.lastEventId`;
 * undefined for a plain subscribe. A value that is not an id this agent could
 * have sent is an InvalidParams error naming where it came from.
 */
export function resumePosition(req: IncomingMessage, params: unknown): number | undefined {
  const sent = sentLastEventId(req);
  if (sent !== undefined) {
    const fromHeader = req.headers[LAST_EVENT_ID_HEADER] !== undefined;
    return parseEventId(sent, fromHeader ? 'Last-Event-ID' : LAST_EVENT_ID_QUERY);
  }
  const metadata = typeof params === 'object' && params !== null ? (params as Record<string, unknown>).metadata : undefined;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const value = (metadata as Record<string, unknown>)[LAST_EVENT_ID_METADATA];
  if (value === undefined || value === '') return undefined;
  return parseEventId(value, `params.metadata.${LAST_EVENT_ID_METADATA}`);
}
