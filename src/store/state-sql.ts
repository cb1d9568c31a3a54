import { ACTIVE_STATES, TERMINAL_STATES } from '../model/lifecycle.js';

// The lifecycle's state sets in SQL, for both stores' queries and partial
// indexes. They are rendered as literals, not bound as parameters, because a
// partial index is used only by a query whose condition matches its own text.

/**
 * `('a','b')`: a set of constant strings as an SQL `IN` list. Only for values
 * written in this code base; anything else is refused rather than quoted.
 */
export function sqlList(values: readonly string[]): string {
  if (values.length === 0) throw new Error('an SQL IN list needs at least one value');
  for (const value of values) checkConstant(value);
  return `(${values.map((value) => `'${value}'`).join(',')})`;
}

/**
 * `(state = 'a' OR state = 'b')`: the `state` column in a set, as SQLite's
 * partial indexes and the queries that use them name it. SQLite checks a
 * partial index's condition on every write of a row, and it checks
 * `IN` against more than two constants by first building a temporary b-tree of
 * the list — a page allocated and zeroed for each statement, three per task
 * the echo skill completes. Comparisons need nothing of the kind.
 */
export function stateIsOneOf(values: readonly string[]): string {
  if (values.length === 0) throw new Error('a state condition needs at least one state');
  for (const value of values) checkConstant(value);
  return `(${values.map((value) => `state = '${value}'`).join(' OR ')})`;
}

function checkConstant(value: string): void {
  if (!/^[a-z][a-z-]*$/.test(value)) throw new Error(`${JSON.stringify(value)} is not a constant fit for an SQL list`);
}

/** Tasks a skill runs (or should run): what a restart resumes and a lease covers. */
export const ACTIVE_SQL = sqlList(ACTIVE_STATES);
/** Tasks that ended: what retention deletes. */
export const TERMINAL_SQL = sqlList(TERMINAL_STATES);
/** ACTIVE_SQL as a condition on `state`, for SQLite (stateIsOneOf says why). */
export const ACTIVE_CONDITION = stateIsOneOf(ACTIVE_STATES);
/** TERMINAL_SQL as a condition on `state`, for SQLite. */
export const TERMINAL_CONDITION = stateIsOneOf(TERMINAL_STATES);
