import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../model/model.js';
import type { PushStore } from '../store/push-store.js';
import { sendJsonText } from './send-json.js';

// The caller's dead letters, for `kagent-a2a push dead-letters URL` and
// `kagent-a2a push retry URL ID`. Behind the same authentication as A2A calls,
// and scoped like tasks: a caller sees and retries only deliveries of its own tasks.

export const DEAD_LETTERS_PATH = '/push/dead-letters';
const RETRY_PATH = /^\/push\/dead-letters\/(\d{1,15})\/retry$/;
/** Most dead letters one listing shows (oldest first); retrying or deleting tasks makes room for the rest. */
const MAX_LISTED = 500;

export function isDeadLetterPath(path: string): boolean {
  return path === DEAD_LETTERS_PATH || path.startsWith(`${DEAD_LETTERS_PATH}/`);
}

export async function serveDeadLetters(req: IncomingMessage, res: ServerResponse, path: string, caller: Caller, store: PushStore, onRetried: () => void): Promise<void> {
  req.resume();
  if (path === DEAD_LETTERS_PATH) {
    if (req.method !== 'GET') return answer(res, 405, { error: 'use GET' }, { allow: 'GET' });
    const deadLetters = await store.deadLetters(caller, MAX_LISTED);
    return answer(res, 200, { deadLetters: deadLetters.map((d) => ({ ...d, createdAt: new Date(d.createdAt).toISOString(), deadAt: new Date(d.deadAt).toISOString() })) });
  }
  const retry = RETRY_PATH.exec(path);
  if (retry === null) return answer(res, 404, { error: `no route for ${req.method ?? 'GET'} ${path}; retry a dead letter with POST ${DEAD_LETTERS_PATH}/<id>/retry` });
  if (req.method !== 'POST') return answer(res, 405, { error: 'use POST' }, { allow: 'POST' });
  const id = Number(retry[1]);
  if (!(await store.retryDeadLetter(caller, id))) {
    return answer(res, 404, { error: `no dead letter ${id} among this caller's (or its push config was deleted since)` });
  }
  onRetried();
  return answer(res, 200, { retried: id });
}

function answer(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
}
