// Every call the console makes: A2A 1.0 JSON-RPC at the service's own origin,
// and the read-only views it already serves. The caller's credential lives in
// this module's memory only: never in storage, gone with the tab.

import type { AgentCard, PeerStatus, SettingsView, StreamResponse, Task, TaskPage } from './wire';

export type Credential = { kind: 'api-key' | 'bearer'; value: string };

let credential: Credential | undefined;
const authListeners = new Set<() => void>();

export function setCredential(next: Credential | undefined): void {
  credential = next;
}

export function hasCredential(): boolean {
  return credential !== undefined;
}

/** Called when the service refuses the caller (401): the app shows the sign-in. */
export function onUnauthenticated(listener: () => void): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

function authHeaders(): Record<string, string> {
  if (credential === undefined) return {};
  return credential.kind === 'api-key' ? { 'x-api-key': credential.value } : { authorization: `Bearer ${credential.value}` };
}

let nextId = 1;

async function post(method: string, params: unknown, accept: string, signal?: AbortSignal): Promise<Response> {
  const res = await fetch('/', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, 'A2A-Version': '1.0', ...authHeaders() },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    ...(signal === undefined ? {} : { signal }),
  });
  if (res.status === 401) authListeners.forEach((listener) => listener());
  return res;
}

interface Envelope<T> {
  result?: T;
  error?: { code: number; message: string };
}

function unwrap<T>(envelope: Envelope<T>, status: number): T {
  if (envelope.error !== undefined) throw new ApiError(envelope.error.message, status, envelope.error.code);
  if (envelope.result === undefined) throw new ApiError('the answer has neither result nor error', status);
  return envelope.result;
}

export async function call<T>(method: string, params: unknown): Promise<T> {
  const res = await post(method, params, 'application/json');
  let envelope: Envelope<T>;
  try {
    envelope = (await res.json()) as Envelope<T>;
  } catch {
    throw new ApiError(`${method}: the service answered ${res.status} without JSON`, res.status);
  }
  return unwrap(envelope, res.status);
}

/** A streaming method's events (server-sent events read from a POST), until the service ends the stream or `signal` aborts. */
export async function* stream(method: string, params: unknown, signal?: AbortSignal): AsyncGenerator<StreamResponse> {
  const res = await post(method, params, 'text/event-stream', signal);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const envelope = (await res.json().catch(() => ({ error: { code: 0, message: `the service answered ${res.status}` } }))) as Envelope<StreamResponse>;
    yield unwrap(envelope, res.status);
    return;
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (data !== '') yield unwrap(JSON.parse(data) as Envelope<StreamResponse>, res.status);
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

export interface ListQuery {
  status?: string;
  contextId?: string;
  pageToken?: string;
  statusTimestampAfter?: string;
  pageSize: number;
}

export const listTasks = (query: ListQuery) => call<TaskPage>('ListTasks', { ...query, historyLength: 1 });
export const getTask = (id: string) => call<Task>('GetTask', { id });
export const cancelTask = (id: string) => call<Task>('CancelTask', { id });

/** A read-only view of the service (GET, JSON or text), with the credential. */
export async function view(path: string): Promise<Response> {
  const res = await fetch(path, { headers: authHeaders() });
  if (res.status === 401 && path !== '/metrics') authListeners.forEach((listener) => listener());
  return res;
}

export async function agentCard(): Promise<AgentCard> {
  const res = await fetch('/.well-known/agent-card.json');
  if (!res.ok) throw new ApiError(`the agent card answered ${res.status}`, res.status);
  return (await res.json()) as AgentCard;
}

export async function peers(): Promise<PeerStatus[]> {
  const res = await view('/peers');
  if (!res.ok) throw new ApiError(`/peers answered ${res.status}`, res.status);
  return ((await res.json()) as { peers: PeerStatus[] }).peers;
}

export async function settings(): Promise<SettingsView> {
  const res = await view('/settings');
  if (!res.ok) throw new ApiError(`/settings answered ${res.status}`, res.status);
  return (await res.json()) as SettingsView;
}

/** Whether the credential is accepted, by a call every caller may make. */
export async function checkCredential(): Promise<void> {
  await listTasks({ pageSize: 1 });
}
