import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` writes the console (dist/console), seen from dist/src/transport. */
export const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/** The path prefix the console is served under. */
export const CONSOLE_PATH = '/console';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * The page may talk to its own origin only: scripts, styles and every fetch
 * stay on the service, so an air-gapped cluster loses nothing and an injected
 * URL has nowhere to send what the page holds (the caller's credential).
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface ConsoleFile {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Hashed names never change content: cached for a year; the page itself is revalidated each time. */
  cacheControl: string;
}

/**
 * The console's built files, read once at start and served from memory with
 * strong ETags. The page (index.html) is the only entry; everything it loads
 * sits under assets/ with a content hash in its name.
 */
export class ConsoleFiles {
  private constructor(private readonly files: ReadonlyMap<string, ConsoleFile>) {}

  /** The files of a built console, or undefined when the directory holds no index.html (not built). */
  static load(dir: string = BUILT_CONSOLE_DIR): ConsoleFiles | undefined {
    if (!existsSync(join(dir, 'index.html'))) return undefined;
    const files = new Map<string, ConsoleFile>();
    for (const path of walk(dir)) {
      const name = relative(dir, path).split(sep).join('/');
      const body = readFileSync(path);
      const hashed = name.startsWith('assets/');
      files.set(name, {
        body,
        contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        cacheControl: hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    return new ConsoleFiles(files);
  }

  /** Answers a request whose path starts with /console. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'use GET, HEAD' }));
      return;
    }
    const name = path === CONSOLE_PATH || path === `${CONSOLE_PATH}/` ? 'index.html' : path.slice(CONSOLE_PATH.length + 1);
    const file = this.files.get(name);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `the console has no file ${path}` }));
      return;
    }
    const headers = {
      'content-type': file.contentType,
      'cache-control': file.cacheControl,
      etag: file.etag,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag || tag.trim() === '*')) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(file.body.length) }).end(req.method === 'HEAD' ? undefined : file.body);
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Whether a request path belongs to the console. */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}
