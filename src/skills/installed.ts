import type { Skill } from './skill.js';
import { skillShapeProblem } from './skill-shape.js';

// Skills added from outside the built-in set reach the service by one path:
// a module named in SKILL_MODULES (modules.ts) or code that calls installSkill
// before the service starts; both are checked the same way (addedSkills).

/** A skill from outside the built-in set, and where it came from (for messages that name it). */
export interface AddedSkill {
  readonly skill: Skill;
  /** The SKILL_MODULES entry that exported it, or `installSkill`. */
  readonly source: string;
}

/** An added skill that cannot be used: its shape, or an id already taken. */
export class AddedSkillError extends Error {
  constructor(
    readonly source: string,
    readonly detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'AddedSkillError';
  }
}

const installed: Skill[] = [];

/**
 * Adds a skill to every agent this process starts from now on, beside the
 * built-in ones: for code loaded before the service (`node --import …`) or
 * embedding it. SKILL_MODULES is the way for a deployed image.
 */
export function installSkill(skill: Skill): void {
  const problem = skillShapeProblem(skill);
  if (problem !== undefined) throw new AddedSkillError('installSkill', problem);
  if (installed.some((s) => s.descriptor.id === skill.descriptor.id)) throw new AddedSkillError('installSkill', `skill "${skill.descriptor.id}" installed twice`);
  installed.push(skill);
}

/** The skills installed so far, in order. */
export function installedSkills(): readonly Skill[] {
  return installed;
}

/**
 * The installed skills and then `fromModules`, each id checked against the
 * built-in ones and every other added skill: an added skill never shadows
 * one the operator relies on.
 */
export function addedSkills(builtInIds: readonly string[], fromModules: readonly AddedSkill[]): AddedSkill[] {
  const all: AddedSkill[] = [...installed.map((skill) => ({ skill, source: 'installSkill' })), ...fromModules];
  const taken = new Map<string, string>(builtInIds.map((id) => [id, 'a built-in skill']));
  for (const { skill, source } of all) {
    const id = skill.descriptor.id;
    const holder = taken.get(id);
    if (holder !== undefined) throw new AddedSkillError(source, `skill id "${id}" is already taken by ${holder}`);
    taken.set(id, source === 'installSkill' ? 'a skill added by installSkill' : `the skill of ${source}`);
  }
  return all;
}
