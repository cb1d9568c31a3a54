import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../config/load.js';
import { xfccIdentity } from './xfcc.js';

export const XFCC_HEADER = 'x-forwarded-client-cert';
const MAX_IDENTITY_LENGTH = 512;

/** Source networks whose requests may name the caller in a header. Nothing is trusted by default, loopback included. */
export class TrustedNetworks {
  private readonly list = new BlockList();

  private constructor(readonly cidrs: readonly string[]) {}

  /** `10.0.0.0/8`, `127.0.0.1`, `::1/128`, …; a malformed entry is a ConfigError naming it. */
  static parse(entries: readonly string[], setting = 'AUTH_TRUSTED_PROXIES'): TrustedNetworks {
    const networks = new TrustedNetworks(entries);
    for (const entry of entries) {
      const [address, prefixText, extra] = entry.split('/');
      const family = isIP(address ?? '');
      if (family === 0 || extra !== undefined) throw new ConfigError(setting, 'settings', `"${entry}" is not an IP address or CIDR`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const bits = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? bits : Number(prefixText);
      if (!/^\d+$/.test(prefixText ?? String(bits)) || prefix > bits) throw new ConfigError(setting, 'settings', `"${entry}" has a prefix length outside 0..${bits}`);
      networks.list.addSubnet(address!, prefix, type);
    }
    return networks;
  }

  /** Whether the TCP peer is trusted; an IPv4-mapped IPv6 address counts as its IPv4 form. */
  contains(address: string | undefined): boolean {
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped?.[1] ?? address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The caller a trusted proxy names in `header`: the header's value as is
 * (oauth2-proxy's `x-forwarded-user`, …), or for `x-forwarded-client-cert`
 * the client identity of its last element (see xfccIdentity). Undefined when
 * the header is absent, empty, repeated or implausibly long.
 */
export function proxyIdentity(header: string, values: readonly string[] | undefined): string | undefined {
  // A repeated header is ambiguous (Node would join the copies): refuse it rather than pick one.
  if (values === undefined || values.length !== 1) return undefined;
  const value = values[0]!;
  const identity = header === XFCC_HEADER ? xfccIdentity(value) : value.trim();
  if (identity === undefined || identity === '' || identity.length > MAX_IDENTITY_LENGTH) return undefined;
  // Control characters have no place in a name that ends up in logs and the store.
  if (/[\u0000-\u001f\u007f]/.test(identity)) return undefined;
  return identity;
}
