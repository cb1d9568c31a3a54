import { encodePageToken } from '../model/page-token.js';

// Both stores read one row more than a page holds: whether it came back tells
// whether another page follows, without counting.

/** The leading candidates whose sizes add up to at most `maxBytes`, and always the first; no bound without a budget. */
export function takeWithin<T>(candidates: Iterable<T>, maxBytes: number | undefined, sizeOf: (candidate: T) => number): T[] {
  const taken: T[] = [];
  let bytes = 0;
  // Consumed one at a time, so a lazy sequence is read no further than the first that does not fit.
  for (const candidate of candidates) {
    if (maxBytes === undefined) {
      taken.push(candidate);
      continue;
    }
    const size = sizeOf(candidate);
    if (taken.length > 0 && bytes + size > maxBytes) break;
    bytes += size;
    taken.push(candidate);
  }
  return taken;
}

/**
 * The token of the page after the first `taken` of `fetched` (the rows a page
 * query returned, newest first): empty when nothing follows them.
 */
export function nextPageToken(fetched: readonly { updated_at: number; id: string }[], taken: number): string {
  if (taken === 0 || fetched.length <= taken) return '';
  const last = fetched[taken - 1]!;
  return encodePageToken({ updatedAt: last.updated_at, id: last.id });
}
