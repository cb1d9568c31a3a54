import { InvalidParamsError } from './errors.js';

// Two kinds of name reach a task. This agent's own ids end in "." and a UUID
// ("<pod>.<uuid>", core/task-id.ts); an A2A 0.2 client names its task itself
// (tasks/send carries the id it chose), and that name is kept with the task as
// an alias, scoped to the caller. The two never overlap: a name of our form is
// always read as our id, and no alias can have that form.

const AGENT_TASK_ID = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Longest alias kept: client ids are UUIDs or short keys; a longer one is abuse of a stored, indexed column. */
export const MAX_ALIAS_LENGTH = 200;

/** Whether `name` has the form of the ids this agent gives its tasks. */
export function isAgentTaskId(name: string): boolean {
  return AGENT_TASK_ID.test(name);
}

/**
 * What is wrong with a client-chosen task id as an alias, if anything: it has
 * 1 to MAX_ALIAS_LENGTH characters, none of them control, format or
 * whitespace characters, and no ":" — the character the HTTP+JSON binding
 * puts after a task id (":cancel"), so that an alias could name a task
 * wherever one of our ids can.
 */
function aliasProblem(alias: string): string | undefined {
  if (alias.length === 0) return 'must not be empty';
  if (alias.length > MAX_ALIAS_LENGTH) return `is ${alias.length} characters long; a task id may have at most ${MAX_ALIAS_LENGTH}`;
  // Invisible in logs, and easy to spoof a name with.
  if (/[\p{Cc}\p{Cf}\p{Z}\s]/u.test(alias)) return 'must not contain control, format or whitespace characters';
  if (alias.includes(':')) return 'must not contain ":"';
  return undefined;
}

export function isValidAlias(alias: string): boolean {
  return aliasProblem(alias) === undefined;
}

/** The alias, checked before it is stored or looked up; `path` names it in the error. */
export function checkAlias(alias: string, path: string): string {
  const problem = aliasProblem(alias);
  if (problem !== undefined) throw new InvalidParamsError(`${path} ${problem}`, path);
  return alias;
}
