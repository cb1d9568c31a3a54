// A skill from outside the repository (a SKILL_MODULES module, installSkill)
// arrives untyped: its shape is checked once, here, before the service trusts it.

// The characters SKILL_PERMISSIONS patterns can name; no spaces, no wildcard.
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What is wrong with `value` as a Skill, or undefined when it is one. */
export function skillShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return `is ${describe(value)}, not a skill (an object with descriptor and execute)`;
  const skill = value as Record<string, unknown>;
  const descriptor = skill.descriptor;
  if (typeof descriptor !== 'object' || descriptor === null) return 'has no descriptor object';
  const d = descriptor as Record<string, unknown>;
  if (typeof d.id !== 'string' || !ID.test(d.id)) return `descriptor.id ${describe(d.id)} is not a skill id (letters, digits, '.', '_', '-', starting with a letter or digit; at most 64)`;
  const where = `skill "${d.id}"`;
  for (const field of ['name', 'description'] as const) {
    if (typeof d[field] !== 'string' || (d[field] as string).trim() === '') return `${where}: descriptor.${field} must be a non-empty string`;
  }
  if (!isStringList(d.tags)) return `${where}: descriptor.tags must be a list of strings`;
  for (const field of ['examples', 'inputModes', 'outputModes'] as const) {
    if (d[field] !== undefined && !isStringList(d[field])) return `${where}: descriptor.${field} must be a list of strings when given`;
  }
  if (typeof skill.execute !== 'function') return `${where}: execute must be a function (ctx) => Promise<void>`;
  if (skill.replyDirectly !== undefined && typeof skill.replyDirectly !== 'function') return `${where}: replyDirectly must be a function when given`;
  for (const field of ['deduplicateRequests', 'resumable'] as const) {
    if (skill[field] !== undefined && typeof skill[field] !== 'boolean') return `${where}: ${field} must be true or false when given`;
  }
  return undefined;
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : typeof value;
}
