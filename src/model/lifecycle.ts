import { InvalidStateTransitionError } from './errors.js';
import type { TaskState } from './model.js';

const TERMINAL: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'canceled', 'rejected']);
const INTERRUPTED: ReadonlySet<TaskState> = new Set(['input-required', 'auth-required']);

// Which states a task may move to from each state. Terminal states go nowhere.
// A task waiting for input resumes (working) when the input arrives, or ends.
const NEXT: Readonly<Record<TaskState, readonly TaskState[]>> = {
  submitted: ['working', 'input-required', 'auth-required', 'completed', 'failed', 'canceled', 'rejected'],
  working: ['working', 'input-required', 'auth-required', 'completed', 'failed', 'canceled', 'rejected'],
  'input-required': ['working', 'completed', 'failed', 'canceled', 'rejected'],
  'auth-required': ['working', 'completed', 'failed', 'canceled', 'rejected'],
  completed: [],
  failed: [],
  canceled: [],
  rejected: [],
};

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

export function isInterrupted(state: TaskState): boolean {
  return INTERRUPTED.has(state);
}

/** A stream or a blocking call ends at these states. */
export function endsStream(state: TaskState): boolean {
  return TERMINAL.has(state) || INTERRUPTED.has(state);
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return NEXT[from].includes(to);
}

export function assertTransition(taskId: string, from: TaskState, to: TaskState): void {
  if (!canTransition(from, to)) throw new InvalidStateTransitionError(taskId, from, to);
}
