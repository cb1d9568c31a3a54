import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { Dispatcher } from 'undici';
import type { Ip, RefusalReason } from './addresses.js';
import { classify, isMetadataHost, normalizeHost, parseIp } from './addresses.js';
import { AllowList } from './allowlist.js';

// The egress guard: every URL kagent-a2a calls that the operator did not
// write down (an interface a peer's card advertises, where a redirect points,
// later a push webhook) is checked before the call, and again when the socket
// connects, so a name that resolved to a public address for the check and to
// 10.0.0.1 a moment later (DNS rebinding) still reaches nothing.

/** A URL the guard would not call: its host (never the whole URL, which may hold credentials) and why. */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';

  constructor(
    /** hostname[:port] as the URL names it. */
    readonly host: string,
    readonly reason: RefusalReason,
    /** The refused address, when the host is or resolved to one. */
    readonly address: string | undefined,
    detail: string,
  ) {
    super(`egress to ${host} refused: ${detail}${reason === 'scheme' ? '' : '; EGRESS_ALLOW can admit it'}`);
    this.name = 'EgressRefusedError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** What the system's resolver says (getaddrinfo: /etc/hosts, then DNS), which is what a socket would connect to. */
export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface EgressGuardOptions {
  /** EGRESS_ALLOW's entries (or the list already parsed); throws AllowListError on a bad entry. */
  allow?: readonly string[] | AllowList;
  /** Tests stub this; default: systemResolver. */
  resolve?: Resolver;
  /** Each refusal, before it is thrown: for the metric and the log. */
  onRefused?: (error: EgressRefusedError) => void;
}

export interface GuardedFetchInit {
  method?: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface GuardedFetchOptions {
  /** Requests to this origin are not checked: it is one the operator configured. */
  trustedOrigin?: string;
  /** Default 5. */
  maxRedirects?: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that never follow a redirect to another origin. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
const DEFAULT_MAX_REDIRECTS = 5;

export class EgressGuard {
  private readonly allow: AllowList;
  private readonly resolver: Resolver;
  private agent: Agent | undefined;

  constructor(private readonly options: EgressGuardOptions = {}) {
    this.allow = options.allow instanceof AllowList ? options.allow : new AllowList(options.allow ?? []);
    this.resolver = options.resolve ?? systemResolver;
  }

  /**
   * Resolves when the URL may be called; rejects with EgressRefusedError when
   * it may not, or with the resolver's error when its host does not resolve.
   */
  async check(target: string | URL): Promise<URL> {
    const url = toUrl(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw this.refuse(url.host === '' ? url.protocol : url.host, 'scheme', undefined, `only http and https URLs are called, not ${url.protocol}`);
    }
    await this.addressesFor(url.hostname, url.host);
    return url;
  }

  /**
   * A connection pool that checks again at connect time, on the addresses the
   * socket is actually given. It follows no redirect (undici never does by
   * itself). Shared by every guarded call: do not close it, close the guard.
   */
  get dispatcher(): Dispatcher {
    this.agent ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connect: this.connector() });
    return this.agent;
  }

  /**
   * fetch() through the guard: each hop is checked (unless on the trusted
   * origin) and connected through the guarded pool; redirects are followed by
   * hand for GET only, credentials dropped when one leaves the first origin.
   * Any other method gets the 3xx as it is.
   */
  async fetch(target: string, init: GuardedFetchInit = {}, options: GuardedFetchOptions = {}): Promise<Response> {
    const trusted = options.trustedOrigin === undefined ? undefined : toUrl(options.trustedOrigin).origin;
    const method = init.method ?? 'GET';
    const first = toUrl(target);
    const max = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    let current = first;
    let headers = init.headers ?? {};
    for (let hop = 0; ; hop++) {
      const onTrusted = current.origin === trusted;
      if (!onTrusted) await this.check(current);
      const res = await undiciFetch(current, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
        redirect: 'manual',
        ...(onTrusted ? {} : { dispatcher: this.dispatcher }),
      });
      const location = res.headers.get('location');
      if (method !== 'GET' || !REDIRECT_STATUSES.has(res.status) || location === null) return res;
      await res.body?.cancel();
      if (hop >= max) throw new Error(`${first.host}: more than ${max} redirects`);
      current = toUrl(location, current);
      if (current.origin !== first.origin) headers = withoutCredentials(headers);
    }
  }

  async close(): Promise<void> {
    await this.agent?.close();
    this.agent = undefined;
  }

  /** The addresses a host may be reached at; throws when any of them is refused. */
  private async addressesFor(hostname: string, display: string): Promise<readonly ResolvedAddress[]> {
    const literal = parseIp(hostname);
    if (literal !== undefined) {
      const address = normalizeHost(hostname);
      this.judge(display, literal, address, undefined);
      return [{ address, family: literal.family }];
    }
    const metadata = isMetadataHost(hostname);
    if (this.allow.admitsHost(hostname, metadata)) return this.resolveAll(hostname);
    if (metadata) throw this.refuse(display, 'metadata', undefined, `${normalizeHost(hostname)} names a cloud metadata service`);
    const addresses = await this.resolveAll(hostname);
    // One refused address is enough: the socket may be given any of them.
    for (const { address } of addresses) {
      const ip = parseIp(address);
      if (ip === undefined) throw new Error(`${display}: the resolver answered "${address}", which is not an IP address`);
      this.judge(display, ip, address, hostname);
    }
    return addresses;
  }

  private async resolveAll(hostname: string): Promise<readonly ResolvedAddress[]> {
    const addresses = await this.resolver(normalizeHost(hostname));
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
    return addresses;
  }

  private judge(display: string, ip: Ip, address: string, resolvedFrom: string | undefined): void {
    const reason = classify(ip);
    if (reason === undefined || this.allow.admitsAddress(ip, reason)) return;
    const what = resolvedFrom === undefined ? `${address} is ${describe(reason)}` : `${resolvedFrom} resolves to ${address}, ${describe(reason)}`;
    throw this.refuse(display, reason, address, what);
  }

  private refuse(host: string, reason: RefusalReason, address: string | undefined, detail: string): EgressRefusedError {
    const error = new EgressRefusedError(host, reason, address, detail);
    this.options.onRefused?.(error);
    return error;
  }

  /** undici's connector, with the check run again on the address the socket gets. */
  private connector(): buildConnector.connector {
    const connect = buildConnector({ timeout: 10_000, lookup: (hostname, options, callback) => this.lookupForConnect(hostname, options, callback) });
    return (options, callback) => {
      // A literal address never reaches `lookup`: check it here.
      if (parseIp(options.hostname) !== undefined) {
        try {
          this.judge(options.port === '' ? options.hostname : `${options.hostname}:${options.port}`, parseIp(options.hostname)!, options.hostname, undefined);
        } catch (error) {
          return callback(error as Error, null);
        }
      }
      connect(options, callback);
    };
  }

  private lookupForConnect(
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void {
    this.addressesFor(hostname, hostname).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
        const first = usable[0];
        if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no IPv${family} address`), { code: 'ENOTFOUND' }), '');
        if (options.all === true) return callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  }
}

function describe(reason: RefusalReason): string {
  switch (reason) {
    case 'metadata':
      return 'a cloud metadata address';
    case 'cgnat':
      return 'a carrier-grade NAT (100.64.0.0/10) address';
    case 'unspecified':
      return 'the unspecified address';
    case 'scheme':
      return 'not an http(s) URL';
    default:
      return `a ${reason} address`;
  }
}

/** A URL, without echoing the input (it may carry credentials) when it is not one. */
function toUrl(target: string | URL, base?: URL): URL {
  if (target instanceof URL) return target;
  try {
    return new URL(target, base);
  } catch {
    throw new TypeError(base === undefined ? 'not an absolute URL' : `${base.host} redirected to something that is not a URL`);
  }
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase())));
}
