import type { Cidr, Ip, RefusalReason } from './addresses.js';
import { inCidr, normalizeHost, parseCidr, parseIp, unwrap } from './addresses.js';

// EGRESS_ALLOW: what the operator admits although the guard would refuse it.
// An entry is a host name (`peer.internal`), a wildcard (`*.agents.internal`:
// every name under it, not the name itself), an IP address or a CIDR.

export class AllowListError extends Error {
  constructor(
    readonly entry: string,
    detail: string,
  ) {
    super(`"${entry}" ${detail}`);
    this.name = 'AllowListError';
  }
}

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

export class AllowList {
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ranges: Cidr[] = [];

  /** Throws AllowListError naming the first entry that is none of the accepted forms. */
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === '') continue;
      const ip = parseIp(entry);
      if (ip !== undefined) {
        this.ranges.push(exact(unwrap(ip)));
        continue;
      }
      if (entry.includes('/')) {
        const range = parseCidr(entry);
        if (range === undefined) throw new AllowListError(entry, 'is not a CIDR (e.g. 10.1.0.0/16 or fd00:1::/64)');
        this.ranges.push(range);
        continue;
      }
      const host = normalizeHost(entry);
      if (host.startsWith('*.')) {
        if (!HOST_NAME.test(host.slice(2))) throw new AllowListError(entry, 'is not a wildcard host name (e.g. *.agents.internal)');
        this.suffixes.push(host.slice(1));
        continue;
      }
      if (!HOST_NAME.test(host)) throw new AllowListError(entry, 'is not a host name, an IP address or a CIDR');
      this.hosts.add(host);
    }
  }

  get empty(): boolean {
    return this.hosts.size === 0 && this.suffixes.length === 0 && this.ranges.length === 0;
  }

  /**
   * The name itself is admitted: whatever it resolves to is the operator's
   * choice. A cloud metadata name only by an entry naming exactly it.
   */
  admitsHost(hostname: string, metadata = false): boolean {
    const host = normalizeHost(hostname);
    return this.hosts.has(host) || (!metadata && this.suffixes.some((suffix) => host.endsWith(suffix)));
  }

  /**
   * An address refused for `reason` is admitted by a range holding it; a
   * metadata address only by an entry naming exactly it, never by a wider
   * range someone wrote to admit a subnet.
   */
  admitsAddress(ip: Ip, reason: RefusalReason): boolean {
    const judged = unwrap(ip);
    return this.ranges.some((range) => inCidr(judged, range) && (reason !== 'metadata' || range.bits === (range.family === 4 ? 32 : 128)));
  }
}

function exact(ip: Ip): Cidr {
  return { family: ip.family, network: ip.value, bits: ip.family === 4 ? 32 : 128 };
}
