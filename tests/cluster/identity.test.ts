import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { defaultPodUrlTemplate, parseOrdinal, podUrlFor, resolveIdentity } from '../../src/cluster/identity.js';

const base = {
  podName: undefined,
  namespace: undefined,
  headlessService: 'kagent-headless',
  serviceName: 'kagent',
  podUrlTemplate: undefined,
  publicUrl: undefined,
  host: '0.0.0.0',
  port: 8080,
};

describe('pod identity', () => {
  test('the ordinal is the trailing number of a StatefulSet pod name', () => {
    assert.equal(parseOrdinal('kagent-3'), 3);
    assert.equal(parseOrdinal('kagent-0'), 0);
    assert.equal(parseOrdinal('my-agent-12'), 12);
    assert.equal(parseOrdinal('kagent'), undefined);
    assert.equal(parseOrdinal('kagent-3a'), undefined);
  });

  test('in Kubernetes, the pod URL goes through the headless Service and the public URL through the ClusterIP Service', () => {
    const id = resolveIdentity({ ...base, podName: 'kagent-3', namespace: 'kagent' });
    assert.equal(id.pod, 'kagent-3');
    assert.equal(id.ordinal, 3);
    assert.equal(id.inKubernetes, true);
    assert.equal(id.podUrl, 'http://kagent-3.kagent-headless.kagent.svc.cluster.local:8080');
    assert.equal(id.publicUrl, 'http://kagent.kagent.svc.cluster.local:8080');
  });

  test('the advertised URL is never a loopback or wildcard address in Kubernetes, even when bound to one', () => {
    for (const host of ['0.0.0.0', '127.0.0.1', '::']) {
      const id = resolveIdentity({ ...base, host, podName: 'kagent-0', namespace: 'prod' });
      assert.doesNotMatch(id.publicUrl, /127\.0\.0\.1|0\.0\.0\.0|\[::\]|localhost/);
      assert.doesNotMatch(id.podUrl, /127\.0\.0\.1|0\.0\.0\.0|\[::\]|localhost/);
    }
  });

  test('PUBLIC_URL overrides the advertised URL; the pod URL template overrides the per-pod URL', () => {
    const id = resolveIdentity({
      ...base,
      podName: 'kagent-2',
      namespace: 'kagent',
      publicUrl: 'https://agents.example.com/kagent',
      podUrlTemplate: 'http://127.0.0.1:818{ordinal}',
    });
    assert.equal(id.publicUrl, 'https://agents.example.com/kagent');
    assert.equal(id.podUrl, 'http://127.0.0.1:8182');
  });

  test('outside Kubernetes the replica is named by its host and advertises a dialable host name', () => {
    const id = resolveIdentity({ ...base, port: 9000 });
    assert.equal(id.inKubernetes, false);
    assert.equal(id.pod, hostname().split('.')[0]);
    assert.equal(id.publicUrl, `http://${hostname()}:9000`);
    assert.equal(resolveIdentity({ ...base, host: '127.0.0.1', port: 9000 }).publicUrl, 'http://127.0.0.1:9000');
    assert.equal(resolveIdentity({ ...base, host: '::1', port: 9000 }).publicUrl, 'http://[::1]:9000');
  });

  test('a template fills every placeholder and loses a trailing slash', () => {
    assert.equal(podUrlFor('http://{pod}.h.{namespace}:1/', 'kagent-1', 'ns'), 'http://kagent-1.h.ns:1');
    assert.equal(defaultPodUrlTemplate('hl', 8181), 'http://{pod}.hl.{namespace}.svc.cluster.local:8181');
  });
});
