// The recorded-shape API responses the cluster skill tests run against stand
// in for a real API server (none can run here). They are only worth something
// if they look like what the API server sends: every object is checked
// against the Kubernetes schemas (no unknown fields, right types and enums),
// and lists have the server's shape (items without kind/apiVersion).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { schemaProblems } from '../../kubernetes/schema.js';
import { FIXTURES } from './fake-api.js';

interface List {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string };
  items: Record<string, unknown>[];
}

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'logs.json');
const lists = (file: string): [string, List][] => {
  const data = JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8'));
  return file === 'nodes.json' ? [['nodes', data]] : Object.entries(data);
};

test('the fixtures are there: nodes and three namespaces', () => {
  assert.deepEqual(files.sort(), ['kagent.json', 'nodes.json', 'shop.json', 'staging.json']);
});

for (const file of files) {
  describe(file, () => {
    for (const [resource, list] of lists(file)) {
      test(`${resource}: a ${list.kind} as the API server sends it, every item valid by its schema`, async () => {
        assert.match(list.kind, /List$/);
        assert.ok(list.metadata.resourceVersion, 'a list carries its resourceVersion');
        const kind = list.kind.replace(/List$/, '');
        for (const item of list.items) {
          assert.equal(item.kind, undefined, 'list items carry no kind of their own');
          assert.equal(item.apiVersion, undefined, 'list items carry no apiVersion of their own');
          const name = (item.metadata as { name: string }).name;
          assert.deepEqual(await schemaProblems({ apiVersion: list.apiVersion, kind, ...item }), [], `${kind}/${name}`);
        }
      });
    }
  });
}

test('the schema check would catch a fixture typo', async () => {
  const [, pods] = lists('shop.json').find(([resource]) => resource === 'pods')!;
  const pod = structuredClone(pods.items[0]!) as { status: Record<string, unknown> };
  pod.status.containerStatus = pod.status.containerStatuses;
  const problems = await schemaProblems({ apiVersion: 'v1', kind: 'Pod', ...pod });
  assert.deepEqual(problems, ['/status/containerStatus: unknown field (not in the Pod schema)']);
});
