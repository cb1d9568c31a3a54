import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { readDockerfile } from './dockerfile.js';
import type { KubeObject } from './manifests.js';
import { only, REPO_ROOT, render } from './manifests.js';
import { schemaProblems } from './schema.js';
import { needKustomize } from '../support/prerequisites.js';

// The hello-skill example's way into a cluster, held to what it claims: an
// image FROM ours with the module at the path SKILL_MODULES names, deployed
// by a patch of the dev overlay that changes nothing else.

const kustomize = needKustomize();
const EXAMPLE = join(REPO_ROOT, 'examples', 'hello-skill');

describe('examples/hello-skill: image and deployment', kustomize, () => {
  let example: KubeObject[];
  let dev: KubeObject[];
  before(() => {
    example = render(join(EXAMPLE, 'deploy'));
    dev = render('overlays/dev');
  });

  const agentOf = (objects: KubeObject[]) => only<IStatefulSet>(objects, 'StatefulSet', 'kagent').spec!.template.spec!.containers.find((c) => c.name === 'agent')!;

  test('every object it renders is valid by the Kubernetes schemas', async () => {
    const problems: string[] = [];
    for (const object of example) for (const problem of await schemaProblems(object)) problems.push(`${object.kind}/${object.metadata.name}: ${problem}`);
    assert.deepEqual(problems, []);
  });

  test('the image is built FROM this release of ours, and the module lands where SKILL_MODULES looks', () => {
    const dockerfile = readDockerfile(join(EXAMPLE, 'Dockerfile'));
    const from = dockerfile.instructions.find((i) => i.keyword === 'FROM')!.args;
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(from, `ghcr.io/kagent-dev/kagent-a2a:${version}`);
    assert.equal(agentOf(dev).image, from, 'the dev overlay runs the same image the example builds on');
    const copies = dockerfile.runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/));
    const modules = agentOf(example).env!.find((e) => e.name === 'SKILL_MODULES')?.value;
    assert.ok(modules !== undefined, 'the patch sets SKILL_MODULES');
    for (const path of modules.split(',')) {
      const copy = copies.find((args) => args.at(-1) === path);
      assert.ok(copy !== undefined, `the Dockerfile copies a file to ${path}`);
      assert.ok(existsSync(join(EXAMPLE, copy[0]!)), `${copy[0]} exists beside the Dockerfile`);
    }
  });

  test('the patch changes the image and adds SKILL_MODULES, and nothing else', () => {
    const without = (objects: KubeObject[]) =>
      objects.map((object) => {
        if (object.kind !== 'StatefulSet') return object;
        const copy = structuredClone(object) as unknown as IStatefulSet;
        const agent = copy.spec!.template.spec!.containers.find((c) => c.name === 'agent')!;
        agent.image = '<image>';
        agent.env = agent.env!.filter((e) => e.name !== 'SKILL_MODULES');
        return copy;
      });
    assert.equal(agentOf(example).image, 'registry.example.com/kagent-a2a-hello:0.1.0');
    assert.deepEqual(without(example), without(dev));
  });
});
