import { createHash } from 'node:crypto';
import { InvalidParamsError } from '../model/errors.js';
import type { Message } from '../model/model.js';

/**
 * What makes a message "the same message again": its messageId and its
 * content. A client retry resends both unchanged, so it finds the work it
 * already started; a different message that reuses an id (some clients, and
 * the conformance suite, do) is new work, not a retry.
 */
export function messageKey(message: Message): string {
  let content: string;
  try {
    content = JSON.stringify([
      message.messageId,
      message.parts,
      message.contextId ?? null,
      message.metadata ?? null,
      message.referenceTaskIds ?? null,
      message.extensions ?? null,
    ]);
  } catch (error) {
    // Decoders bound the nesting of what callers send; a message nested past the stack still gets a caller's error, not an internal one.
    if (error instanceof RangeError) throw new InvalidParamsError('params.message nests too deeply to be read', 'params.message');
    throw error;
  }
  return createHash('sha256').update(content).digest('base64url');
}
