import { createHash } from 'node:crypto';
import type { Message } from '../model/model.js';

/**
 * What makes a message "the same message again": its messageId and its
 * content. A client retry resends both unchanged, so it finds the work it
 * already started; a different message that reuses an id (some clients, and
 * the conformance suite, do) is new work, not a retry.
 */
export function messageKey(message: Message): string {
  const content = JSON.stringify([
    message.messageId,
    message.parts,
    message.contextId ?? null,
    message.metadata ?? null,
    message.referenceTaskIds ?? null,
    message.extensions ?? null,
  ]);
  return createHash('sha256').update(content).digest('base64url');
}
