import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { bearer, newApiKey } from '../../support/auth.js';
import { ConfigMapDir } from '../../support/configmap-dir.js';
import { BINDINGS, jsonRpcBinding } from '../../support/bindings.js';
import type { Answer, Binding, BindingError, StreamAnswer } from '../../support/bindings.js';
import { Gate } from '../../support/gate.js';
import { sseEvents, textMessage } from '../../support/rpc.js';
import { deferred } from '../../support/wait.js';

// The same scenarios over every binding the server speaks (JSON-RPC, HTTP+JSON, gRPC;
// a new binding is one more row in BINDINGS): one dispatcher under them all, so
// every answer, event sequence and error must come out the same.

const V1 = { 'A2A-Version': '1.0' };

// `agent` has push notifications turned off (PUSH_NOTIFICATIONS=false); `pushAgent` serves them, to two
// callers by API key, and admits webhooks on localhost alone (EGRESS_ALLOW). Nothing listens on port 9:
// no test here waits for a delivery (those are tests/e2e/push), and failed ones wait an hour to retry.
let agent: TestAgent;
let pushAgent: TestAgent;
let keysRoot: string;
const alice = newApiKey();
const bob = newApiKey();
const HOOK = 'http://localhost:9/hook';
let gate: Gate;
let counter = 0;
const unique = () => `${process.pid}-${counter++}`;
const echo = (text: string, extra: Record<string, unknown> = {}) => textMessage(text, { metadata: { skill: 'echo' }, ...extra });

before(async () => {
  gate = await Gate.start();
  agent = await startTestAgent({ CONFORMANCE_AGENT: 'true', PUSH_NOTIFICATIONS: 'false' }, undefined, undefined, { grpcPort: 0 });
  keysRoot = mkdtempSync(join(tmpdir(), 'kagent-bindings-keys-'));
  const keys = new ConfigMapDir(join(keysRoot, 'keys'));
  keys.update({ alice, bob });
  pushAgent = await startTestAgent(
    { AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: keys.path, EGRESS_ALLOW: 'localhost', PUSH_RETRY_BASE: '1h', PUSH_RETRY_MAX: '1h' },
    undefined,
    undefined,
    { grpcPort: 0 },
  );
});

after(async () => {
  await agent.dispose();
  await pushAgent.dispose();
  rmSync(keysRoot, { recursive: true, force: true });
  await gate.close();
});

/** A completed task of alice's on the push agent. */
async function aliceTask(): Promise<string> {
  return value(await jsonRpcBinding.call(pushAgent.url, 'send', { message: echo('pushed') }, bearer(alice))).task.id;
}

function value(answer: Answer): any {
  if (!answer.ok) assert.fail(`expected a result, got ${answer.error.reason}: ${answer.error.message} ${JSON.stringify(answer.error.raw)}`);
  return answer.value;
}

function failure(answer: Answer | StreamAnswer): BindingError {
  const error = 'ok' in answer ? (answer.ok ? undefined : answer.error) : answer.error;
  if (error === undefined) assert.fail(`expected an error, got ${JSON.stringify(answer)}`);
  return error;
}

/** A summary of a stream's events that does not depend on ids or times. */
function shape(events: any[]): string[] {
  return events.map((e) => {
    if (e.task) return `task:${e.task.status.state}`;
    if (e.statusUpdate) return `status:${e.statusUpdate.status.state}${e.statusUpdate.status.message ? `:${e.statusUpdate.status.message.parts[0]?.text}` : ''}`;
    if (e.artifactUpdate) return `artifact:${e.artifactUpdate.artifact.parts[0]?.text}:last=${e.artifactUpdate.lastChunk}`;
    if (e.message) return `message:${e.message.parts[0]?.text}`;
    return `unknown:${JSON.stringify(e)}`;
  });
}

async function completedTask(binding: Binding): Promise<any> {
  const task = value(await binding.call(agent.url, 'send', { message: echo('done') })).task;
  assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
  return task;
}

for (const binding of BINDINGS) {
  describe(`${binding.name}: the operations`, () => {
    test('send, then get by id (with and without history)', async () => {
      const task = value(await binding.call(agent.url, 'send', { message: echo('hello') })).task;
      assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(task.artifacts[0].parts[0].text, 'hello');
      const got = value(await binding.call(agent.url, 'get', { id: task.id }));
      assert.equal(got.id, task.id);
      assert.deepEqual(got.artifacts, task.artifacts);
      assert.ok(got.history.length > 0);
      const bare = value(await binding.call(agent.url, 'get', { id: task.id, historyLength: 0 }));
      assert.equal(bare.history, undefined, 'historyLength 0: no history');
    });

    test('a streamed send: the task first, the artifact, the final status last', async () => {
      const answer = await binding.stream(agent.url, 'stream', { message: echo('streamed') });
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      const events = shape(answer.events);
      assert.equal(events[0], 'task:TASK_STATE_SUBMITTED');
      assert.ok(events.includes('artifact:streamed:last=true'), events.join(' | '));
      assert.equal(events.at(-1), 'status:TASK_STATE_COMPLETED');
      const ids = new Set(answer.events.map((e) => e.task?.id ?? e.statusUpdate?.taskId ?? e.artifactUpdate?.taskId));
      assert.equal(ids.size, 1, 'every event is about the one task');
    });

    test('list: newest first, paged with a page size sent as a string, filtered by state', async () => {
      const a = await completedTask(binding);
      const b = await completedTask(binding);
      const page = value(await binding.call(agent.url, 'list', { pageSize: '1' }));
      assert.deepEqual(page.tasks.map((t: any) => t.id), [b.id]);
      assert.notEqual(page.nextPageToken, '');
      const next = value(await binding.call(agent.url, 'list', { pageSize: 1, pageToken: page.nextPageToken }));
      assert.deepEqual(next.tasks.map((t: any) => t.id), [a.id]);
      const completed = value(await binding.call(agent.url, 'list', { status: 'TASK_STATE_COMPLETED', pageSize: 100 }));
      assert.ok(completed.tasks.every((t: any) => t.status.state === 'TASK_STATE_COMPLETED'));
      const none = value(await binding.call(agent.url, 'list', { status: 'TASK_STATE_REJECTED' }));
      assert.deepEqual(none.tasks ?? [], []);
    });

    test('cancel a working task (and again: cancel is idempotent); the skill sees its abort', async () => {
      const run = gate.run();
      const task = value(await binding.call(agent.url, 'send', { message: textMessage('held', { metadata: run.metadata }), configuration: { returnImmediately: true } })).task;
      await run.started();
      const canceled = value(await binding.call(agent.url, 'cancel', { id: task.id }));
      assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
      await run.aborted();
      const again = value(await binding.call(agent.url, 'cancel', { id: task.id }));
      assert.equal(again.status.state, 'TASK_STATE_CANCELED');
    });

    test('subscribe to a working task: its snapshot, then every event to the end', async () => {
      const run = gate.run();
      const task = value(await binding.call(agent.url, 'send', { message: textMessage('watched', { metadata: run.metadata }), configuration: { returnImmediately: true } })).task;
      await run.started();
      const opened = deferred<void>();
      const answer = binding.stream(agent.url, 'subscribe', { id: task.id }, undefined, () => opened.resolve());
      await opened.promise;
      run.say('one');
      run.release();
      const { events, error } = await answer;
      assert.equal(error, undefined, JSON.stringify(error));
      assert.deepEqual(shape(events).slice(0, 2), ['task:TASK_STATE_WORKING', 'status:TASK_STATE_WORKING:one']);
      assert.equal(shape(events).at(-1), 'status:TASK_STATE_COMPLETED');
    });

    test('resume after an event id: what came after it, in order, then the end of the ended task', async () => {
      const sent = await binding.stream(agent.url, 'stream', { message: echo('resumed') });
      assert.equal(sent.error, undefined, JSON.stringify(sent.error));
      // Event ids are task versions: a new task's Task event is 1, each event after it one more.
      const resumed = await binding.stream(agent.url, 'subscribe', { id: sent.events[0].task.id }, { ...V1, 'last-event-id': '1' });
      assert.equal(resumed.error, undefined, JSON.stringify(resumed.error));
      assert.deepEqual(shape(resumed.events), shape(sent.events).slice(1));
    });

    test('multi-turn: a task that asks for input is continued by id, blocking and streaming', async () => {
      const first = value(await binding.call(agent.url, 'send', { message: textMessage('start', { messageId: `tck-input-required-${unique()}` }) })).task;
      assert.equal(first.status.state, 'TASK_STATE_INPUT_REQUIRED');
      const second = value(await binding.call(agent.url, 'send', { message: textMessage('more', { messageId: `tck-input-required-${unique()}`, taskId: first.id }) })).task;
      assert.equal(second.id, first.id);
      assert.equal(second.status.state, 'TASK_STATE_INPUT_REQUIRED');
      const last = await binding.stream(agent.url, 'stream', { message: textMessage('finish', { messageId: `tck-complete-task-${unique()}`, taskId: first.id }) });
      assert.equal(last.events[0].task.id, first.id);
      assert.equal(shape(last.events).at(-1), 'status:TASK_STATE_COMPLETED:Hello from TCK');
      const final = value(await binding.call(agent.url, 'get', { id: first.id }));
      assert.equal(final.history.filter((m: any) => m.role === 'ROLE_USER').length, 3);
      assert.equal(final.contextId, first.contextId);
    });

    test('push configs: create, get, list and delete; the credentials are never read back', async () => {
      const taskId = await aliceTask();
      const as = bearer(alice);
      const created = value(
        await binding.call(pushAgent.url, 'push-config-create', { taskId, id: 'cfg-1', url: HOOK, token: 'tok', authentication: { scheme: 'Bearer', credentials: 'super-secret' } }, as),
      );
      const expected = { taskId, id: 'cfg-1', url: HOOK, token: 'tok', authentication: { scheme: 'Bearer' } };
      assert.deepEqual(created, expected);
      assert.deepEqual(value(await binding.call(pushAgent.url, 'push-config-get', { taskId, id: 'cfg-1' }, as)), expected);
      // Without an id the agent picks one.
      const second = value(await binding.call(pushAgent.url, 'push-config-create', { taskId, url: `${HOOK}/2` }, as));
      assert.match(second.id, /^[0-9a-f-]{36}$/);
      const listed = value(await binding.call(pushAgent.url, 'push-config-list', { taskId }, as));
      assert.deepEqual(listed.configs.map((c: any) => c.id).sort(), ['cfg-1', second.id].sort());
      assert.doesNotMatch(JSON.stringify([created, listed]), /super-secret/);
      assert.deepEqual(value(await binding.call(pushAgent.url, 'push-config-delete', { taskId, id: 'cfg-1' }, as)), {});
      assert.deepEqual(value(await binding.call(pushAgent.url, 'push-config-list', { taskId }, as)).configs.map((c: any) => c.id), [second.id]);
    });

    test('a send that carries a push config: the config is saved with the task it creates', async () => {
      const as = bearer(alice);
      const config = { id: 'inline', url: HOOK, authentication: { scheme: 'Basic', credentials: 'inline-secret' } };
      const task = value(await binding.call(pushAgent.url, 'send', { message: echo('inline'), configuration: { taskPushNotificationConfig: config } }, as)).task;
      const got = value(await binding.call(pushAgent.url, 'push-config-get', { taskId: task.id, id: 'inline' }, as));
      assert.deepEqual(got, { taskId: task.id, id: 'inline', url: HOOK, authentication: { scheme: 'Basic' } });
    });
  });
}

test('push configs read through each binding are the same documents', async () => {
  const taskId = await aliceTask();
  value(await jsonRpcBinding.call(pushAgent.url, 'push-config-create', { taskId, id: 'same', url: HOOK, token: 't', authentication: { scheme: 'Bearer', credentials: 'c' } }, bearer(alice)));
  const reads = await Promise.all(BINDINGS.map(async (b) => value(await b.call(pushAgent.url, 'push-config-list', { taskId }, bearer(alice)))));
  for (const read of reads.slice(1)) assert.deepEqual(read, reads[0]);
});

test('a task read through each binding is the same document', async () => {
  const task = await completedTask(jsonRpcBinding);
  const reads = await Promise.all(BINDINGS.map(async (b) => value(await b.call(agent.url, 'get', { id: task.id }))));
  for (const read of reads.slice(1)) assert.deepEqual(read, reads[0]);
});

/** An error case: how to provoke it over any binding, and the reason every binding must answer with. */
interface ErrorCase {
  name: string;
  reason: string;
  run(binding: Binding): Promise<Answer | StreamAnswer>;
}

const ERROR_CASES: ErrorCase[] = [
  { name: 'get an unknown task', reason: 'TASK_NOT_FOUND', run: (b) => b.call(agent.url, 'get', { id: 'kagent-0.no-such-task' }) },
  { name: 'cancel an unknown task', reason: 'TASK_NOT_FOUND', run: (b) => b.call(agent.url, 'cancel', { id: 'no-such-task' }) },
  { name: 'subscribe to an unknown task', reason: 'TASK_NOT_FOUND', run: (b) => b.stream(agent.url, 'subscribe', { id: 'no-such-task' }) },
  {
    name: 'cancel a completed task',
    reason: 'TASK_NOT_CANCELABLE',
    run: async (b) => b.call(agent.url, 'cancel', { id: (await completedTaskOnce()).id }),
  },
  {
    name: 'subscribe to a completed task',
    reason: 'UNSUPPORTED_OPERATION',
    run: async (b) => b.stream(agent.url, 'subscribe', { id: (await completedTaskOnce()).id }),
  },
  { name: 'the extended card of an agent without authentication', reason: 'UNSUPPORTED_OPERATION', run: (b) => b.call(agent.url, 'extended-card', {}) },
  {
    name: 'create a push-notification config',
    reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED',
    run: async (b) => b.call(agent.url, 'push-config-create', { taskId: (await completedTaskOnce()).id, url: 'https://example.com/hook' }),
  },
  { name: 'list push-notification configs', reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED', run: (b) => b.call(agent.url, 'push-config-list', { taskId: 'any' }) },
  { name: 'get a push-notification config', reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED', run: (b) => b.call(agent.url, 'push-config-get', { taskId: 'any', id: 'c1' }) },
  { name: 'delete a push-notification config', reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED', run: (b) => b.call(agent.url, 'push-config-delete', { taskId: 'any', id: 'c1' }) },
  {
    name: 'a send asking for push notifications',
    reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED',
    run: (b) => b.call(agent.url, 'send', { message: echo('x', { messageId: 'push-refused' }), configuration: { taskPushNotificationConfig: { url: 'https://example.com/hook' } } }),
  },
  {
    name: 'a message without a messageId',
    reason: 'INVALID_PARAMS',
    run: (b) => b.call(agent.url, 'send', { message: { role: 'ROLE_USER', parts: [{ text: 'x' }] } }),
  },
  { name: 'a streamed message with no parts', reason: 'INVALID_PARAMS', run: (b) => b.stream(agent.url, 'stream', { message: { role: 'ROLE_USER', messageId: 'm', parts: [] } }) },
  { name: 'a page size out of range', reason: 'INVALID_PARAMS', run: (b) => b.call(agent.url, 'list', { pageSize: 1000 }) },
  { name: 'a skill that does not exist', reason: 'UNKNOWN_SKILL', run: (b) => b.call(agent.url, 'send', { message: textMessage('x', { messageId: 'unknown-skill', metadata: { skill: 'no-such-skill' } }) }) },
  {
    name: 'resume from a position that is no event id',
    reason: 'INVALID_PARAMS',
    run: async (b) => b.stream(agent.url, 'subscribe', { id: (await completedTaskOnce()).id }, { ...V1, 'last-event-id': 'seven' }),
  },
  { name: 'a version this agent does not speak', reason: 'VERSION_NOT_SUPPORTED', run: (b) => b.call(agent.url, 'get', { id: 'x' }, { 'A2A-Version': '9.9' }) },
  {
    name: "a push config on another caller's task",
    reason: 'TASK_NOT_FOUND',
    run: async (b) => b.call(pushAgent.url, 'push-config-create', { taskId: await aliceTaskOnce(), url: HOOK }, bearer(bob)),
  },
  {
    name: "another caller's push configs",
    reason: 'TASK_NOT_FOUND',
    run: async (b) => b.call(pushAgent.url, 'push-config-list', { taskId: await aliceTaskOnce() }, bearer(bob)),
  },
  {
    // A link-local metadata address, refused by the guard without a connection.
    name: 'a webhook the egress guard refuses',
    reason: 'INVALID_PARAMS',
    run: async (b) => b.call(pushAgent.url, 'push-config-create', { taskId: await aliceTaskOnce(), url: 'http://169.254.169.254/hook' }, bearer(alice)),
  },
  {
    name: 'a send carrying a webhook the egress guard refuses',
    reason: 'INVALID_PARAMS',
    run: (b) => b.call(pushAgent.url, 'send', { message: echo('x'), configuration: { taskPushNotificationConfig: { url: 'http://169.254.169.254/hook' } } }, bearer(alice)),
  },
  {
    name: 'a push config the task does not have',
    reason: 'INVALID_PARAMS',
    run: async (b) => b.call(pushAgent.url, 'push-config-get', { taskId: await aliceTaskOnce(), id: 'no-such-config' }, bearer(alice)),
  },
];

let aliceOnce: Promise<string> | undefined;
function aliceTaskOnce(): Promise<string> {
  aliceOnce ??= aliceTask();
  return aliceOnce;
}

let completedOnce: Promise<any> | undefined;
function completedTaskOnce(): Promise<any> {
  completedOnce ??= completedTask(jsonRpcBinding);
  return completedOnce;
}

describe('every error, the same over every binding', () => {
  for (const errorCase of ERROR_CASES) {
    test(`${errorCase.name}: ${errorCase.reason}`, async () => {
      const errors: BindingError[] = [];
      for (const binding of BINDINGS) {
        const error = failure(await errorCase.run(binding));
        assert.equal(error.reason, errorCase.reason, `${binding.name}: ${error.message} ${JSON.stringify(error.raw)}`);
        assert.ok(error.asTabled, `${binding.name} says ${errorCase.reason} as the errors table does: ${JSON.stringify(error.raw)}`);
        errors.push(error);
      }
      const said = errors.map((e) => ({ reason: e.reason, metadata: e.metadata, message: e.message }));
      for (const other of said.slice(1)) assert.deepEqual(other, said[0]);
    });
  }
});

test('both SSE bindings write each event with its task version as the SSE id, and resume from the lastEventId query parameter', async () => {
  const eventsOf = async (res: Response) => sseEvents(await res.text());
  const streamed = await fetch(agent.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...V1 },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params: { message: echo('ids') } }),
  });
  const events = await eventsOf(streamed);
  const jsonRpcIds = events.map((event) => event.id);
  assert.ok(jsonRpcIds.length >= 3, jsonRpcIds.join(','));
  assert.deepEqual(jsonRpcIds, jsonRpcIds.map((_, i) => String(i + 1)));
  const taskId = JSON.parse(events[0]!.data).result.task.id;
  const rest = await fetch(`${agent.url}/tasks/${encodeURIComponent(taskId)}:subscribe?lastEventId=1`, { headers: { accept: 'text/event-stream', ...V1 } });
  assert.equal(rest.status, 200);
  assert.deepEqual((await eventsOf(rest)).map((event) => event.id), jsonRpcIds.slice(1));
});
