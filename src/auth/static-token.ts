import { createHash, timingSafeEqual } from 'node:crypto';
import { MIN_KEY_LENGTH } from './api-keys.js';
import { SecretFile } from './secret-file.js';
import type { SecretFileEvents } from './secret-file.js';

/**
 * One bearer token read from a mounted file (e.g. the one Prometheus scrapes
 * /metrics with); only its digest is kept. The file is watched: a rotated
 * token replaces the old one without a restart.
 */
export class StaticToken {
  private constructor(private readonly file: SecretFile<Buffer>) {}

  /** Reads the token now (a ConfigError naming `setting` when it cannot be used); start() watches it. */
  static fromFile(path: string, setting: string, events: SecretFileEvents = {}, pollMs?: number): StaticToken {
    return new StaticToken(new SecretFile(path, setting, digestOf, events, pollMs));
  }

  /** Whether `authorization` is `Bearer <this token>`; compared in constant time. */
  matches(authorization: string | undefined): boolean {
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization ?? '');
    return match !== null && timingSafeEqual(sha256(match[1]!), this.file.current);
  }

  start(): void {
    this.file.start();
  }

  stop(): void {
    this.file.stop();
  }
}

function digestOf(token: string): Buffer {
  if (token.length < MIN_KEY_LENGTH) throw new Error(`the token must be at least ${MIN_KEY_LENGTH} characters`);
  return sha256(token);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
