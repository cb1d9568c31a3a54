// The egress guard on its own. Host names resolve through a stubbed resolver,
// so nothing here depends on DNS; the only sockets ever opened go to loopback
// listeners of the test, and the tests that must not connect assert that those
// listeners saw no connection at all.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { AllowListError, EgressGuard, EgressRefusedError } from '../../src/peers/egress/index.js';
import type { EgressGuardOptions, ResolvedAddress, Resolver } from '../../src/peers/egress/index.js';

const PUBLIC_V4 = '93.184.216.34';
const PUBLIC_V6 = '2606:2800:220:1:248:1893:25c8:1946';

/** A resolver that knows only the names a test gives it, and records what it was asked. */
function stubResolver(names: Record<string, string[] | (() => string[])>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    asked.push(hostname);
    const entry = names[hostname];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const addresses = typeof entry === 'function' ? entry() : entry;
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

function guard(names: Record<string, string[] | (() => string[])> = {}, options: Omit<EgressGuardOptions, 'resolve'> = {}): EgressGuard {
  return new EgressGuard({ ...options, resolve: stubResolver(names) });
}

async function refusal(promise: Promise<unknown>): Promise<EgressRefusedError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EgressRefusedError, `expected EgressRefusedError, got ${String(error)}`);
    return error;
  }
  assert.fail('the URL was admitted');
}

describe('the egress guard refuses internal addresses', () => {
  const cases: [string, string][] = [
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.5.6.7:8080/a2a', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://10.0.0.1/', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'cgnat'],
    ['http://169.254.10.10/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd00::1]/', 'unique-local'],
    ['http://[fc00::5]/', 'unique-local'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    // IPv6 forms carrying an IPv4 address are judged by it.
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[::127.0.0.1]/', 'loopback'],
    ['http://[64:ff9b::a00:1]/', 'private'],
    ['http://[2002:7f00:1::]/', 'loopback'],
    // Decimal, hexadecimal, octal and short IPv4 literals, as the URL parser normalises them.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['ftp://example.com/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
  ];
  for (const [url, reason] of cases) {
    test(`${url} → ${reason}`, async () => {
      const resolve = stubResolver({});
      const error = await refusal(new EgressGuard({ resolve }).check(url));
      assert.equal(error.reason, reason);
      assert.deepEqual(resolve.asked, [], 'an address literal is never looked up');
    });
  }

  test('a host name resolving to loopback is refused, and the error names the host, the address and the reason', async () => {
    const error = await refusal(guard({ 'sneaky.example': ['127.0.0.1'] }).check('http://sneaky.example:8080/a2a'));
    assert.equal(error.reason, 'loopback');
    assert.equal(error.host, 'sneaky.example:8080');
    assert.equal(error.address, '127.0.0.1');
    assert.match(error.message, /sneaky\.example:8080/);
    assert.match(error.message, /resolves to 127\.0\.0\.1, a loopback address/);
    assert.match(error.message, /EGRESS_ALLOW/);
  });

  test('a host name resolving to one public and one private address is refused', async () => {
    const error = await refusal(guard({ 'mixed.example': [PUBLIC_V4, '10.1.2.3'] }).check('https://mixed.example/'));
    assert.equal(error.reason, 'private');
    assert.equal(error.address, '10.1.2.3');
  });

  test('a host name resolving to an IPv4-mapped loopback address is refused', async () => {
    const error = await refusal(guard({ 'mapped.example': [PUBLIC_V6, '::ffff:127.0.0.1'] }).check('http://mapped.example/'));
    assert.equal(error.reason, 'loopback');
  });

  test('cloud metadata names are refused without asking the resolver', async () => {
    const resolve = stubResolver({ 'metadata.google.internal': [PUBLIC_V4] });
    for (const url of ['http://metadata.google.internal/computeMetadata/v1/', 'http://METADATA.google.internal./']) {
      const error = await refusal(new EgressGuard({ resolve }).check(url));
      assert.equal(error.reason, 'metadata');
    }
    assert.deepEqual(resolve.asked, []);
  });

  test('the error never repeats credentials or the query of the URL', async () => {
    const error = await refusal(guard().check('http://admin:s3cret@127.0.0.1:9/x?token=abc'));
    assert.equal(error.host, '127.0.0.1:9');
    assert.doesNotMatch(error.message, /s3cret|admin|token|abc/);
  });

  test('each refusal is reported once, with its reason', async () => {
    const seen: string[] = [];
    const g = guard({}, { onRefused: (error) => seen.push(error.reason) });
    await refusal(g.check('http://169.254.169.254/'));
    await refusal(g.check('http://10.9.9.9/'));
    assert.deepEqual(seen, ['metadata', 'private']);
  });

  test('a name that does not resolve fails with the resolver error, not as a refusal', async () => {
    const seen: string[] = [];
    await assert.rejects(guard({}, { onRefused: (error) => seen.push(error.reason) }).check('http://nowhere.example/'), (error: Error) => {
      assert.ok(!(error instanceof EgressRefusedError));
      assert.match(error.message, /ENOTFOUND/);
      return true;
    });
    assert.deepEqual(seen, []);
  });
});

describe('the egress guard admits public addresses', () => {
  test('a host name resolving only to public addresses (IPv4 and IPv6)', async () => {
    const url = await guard({ 'agent.example': [PUBLIC_V4, PUBLIC_V6] }).check('https://agent.example/a2a');
    assert.equal(url.hostname, 'agent.example');
  });

  test('public address literals', async () => {
    await guard().check(`http://${PUBLIC_V4}/`);
    await guard().check(`http://[${PUBLIC_V6}]:8443/`);
    await guard().check('http://172.32.0.1/');
    await guard().check('http://100.128.0.1/');
  });
});

describe('EGRESS_ALLOW', () => {
  test('a host name admits that name whatever it resolves to, and nothing else', async () => {
    const g = guard({ 'peer.internal': ['10.0.0.7'], 'other.internal': ['10.0.0.8'] }, { allow: ['Peer.Internal'] });
    await g.check('http://peer.internal:8080/');
    assert.equal((await refusal(g.check('http://other.internal/'))).reason, 'private');
    assert.equal((await refusal(g.check('http://10.0.0.7/'))).reason, 'private', 'the name is admitted, not its address');
  });

  test('a wildcard admits the names under it, not the name itself', async () => {
    const g = guard({ 'a.agents.internal': ['10.0.0.7'], 'agents.internal': ['10.0.0.8'] }, { allow: ['*.agents.internal'] });
    await g.check('http://a.agents.internal/');
    await refusal(g.check('http://agents.internal/'));
  });

  test('a CIDR admits addresses in it, literal or resolved', async () => {
    const g = guard({ 'svc.cluster.local': ['10.20.3.4'], 'far.cluster.local': ['10.21.0.1'] }, { allow: ['10.20.0.0/16', 'fd00:1::/64'] });
    await g.check('http://10.20.0.1/');
    await g.check('http://svc.cluster.local/');
    await g.check('http://[fd00:1::9]/');
    assert.equal((await refusal(g.check('http://far.cluster.local/'))).address, '10.21.0.1');
    await refusal(g.check('http://[fd00:2::9]/'));
  });

  test('an address admits its IPv4-mapped form too', async () => {
    const g = guard({}, { allow: ['127.0.0.1', '::1'] });
    await g.check('http://127.0.0.1:8080/');
    await g.check('http://[::ffff:127.0.0.1]/');
    await g.check('http://[::1]/');
    await refusal(g.check('http://127.0.0.2/'));
  });

  test('a metadata address is admitted only when named exactly, never by a wider range', async () => {
    const wide = guard({}, { allow: ['169.254.0.0/16', '*.google.internal'] });
    await wide.check('http://169.254.1.1/');
    assert.equal((await refusal(wide.check('http://169.254.169.254/'))).reason, 'metadata');
    assert.equal((await refusal(wide.check('http://metadata.google.internal/'))).reason, 'metadata');
    await guard({}, { allow: ['169.254.169.254'] }).check('http://169.254.169.254/');
    await guard({ 'metadata.google.internal': ['169.254.169.254'] }, { allow: ['metadata.google.internal'] }).check('http://metadata.google.internal/');
  });

  test('a bad entry is refused, naming it', () => {
    for (const entry of ['http://peer.internal', '10.0.0.0/33', '10.0.0.0/x', 'has space', '*.', 'under_score!']) {
      assert.throws(
        () => new EgressGuard({ allow: [entry] }),
        (error: Error) => error instanceof AllowListError && error.message.includes(`"${entry}"`),
        entry,
      );
    }
  });
});

// ---- connections: loopback listeners only ---------------------------------------

interface Listener {
  url: string;
  port: number;
  /** TCP connections accepted. */
  connections: number;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

const listeners: Listener[] = [];
after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

async function listen(answer: (path: string, listener: Listener) => { status: number; headers?: Record<string, string>; body?: string }): Promise<Listener> {
  let server: Server;
  const listener: Listener = {
    url: '',
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server = createServer((req, res) => {
    listener.requests.push({ path: req.url ?? '/', headers: req.headers });
    const { status, headers = {}, body = '' } = answer(req.url ?? '/', listener);
    res.writeHead(status, headers).end(body);
  });
  server.on('connection', () => listener.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listener.port = (server.address() as AddressInfo).port;
  listener.url = `http://127.0.0.1:${listener.port}`;
  listeners.push(listener);
  return listener;
}

const ok = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });

/** The EgressRefusedError a failed fetch or request carries, as itself or as its cause. */
function refusedCause(error: unknown): EgressRefusedError | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof EgressRefusedError) return e;
  return undefined;
}

describe('the guarded connection pool checks again at connect time', () => {
  test('a name that resolved to a public address for the check and to loopback at connect (DNS rebinding) reaches nothing', async () => {
    const target = await listen(ok);
    let lookups = 0;
    const resolve = stubResolver({ 'rebind.example': () => (++lookups === 1 ? [PUBLIC_V4] : ['127.0.0.1']) });
    const seen: string[] = [];
    const g = new EgressGuard({ resolve, onRefused: (error) => seen.push(error.reason) });
    try {
      await assert.rejects(g.fetch(`http://rebind.example:${target.port}/card`), (error: unknown) => {
        const refused = refusedCause(error);
        assert.ok(refused !== undefined, `not refused by the guard: ${String(error)}`);
        assert.equal(refused.reason, 'loopback');
        assert.equal(refused.address, '127.0.0.1');
        return true;
      });
      assert.ok(lookups >= 2, 'looked up for the check, then again for the socket');
      assert.deepEqual(seen, ['loopback']);
      assert.equal(target.connections, 0, 'the loopback listener was never connected to');
    } finally {
      await g.close();
    }
  });

  test('an address literal is checked by the pool itself, whoever hands it the URL', async () => {
    const target = await listen(ok);
    const g = guard();
    try {
      await assert.rejects(request(`${target.url}/a2a`, { dispatcher: g.dispatcher }), (error: unknown) => refusedCause(error)?.reason === 'loopback');
      assert.equal(target.connections, 0);
    } finally {
      await g.close();
    }
  });

  test('allowlisted loopback is reached, by address and by name', async () => {
    const target = await listen(ok);
    const byAddress = guard({}, { allow: ['127.0.0.1'] });
    const byName = guard({ 'peer.test': ['127.0.0.1'] }, { allow: ['peer.test'] });
    try {
      const res = await request(`${target.url}/a2a`, { dispatcher: byAddress.dispatcher });
      assert.equal(res.statusCode, 200);
      await res.body.text();
      const viaName = await byName.fetch(`http://peer.test:${target.port}/card`);
      assert.deepEqual(await viaName.json(), { ok: true });
      assert.equal(target.requests.length, 2);
    } finally {
      await Promise.all([byAddress.close(), byName.close()]);
    }
  });
});

describe('redirects through the guard', () => {
  test('a redirect from a trusted origin to a loopback address that is not allowlisted is refused; that listener receives nothing', async () => {
    const hidden = await listen(ok);
    const peer = await listen(() => ({ status: 302, headers: { location: `${hidden.url}/.well-known/agent-card.json` } }));
    const g = guard();
    try {
      const error = await refusal(g.fetch(`${peer.url}/.well-known/agent-card.json`, {}, { trustedOrigin: peer.url }));
      assert.equal(error.reason, 'loopback');
      assert.equal(error.host, `127.0.0.1:${hidden.port}`);
      assert.equal(peer.requests.length, 1, 'the trusted origin itself is called');
      assert.equal(hidden.connections, 0);
    } finally {
      await g.close();
    }
  });

  test('a redirect to a name resolving to a private address is refused', async () => {
    const peer = await listen(() => ({ status: 307, headers: { location: 'http://internal.example/admin' } }));
    const g = guard({ 'internal.example': ['192.168.0.10'] });
    try {
      const error = await refusal(g.fetch(peer.url, {}, { trustedOrigin: peer.url }));
      assert.equal(error.reason, 'private');
    } finally {
      await g.close();
    }
  });

  test('an admitted redirect is followed, without the credentials once it leaves the first origin', async () => {
    const next = await listen(ok);
    const peer = await listen(() => ({ status: 301, headers: { location: `http://next.test:${next.port}/card` } }));
    const g = guard({ 'next.test': ['127.0.0.1'] }, { allow: ['next.test'] });
    try {
      const res = await g.fetch(`${peer.url}/start`, { headers: { accept: 'application/json', authorization: 'Bearer secret' } }, { trustedOrigin: peer.url });
      assert.deepEqual(await res.json(), { ok: true });
      assert.equal(peer.requests[0]!.headers.authorization, 'Bearer secret');
      assert.equal(next.requests[0]!.path, '/card');
      assert.equal(next.requests[0]!.headers.accept, 'application/json');
      assert.equal(next.requests[0]!.headers.authorization, undefined);
    } finally {
      await g.close();
    }
  });

  test('a redirect loop ends after a bounded number of hops', async () => {
    const loop = await listen((path) => ({ status: 302, headers: { location: path === '/a' ? '/b' : '/a' } }));
    const g = guard();
    try {
      await assert.rejects(g.fetch(`${loop.url}/a`, {}, { trustedOrigin: loop.url, maxRedirects: 3 }), /more than 3 redirects/);
      assert.equal(loop.requests.length, 4);
    } finally {
      await g.close();
    }
  });

  test('a POST is never redirected: the caller gets the 3xx', async () => {
    const hidden = await listen(ok);
    const hook = await listen(() => ({ status: 308, headers: { location: hidden.url } }));
    const g = guard({}, { allow: ['127.0.0.1'] });
    try {
      const res = await g.fetch(hook.url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 308);
      await res.body?.cancel();
      assert.equal(hidden.connections, 0);
    } finally {
      await g.close();
    }
  });

  test('a URL not on the trusted origin is checked on the first hop too', async () => {
    const target = await listen(ok);
    const g = guard();
    try {
      await refusal(g.fetch(`${target.url}/`));
      assert.equal(target.connections, 0);
    } finally {
      await g.close();
    }
  });
});
