import { randomUUID } from 'node:crypto';
import type { JsonObject, Message, Part } from '../../model/model.js';

export interface UserTextOptions {
  /** Continue this task (e.g. one waiting for input). */
  taskId?: string;
  contextId?: string;
  /** The message's metadata, e.g. { skill: 'echo', delayMs: 3000 }. */
  metadata?: JsonObject;
  /** Shorthand for metadata.skill; wins over a skill in `metadata`. */
  skill?: string;
}

/** A user message with one text part and a fresh messageId, ready to send. */
export function userText(text: string, options: UserTextOptions = {}): Message {
  const parts: Part[] = [{ kind: 'text', text }];
  const message: Message = { messageId: randomUUID(), role: 'user', parts };
  if (options.taskId !== undefined) message.taskId = options.taskId;
  if (options.contextId !== undefined) message.contextId = options.contextId;
  const metadata: JsonObject = { ...(options.metadata ?? {}), ...(options.skill === undefined ? {} : { skill: options.skill }) };
  if (Object.keys(metadata).length > 0) message.metadata = metadata;
  return message;
}
