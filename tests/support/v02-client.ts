// A client of the A2A 0.2 drafts, as plain JSON-RPC bodies over fetch: it
// chooses its task ids, sends no A2A-Version, and speaks tasks/send,
// tasks/sendSubscribe, tasks/get, tasks/cancel and tasks/resubscribe. The
// scenario runs the same on one pod, across per-pod replicas and over a
// shared store; `first` and `other` may be the same URL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { collect, openStream, rpc, stepwise } from './rpc.js';
import type { RpcResponse, SseStream } from './rpc.js';

export interface V02Message {
  role: 'user';
  parts: { type: 'text'; text: string }[];
  metadata?: Record<string, unknown>;
}

export function v02Message(text: string, metadata: Record<string, unknown> = { skill: 'echo' }): V02Message {
  return { role: 'user', parts: [{ type: 'text', text }], metadata };
}

/** A task id as a 0.2 client makes one. */
export function clientTaskId(prefix = 'job'): string {
  return `${prefix}-${randomUUID()}`;
}

export class V02Client {
  /** `headers`: credentials only; a 0.2 client sends no A2A-Version. */
  constructor(private readonly headers: Record<string, string> = {}) {}

  call(url: string, method: string, params: unknown): Promise<RpcResponse> {
    return rpc(url, method, params, this.headers);
  }

  send(url: string, id: string, message: V02Message, extra: Record<string, unknown> = {}): Promise<RpcResponse> {
    return this.call(url, 'tasks/send', { id, message, ...extra });
  }

  get(url: string, id: string, extra: Record<string, unknown> = {}): Promise<RpcResponse> {
    return this.call(url, 'tasks/get', { id, ...extra });
  }

  cancel(url: string, id: string): Promise<RpcResponse> {
    return this.call(url, 'tasks/cancel', { id });
  }

  sendSubscribe(url: string, id: string, message: V02Message, extra: Record<string, unknown> = {}): Promise<SseStream> {
    return openStream(url, 'tasks/sendSubscribe', { id, message, ...extra }, this.headers);
  }

  resubscribe(url: string, id: string): Promise<SseStream> {
    return openStream(url, 'tasks/resubscribe', { id }, this.headers);
  }
}

/** The result of a call; fails with its error. */
export function result(res: RpcResponse): any {
  assert.equal(res.body.error, undefined, `unexpected error: ${JSON.stringify(res.body.error)}`);
  assert.ok(res.body.result !== undefined, 'missing result');
  return res.body.result;
}

/** Stream envelopes to their results, checking that each answers the call and that none is an error. */
function results(stream: SseStream, envelopes: any[]): any[] {
  return envelopes.map((envelope) => {
    assert.equal(envelope.id, stream.id);
    assert.equal(envelope.error, undefined, `stream error: ${JSON.stringify(envelope.error)}`);
    return envelope.result;
  });
}

/** Asserts a value has the draft's Task shape under the client's id, with nothing of 0.3 or 1.0 in it. */
export function assertDraftTask(task: any, id: string, state: string): void {
  assert.equal(task.id, id, JSON.stringify(task));
  assert.equal(task.status.state, state, JSON.stringify(task.status));
  assert.equal(typeof task.sessionId, 'string');
  for (const key of ['kind', 'contextId']) assert.equal(task[key], undefined, key);
}

/**
 * The 0.2 client's whole round: send with its id and poll by it, stream,
 * cancel, resubscribe, and a second turn under the same id. Every call after
 * the first send goes to `other`, the pod that did not create the task when
 * they differ.
 */
export async function runV02Scenario(client: V02Client, first: string, other: string): Promise<void> {
  // Send with an id, then poll by that id.
  const sent = clientTaskId();
  const session = `session-${randomUUID()}`;
  const done = result(await client.send(first, sent, v02Message('hello 0.2'), { sessionId: session }));
  assertDraftTask(done, sent, 'completed');
  assert.equal(done.sessionId, session);
  assert.deepEqual(done.artifacts[0].parts, [{ type: 'text', text: 'hello 0.2' }]);
  assert.equal(done.artifacts[0].index, 0);
  assert.deepEqual(done.history[0], { role: 'user', parts: [{ type: 'text', text: 'hello 0.2' }], metadata: { skill: 'echo' } });
  const polled = result(await client.get(other, sent));
  assertDraftTask(polled, sent, 'completed');
  assert.deepEqual(polled, done);
  assert.deepEqual(result(await client.get(other, sent, { historyLength: 0 })).history, undefined);

  // Stream: update events only, every one under the client's id, the last one final.
  const streamed = clientTaskId('stream');
  const stream = await client.sendSubscribe(other, streamed, v02Message('streamed'));
  assert.equal(stream.status, 200);
  const events = results(stream, await collect(stream));
  for (const event of events) assert.equal(event.id, streamed);
  const states = events.filter((e) => e.status !== undefined).map((e) => `${e.status.state}${e.final ? '!' : ''}`);
  assert.deepEqual(states, ['submitted', 'working', 'completed!']);
  const artifacts = events.filter((e) => e.artifact !== undefined).map((e) => e.artifact);
  assert.deepEqual(artifacts, [{ name: 'echo', parts: [{ type: 'text', text: 'streamed' }], index: 0, append: false, lastChunk: true }]);
  assertDraftTask(result(await client.get(first, streamed)), streamed, 'completed');

  // Cancel a long task through the pod that does not run it; its stream ends canceled.
  const long = clientTaskId('long');
  const running = await client.sendSubscribe(first, long, v02Message('long', { skill: 'echo', delayMs: 60_000 }));
  const steps = stepwise(running);
  assert.equal((await steps.next()).result.status.state, 'submitted');
  assert.equal((await steps.next()).result.status.state, 'working');
  const canceled = result(await client.cancel(other, long));
  assertDraftTask(canceled, long, 'canceled');
  const rest = results(running, await steps.rest());
  assert.deepEqual(rest.at(-1), { id: long, status: rest.at(-1).status, final: true });
  assert.equal(rest.at(-1).status.state, 'canceled');
  assertDraftTask(result(await client.get(other, long)), long, 'canceled');
  // Canceling again answers with the task as it is.
  assertDraftTask(result(await client.cancel(first, long)), long, 'canceled');

  // Resubscribe by the client's id after the first stream went away.
  const again = clientTaskId('again');
  const dropped = await client.sendSubscribe(first, again, v02Message('again', { skill: 'echo', delayMs: 60_000 }));
  const dropping = stepwise(dropped);
  await dropping.next();
  await dropping.next();
  dropped.close();
  const resumed = await client.resubscribe(other, again);
  assert.equal(resumed.status, 200);
  const resumedSteps = stepwise(resumed);
  const now = (await resumedSteps.next()).result;
  assert.deepEqual([now.id, now.status.state, now.final], [again, 'working', false]);
  result(await client.cancel(other, again));
  const tail = results(resumed, await resumedSteps.rest());
  assert.equal(tail.at(-1).status.state, 'canceled');
  assert.equal(tail.at(-1).final, true);

  // Multi-turn: the same id again continues the task that asked for input.
  const review = clientTaskId('review');
  const asked = result(await client.send(first, review, v02Message('please review', { skill: 'manifest-review' })));
  assertDraftTask(asked, review, 'input-required');
  assert.equal(asked.status.message.role, 'agent');
  assert.equal(asked.status.message.parts[0].type, 'text');
  const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n';
  const reviewed = result(await client.send(other, review, v02Message(manifest, { skill: 'manifest-review' }), { sessionId: asked.sessionId }));
  assertDraftTask(reviewed, review, 'completed');
  assert.equal(reviewed.sessionId, asked.sessionId);
  const userTurns = reviewed.history.filter((m: any) => m.role === 'user').map((m: any) => m.parts[0].text);
  assert.deepEqual(userTurns, ['please review', manifest]);
  // The task ended: its id names it still, and takes no further message.
  const late = await client.send(first, review, v02Message('one more', { skill: 'manifest-review' }));
  assert.equal(late.body.error?.code, -32004, JSON.stringify(late.body));
  assert.match(late.body.error!.message, /completed and accepts no further messages/);
}
