import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AddedSkillError, addedSkills } from '../../src/skills/installed.js';
import { loadSkillModules } from '../../src/skills/modules.js';
import { skillShapeProblem } from '../../src/skills/skill-shape.js';

// SKILL_MODULES as the service loads them: real ES module files in a
// temporary directory, imported by path.

const skill = (id: string, extra = '') => `{ descriptor: { id: '${id}', name: '${id}', description: 'a test skill', tags: ['test'] }, async execute(ctx) { await ctx.complete('${id}'); }${extra} }`;

describe('SKILL_MODULES: loading and checking each module', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-skill-modules-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function refusal(specifier: string, cwd?: string): Promise<AddedSkillError> {
    const error = await loadSkillModules([specifier], cwd).then(
      () => assert.fail(`${specifier} was loaded`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AddedSkillError, String(error));
    assert.equal(error.source, specifier, 'the error names the module as it was given');
    return error;
  }

  test('a module default-exporting a skill, and one exporting a list, give their skills in order with their source', async () => {
    const one = file('one.mjs', `export default ${skill('one')};\n`);
    const two = file('two.mjs', `export default [${skill('two-a')}, ${skill('two-b')}];\n`);
    const loaded = await loadSkillModules([one, two]);
    assert.deepEqual(
      loaded.map((added) => [added.skill.descriptor.id, added.source]),
      [
        ['one', one],
        ['two-a', two],
        ['two-b', two],
      ],
    );
  });

  test('a relative path is taken from the working directory given', async () => {
    file('relative.mjs', `export default ${skill('relative')};\n`);
    const loaded = await loadSkillModules(['./relative.mjs'], dir);
    assert.equal(loaded[0]!.skill.descriptor.id, 'relative');
  });

  test('a relative path without ./ is a package name, as in Node; the refusal says how to name the file', async () => {
    file('bare.mjs', `export default ${skill('bare')};\n`);
    const error = await refusal('bare.mjs', dir);
    assert.match(error.detail, /could not be loaded: .*\(a path relative to the working directory starts with \.\/: \.\/bare\.mjs\)/);
  });

  test('a missing file is refused naming it', async () => {
    const error = await refusal(join(dir, 'nowhere.mjs'));
    assert.match(error.detail, /could not be loaded: .*nowhere\.mjs/);
  });

  test('a package that is not installed is refused naming it', async () => {
    const error = await refusal('kagent-no-such-skill-package');
    assert.match(error.detail, /could not be loaded: .*kagent-no-such-skill-package/);
  });

  test('a module that throws while it loads is refused with what it threw', async () => {
    const error = await refusal(file('throws.mjs', `throw new Error('no credentials for the skill');\n`));
    assert.match(error.detail, /could not be loaded: no credentials for the skill/);
  });

  test('a module that never finishes loading is refused once its time is up', async () => {
    const path = file('hangs.mjs', `await new Promise(() => {});\nexport default ${skill('late')};\n`);
    const error = await loadSkillModules([path], dir, 200).then(
      () => assert.fail('a module that never loads was loaded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AddedSkillError);
    assert.equal(error.source, path);
    assert.match(error.detail, /did not finish loading within 200 ms/);
  });

  test('a module with a syntax error is refused', async () => {
    const error = await refusal(file('broken.mjs', `export default {\n`));
    assert.match(error.detail, /could not be loaded/);
  });

  test('a module without a default export is refused', async () => {
    const error = await refusal(file('named.mjs', `export const hello = ${skill('named')};\n`));
    assert.match(error.detail, /no default export/);
  });

  test('an empty list is refused', async () => {
    const error = await refusal(file('empty.mjs', `export default [];\n`));
    assert.match(error.detail, /empty list/);
  });

  test('a default export of the wrong shape is refused with what is wrong', async () => {
    const cases: [string, RegExp][] = [
      [`export default 42;`, /default export is number, not a skill/],
      [`export default function execute() {}`, /default export is function, not a skill/],
      [`export default { execute() {} };`, /has no descriptor/],
      [`export default { descriptor: { name: 'x', description: 'd', tags: [] }, async execute() {} };`, /descriptor\.id undefined is not a skill id/],
      [`export default { descriptor: { id: 'Bad Id!', name: 'x', description: 'd', tags: [] }, async execute() {} };`, /descriptor\.id "Bad Id!" is not a skill id/],
      [`export default { descriptor: { id: 'x', name: '', description: 'd', tags: [] }, async execute() {} };`, /skill "x": descriptor\.name must be a non-empty string/],
      [`export default { descriptor: { id: 'x', name: 'x', tags: [] }, async execute() {} };`, /descriptor\.description must be/],
      [`export default { descriptor: { id: 'x', name: 'x', description: 'd', tags: 'a,b' }, async execute() {} };`, /descriptor\.tags must be a list of strings/],
      [`export default { descriptor: { id: 'x', name: 'x', description: 'd', tags: [], examples: [1] }, async execute() {} };`, /descriptor\.examples must be a list of strings/],
      [`export default { descriptor: { id: 'x', name: 'x', description: 'd', tags: [] }, execute: 'run' };`, /skill "x": execute must be a function/],
      [`export default { descriptor: { id: 'x', name: 'x', description: 'd', tags: [] }, async execute() {}, resumable: 'yes' };`, /resumable must be true or false/],
      [`export default [${skill('fine')}, null];`, /default export \[1\] is null, not a skill/],
    ];
    for (const [index, [text, expected]] of cases.entries()) {
      const error = await refusal(file(`shape-${index}.mjs`, `${text}\n`));
      assert.match(error.detail, expected, text);
    }
  });
});

describe('added skills: one id each, never a built-in one', () => {
  const fake = (id: string) => ({ descriptor: { id, name: id, description: 'd', tags: [] }, execute: async () => undefined });

  test('distinct ids pass, in order', () => {
    const added = addedSkills(['echo', 'help'], [
      { skill: fake('a'), source: 'a.mjs' },
      { skill: fake('b'), source: 'b.mjs' },
    ]);
    assert.deepEqual(
      added.map((a) => a.skill.descriptor.id),
      ['a', 'b'],
    );
  });

  test("a built-in skill's id is refused, naming the module that brought it", () => {
    assert.throws(
      () => addedSkills(['echo', 'help'], [{ skill: fake('echo'), source: 'mine.mjs' }]),
      (error: unknown) => error instanceof AddedSkillError && error.source === 'mine.mjs' && /"echo" is already taken by a built-in skill/.test(error.detail),
    );
  });

  test('two modules with one id: the second is refused, naming both', () => {
    assert.throws(
      () =>
        addedSkills(['echo'], [
          { skill: fake('same'), source: 'first.mjs' },
          { skill: fake('same'), source: 'second.mjs' },
        ]),
      (error: unknown) => error instanceof AddedSkillError && error.source === 'second.mjs' && /"same" is already taken by the skill of first\.mjs/.test(error.detail),
    );
  });

  test('the shape check accepts a full descriptor', () => {
    assert.equal(skillShapeProblem({ ...fake('ok'), descriptor: { ...fake('ok').descriptor, examples: ['e'], inputModes: ['text/plain'], outputModes: ['text/plain'] }, resumable: true }), undefined);
  });
});
