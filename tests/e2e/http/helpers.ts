import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { collect, openStream, rpc } from '../../support/rpc.js';
import type { RpcResponse, SseStream } from '../../support/rpc.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor } from '../../support/wait.js';

export const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
export const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

/**
 * Checks a JSON-RPC error envelope: the expected code, the request id echoed,
 * only code/message/data in the error, and data as a list holding an ErrorInfo.
 * Returns the error for further checks.
 */
export function assertRpcError(
  body: RpcResponse['body'],
  code: number,
  expectedId?: unknown,
): { code: number; message: string; data: any[] } {
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.result, undefined, `expected an error, got result ${JSON.stringify(body.result)?.slice(0, 300)}`);
  assert.ok(body.error, `expected error ${code}, got ${JSON.stringify(body).slice(0, 300)}`);
  assert.equal(body.error.code, code, `expected code ${code}: ${JSON.stringify(body.error)}`);
  if (expectedId !== undefined) assert.deepEqual(body.id, expectedId);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'data', 'message']);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.ok(Array.isArray(body.error.data), 'error.data must be an array');
  const info = body.error.data.find((d: any) => d['@type'] === ERROR_INFO);
  assert.ok(info, `error.data must hold an ErrorInfo: ${JSON.stringify(body.error.data)}`);
  // A2A's reasons carry its domain; this agent's own (UNAUTHENTICATED, RATE_LIMITED, …) its own.
  assert.ok(info.domain === 'a2a-protocol.org' || info.domain === 'kagent.dev', `ErrorInfo domain ${info.domain}`);
  assert.equal(typeof info.reason, 'string');
  assert.equal(typeof info.metadata, 'object');
  return body.error as { code: number; message: string; data: any[] };
}

export function errorInfo(error: { data: any[] }): { reason: string; domain: string; metadata: Record<string, string> } {
  return error.data.find((d: any) => d['@type'] === ERROR_INFO);
}

/** The field named by the error's BadRequest detail. */
export function violatedField(error: { data: any[] }): string {
  const badRequest = error.data.find((d: any) => d['@type'] === BAD_REQUEST);
  assert.ok(badRequest, `error.data must hold a BadRequest: ${JSON.stringify(error.data)}`);
  assert.ok(Array.isArray(badRequest.fieldViolations) && badRequest.fieldViolations.length > 0);
  return badRequest.fieldViolations[0].field as string;
}

/** A -32602 error whose BadRequest names `field`. */
export function assertInvalidParams(res: RpcResponse, field: string, reason = 'INVALID_PARAMS'): { code: number; message: string; data: any[] } {
  assert.equal(res.status, 200);
  const error = assertRpcError(res.body, -32602);
  assert.equal(violatedField(error), field);
  assert.equal(errorInfo(error).reason, reason);
  return error;
}

/** Result of a successful call; fails with the error if there was one. */
export function ok(res: RpcResponse): any {
  assert.equal(res.body.error, undefined, `unexpected error: ${JSON.stringify(res.body.error)}`);
  assert.ok(res.body.result !== undefined, 'missing result');
  return res.body.result;
}


/** Waits until the task reaches a terminal state and returns it. */
export async function waitForTerminal(url: string, taskId: string, timeoutMs = PATIENCE_MS): Promise<any> {
  const terminal = ['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED'];
  return waitFor(`task ${taskId} to end`, async () => {
    const task = ok(await rpc(url, 'GetTask', { id: taskId }));
    return terminal.includes(task.status.state) ? task : undefined;
  }, timeoutMs);
}

export async function totalTasks(url: string): Promise<number> {
  return ok(await rpc(url, 'ListTasks', { pageSize: 1 })).totalSize as number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * POSTs with node:http so the body can be sent chunked (no Content-Length) or
 * with a Content-Length, and so a server that answers before reading the whole
 * body (and then closes the connection) is observed as it is: the answer
 * counts, a write error after it does not.
 */
export function rawPost(
  url: string,
  chunks: readonly Buffer[],
  headers: Record<string, string | number>,
  options: { chunked: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    let answered = false;
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: options.chunked
          ? { ...headers, 'transfer-encoding': 'chunked' }
          : { ...headers, 'content-length': chunks.reduce((n, c) => n + c.length, 0) },
        agent: false,
      },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    (async () => {
      for (const chunk of chunks) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              req.off('drain', done).off('close', done);
              resolve();
            };
            req.on('drain', done).on('close', done);
          });
        }
        // Chunked senders trickle: give the server the chance to answer mid-body.
        if (options.chunked) await sleep(1);
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

/** A 0.3 wire message. */
export function v03Message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'message', role: 'user', messageId: `m03-${Math.random().toString(36).slice(2)}`, parts: [{ kind: 'text', text }], ...extra };
}

export const V03 = { 'A2A-Version': '0.3' };
export const NO_VERSION: Record<string, string> = {};

/** A stream whose events are whole JSON-RPC envelopes. */
export type SseCall = SseStream;

let sseId = 0;

/**
 * A streaming JSON-RPC call with a known request id, yielding whole envelopes
 * (not only results) so each event's jsonrpc and id can be checked.
 */
export async function streamCall(
  url: string,
  method: string,
  params: unknown,
  headers: Record<string, string> = { 'A2A-Version': '1.0' },
): Promise<SseCall> {
  return openStream(url, method, params, headers, `sse-${++sseId}-${Math.random().toString(36).slice(2, 8)}`) as Promise<SseCall>;
}

/** Every envelope of a stream until the server closes it (bounded). */
export function collectEnvelopes(call: SseCall, timeoutMs = PATIENCE_MS): Promise<any[]> {
  return collect(call, timeoutMs);
}

/** The short name of a 1.0 stream result: task, message, statusUpdate or artifactUpdate. */
export function kindOf(result: Record<string, unknown>): string {
  const keys = Object.keys(result);
  assert.equal(keys.length, 1, `a 1.0 stream result has exactly one member, got ${keys.join(', ')}`);
  return keys[0]!;
}

/** Compact trace of a 1.0 stream: e.g. ["task:TASK_STATE_SUBMITTED", "statusUpdate:TASK_STATE_WORKING", "artifactUpdate:echo"]. */
export function trace(results: readonly any[]): string[] {
  return results.map((r) => {
    const kind = kindOf(r);
    if (kind === 'task') return `task:${r.task.status.state}`;
    if (kind === 'statusUpdate') return `statusUpdate:${r.statusUpdate.status.state}`;
    if (kind === 'artifactUpdate') return `artifactUpdate:${r.artifactUpdate.artifact.artifactId}`;
    return kind;
  });
}
