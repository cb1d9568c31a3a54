import { A2AClientError } from '../peers/a2a-client.js';

/** The environment variable whose value the CLI sends as `Authorization: Bearer …` to this service's own routes. */
export const TOKEN_ENV = 'KAGENT_A2A_TOKEN';

/**
 * A call to one of the service's own JSON routes (not an A2A method): its
 * answer as JSON, or an A2AClientError a client command turns into its exit code.
 */
export async function serviceJson(method: 'GET' | 'POST', url: string): Promise<{ status: number; body: unknown }> {
  const token = process.env[TOKEN_ENV];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new A2AClientError('connection', `cannot reach ${url}: ${cause}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.status === 401 || res.status === 403) {
    const why = errorText(body) ?? `HTTP ${res.status}`;
    throw new A2AClientError('rpc', `${method} ${url} was refused: ${why}${token === undefined ? ` (set ${TOKEN_ENV} to the API key or token to send)` : ''}`);
  }
  return { status: res.status, body };
}

/** The `error` text of a JSON error answer, if it has one. */
export function errorText(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}
