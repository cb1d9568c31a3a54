import type { IncomingMessage, ServerResponse } from 'node:http';
import { ownerOf } from '../core/task-id.js';
import { OwnerUnavailableError } from '../model/errors.js';
import type { Operation } from '../protocol/methods.js';

/** How this pod reaches its siblings. Present in per-pod-store mode with a known pod URL template. */
export interface ClusterRouting {
  self: string;
  /** The stable URL of a pod, by name. */
  urlOf(pod: string): string;
  /** Every replica's pod name, this one included. */
  siblings(): readonly string[];
}

/** Marks a forwarded request: the receiver serves it itself, so a request never travels in a loop. */
export const HOP_HEADER = 'x-kagent-forwarded-by';

/** What the caller said that the owner must hear too: protocol version, extensions, credentials, trace context. */
const PASSED_HEADERS = ['a2a-version', 'a2a-extensions', 'authorization', 'traceparent', 'tracestate', 'baggage', 'accept', 'x-request-id'];
const RELAYED_HEADERS = ['content-type', 'retry-after', 'cache-control', 'x-accel-buffering'];
const OWNER_RETRY_AFTER_SECONDS = 5;

/** The task a request is about, read from the raw params (the owner validates them). */
export function routedTaskId(operation: Operation, params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as Record<string, unknown>;
  switch (operation) {
    case 'get':
    case 'cancel':
    case 'subscribe':
      return typeof p.id === 'string' ? p.id : undefined;
    case 'send':
    case 'stream': {
      const message = p.message;
      if (typeof message !== 'object' || message === null) return undefined;
      const m = message as Record<string, unknown>;
      const taskId = m.taskId ?? m.task_id;
      return typeof taskId === 'string' ? taskId : undefined;
    }
    default:
      return undefined;
  }
}

/** The pod to forward to, if the task belongs to another one and the request was not forwarded already. */
export function foreignOwner(req: IncomingMessage, routing: ClusterRouting, taskId: string | undefined): string | undefined {
  if (taskId === undefined || req.headers[HOP_HEADER] !== undefined) return undefined;
  const owner = ownerOf(taskId);
  return owner !== undefined && owner !== routing.self ? owner : undefined;
}

export function forwardHeaders(req: IncomingMessage, self: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', [HOP_HEADER]: self };
  for (const name of PASSED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/**
 * Sends the request to the task's owner and relays its answer unchanged,
 * streams chunk by chunk (heartbeats included). An owner that cannot be
 * reached is a retryable error naming it — never "task not found".
 */
export async function forwardToOwner(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  taskId: string,
  owner: string,
  routing: ClusterRouting,
): Promise<void> {
  const controller = new AbortController();
  const onClientGone = () => controller.abort();
  res.once('close', onClientGone);
  let upstream: Response;
  try {
    upstream = await fetch(`${routing.urlOf(owner)}/`, {
      method: 'POST',
      headers: forwardHeaders(req, routing.self),
      body,
      signal: controller.signal,
    });
  } catch (error) {
    res.off('close', onClientGone);
    throw new OwnerUnavailableError(taskId, owner, describe(error), OWNER_RETRY_AFTER_SECONDS);
  }
  const headers: Record<string, string> = {};
  for (const name of RELAYED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  res.writeHead(upstream.status, headers);
  res.flushHeaders();
  try {
    if (upstream.body !== null) {
      for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
    }
    res.end();
  } catch {
    // The owner went away mid-answer, or the client did: nothing more can be said.
    res.destroy();
  } finally {
    res.off('close', onClientGone);
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    return error.message;
  }
  return String(error);
}
