import { SecretDirectory } from '../config/secret-dir.js';
import type { SecretProblems } from '../config/secret-dir.js';

/** A host name, optionally `_<port>`: what a Secret key can spell of an origin (no ":" allowed there). */
const KEY_PATTERN = /^[A-Za-z0-9.-]{1,253}(_[0-9]{1,5})?$/;

export interface PeerCredentialEvents {
  /** A read changed which hosts have a credential (names and count only: credentials are never reported). */
  onReload?: (hosts: readonly string[]) => void;
  onProblem?: (file: string, problem: string) => void;
  onError?: (error: unknown) => void;
}

/**
 * This agent's own credentials for the agents it calls (A2A_PEER_CREDENTIALS_DIR),
 * from a directory laid out like a mounted Secret. Each file is named after the
 * host it is for — `vapora.vapora.svc.cluster.local`, or `<host>_<port>` for
 * one port only (it wins over the host-wide file) — and holds the bearer token
 * or API key sent to that host as `Authorization: Bearer <content>`.
 *
 * The credential is chosen by the host a request actually goes to, never by
 * the peer it is about: a card that advertises its interface on another host
 * gets that host's credential (or none), and a redirect is not given one.
 * The directory is watched: a rotated credential is used from the next call.
 */
export class PeerCredentials {
  private byKey: ReadonlyMap<string, string> = new Map();
  private readonly directory: SecretDirectory | undefined;

  /** Without a directory, no host has a credential. */
  constructor(dir: string | undefined, private readonly events: PeerCredentialEvents = {}, pollMs = 10_000) {
    this.directory =
      dir === undefined
        ? undefined
        : new SecretDirectory({
            setting: 'A2A_PEER_CREDENTIALS_DIR',
            dir,
            names: { pattern: KEY_PATTERN, rule: 'a host name, or <host>_<port>' },
            pollMs,
            apply: (files) => this.apply(files),
            ...(events.onProblem === undefined ? {} : { onProblem: events.onProblem }),
            ...(events.onError === undefined ? {} : { onError: events.onError }),
          });
  }

  /** Reads the directory once; one unreadable at start is a ConfigError. */
  load(): void {
    this.directory?.load();
  }

  start(): void {
    this.directory?.start();
  }

  stop(): void {
    this.directory?.stop();
  }

  /** Reads the directory now (it is also read on every change and every poll). */
  reload(): void {
    this.directory?.reload();
  }

  /** Whether a request to this URL would carry a credential. */
  has(url: string | URL): boolean {
    return this.lookup(url) !== undefined;
  }

  /** Headers that authenticate this agent to the host of `url`: empty when it has no credential for it. */
  headersFor(url: string | URL): Record<string, string> {
    const credential = this.lookup(url);
    return credential === undefined ? {} : { authorization: `Bearer ${credential}` };
  }

  /** The Secret key a credential for this URL's host would be found under (host-wide form). */
  static keyFor(url: string | URL): string | undefined {
    return origin(url)?.host;
  }

  private lookup(url: string | URL): string | undefined {
    const target = origin(url);
    if (target === undefined) return undefined;
    return this.byKey.get(`${target.host}_${target.port}`) ?? this.byKey.get(target.host);
  }

  private apply(files: ReadonlyMap<string, string>): SecretProblems {
    const read = new Map<string, string>();
    const problems: SecretProblems = new Map();
    const seen = new Map<string, string>();
    for (const [name, credential] of files) {
      // Host names are not case-sensitive; Secret keys are.
      const key = name.toLowerCase();
      const twin = seen.get(key);
      if (twin !== undefined) {
        problems.set(name, `it names the same host as "${twin}"; both are ignored`);
        problems.set(twin, `it names the same host as "${name}"; both are ignored`);
        read.delete(key);
        continue;
      }
      seen.set(key, name);
      if (credential === '') {
        problems.set(name, 'the file is empty');
        continue;
      }
      if (/[\r\n]/.test(credential)) {
        problems.set(name, 'the credential spans several lines; it must be one token');
        continue;
      }
      read.set(key, credential);
    }
    const changed = [...read.keys()].sort().join('\n') !== [...this.byKey.keys()].sort().join('\n') || [...read].some(([k, v]) => this.byKey.get(k) !== v);
    this.byKey = read;
    if (changed) this.events.onReload?.([...read.keys()]);
    return problems;
  }
}

/** Host (lower case) and port (explicit or the scheme's) of an http(s) URL. */
function origin(url: string | URL): { host: string; port: string } | undefined {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
  return { host: parsed.hostname.toLowerCase(), port };
}
