import type { IncomingMessage } from 'node:http';

const NAME = 'A2A-Version';

/**
 * The A2A version a request asks for: its `A2A-Version` header or, failing
 * that, an `A2A-Version` query parameter (spec 3.6.1 lets clients send it
 * either way). Undefined when it names none; an empty value is returned as
 * such (both mean 0.3 to the caller).
 */
export function requestedVersion(req: IncomingMessage): string | undefined {
  const header = req.headers[NAME.toLowerCase()];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader !== undefined && fromHeader.trim() !== '') return fromHeader;
  const query = (req.url ?? '').split('?', 2)[1];
  if (query === undefined) return fromHeader;
  const params = new URLSearchParams(query);
  // Parameter names are matched without regard to case, as header names are.
  for (const [name, value] of params) if (name.toLowerCase() === NAME.toLowerCase()) return value;
  return fromHeader;
}
