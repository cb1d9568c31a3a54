import { isIP } from 'node:net';
import type { RequestFacts } from './authenticator.js';
import type { TrustedNetworks } from './trusted-proxy.js';

const FORWARDED_FOR = 'x-forwarded-for';
/** More hops than any real chain of proxies: a longer header is not walked further. */
const MAX_HOPS = 32;

/**
 * The address a request came from. It is the TCP peer, unless the peer is a
 * proxy in AUTH_TRUSTED_PROXIES: then X-Forwarded-For is walked from its right
 * end (the entry the nearest proxy appended) past every trusted proxy, and
 * the first address that is not one is the client. Entries left of that were
 * written by the client and are never believed; an entry that is not an
 * address stops the walk at the last proxy that vouched.
 */
export function clientAddress(request: RequestFacts, trusted: TrustedNetworks): string | undefined {
  let address = request.remoteAddress;
  if (!trusted.contains(address)) return address;
  const hops = (request.headersDistinct[FORWARDED_FOR] ?? []).flatMap((value) => value.split(',')).map((entry) => entry.trim());
  for (let i = hops.length - 1; i >= 0 && i >= hops.length - MAX_HOPS; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted.contains(hop)) return hop;
  }
  return address;
}

/**
 * The key a client address is counted under: an IPv4 address as is (also
 * when IPv4-mapped), an IPv6 address by its /64 — one host is commonly given
 * a whole /64, and counting each of its addresses apart would let it pick a
 * fresh bucket per request.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups === undefined ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros; undefined if it is not one. */
function expandIpv6(address: string): string[] | undefined {
  let text = address.split('%', 1)[0]!.toLowerCase();
  // An embedded IPv4 tail (::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => parseInt(group, 16).toString(16));
}
