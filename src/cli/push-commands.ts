import { A2AClientError } from '../peers/a2a-client.js';
import { withoutTrailingSlashes } from '../model/text.js';
import { errorText, serviceJson } from './service-http.js';

// `kagent-a2a push dead-letters URL` and `kagent-a2a push retry URL ID`: the
// caller's push deliveries the agent gave up on, from GET /push/dead-letters,
// and one put back in the outbox with POST /push/dead-letters/ID/retry.

export interface DeadLetterView {
  id: number;
  taskId: string;
  configId: string;
  origin: string;
  attempts: number;
  createdAt: string;
  deadAt: string;
  lastError: string;
}

/** Thrown for a push command used wrongly; the caller prints it with the usage. */
export class PushUsageError extends Error {}

export async function runPush(positionals: readonly string[], baseUrl: (raw: string) => string, print: (human: string, wire: unknown) => void): Promise<void> {
  const [sub, rawUrl, id, ...extra] = positionals;
  if (sub !== 'dead-letters' && sub !== 'retry') throw new PushUsageError(`push takes dead-letters or retry, got ${sub === undefined ? 'nothing' : `"${sub}"`}`);
  if (rawUrl === undefined) throw new PushUsageError('the agent URL is missing');
  const base = `${withoutTrailingSlashes(baseUrl(rawUrl))}/push/dead-letters`;
  if (sub === 'dead-letters') {
    if (id !== undefined) throw new PushUsageError(`unexpected argument "${id}"`);
    const { status, body } = await serviceJson('GET', base);
    if (status === 404) throw new A2AClientError('unsupported', `${base} does not exist: push notifications are off there, or it is not a kagent-a2a service`);
    const letters = (body as { deadLetters?: DeadLetterView[] } | undefined)?.deadLetters;
    if (status !== 200 || !Array.isArray(letters)) throw new A2AClientError('invalid-response', `GET ${base} answered HTTP ${status} without a dead-letter list`);
    print(letters.length === 0 ? 'no dead letters' : letters.map(formatDeadLetter).join('\n'), letters);
    return;
  }
  if (id === undefined) throw new PushUsageError('the dead letter ID is missing');
  if (extra.length > 0) throw new PushUsageError(`unexpected argument "${extra[0]}"`);
  if (!/^\d{1,15}$/.test(id)) throw new PushUsageError(`the dead letter ID is a number (as push dead-letters shows it), got "${id}"`);
  const { status, body } = await serviceJson('POST', `${base}/${id}/retry`);
  if (status === 404) throw new A2AClientError('rpc', errorText(body) ?? `no dead letter ${id}`);
  if (status !== 200) throw new A2AClientError('invalid-response', `POST ${base}/${id}/retry answered HTTP ${status}`);
  print(`dead letter ${id} is queued for delivery again`, body);
}

function formatDeadLetter(d: DeadLetterView): string {
  return [
    `${d.id}  task ${d.taskId}  config ${d.configId}  ${d.origin}`,
    `    ${d.attempts} attempts, given up ${d.deadAt} (event of ${d.createdAt}): ${d.lastError}`,
  ].join('\n');
}
