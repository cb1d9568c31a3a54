import { InvalidStateTransitionError } from './errors.js';
import type { StreamItem, TaskState } from './model.js';

// The task lifecycle, declared once: the named sets below are what the task
// service, the stores (their SQL lists are rendered from these) and the codecs
// mean by "active", "terminal" and so on.

/** A skill runs the task: it may report progress, artifacts and its end. */
export const ACTIVE_STATES: readonly TaskState[] = Object.freeze(['submitted', 'working']);
/** The task waits for the caller (more input, or credentials); a new message resumes it. */
export const INTERRUPTED_STATES: readonly TaskState[] = Object.freeze(['input-required', 'auth-required']);
/** Final: nothing changes a task in these states, and retention may delete it. */
export const TERMINAL_STATES: readonly TaskState[] = Object.freeze(['completed', 'failed', 'canceled', 'rejected']);
/** Not yet ended: a cancel applies. */
export const OPEN_STATES: readonly TaskState[] = Object.freeze([...ACTIVE_STATES, ...INTERRUPTED_STATES]);

const TERMINAL: ReadonlySet<TaskState> = new Set(TERMINAL_STATES);
const INTERRUPTED: ReadonlySet<TaskState> = new Set(INTERRUPTED_STATES);
const ACTIVE: ReadonlySet<TaskState> = new Set(ACTIVE_STATES);

// Which states a task may move to from each state. Terminal states go nowhere.
// A task waiting for input resumes (working) when the input arrives, or ends.
const NEXT: Readonly<Record<TaskState, readonly TaskState[]>> = {
  submitted: ['working', ...INTERRUPTED_STATES, ...TERMINAL_STATES],
  working: ['working', ...INTERRUPTED_STATES, ...TERMINAL_STATES],
  'input-required': ['working', ...TERMINAL_STATES],
  'auth-required': ['working', ...TERMINAL_STATES],
  completed: [],
  failed: [],
  canceled: [],
  rejected: [],
};

export function isActive(state: TaskState): boolean {
  return ACTIVE.has(state);
}

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

/** Whether a stream ends with this item (for the server that writes it and the client that reads it alike). */
export function isLast(item: StreamItem): boolean {
  switch (item.kind) {
    case 'message':
      return true;
    case 'task':
      // A snapshot of a task waiting for input opens a stream that watches it resume.
      return isTerminal(item.task.status.state);
    case 'status-update':
      return item.final;
    case 'artifact-update':
      return false;
  }
}
