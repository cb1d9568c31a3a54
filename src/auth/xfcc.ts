/** One element of an `x-forwarded-client-cert` header: its key/value pairs (keys lower-cased). */
export type XfccElement = ReadonlyMap<string, string>;

/**
 * Parses Envoy's `x-forwarded-client-cert` header: elements separated by
 * commas, each a list of `Key=Value` pairs separated by semicolons; a value
 * may be double-quoted, with `\"` inside. One linear pass; separators inside
 * quotes are data. Keys repeat in the wild (several `URI=` or `DNS=`): the
 * first one wins. A header whose last quote is never closed is malformed: it
 * yields no element at all.
 */
export function parseXfcc(header: string): XfccElement[] {
  const elements: XfccElement[] = [];
  let pairs = new Map<string, string>();
  let key = '';
  let value = '';
  let inKey = true;
  let quoted = false;
  const endPair = () => {
    const name = key.trim().toLowerCase();
    if (name !== '' && !pairs.has(name)) pairs.set(name, value.trim());
    key = '';
    value = '';
    inKey = true;
  };
  for (let i = 0; i < header.length; i++) {
    const c = header[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < header.length) value += header[++i];
      else if (c === '"') quoted = false;
      else value += c;
      continue;
    }
    if (c === '"' && !inKey) quoted = true;
    else if (c === '=' && inKey) inKey = false;
    else if (c === ';') endPair();
    else if (c === ',') {
      endPair();
      if (pairs.size > 0) elements.push(pairs);
      pairs = new Map();
    } else if (inKey) key += c;
    else value += c;
  }
  // A quote left open swallows everything after it, the proxy's own element included: a client
  // that ends its header that way would have the proxy's words read as part of its own value.
  if (quoted) return [];
  endPair();
  if (pairs.size > 0) elements.push(pairs);
  return elements;
}

/**
 * The client identity of the last element: the one the proxy next to this
 * service added about the peer that connected to it. Its `URI=` (the SPIFFE
 * id, e.g. spiffe://cluster.local/ns/vapora/sa/orchestrator), else its
 * `Subject=` (the certificate's distinguished name). `By=` is this service's
 * own identity and never names the caller.
 */
export function xfccIdentity(header: string): string | undefined {
  const last = parseXfcc(header).at(-1);
  const identity = last?.get('uri') || last?.get('subject');
  return identity === undefined || identity === '' ? undefined : identity;
}
