import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ClusterAssertion } from '../../src/auth/cluster-assertion.js';
import { parseRateLimit, RateLimiter } from '../../src/auth/rate-limit.js';
import { SkillPermissions } from '../../src/auth/skill-permissions.js';
import { TrustedNetworks } from '../../src/auth/trusted-proxy.js';
import { parseXfcc, xfccIdentity } from '../../src/auth/xfcc.js';
import { ConfigError } from '../../src/config/load.js';
import { SkillNotAllowedError, UnauthenticatedError, UnavailableError } from '../../src/model/errors.js';

describe('SKILL_PERMISSIONS', () => {
  const rules = SkillPermissions.parse('cluster-*=kagent:cluster-read; cluster-diagnose=kagent:diagnose,sre; assistant=kagent:llm|vapora; *=kagent:any');

  test('an exact rule beats a prefix, a longer prefix beats a shorter, and `*` alone covers the rest', () => {
    const reader = { tenant: '', principal: 'x', scopes: ['kagent:cluster-read'] };
    assert.equal(rules.allows(reader, 'cluster-inspect'), true);
    assert.equal(rules.allows(reader, 'cluster-diagnose'), false);
    assert.equal(rules.allows({ tenant: '', principal: 'sre' }, 'cluster-diagnose'), true);
    assert.equal(rules.allows({ tenant: '', principal: 'x', scopes: ['kagent:any'] }, 'echo'), true);
    assert.equal(rules.allows({ tenant: '', principal: 'x' }, 'echo'), false);
  });

  test('a grant is a principal name or a scope', () => {
    assert.equal(rules.allows({ tenant: '', principal: 'vapora' }, 'assistant'), true);
    assert.equal(rules.allows({ tenant: '', principal: 'other', scopes: ['kagent:llm'] }, 'assistant'), true);
    assert.equal(rules.allows({ tenant: '', principal: 'other', scopes: ['kagent:llm-lite'] }, 'assistant'), false);
  });

  test('a refusal names the skill and the scopes, never the principals', () => {
    assert.throws(
      () => rules.authorize({ tenant: '', principal: 'x' }, 'assistant'),
      (error: unknown) => error instanceof SkillNotAllowedError && /"assistant".*kagent:llm/.test(error.message) && !/vapora/.test(error.message),
    );
  });

  test('no rules: everything is open', () => {
    assert.equal(SkillPermissions.parse('').allows({ tenant: '', principal: 'x' }, 'cluster-inspect'), true);
    assert.equal(SkillPermissions.parse(' ; ').isRestricted('echo'), false);
  });

  test('malformed rules are ConfigErrors naming the setting and the rule', () => {
    for (const bad of ['cluster-inspect', '=scope', 'cluster-inspect=', 'clu*ster=scope', 'echo=a b', 'echo=a;echo=b']) {
      assert.throws(() => SkillPermissions.parse(bad), (error: unknown) => error instanceof ConfigError && error.key === 'SKILL_PERMISSIONS', bad);
    }
  });
});

describe('RATE_LIMIT', () => {
  test('parses rates per second, minute and hour, with an optional burst', () => {
    assert.deepEqual(parseRateLimit('20/s,burst=40'), { perSecond: 20, burst: 40 });
    assert.deepEqual(parseRateLimit('120/m'), { perSecond: 2, burst: 120 });
    assert.deepEqual(parseRateLimit(' 36/h , burst = 3 '), { perSecond: 0.01, burst: 3 });
    assert.equal(parseRateLimit(''), undefined);
    for (const bad of ['20', '20/d', '0/s', 'fast', '20/s,burst=0', '20/s;burst=4']) {
      assert.throws(() => parseRateLimit(bad), (error: unknown) => error instanceof ConfigError && error.key === 'RATE_LIMIT', bad);
    }
  });

  test('a bucket allows its burst, refills with time and says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, 100, () => now);
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take('a'), { allowed: true });
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 1 });
    assert.deepEqual(limiter.take('b'), { allowed: true });
    now += 500;
    assert.deepEqual(limiter.take('a'), { allowed: true });
    assert.equal(limiter.take('a').allowed, false);
  });

  test('the map of buckets stays bounded: refilled buckets go first, then the least recently used', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, 3, () => now);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`);
    assert.equal(limiter.size, 3);
    // Every bucket is spent; the newest ones are kept.
    assert.equal(limiter.take('k999').allowed, false);
    now += 10_000;
    limiter.take('fresh');
    assert.equal(limiter.size, 1, 'refilled buckets are dropped before anything else');
  });
});

describe('x-forwarded-client-cert', () => {
  test('quoted values may hold separators and escaped quotes', () => {
    const [element] = parseXfcc('By=spiffe://a;Hash=ff;Subject="CN=x,O=Acme\\, \\"Inc\\";OU=y";URI=spiffe://cluster.local/ns/v/sa/o;DNS=a;DNS=b');
    assert.equal(element!.get('subject'), 'CN=x,O=Acme, "Inc";OU=y');
    assert.equal(element!.get('uri'), 'spiffe://cluster.local/ns/v/sa/o');
    assert.equal(element!.get('dns'), 'a');
  });

  test('the last element names the caller, by URI, else Subject', () => {
    assert.equal(xfccIdentity('URI=spiffe://first,By=spiffe://self;URI=spiffe://last'), 'spiffe://last');
    assert.equal(xfccIdentity('By=spiffe://self;Subject="CN=client"'), 'CN=client');
    assert.equal(xfccIdentity('By=spiffe://self;Hash=ab'), undefined);
    assert.equal(xfccIdentity(''), undefined);
  });

  test('a quote never closed makes the whole header malformed', () => {
    assert.deepEqual(parseXfcc('URI="spiffe://forged,By=spiffe://self;URI=spiffe://real'), []);
    assert.equal(xfccIdentity('Subject="CN=forged,By=spiffe://self;Subject="CN=real";URI=spiffe://real'), undefined);
  });

  test('parsing is linear on hostile input', () => {
    const hostile = `${'"'.repeat(50_000)}${';=,'.repeat(50_000)}`;
    const started = process.hrtime.bigint();
    parseXfcc(hostile);
    // Generous: a quadratic parser takes minutes on this input.
    assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 5);
  });
});

describe('AUTH_TRUSTED_PROXIES', () => {
  test('addresses and CIDRs of both families; IPv4-mapped IPv6 counts as IPv4', () => {
    const networks = TrustedNetworks.parse(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.equal(networks.contains('127.0.0.1'), true);
    assert.equal(networks.contains('::ffff:127.0.0.1'), true);
    assert.equal(networks.contains('127.0.0.2'), false);
    assert.equal(networks.contains('10.200.3.4'), true);
    assert.equal(networks.contains('fd12::1'), true);
    assert.equal(networks.contains('::1'), false);
    assert.equal(networks.contains(undefined), false);
    assert.equal(networks.contains('not-an-ip'), false);
  });

  test('malformed entries are ConfigErrors', () => {
    for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
      assert.throws(() => TrustedNetworks.parse([bad]), (error: unknown) => error instanceof ConfigError && error.key === 'AUTH_TRUSTED_PROXIES', bad);
    }
  });
});

describe('cluster assertion nonces', () => {
  function assertion(maxNonces?: number): ClusterAssertion {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-assertion-'));
    try {
      writeFileSync(join(dir, 'secret'), 'a-shared-cluster-secret-of-enough-length-0123456789');
      return ClusterAssertion.fromFile(join(dir, 'secret'), 'AUTH_CLUSTER_SECRET_FILE', maxNonces);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const alice = { tenant: '', principal: 'alice' };

  test('each assertion is accepted once; a fresh one for the same caller is accepted too', () => {
    const cluster = assertion();
    const now = 1_000_000;
    const signed = cluster.sign(alice, 'kagent-0', now);
    assert.equal(cluster.verify(signed, 'kagent-0', now).principal, 'alice');
    assert.throws(() => cluster.verify(signed, 'kagent-0', now + 1), UnauthenticatedError);
    assert.equal(cluster.verify(cluster.sign(alice, 'kagent-0', now), 'kagent-0', now).principal, 'alice');
  });

  test('expired nonces are forgotten; an expiry too far ahead is refused', () => {
    const cluster = assertion(2);
    let now = 1_000_000;
    cluster.verify(cluster.sign(alice, 'kagent-0', now), 'kagent-0', now);
    cluster.verify(cluster.sign(alice, 'kagent-0', now), 'kagent-0', now);
    // Full of live nonces: a retry is asked for rather than a nonce forgotten.
    assert.throws(() => cluster.verify(cluster.sign(alice, 'kagent-0', now), 'kagent-0', now), UnavailableError);
    now += 31_000;
    for (let i = 0; i < 10; i++) cluster.verify(cluster.sign(alice, 'kagent-0', now + i * 31_000), 'kagent-0', now + i * 31_000);
    assert.throws(() => cluster.verify(cluster.sign(alice, 'kagent-0', now + 120_000), 'kagent-0', now), UnauthenticatedError);
  });

  test('an assertion expiring later than the ones after it does not keep the expired ones from being forgotten', () => {
    const cluster = assertion(2);
    const now = 1_000_000;
    // First in, last to expire (a signer's clock ahead), then one that expires sooner.
    cluster.verify(cluster.sign(alice, 'kagent-0', now + 25_000), 'kagent-0', now);
    cluster.verify(cluster.sign(alice, 'kagent-0', now), 'kagent-0', now);
    // 31 s on, the second has expired but sits behind the first: the cache is full only of that one and an expired one.
    const later = now + 31_000;
    assert.equal(cluster.verify(cluster.sign(alice, 'kagent-0', later), 'kagent-0', later).principal, 'alice');
  });
});

describe('cluster secret rotation: the first secret signs, every one verifies', () => {
  const OLD = 'the-old-cluster-secret-of-enough-length-0123456789';
  const NEW = 'the-new-cluster-secret-of-enough-length-9876543210';
  function fromText(text: string): ClusterAssertion {
    const dir = mkdtempSync(join(tmpdir(), 'kagent-assertion-'));
    try {
      writeFileSync(join(dir, 'secret'), text);
      return ClusterAssertion.fromFile(join(dir, 'secret'), 'AUTH_CLUSTER_SECRET_FILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const alice = { tenant: '', principal: 'alice' };
  const now = 5_000_000;

  test('through the three rollouts, every pair of old and new pods still relays', () => {
    // Step by step: the pods of one rollout live beside those of the next.
    const steps = [fromText(OLD), fromText(`${OLD}\n${NEW}\n`), fromText(`${NEW}\r\n${OLD}`), fromText(NEW)];
    for (let i = 0; i + 1 < steps.length; i++) {
      for (const [from, to] of [[steps[i]!, steps[i + 1]!], [steps[i + 1]!, steps[i]!]] as const) {
        assert.deepEqual(to.verify(from.sign(alice, 'kagent-1', now), 'kagent-1', now), alice, `step ${i}`);
      }
    }
  });

  test('a secret the receiver does not hold is refused, and so is a short one on any line', () => {
    assert.throws(() => fromText(OLD).verify(fromText(NEW).sign(alice, 'kagent-1', now), 'kagent-1', now), (error: unknown) => error instanceof UnauthenticatedError);
    assert.throws(() => fromText(`${NEW}\nshort`), (error: unknown) => error instanceof ConfigError && /line 2/.test(error.message));
    assert.throws(() => fromText('\n\n'), (error: unknown) => error instanceof ConfigError && /no secret/.test(error.message));
  });
});
