import type { TaskStore } from './task-store.js';

/** The store operations whose latency is measured: every read and write a request or a task run waits on. */
const TIMED_OPERATIONS = [
  'createTask',
  'getTask',
  'getHead',
  'findTaskByRequestKey',
  'findTaskByAlias',
  'hasMessage',
  'taskMetadata',
  'mergeTaskMetadata',
  'transition',
  'putArtifact',
  'applyRunChanges',
  'list',
  'unfinished',
  'deleteTerminalBefore',
  'countByState',
  'eventsAfter',
] as const satisfies readonly (keyof TaskStore)[];

export type TimedOperation = (typeof TIMED_OPERATIONS)[number];

/** Told how long each timed operation took, and whether it threw. */
export type StoreTimer = (operation: TimedOperation, outcome: 'ok' | 'error', seconds: number) => void;

/**
 * The same store, reporting each timed operation's duration. The operation
 * names are a fixed list, so the metric's label set stays bounded; getters
 * (isOpen, isFull, shared) and lifecycle calls pass straight through.
 */
export function timedStore(store: TaskStore, observe: StoreTimer): TaskStore {
  const timed = new Set<string | symbol>(TIMED_OPERATIONS);
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (!timed.has(property) || typeof value !== 'function') return value;
      const operation = property as TimedOperation;
      return async (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          observe(operation, 'ok', seconds());
          return result;
        } catch (error) {
          observe(operation, 'error', seconds());
          throw error;
        }
      };
    },
  });
}
