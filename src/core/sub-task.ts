import { endsStream, isTerminal } from '../model/lifecycle.js';
import type { Caller, Message, StreamItem, Task } from '../model/model.js';

// A skill running another skill of this agent (the assistant's tool calls):
// the sub-skill runs as a real task (listed, stored, cancelable) of the same
// caller, so its skill permissions and limits apply to it.

/** What a sub-task needs of the task service. */
export interface SubTaskService {
  /** The task's events; `close` ends the iteration at once. */
  sendStreamingMessage(caller: Caller, message: Message): Promise<AsyncIterable<StreamItem> & { close(): void }>;
  getTask(caller: Caller, taskId: string): Promise<Task>;
  cancelTask(caller: Caller, taskId: string): Promise<Task>;
}

export interface SubTaskOptions {
  /** Told of every event of the task as it arrives (progress for whoever waits). */
  onItem?: (item: StreamItem) => void;
  /** Leave a task that asks for input open, for a later message to answer; default: cancel it. */
  keepInterrupted?: boolean;
}

/**
 * Runs `skillId` on `message` as `caller` and resolves with the task once it
 * has ended or asked for input (or with the skill's direct reply); aborting
 * `signal` cancels the sub-task. A sub-task that asks for input is canceled
 * after it is read (unless `keepInterrupted`), since nobody will answer it; the caller learns what it asked.
 */
export async function runSubTask(
  service: SubTaskService,
  caller: Caller,
  skillId: string,
  message: Message,
  signal: AbortSignal,
  options: SubTaskOptions = {},
): Promise<Task | Message> {
  signal.throwIfAborted();
  const stream = await service.sendStreamingMessage(caller, { ...message, metadata: { ...message.metadata, skill: skillId } });
  let taskId: string | undefined;
  let canceled = false;
  const cancel = () => {
    if (taskId === undefined || canceled) return;
    canceled = true;
    service.cancelTask(caller, taskId).catch(() => {});
  };
  // Closing the stream ends the loop below at once.
  const stop = () => {
    cancel();
    stream.close();
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const item of stream) {
      if (item.kind === 'message') return item.message;
      if (item.kind === 'task') taskId = item.task.id;
      options.onItem?.(item);
      if (signal.aborted) break;
    }
    if (signal.aborted) {
      cancel();
      signal.throwIfAborted();
    }
    if (taskId === undefined) throw new Error(`skill ${skillId} started no task`);
    let task = await service.getTask(caller, taskId);
    // A stream cut short (a slow reader) leaves the task running: wait for it.
    while (!endsStream(task.status.state)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      signal.throwIfAborted();
      task = await service.getTask(caller, taskId);
    }
    if (!isTerminal(task.status.state) && options.keepInterrupted !== true) await service.cancelTask(caller, taskId).catch(() => {});
    return task;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
