import type { StreamItem, Task } from './model.js';

/**
 * A task as a caller who asked for `historyLength` messages sees it: the most
 * recent ones only (0: none; undefined: no limit). The protocol forbids
 * answering with more history than asked.
 */
export function withHistoryLimit(task: Task, historyLength: number | undefined): Task {
  if (historyLength === undefined || task.history.length <= historyLength) return task;
  return { ...task, history: historyLength === 0 ? [] : task.history.slice(-historyLength) };
}

/** A stream event with its task's history limited as above; other events carry no history and pass as they are. */
export function streamItemWithHistoryLimit(item: StreamItem, historyLength: number | undefined): StreamItem {
  if (item.kind !== 'task') return item;
  const task = withHistoryLimit(item.task, historyLength);
  return task === item.task ? item : { kind: 'task', task };
}
