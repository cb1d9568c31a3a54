import { ConfigError } from '../config/load.js';
import { withoutTrailingSlashes } from '../model/text.js';
import type { TrustedCardKey } from '../peers/client/card-signature.js';
import { keyFromFile, keysFromUrl } from './jwt.js';

export interface PeerCardKeyOptions {
  /** Least time between two fetches of one JWKS URL. */
  cooldownMs: number;
  /** Age after which a fetched key set is refreshed in the background. */
  maxAgeMs: number;
  onFetchError?: (url: string, error: unknown) => void;
}

/**
 * The keys peers' cards must be signed with, from A2A_PEER_CARD_KEYS: entries
 * `<peer base URL>=<JWKS URL | key file>`. A key file holds a PEM public key,
 * a JWK or a JWK set; a JWKS URL is fetched (it is the operator's, like the
 * peer URL) and cached like the token issuer's. A peer not listed needs no
 * signature.
 */
export class PeerCardKeys {
  private constructor(private readonly keys: ReadonlyMap<string, TrustedCardKey>) {}

  static parse(entries: readonly string[], options: PeerCardKeyOptions, setting = 'A2A_PEER_CARD_KEYS'): PeerCardKeys {
    const keys = new Map<string, TrustedCardKey>();
    for (const entry of entries) {
      const split = entry.indexOf('=');
      const peer = split < 0 ? '' : withoutTrailingSlashes(entry.slice(0, split));
      const source = split < 0 ? '' : entry.slice(split + 1);
      if (!isHttpUrl(peer) || source === '') {
        throw new ConfigError(setting, 'settings', `"${entry}" is not <peer base URL>=<JWKS URL or key file> (e.g. http://peer:8080=/etc/kagent/peer-keys/peer.jwk)`);
      }
      if (keys.has(peer)) throw new ConfigError(setting, 'settings', `${peer} is given a key twice`);
      if (isHttpUrl(source)) {
        const jwks = keysFromUrl(source, { cooldownMs: options.cooldownMs, maxAgeMs: options.maxAgeMs, onFetchError: (error) => options.onFetchError?.(source, error) });
        keys.set(peer, jwks.getKey);
      } else {
        keys.set(peer, keyFromFile(source, setting) as TrustedCardKey);
      }
    }
    return new PeerCardKeys(keys);
  }

  /** The key the card of the peer configured at `url` must be signed with; undefined when none is configured. */
  keyFor(url: string): TrustedCardKey | undefined {
    return this.keys.get(withoutTrailingSlashes(url));
  }
}

function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text) && URL.canParse(text);
}
