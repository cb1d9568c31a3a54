import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError, InvalidStateTransitionError } from '../../src/model/errors.js';
import {
  ACTIVE_STATES,
  INTERRUPTED_STATES,
  OPEN_STATES,
  TERMINAL_STATES,
  assertTransition,
  canTransition,
  endsStream,
  isActive,
  isInterrupted,
  isTerminal,
} from '../../src/model/lifecycle.js';
import { TASK_STATES } from '../../src/model/model.js';
import type { TaskState } from '../../src/model/model.js';

// The expected table is written out independently of the implementation, from
// the A2A task lifecycle: terminal states are final; a waiting task resumes
// (working) or ends; nothing goes back to submitted. REJECTED "may be done during
// initial task creation or later once an agent has determined it can't or won't
// proceed" (a2a.proto, TaskState), so a working task may be rejected too.
const ALLOWED: Readonly<Record<TaskState, readonly TaskState[]>> = {
  submitted: ['working', 'input-required', 'auth-required', 'completed', 'failed', 'canceled', 'rejected'],
  working: ['working', 'input-required', 'auth-required', 'completed', 'failed', 'canceled', 'rejected'],
  'input-required': ['working', 'completed', 'failed', 'canceled', 'rejected'],
  'auth-required': ['working', 'completed', 'failed', 'canceled', 'rejected'],
  completed: [],
  failed: [],
  canceled: [],
  rejected: [],
};

const TERMINAL: readonly TaskState[] = ['completed', 'failed', 'canceled', 'rejected'];
const INTERRUPTED: readonly TaskState[] = ['input-required', 'auth-required'];
const ACTIVE: readonly TaskState[] = ['submitted', 'working'];

test('the model declares exactly the eight A2A task states', () => {
  assert.deepEqual([...TASK_STATES].sort(), Object.keys(ALLOWED).sort());
});

describe('allowed transitions', () => {
  for (const from of TASK_STATES) {
    for (const to of ALLOWED[from]) {
      test(`${from} -> ${to} is allowed`, () => {
        assert.equal(canTransition(from, to), true);
        assert.doesNotThrow(() => assertTransition('task-1', from, to));
      });
    }
  }
});

describe('forbidden transitions', () => {
  for (const from of TASK_STATES) {
    for (const to of TASK_STATES.filter((state) => !ALLOWED[from].includes(state))) {
      test(`${from} -> ${to} is refused`, () => {
        assert.equal(canTransition(from, to), false);
        assert.throws(() => assertTransition('task-1', from, to), InvalidStateTransitionError);
      });
    }
  }
});

test('terminal states go nowhere, not even to themselves', () => {
  for (const from of TERMINAL) {
    for (const to of TASK_STATES) assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
  }
});

test('no state returns to submitted', () => {
  for (const from of TASK_STATES) assert.equal(canTransition(from, 'submitted'), false, `${from} -> submitted`);
});

test('a waiting task cannot ask for input or auth again without resuming first', () => {
  for (const from of INTERRUPTED) {
    for (const to of INTERRUPTED) assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
  }
});

describe('state classification', () => {
  for (const state of TASK_STATES) {
    test(`${state}: terminal=${TERMINAL.includes(state)} interrupted=${INTERRUPTED.includes(state)}`, () => {
      assert.equal(isTerminal(state), TERMINAL.includes(state));
      assert.equal(isInterrupted(state), INTERRUPTED.includes(state));
      assert.equal(isActive(state), ACTIVE.includes(state));
      assert.equal(endsStream(state), TERMINAL.includes(state) || INTERRUPTED.includes(state));
    });
  }

  test('submitted and working are neither terminal nor interrupted and keep a stream open', () => {
    for (const state of ['submitted', 'working'] as const) {
      assert.equal(isTerminal(state), false);
      assert.equal(isInterrupted(state), false);
      assert.equal(endsStream(state), false);
    }
  });
});

test('assertTransition reports the task, both states and its reason', () => {
  let caught: unknown;
  try {
    assertTransition('task-42', 'completed', 'working');
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidStateTransitionError);
  assert.ok(caught instanceof DomainError);
  assert.equal(caught.name, 'InvalidStateTransitionError');
  assert.equal(caught.reason, 'INVALID_STATE_TRANSITION');
  assert.deepEqual(caught.details, { taskId: 'task-42', from: 'completed', to: 'working' });
  assert.equal(caught.taskId, 'task-42');
  assert.equal(caught.from, 'completed');
  assert.equal(caught.to, 'working');
  assert.match(caught.message, /task-42/);
  assert.match(caught.message, /completed/);
  assert.match(caught.message, /working/);
});

test('assertTransition carries the pair it was given, not a fixed one', () => {
  assert.throws(
    () => assertTransition('t-7', 'input-required', 'submitted'),
    (error: unknown) =>
      error instanceof InvalidStateTransitionError &&
      error.details.from === 'input-required' &&
      error.details.to === 'submitted' &&
      error.details.taskId === 't-7',
  );
});

describe('named state sets', () => {
  const sorted = (states: readonly TaskState[]) => [...states].sort();

  test('each set holds exactly the states the A2A lifecycle gives it', () => {
    assert.deepEqual(sorted(ACTIVE_STATES), sorted(ACTIVE));
    assert.deepEqual(sorted(INTERRUPTED_STATES), sorted(INTERRUPTED));
    assert.deepEqual(sorted(TERMINAL_STATES), sorted(TERMINAL));
    assert.deepEqual(sorted(OPEN_STATES), sorted([...ACTIVE, ...INTERRUPTED]));
  });

  test('active, interrupted and terminal split the eight states: each state is in exactly one', () => {
    for (const state of TASK_STATES) {
      const homes = [ACTIVE_STATES, INTERRUPTED_STATES, TERMINAL_STATES].filter((set) => set.includes(state));
      assert.equal(homes.length, 1, state);
    }
  });

  test('the sets agree with the table: terminal goes nowhere, the others can still end', () => {
    for (const state of TASK_STATES) {
      const next = TASK_STATES.filter((to) => canTransition(state, to));
      assert.equal(next.length === 0, TERMINAL_STATES.includes(state), `${state} -> ${next.join(', ')}`);
      if (OPEN_STATES.includes(state)) assert.ok(canTransition(state, 'canceled'), `${state} can be canceled`);
    }
  });

  test('the sets cannot be changed at run time', () => {
    for (const set of [ACTIVE_STATES, INTERRUPTED_STATES, TERMINAL_STATES, OPEN_STATES]) {
      assert.throws(() => (set as TaskState[]).push('working'), TypeError);
    }
  });
});
