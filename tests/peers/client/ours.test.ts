import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A2AClient, A2AClientError, TaskNotFoundError, userText } from '../../../src/peers/client/index.js';
import type { Message, StreamItem, Task } from '../../../src/peers/client/index.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { closedPort, startProxy } from './servers.js';
import type { Proxy } from './servers.js';
import { collect, describeItem, rejection, callDeadline } from './util.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';

// The client against this project's own agent: A2A 1.0 JSON-RPC from the 1.0
// card, A2A 0.3 JSON-RPC from the 0.3 card (or when forced), and the rule that
// decides which URL the requests go to.

let gate: Gate;
before(async () => {
  gate = await Gate.start();
});
after(async () => {
  await gate.close();
});

/** A message whose task stays working until the test releases its run. */
function held(text: string): { message: Message; run: GatedRun } {
  const run = gate.run();
  const message = userText(text);
  message.metadata = { ...run.metadata };
  return { message, run };
}

/** Reads the first item (the subscription is in place), releases the run, then reads to the end. */
async function followReleased(items: AsyncIterable<StreamItem>, run: GatedRun): Promise<StreamItem[]> {
  const iterator = items[Symbol.asyncIterator]();
  const first = await within(PATIENCE_MS, 'the first item of the subscription', iterator.next());
  assert.equal(first.done, false, 'the subscription ended at once');
  run.release();
  return [first.value as StreamItem, ...(await collect({ [Symbol.asyncIterator]: () => iterator }))];
}

function artifactTexts(task: Task): string[] {
  return task.artifacts.flatMap((a) => a.parts.map((p) => (p.kind === 'text' ? p.text : `<${p.kind}>`)));
}

function waitForState(client: A2AClient, id: string, state: string): Promise<Task> {
  return waitFor(`task ${id} to be ${state}`, async () => {
    const task = await client.getTask(id, callDeadline());
    return task.status.state === state ? task : undefined;
  });
}

describe('client ↔ this agent over A2A 1.0 JSON-RPC', () => {
  let agent: TestAgent;
  let proxy: Proxy;
  let client: A2AClient;
  before(async () => {
    agent = await startTestAgent();
    // Through a proxy with the base-origin rule, so the test sees every request the client makes.
    proxy = await startProxy(agent.url);
    client = await A2AClient.connect(proxy.url, { endpoint: 'base' });
  });
  after(async () => {
    await proxy.close();
    await agent.dispose();
  });

  test('connect reads agent-card.json and picks 1.0 over JSON-RPC', () => {
    assert.equal(client.protocolVersion, '1.0');
    assert.equal(client.binding, 'JSONRPC');
    assert.equal(client.card.name, 'kagent');
    assert.ok(client.card.skills.some((s) => s.id === 'echo'));
    assert.deepEqual(
      client.card.interfaces.map((i) => `${i.binding} ${i.version}`),
      ['JSONRPC 1.0', 'JSONRPC 0.3', 'HTTP+JSON 1.0'],
    );
    assert.equal(proxy.forwarded[0]?.path, '/.well-known/agent-card.json');
  });

  test('send waits for the task to complete and returns it with its artifact', async () => {
    const message = userText('hello agent');
    const result = await client.send(message, callDeadline());
    assert.equal(result.kind, 'task');
    const { task } = result as { kind: 'task'; task: Task };
    assert.equal(task.status.state, 'completed');
    assert.deepEqual(artifactTexts(task), ['hello agent']);
    assert.equal(task.history[0]?.messageId, message.messageId);
    const call = proxy.forwarded.at(-1)!;
    assert.equal(call.rpcMethod, 'SendMessage');
    assert.equal(call.a2aVersion, '1.0');
  });

  test('send with returnImmediately answers while the task still runs', async () => {
    const { message, run } = held('later');
    const result = await client.send(message, { ...callDeadline(), returnImmediately: true });
    assert.equal(result.kind, 'task');
    const { task } = result as { kind: 'task'; task: Task };
    assert.ok(['submitted', 'working'].includes(task.status.state), task.status.state);
    await run.started();
    run.release();
    const done = await waitForState(client, task.id, 'completed');
    assert.deepEqual(artifactTexts(done), ['later']);
  });

  test('stream yields the task, then its updates, ending on the completed status', async () => {
    const items = await collect(client.stream(userText('streamed'), callDeadline()));
    const kinds = items.map(describeItem);
    assert.equal(kinds[0], 'task:submitted');
    assert.equal(kinds.at(-1), 'status:completed');
    assert.ok(kinds.includes('artifact:echo'), kinds.join(', '));
    const last = items.at(-1) as Extract<StreamItem, { kind: 'status-update' }>;
    assert.equal(last.final, true);
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'SendStreamingMessage');
  });

  test('subscribe follows a running task to its end', async () => {
    const { message, run } = held('followed');
    const started = await client.send(message, { ...callDeadline(), returnImmediately: true });
    const { task } = started as { kind: 'task'; task: Task };
    await run.started();
    const items = await followReleased(client.subscribe(task.id, callDeadline()), run);
    assert.equal(items[0]?.kind, 'task');
    assert.equal(describeItem(items.at(-1)!), 'status:completed');
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'SubscribeToTask');
  });

  test('getTask honours historyLength; an unknown task is a TaskNotFoundError, not retried', async () => {
    const { task } = (await client.send(userText('remember me'), callDeadline())) as { kind: 'task'; task: Task };
    assert.equal((await client.getTask(task.id, callDeadline())).history.length > 0, true);
    assert.equal((await client.getTask(task.id, { ...callDeadline(), historyLength: 0 })).history.length, 0);
    const before = proxy.forwarded.length;
    const error = await rejection(() => client.getTask('no-such-task', callDeadline()));
    assert.ok(error instanceof TaskNotFoundError, String(error));
    assert.equal(error.kind, 'rpc');
    assert.equal(error.code, -32001);
    assert.equal(error.reason, 'TASK_NOT_FOUND');
    assert.equal(error.taskId, 'no-such-task');
    assert.equal(error.attempts, 1);
    assert.equal(proxy.forwarded.length - before, 1);
  });

  test('listTasks filters by state and context and pages with a token', async () => {
    const contextId = `ctx-${Date.now()}`;
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      const message = userText(text, { contextId });
      const { task } = (await client.send(message, callDeadline())) as { kind: 'task'; task: Task };
      ids.push(task.id);
    }
    const first = await client.listTasks({ contextId, state: 'completed', pageSize: 2 }, callDeadline());
    assert.equal(first.tasks.length, 2);
    assert.equal(first.totalSize, 3);
    assert.notEqual(first.nextPageToken, '');
    const second = await client.listTasks({ contextId, status: 'TASK_STATE_COMPLETED', pageSize: 2, pageToken: first.nextPageToken }, callDeadline());
    assert.equal(second.tasks.length, 1);
    assert.equal(second.nextPageToken, '');
    assert.deepEqual([...first.tasks, ...second.tasks].map((t) => t.id).sort(), [...ids].sort());
    const none = await client.listTasks({ contextId, state: 'working' }, callDeadline());
    assert.equal(none.tasks.length, 0);
  });

  test('cancelTask stops a running task; canceling it again answers the same; canceling a completed one is -32002, not retried', async () => {
    const { message, run } = held('cancel me');
    const { task } = (await client.send(message, { ...callDeadline(), returnImmediately: true })) as { kind: 'task'; task: Task };
    await run.started();
    const canceled = await client.cancelTask(task.id, callDeadline());
    assert.equal(canceled.status.state, 'canceled');
    await run.aborted();
    assert.equal((await client.cancelTask(task.id, callDeadline())).status.state, 'canceled');
    const { task: done } = (await client.send(userText('done'), callDeadline())) as { kind: 'task'; task: Task };
    assert.equal(done.status.state, 'completed');
    const error = await rejection(() => client.cancelTask(done.id, callDeadline()));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'rpc');
    assert.equal(error.code, -32002);
    assert.equal(error.attempts, 1);
  });

  test('a bad request is -32602 with the offending field in its data', async () => {
    const error = await rejection(() => client.send(userText('x', { skill: 'no-such-skill' }), callDeadline()));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'rpc');
    assert.equal(error.code, -32602);
    assert.match(error.message, /no-such-skill/);
    assert.match(JSON.stringify(error.data), /params\.message\.metadata\.skill/);
    assert.equal(error.attempts, 1);
  });

  test('sending the same message again returns the task it started', async () => {
    const message = userText('only once');
    const first = (await client.send(message, callDeadline())) as { kind: 'task'; task: Task };
    const again = (await client.send(message, callDeadline())) as { kind: 'task'; task: Task };
    assert.equal(again.task.id, first.task.id);
  });
});

describe('client ↔ this agent over A2A 1.0 HTTP+JSON', () => {
  let agent: TestAgent;
  let client: A2AClient;
  before(async () => {
    agent = await startTestAgent();
    client = await A2AClient.connect(agent.url, { bindings: ['HTTP+JSON'] });
  });
  after(async () => {
    await agent.dispose();
  });

  test('connect picks the card\'s HTTP+JSON interface when asked for it', () => {
    assert.equal(client.binding, 'HTTP+JSON');
    assert.equal(client.protocolVersion, '1.0');
  });

  test('send, stream, subscribe, get and cancel behave as over JSON-RPC', async () => {
    const { task } = (await client.send(userText('hello rest'), callDeadline())) as { kind: 'task'; task: Task };
    assert.deepEqual(artifactTexts(task), ['hello rest']);
    const kinds = (await collect(client.stream(userText('streamed'), callDeadline()))).map(describeItem);
    assert.equal(kinds[0], 'task:submitted');
    assert.equal(kinds.at(-1), 'status:completed');
    const { message, run } = held('followed');
    const started = (await client.send(message, { ...callDeadline(), returnImmediately: true })) as { kind: 'task'; task: Task };
    await run.started();
    const items = await followReleased(client.subscribe(started.task.id, callDeadline()), run);
    assert.equal(describeItem(items.at(-1)!), 'status:completed');
    assert.equal((await client.getTask(task.id, { ...callDeadline(), historyLength: 0 })).history.length, 0);
    const missing = await rejection(() => client.getTask('no-such-task', callDeadline()));
    assert.ok(missing instanceof TaskNotFoundError, String(missing));
    assert.equal(missing.reason, 'TASK_NOT_FOUND');
    const refused = await rejection(() => client.cancelTask(task.id, callDeadline()));
    assert.ok(refused instanceof A2AClientError && refused.reason === 'TASK_NOT_CANCELABLE', String(refused));
  });
});

describe('client ↔ this agent over A2A 0.3 JSON-RPC', () => {
  let agent: TestAgent;
  let proxy: Proxy;
  let client: A2AClient;
  before(async () => {
    agent = await startTestAgent();
    proxy = await startProxy(agent.url);
    // agent.json is the 0.3-era card: top-level url, protocolVersion 0.3.0, no supportedInterfaces.
    client = await A2AClient.connect(proxy.url, { endpoint: 'base', cardPath: '/.well-known/agent.json' });
  });
  after(async () => {
    await proxy.close();
    await agent.dispose();
  });

  test('a 0.3 card makes the client speak 0.3', async () => {
    assert.equal(client.protocolVersion, '0.3');
    assert.equal(client.binding, 'JSONRPC');
    const result = await client.send(userText('hello 0.3'), callDeadline());
    assert.equal(result.kind, 'task');
    const { task } = result as { kind: 'task'; task: Task };
    assert.equal(task.status.state, 'completed');
    assert.deepEqual(artifactTexts(task), ['hello 0.3']);
    const call = proxy.forwarded.at(-1)!;
    assert.equal(call.rpcMethod, 'message/send');
    assert.equal(call.a2aVersion, '0.3');
  });

  test('non-blocking send, get, stream, subscribe and cancel use the 0.3 methods', async () => {
    const slow = held('slow 0.3');
    const { task } = (await client.send(slow.message, { ...callDeadline(), returnImmediately: true })) as { kind: 'task'; task: Task };
    assert.notEqual(task.status.state, 'completed');
    const got = await client.getTask(task.id, { ...callDeadline(), historyLength: 1 });
    assert.equal(got.id, task.id);
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'tasks/get');
    const canceled = await client.cancelTask(task.id, callDeadline());
    assert.equal(canceled.status.state, 'canceled');
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'tasks/cancel');

    const items = await collect(client.stream(userText('stream 0.3'), callDeadline()));
    assert.equal(describeItem(items[0]!), 'task:submitted');
    const last = items.at(-1) as Extract<StreamItem, { kind: 'status-update' }>;
    assert.equal(describeItem(last), 'status:completed');
    assert.equal(last.final, true);
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'message/stream');

    const sub = held('sub 0.3');
    const running = (await client.send(sub.message, { ...callDeadline(), returnImmediately: true })) as { kind: 'task'; task: Task };
    await sub.run.started();
    const followed = await followReleased(client.subscribe(running.task.id, callDeadline()), sub.run);
    assert.equal(describeItem(followed.at(-1)!), 'status:completed');
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'tasks/resubscribe');
    assert.ok(proxy.forwarded.slice(1).every((f) => f.a2aVersion === '0.3'));
  });

  test('0.3 errors come back typed: unknown task is TaskNotFoundError', async () => {
    const error = await rejection(() => client.getTask('missing-0.3', callDeadline()));
    assert.ok(error instanceof TaskNotFoundError);
    assert.equal(error.code, -32001);
  });

  test('0.3 has no ListTasks: the call fails as unsupported without a request', async () => {
    const before = proxy.forwarded.length;
    const error = await rejection(() => client.listTasks({}, callDeadline()));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'unsupported');
    assert.equal(proxy.forwarded.length, before);
  });

  test('a caller may force 0.3 on a card that offers both', async () => {
    const forced = await A2AClient.connect(proxy.url, { endpoint: 'base', protocolVersion: '0.3' });
    assert.equal(forced.protocolVersion, '0.3');
    assert.equal(proxy.forwarded.at(-1)?.path, '/.well-known/agent-card.json');
    await forced.send(userText('forced'), callDeadline());
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'message/send');
  });
});

describe('which URL the requests go to', () => {
  let agent: TestAgent;
  let elsewhere: TestAgent;
  let proxy: Proxy;
  before(async () => {
    agent = await startTestAgent();
    proxy = await startProxy(agent.url);
    // An agent whose card advertises an address nobody answers at, as behind a port-forward.
    elsewhere = await startTestAgent({ PUBLIC_URL: `http://127.0.0.1:${await closedPort()}` });
  });
  after(async () => {
    await proxy.close();
    await agent.dispose();
    await elsewhere.dispose();
  });

  test("by default the card's path on the URL given: through a proxy, every call goes through it", async () => {
    const client = await A2AClient.connect(proxy.url);
    assert.equal(new URL(client.card.url).origin, proxy.url);
    assert.equal(new URL(client.card.advertisedUrl).origin, agent.url);
    const before = proxy.forwarded.length;
    await client.send(userText('via proxy'), callDeadline());
    assert.equal(proxy.forwarded.length, before + 1);
    assert.equal(proxy.forwarded.at(-1)?.rpcMethod, 'SendMessage');
  });

  test("with endpoint 'card', the card's URL as advertised", async () => {
    const client = await A2AClient.connect(proxy.url, { endpoint: 'card' });
    assert.equal(new URL(client.card.url).origin, agent.url);
    const before = proxy.forwarded.length;
    await client.send(userText('direct'), callDeadline());
    assert.equal(proxy.forwarded.length, before, 'the call went to the advertised URL, not through the proxy');
  });

  test('a card advertising an address the caller cannot reach (a port-forward) works by default; trusting it fails', async () => {
    const reachable = `http://127.0.0.1:${elsewhere.port}`;
    const client = await A2AClient.connect(reachable, { retry: false });
    assert.equal(client.card.advertisedUrl, `${elsewhere.url}/`);
    assert.equal(client.card.url, `${reachable}/`);
    const result = await client.send(userText('found'), callDeadline());
    assert.equal(result.kind, 'task');
    const trusting = await A2AClient.connect(reachable, { retry: false, endpoint: 'card' });
    const error = await rejection(() => trusting.send(userText('lost'), callDeadline()));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'connection');
    assert.equal(error.networkCode, 'ECONNREFUSED');
  });

  test("a pasted card URL connects to the agent it describes", async () => {
    for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
      const client = await A2AClient.connect(`${proxy.url}${path}`);
      assert.equal(proxy.forwarded.at(-1)?.path, '/.well-known/agent-card.json', path);
      assert.equal(client.protocolVersion, '1.0');
      const result = await client.send(userText('pasted', { metadata: { skill: 'echo' } }), callDeadline());
      assert.equal(result.kind === 'task' && result.task.metadata?.skill, 'echo');
    }
    await assert.rejects(A2AClient.connect('localhost:8080'), /did you mean http:\/\/localhost:8080/);
  });

  test('agent-card.json missing: the client falls back to agent.json and speaks 0.3', async () => {
    const hiding = await startProxy(agent.url, ['/.well-known/agent-card.json']);
    try {
      const client = await A2AClient.connect(hiding.url, { endpoint: 'base' });
      assert.deepEqual(
        hiding.forwarded.map((f) => f.path),
        ['/.well-known/agent-card.json', '/.well-known/agent.json'],
      );
      assert.equal(client.protocolVersion, '0.3');
      await client.send(userText('after the fallback'), callDeadline());
      assert.equal(hiding.forwarded.at(-1)?.rpcMethod, 'message/send');
    } finally {
      await hiding.close();
    }
  });

  test('no card at either path is an http 404 error; a closed port is a connection error', async () => {
    const hidden = await startProxy(agent.url, ['/.well-known/agent-card.json', '/.well-known/agent.json']);
    try {
      const error = await rejection(() => A2AClient.connect(hidden.url));
      assert.ok(error instanceof A2AClientError);
      assert.equal(error.kind, 'http');
      assert.equal(error.httpStatus, 404);
    } finally {
      await hidden.close();
    }
    const down = await rejection(async () => A2AClient.connect(`http://127.0.0.1:${await closedPort()}`, { retry: false }));
    assert.ok(down instanceof A2AClientError);
    assert.equal(down.kind, 'connection');
    assert.match(down.message, /cannot reach/);
  });
});
