import { randomUUID } from 'node:crypto';
import type { Message, Part } from '../../model/model.js';

/** A user message with one text part and a fresh messageId, ready to send. */
export function userText(text: string, extra: { taskId?: string; contextId?: string; skill?: string } = {}): Message {
  const parts: Part[] = [{ kind: 'text', text }];
  const message: Message = { messageId: randomUUID(), role: 'user', parts };
  if (extra.taskId !== undefined) message.taskId = extra.taskId;
  if (extra.contextId !== undefined) message.contextId = extra.contextId;
  if (extra.skill !== undefined) message.metadata = { skill: extra.skill };
  return message;
}
