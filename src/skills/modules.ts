import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddedSkill } from './installed.js';
import { AddedSkillError } from './installed.js';
import { skillShapeProblem } from './skill-shape.js';
import type { Skill } from './skill.js';

// SKILL_MODULES: ES modules named by the operator, loaded once at start. Each
// default-exports a skill or a list of skills; anything else stops the start
// with the module's name and what is wrong, before any port is opened.

/**
 * How long one module may take to load: one that awaits something at its top
 * level that never comes would otherwise hold the start, silently, forever.
 */
export const MODULE_LOAD_TIMEOUT_MS = 30_000;

/**
 * Imports each module and returns its skills in order. A path (absolute, or
 * starting with `./` or `../`) is taken from `cwd`; anything else is a package
 * name, resolved as this package resolves its own dependencies (as Node does).
 */
export async function loadSkillModules(specifiers: readonly string[], cwd = process.cwd(), timeoutMs = MODULE_LOAD_TIMEOUT_MS): Promise<AddedSkill[]> {
  const loaded: AddedSkill[] = [];
  for (const specifier of specifiers) {
    for (const skill of await loadOne(specifier, cwd, timeoutMs)) loaded.push({ skill, source: specifier });
  }
  return loaded;
}

async function loadOne(specifier: string, cwd: string, timeoutMs: number): Promise<Skill[]> {
  let namespace: { default?: unknown };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AddedSkillError(specifier, `the module did not finish loading within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    namespace = (await Promise.race([import(importTarget(specifier, cwd)), deadline])) as { default?: unknown };
  } catch (error) {
    if (error instanceof AddedSkillError) throw error;
    // `skills/x.mjs` is a package name to Node, as it is here; say so when the file is there.
    const hint = !isPath(specifier) && existsSync(resolve(cwd, specifier)) ? ` (a path relative to the working directory starts with ./: ./${specifier})` : '';
    throw new AddedSkillError(specifier, `the module could not be loaded: ${error instanceof Error ? error.message : String(error)}${hint}`);
  } finally {
    clearTimeout(timer);
  }
  if (!('default' in namespace) || namespace.default === undefined) {
    throw new AddedSkillError(specifier, 'the module has no default export (export default a skill, or a list of skills)');
  }
  const exported = namespace.default;
  const skills: unknown[] = Array.isArray(exported) ? exported : [exported];
  if (skills.length === 0) throw new AddedSkillError(specifier, 'the module default-exports an empty list of skills');
  skills.forEach((value, index) => {
    const problem = skillShapeProblem(value);
    if (problem !== undefined) throw new AddedSkillError(specifier, Array.isArray(exported) ? `default export [${index}] ${problem}` : `default export ${problem}`);
  });
  return skills as Skill[];
}

function importTarget(specifier: string, cwd: string): string {
  return isPath(specifier) ? pathToFileURL(resolve(cwd, specifier)).href : specifier;
}

function isPath(specifier: string): boolean {
  return isAbsolute(specifier) || specifier.startsWith('./') || specifier.startsWith('../');
}
