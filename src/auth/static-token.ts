import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { MIN_KEY_LENGTH } from './api-keys.js';

/** One bearer token read from a mounted file (e.g. the one Prometheus scrapes /metrics with); only its digest is kept. */
export class StaticToken {
  private constructor(private readonly digest: Buffer) {}

  static fromFile(path: string, setting: string): StaticToken {
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(setting, path, error instanceof Error ? error.message : String(error));
    }
    if (token.length < MIN_KEY_LENGTH) throw new ConfigError(setting, path, `the token must be at least ${MIN_KEY_LENGTH} characters`);
    return new StaticToken(sha256(token));
  }

  /** Whether `authorization` is `Bearer <this token>`; compared in constant time. */
  matches(authorization: string | undefined): boolean {
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization ?? '');
    return match !== null && timingSafeEqual(sha256(match[1]!), this.digest);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
