import type { Skill } from './skill.js';

const installed: Skill[] = [];

/**
 * Adds a skill to every agent this process starts from now on, beside the
 * built-in ones: the extension point for code loaded before the service
 * (`node --import ./my-skill.js …/main.js serve`) or embedding it.
 */
export function installSkill(skill: Skill): void {
  if (installed.some((s) => s.descriptor.id === skill.descriptor.id)) throw new Error(`skill "${skill.descriptor.id}" installed twice`);
  installed.push(skill);
}

/** The skills installed so far, in order. */
export function installedSkills(): readonly Skill[] {
  return installed;
}
