import { endsStream } from '../model/lifecycle.js';
import type { Task } from '../model/model.js';
import { taskAfter } from '../model/task-events.js';
import type { StreamEntry, TaskStream } from './task-stream.js';

/**
 * Waits for a task's stream to reach a state a blocking send answers with (a
 * terminal or interrupted one), and gives the task as the stream shows it: the
 * snapshot it opened with, and every event after it applied in order. Every
 * item a stream carries is durable, so this is what the store holds then,
 * without reading it back. Undefined when the stream cannot vouch for that: it
 * skipped a version, or it was cut (overflow, close) first; the caller asks the
 * store. A stream whose source failed rejects with the failure.
 */
export function finalTask(stream: TaskStream): Promise<Task | undefined> {
  return new Promise((resolve, reject) => {
    let task: Task | undefined;
    let version = 0;
    let gap = false;
    let answered = false;
    const answer = (shown: Task | undefined): false => {
      answered = true;
      resolve(shown);
      return false;
    };
    const take = ({ item, version: at }: StreamEntry): boolean => {
      if (answered) return false;
      if (item.kind === 'task') {
        task = item.task;
        version = at ?? Number.NaN;
        return endsStream(task.status.state) ? answer(task) : true;
      }
      if (item.kind === 'message') return answer(undefined);
      if (task === undefined || at !== version + 1) gap = true;
      else {
        task = taskAfter(task, item);
        version = at;
      }
      return item.kind === 'status-update' && item.final ? answer(gap ? undefined : task) : true;
    };
    // Taken without a wake-up per item: what is queued now, then each item in the publisher's call.
    for (let entry = stream.take(); entry !== undefined && !answered; entry = stream.take()) take(entry);
    if (!answered) stream.attach(take);
    stream.onClose(() => {
      if (answered) return;
      if (stream.endReason === 'failed') reject(stream.error);
      else answer(undefined);
    });
  });
}
