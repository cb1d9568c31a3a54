import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConsoleFiles } from '../../src/transport/console-files.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';

/** A GET with the path sent exactly as written (fetch would normalize `..` away). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the console is served by the service itself', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent();
  });
  after(() => agent?.dispose());

  test('the page: HTML, revalidated every time, confined to its own origin', async () => {
    const page = await rawGet(agent.url, '/console/');
    assert.equal(page.status, 200, page.body);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers.etag), /^"[\w-]+"$/);
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), csp);
    assert.equal((await rawGet(agent.url, '/console')).body, page.body, '/console without the slash is the same page');

    const again = await rawGet(agent.url, '/console/', { 'if-none-match': String(page.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  });

  test('its hashed assets: cached for a year as immutable, with ETags; nothing outside the origin is named', async () => {
    const page = await rawGet(agent.url, '/console/');
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => !u.startsWith('data:'));
    assert.equal(assets.length, 2, page.body);
    for (const asset of assets) {
      assert.match(asset, /^\/console\/assets\/main-[A-Z0-9]+\.(js|css)$/);
      const res = await rawGet(agent.url, asset);
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal((await rawGet(agent.url, asset, { 'if-none-match': `"other", ${String(res.headers.etag)}` })).status, 304);
      // No URL of another origin anywhere in the bundle or stylesheet (the Preact source names none).
      assert.doesNotMatch(res.body, /https?:\/\/(?!www\.w3\.org\/)/, `${asset} names an outside URL`);
    }
    const head = await rawGet(agent.url, assets[0]!, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('hostile or wrong requests: unknown files, paths climbing out, other methods', async () => {
    for (const path of ['/console/assets/nope.js', '/console/../package.json', '/console/%2e%2e/package.json', '/console/assets/../../src/agent.ts', '/consolex']) {
      const res = await rawGet(agent.url, path);
      assert.equal(res.status, 404, `${path}: ${res.body}`);
    }
    const post = await rawGet(agent.url, '/console/', {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('CONSOLE=false: no console', async () => {
    const off = await startTestAgent({ CONSOLE: 'false' });
    try {
      const res = await rawGet(off.url, '/console/');
      assert.equal(res.status, 404);
      assert.match(res.body, /no route for GET \/console\//);
    } finally {
      await off.dispose();
    }
  });

  test('with authentication on, the static page loads but every call it makes is refused without a credential', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kagent-console-auth-'));
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'operator'), 'k'.repeat(40));
    const guarded = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys') });
    try {
      assert.equal((await rawGet(guarded.url, '/console/')).status, 200);
      assert.equal((await rawGet(guarded.url, '/peers')).status, 401);
      const call = await fetch(guarded.url, { method: 'POST', headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }) });
      assert.equal(call.status, 401);
      await call.arrayBuffer();
    } finally {
      await guarded.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('ConsoleFiles', () => {
  test('a directory without index.html is no console (not built)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-console-empty-'));
    try {
      assert.equal(ConsoleFiles.load(dir), undefined);
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'assets', 'main-X.js'), '');
      assert.equal(ConsoleFiles.load(dir), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
