import { InvalidParamsError } from '../model/errors.js';

// Streams that resume: every SSE event of a task stream carries `id: <version>`
// (the task's event version, the same on every replica), and a client that
// reconnects names the last one it got. The names below are contracts: the
// README documents them and the agent card announces the extension.

/** The extension the agent card lists under capabilities.extensions. */
export const RESUME_EXTENSION_URI = 'https://kagent.dev/a2a/extensions/stream-resume/v1';

/** The standard SSE reconnection header (WHATWG HTML, server-sent events). */
export const LAST_EVENT_ID_HEADER = 'last-event-id';

/** The same position as a query parameter, for clients that cannot set headers (EventSource polyfills, curl one-liners). */
export const LAST_EVENT_ID_QUERY = 'lastEventId';

/** The same position in the request's params.metadata, for clients that control only the body. */
export const LAST_EVENT_ID_METADATA = 'lastEventId';

/** Versions are 32-bit in the stores: a longer id was not sent by this server. */
const EVENT_ID = /^\d{1,10}$/;
const MAX_EVENT_ID = 2 ** 31 - 1;

/**
 * A resume position as sent (`source` names where, for the error): a whole
 * number this server could have sent as an event id. Anything else is a clear
 * InvalidParams error that quotes at most the start of the value.
 */
export function parseEventId(value: unknown, source: string): number {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string') throw new InvalidParamsError(`${source} must be the id of an event this agent sent (a whole number), not ${typeof value}`, source);
  const trimmed = text.trim();
  if (!EVENT_ID.test(trimmed) || Number(trimmed) > MAX_EVENT_ID) {
    const shown = trimmed.length > 24 ? `${JSON.stringify(trimmed.slice(0, 24))}… (${trimmed.length} characters)` : JSON.stringify(trimmed);
    throw new InvalidParamsError(`${source} must be the id of an event this agent sent, a whole number from 0 to ${MAX_EVENT_ID}; got ${shown}`, source);
  }
  return Number(trimmed);
}
