import { ACTIVE_STATES, TERMINAL_STATES } from '../model/lifecycle.js';

// The lifecycle's state sets as SQL lists, for both stores' queries and partial
// indexes. They are rendered as literals, not bound as parameters, because a
// partial index is used only by a query whose condition matches its own text.

/**
 * `('a','b')`: a set of constant strings as an SQL `IN` list. Only for values
 * written in this code base; anything else is refused rather than quoted.
 */
export function sqlList(values: readonly string[]): string {
  if (values.length === 0) throw new Error('an SQL IN list needs at least one value');
  for (const value of values) {
    if (!/^[a-z][a-z-]*$/.test(value)) throw new Error(`${JSON.stringify(value)} is not a constant fit for an SQL list`);
  }
  return `(${values.map((value) => `'${value}'`).join(',')})`;
}

/** Tasks a skill runs (or should run): what a restart resumes and a lease covers. */
export const ACTIVE_SQL = sqlList(ACTIVE_STATES);
/** Tasks that ended: what retention deletes. */
export const TERMINAL_SQL = sqlList(TERMINAL_STATES);
