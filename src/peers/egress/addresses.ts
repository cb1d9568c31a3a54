import { isIPv4, isIPv6 } from 'node:net';

// IP addresses as numbers, address ranges, and the table of ranges no call
// to a URL the operator did not name may reach. IPv6 forms that carry an IPv4
// address (mapped, compatible, NAT64, 6to4) are judged by that IPv4 address,
// so `::ffff:127.0.0.1` is loopback like 127.0.0.1.

/** Why an address (or URL) is refused; a short, fixed set: it labels a metric. */
export type RefusalReason =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'metadata'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'scheme';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'loopback',
  'private',
  'link-local',
  'cgnat',
  'metadata',
  'unique-local',
  'unspecified',
  'multicast',
  'broadcast',
  'reserved',
  'scheme',
];

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  /** The network, host bits cleared. */
  network: bigint;
  bits: number;
}

const V4_MAX_BITS = 32;
const V6_MAX_BITS = 128;

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(text: string): bigint {
  let body = text.split('%')[0]!;
  // A dotted IPv4 tail stands for the last two groups.
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = body.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const front = groups(head);
  const back = rest === undefined ? [] : groups(rest);
  const missing = 8 - front.length - back.length;
  const all = [...front, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...back];
  return all.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** An IPv4 or IPv6 address (brackets and an IPv6 zone allowed); undefined for anything else, host names included. */
export function parseIp(text: string): Ip | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(bare)) return { family: 4, value: parseV4(bare) };
  if (isIPv6(bare)) return { family: 6, value: parseV6(bare) };
  return undefined;
}

/** `10.0.0.0/8`, `fd00::/8`; undefined when it is not a CIDR. Host bits set are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const max = ip.family === 4 ? V4_MAX_BITS : V6_MAX_BITS;
  if (bits > max) return undefined;
  return { family: ip.family, network: ip.value & mask(ip.family, bits), bits };
}

function mask(family: 4 | 6, bits: number): bigint {
  const max = BigInt(family === 4 ? V4_MAX_BITS : V6_MAX_BITS);
  const all = (1n << max) - 1n;
  return all ^ ((1n << (max - BigInt(bits))) - 1n);
}

export function inCidr(ip: Ip, cidr: Cidr): boolean {
  return ip.family === cidr.family && (ip.value & mask(cidr.family, cidr.bits)) === cidr.network;
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new TypeError(`bad built-in CIDR ${text}`);
  return parsed;
}

/** The IPv4 address an IPv6 address carries, for the forms that route to it; else the address itself. */
export function unwrap(ip: Ip): Ip {
  if (ip.family === 4) return ip;
  const low32 = ip.value & 0xffff_ffffn;
  for (const prefix of EMBEDDING_V4_IN_LOW_BITS) if (inCidr(ip, prefix)) return { family: 4, value: low32 };
  // ::a.b.c.d, the deprecated "compatible" form (:: and ::1 themselves are not IPv4).
  if (ip.value >> 32n === 0n && ip.value > 1n) return { family: 4, value: low32 };
  // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
  if (inCidr(ip, SIX_TO_FOUR)) return { family: 4, value: (ip.value >> 80n) & 0xffff_ffffn };
  return ip;
}

const EMBEDDING_V4_IN_LOW_BITS = [cidr('::ffff:0:0/96'), cidr('64:ff9b::/96'), cidr('::ffff:0:0:0/96')];
const SIX_TO_FOUR = cidr('2002::/16');

/** First match wins: the metadata addresses sit inside link-local and unique-local. */
const REFUSED: readonly [Cidr, RefusalReason][] = [
  // IPv4
  [cidr('169.254.169.254/32'), 'metadata'], // AWS, GCP, Azure, OpenStack instance metadata
  [cidr('168.63.129.16/32'), 'metadata'], // Azure's host endpoint (wire server)
  [cidr('100.100.100.200/32'), 'metadata'], // Alibaba Cloud
  [cidr('0.0.0.0/8'), 'unspecified'], // "this network": 0.0.0.0 reaches the local host
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('100.64.0.0/10'), 'cgnat'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('240.0.0.0/4'), 'reserved'],
  [cidr('192.0.0.0/24'), 'reserved'], // IETF protocol assignments
  [cidr('192.0.2.0/24'), 'reserved'], // documentation
  [cidr('198.51.100.0/24'), 'reserved'], // documentation
  [cidr('203.0.113.0/24'), 'reserved'], // documentation
  [cidr('198.18.0.0/15'), 'reserved'], // benchmarking
  // IPv6
  [cidr('fd00:ec2::254/128'), 'metadata'], // AWS instance metadata over IPv6
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'private'], // site-local, deprecated but still routed by some
  [cidr('fc00::/7'), 'unique-local'],
  [cidr('ff00::/8'), 'multicast'],
  [cidr('64:ff9b:1::/48'), 'private'], // local-use NAT64
  [cidr('100::/64'), 'reserved'], // discard-only
  [cidr('2001:db8::/32'), 'reserved'], // documentation
];

/** Why this address may not be called, or undefined when it is a public one. */
export function classify(ip: Ip): RefusalReason | undefined {
  const judged = unwrap(ip);
  for (const [range, reason] of REFUSED) if (inCidr(judged, range)) return reason;
  return undefined;
}

/** Host names that lead to a cloud's instance metadata whatever they resolve to here. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export function isMetadataHost(hostname: string): boolean {
  return METADATA_HOSTS.has(normalizeHost(hostname));
}

/** Lower case, no trailing dot, no IPv6 brackets: the spelling host names are compared in. */
export function normalizeHost(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return bare.toLowerCase().replace(/\.$/, '');
}
