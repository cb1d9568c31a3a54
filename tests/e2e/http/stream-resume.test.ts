// Streams that resume over real HTTP, one agent on per-pod SQLite: every SSE
// event carries the task version as its id, and SubscribeToTask
// (tasks/resubscribe in 0.3) with that id — as Last-Event-ID, the lastEventId
// query parameter or params.metadata.lastEventId — replays exactly what the
// client missed. The task is held at the test's gate, so "mid-task" is a
// state the test controls, not a moment it hopes for. Callers authenticate
// with API keys, so another caller's task can be tried too.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RESUME_EXTENSION_URI } from '../../../src/protocol/resume.js';
import { bearer, newApiKey } from '../../support/auth.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { collect, rpc, stepwise, textMessage } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';
import type { SseStream } from '../../support/rpc.js';
import { assertInvalidParams, assertRpcError, errorInfo, streamCall, V03 } from './helpers.js';

/** One event as the test compares sequences: its SSE id and what it says. */
function describeEvent(id: string | undefined, envelope: any): string {
  const result = envelope.result;
  assert.ok(result !== undefined, `stream error: ${JSON.stringify(envelope.error)}`);
  if (result.task !== undefined) return `${id} task:${result.task.status.state}`;
  if (result.statusUpdate !== undefined) {
    const text = result.statusUpdate.status.message?.parts?.[0]?.text;
    return `${id} status:${result.statusUpdate.status.state}${text === undefined ? '' : `:${text}`}`;
  }
  if (result.artifactUpdate !== undefined) return `${id} artifact:${result.artifactUpdate.artifact.artifactId}`;
  // 0.3 results name their kind.
  if (result.kind === 'status-update') return `${id} status:${result.status.state}${result.status.message === undefined ? '' : `:${result.status.message.parts[0].text}`}`;
  if (result.kind === 'artifact-update') return `${id} artifact:${result.artifact.artifactId}`;
  if (result.kind === 'task') return `${id} task:${result.status.state}`;
  return `${id} ${JSON.stringify(result).slice(0, 80)}`;
}

/** Reads events one at a time, keeping their ids. */
function eventsOf(stream: SseStream) {
  const steps = stepwise(stream);
  let read = 0;
  return {
    async next(): Promise<string> {
      const envelope = await steps.next();
      return describeEvent(stream.ids[read++], envelope);
    },
    async rest(): Promise<string[]> {
      const envelopes = await steps.rest();
      return envelopes.map((envelope) => describeEvent(stream.ids[read++], envelope));
    },
  };
}

describe('streams that resume after Last-Event-ID (one agent, SQLite)', () => {
  let root: string;
  let agent: TestAgent;
  let url: string;
  let gate: Gate;
  const keys = { alice: newApiKey(), bob: newApiKey() };
  const alice = { ...bearer(keys.alice), 'A2A-Version': '1.0' };
  const bob = { ...bearer(keys.bob), 'A2A-Version': '1.0' };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-stream-resume-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    gate = await Gate.start();
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: join(root, 'keys'), STREAM_HEARTBEAT_INTERVAL: '100ms' });
    url = agent.url;
  });

  after(async () => {
    await agent?.dispose();
    await gate?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A task streamed to the gate and cut there by the client after "first": returns what the client saw and the run. */
  async function cutAfterFirst(): Promise<{ taskId: string; run: GatedRun; seen: string[]; lastId: string }> {
    const run = gate.run();
    const stream = await streamCall(url, 'SendStreamingMessage', { message: textMessage('resume me', { metadata: run.metadata }) }, alice);
    const events = eventsOf(stream);
    const seen = [await events.next(), await events.next()];
    run.say('first');
    seen.push(await events.next());
    stream.close();
    const taskId = await run.started();
    return { taskId, run, seen, lastId: stream.ids[2]! };
  }

  /** Moves the held task on while no client listens: these are the events a resumed stream must replay. */
  async function missWhileAway(taskId: string, run: GatedRun): Promise<void> {
    run.say('second');
    run.say('third');
    await waitFor('the task to say "third"', async () => (await rpc(url, 'GetTask', { id: taskId }, alice)).body.result.status.message?.parts?.[0]?.text === 'third');
  }

  test('every event of a stream carries the task version as its SSE id, from 1 up', async () => {
    const run = gate.run();
    run.say('first');
    run.release();
    const stream = await streamCall(url, 'SendStreamingMessage', { message: textMessage('ids', { metadata: run.metadata }) }, alice);
    const events = await eventsOf(stream).rest();
    assert.deepEqual(events, ['1 task:TASK_STATE_SUBMITTED', '2 status:TASK_STATE_WORKING:waiting at the gate', '3 status:TASK_STATE_WORKING:first', '4 artifact:echo', '5 status:TASK_STATE_COMPLETED']);
  });

  test('a stream cut by the client mid-task, resumed with Last-Event-ID, gets exactly what it missed, then live events', async () => {
    const { taskId, run, seen, lastId } = await cutAfterFirst();
    assert.deepEqual(seen, ['1 task:TASK_STATE_SUBMITTED', '2 status:TASK_STATE_WORKING:waiting at the gate', '3 status:TASK_STATE_WORKING:first']);
    await missWhileAway(taskId, run);
    const resumed = await streamCall(url, 'SubscribeToTask', { id: taskId }, { ...alice, 'Last-Event-ID': lastId });
    assert.equal(resumed.status, 200);
    const events = eventsOf(resumed);
    const replayed = [await events.next(), await events.next()];
    run.release();
    assert.deepEqual([...seen, ...replayed, ...(await events.rest())], [
      '1 task:TASK_STATE_SUBMITTED',
      '2 status:TASK_STATE_WORKING:waiting at the gate',
      '3 status:TASK_STATE_WORKING:first',
      '4 status:TASK_STATE_WORKING:second',
      '5 status:TASK_STATE_WORKING:third',
      '6 artifact:echo',
      '7 status:TASK_STATE_COMPLETED',
    ]);
  });

  test('the position may come as the lastEventId query parameter, or as params.metadata.lastEventId; 0.3 tasks/resubscribe takes it too', async () => {
    const { taskId, run, lastId } = await cutAfterFirst();
    await missWhileAway(taskId, run);
    const expected = ['4 status:TASK_STATE_WORKING:second', '5 status:TASK_STATE_WORKING:third'];
    const byQuery = await streamCall(`${url}/?lastEventId=${lastId}`, 'SubscribeToTask', { id: taskId }, alice);
    const byMetadata = await streamCall(url, 'SubscribeToTask', { id: taskId, metadata: { lastEventId: lastId } }, alice);
    const v03 = await streamCall(url, 'tasks/resubscribe', { id: taskId }, { ...bearer(keys.alice), ...V03, 'Last-Event-ID': lastId });
    const readers = [eventsOf(byQuery), eventsOf(byMetadata)];
    for (const reader of readers) assert.deepEqual([await reader.next(), await reader.next()], expected);
    const v03Reader = eventsOf(v03);
    assert.deepEqual([await v03Reader.next(), await v03Reader.next()], ['4 status:working:second', '5 status:working:third']);
    run.release();
    for (const reader of readers) assert.deepEqual(await reader.rest(), ['6 artifact:echo', '7 status:TASK_STATE_COMPLETED']);
    assert.deepEqual(await v03Reader.rest(), ['6 artifact:echo', '7 status:completed']);
  });

  test('a task that ended while the client was away: the missed events, then the stream closes; at its last id, it closes at once', async () => {
    const { taskId, run, lastId } = await cutAfterFirst();
    run.release();
    await waitFor('the task to complete', async () => (await rpc(url, 'GetTask', { id: taskId }, alice)).body.result.status.state === 'TASK_STATE_COMPLETED');
    const resumed = await streamCall(url, 'SubscribeToTask', { id: taskId }, { ...alice, 'Last-Event-ID': lastId });
    assert.deepEqual(await eventsOf(resumed).rest(), ['4 artifact:echo', '5 status:TASK_STATE_COMPLETED']);
    const atEnd = await streamCall(url, 'SubscribeToTask', { id: taskId }, { ...alice, 'Last-Event-ID': '5' });
    assert.equal(atEnd.status, 200);
    assert.deepEqual(await collect(atEnd), []);
  });

  test('hostile Last-Event-ID values are refused as invalid params naming where they came from, never echoed whole', async () => {
    const { taskId, run } = await cutAfterFirst();
    // Long, but within what the HTTP server takes in headers (a longer one never reaches the agent: 431).
    const long = '9'.repeat(8000);
    for (const value of ['-1', '99999999999', 'abc', '1e3', '0x10', '3.5', long, `${'1'.repeat(5000)}x`]) {
      const res = await rpc(url, 'SubscribeToTask', { id: taskId }, { ...alice, 'Last-Event-ID': value });
      const error = assertInvalidParams(res, 'Last-Event-ID');
      assert.ok(error.message.length < 300, `the message quotes the value at most in part: ${error.message.length} characters`);
      assert.match(error.message, /Last-Event-ID must be the id of an event this agent sent/);
    }
    assertInvalidParams(await rpc(`${url}/?lastEventId=-5`, 'SubscribeToTask', { id: taskId }, alice), 'lastEventId');
    assertInvalidParams(await rpc(url, 'SubscribeToTask', { id: taskId, metadata: { lastEventId: { $gt: 1 } } }, alice), 'params.metadata.lastEventId');
    assertInvalidParams(await rpc(url, 'SubscribeToTask', { id: taskId, metadata: { lastEventId: -3 } }, alice), 'params.metadata.lastEventId');
    // A well-formed id this task has not reached: from the future.
    const future = assertInvalidParams(await rpc(url, 'SubscribeToTask', { id: taskId }, { ...alice, 'Last-Event-ID': '2147483647' }), 'Last-Event-ID');
    assert.match(future.message, /past the last event of task/);
    run.release();
  });

  test("another caller's task is not found, whatever position it names", async () => {
    const { taskId, run, lastId } = await cutAfterFirst();
    for (const position of [lastId, '1', '1000']) {
      const res = await rpc(url, 'SubscribeToTask', { id: taskId }, { ...bob, 'Last-Event-ID': position });
      const error = assertRpcError(res.body, -32001);
      assert.equal(errorInfo(error).reason, 'TASK_NOT_FOUND');
      assert.equal(error.message, `task ${taskId} not found`);
    }
    run.release();
  });

  test('the agent card announces the resume extension, in both card shapes', async () => {
    for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const card = (await (await fetch(`${url}${path}`)).json()) as { capabilities: { extensions: any[] } };
      const extension = card.capabilities.extensions.find((e: any) => e.uri === RESUME_EXTENSION_URI);
      assert.ok(extension, `${path}: ${JSON.stringify(card.capabilities)}`);
      assert.equal(extension.required, false);
      assert.match(extension.description, /Last-Event-ID/);
    }
  });
});
