import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A2AClient, A2AClientError, TaskNotFoundError, userText } from '../../../src/peers/client/index.js';
import type { Binding, StreamItem, Task } from '../../../src/peers/client/index.js';
import { startSdkAgent } from './servers.js';
import type { SdkAgent } from './servers.js';
import { collect, describeItem, rejection, callDeadline } from './util.js';
import { waitFor } from '../../support/wait.js';

// The client against a foreign agent: the official @a2a-js/sdk server, over
// both of its A2A 1.0 bindings, and through its A2A 0.3 compatibility layer.

function taskOf(result: Awaited<ReturnType<A2AClient['send']>>): Task {
  assert.equal(result.kind, 'task', `expected a task, got ${JSON.stringify(result)}`);
  return (result as { kind: 'task'; task: Task }).task;
}

function texts(task: Task): string[] {
  return task.artifacts.flatMap((a) => a.parts.map((p) => (p.kind === 'text' ? p.text : `<${p.kind}>`)));
}

function waitForState(client: A2AClient, id: string, state: string): Promise<Task> {
  return waitFor(`task ${id} to be ${state}`, async () => {
    const task = await client.getTask(id, callDeadline());
    return task.status.state === state ? task : undefined;
  });
}

/** The operations every version and binding offers, checked the same way. */
function commonOperations(name: string, connect: () => Promise<A2AClient>, agent: () => SdkAgent, expected: { version: string; paths: RegExp }) {
  describe(name, () => {
    let client: A2AClient;
    before(async () => {
      client = await connect();
    });

    test('it speaks the expected version', () => {
      assert.equal(client.protocolVersion, expected.version);
    });

    test('blocking send returns the completed task with its artifact', async () => {
      const task = taskOf(await client.send(userText('hello sdk'), callDeadline()));
      assert.equal(task.status.state, 'completed');
      assert.deepEqual(texts(task), ['echo: hello sdk']);
      const last = agent().seen.at(-1)!;
      assert.match(last.path, expected.paths);
      assert.equal(last.a2aVersion, expected.version);
    });

    test('non-blocking send answers early; subscribe follows the task to completion', async () => {
      const task = taskOf(await client.send(userText('slow one'), { ...callDeadline(), returnImmediately: true }));
      assert.notEqual(task.status.state, 'completed');
      const items = await collect(client.subscribe(task.id, callDeadline()));
      assert.equal(items[0]?.kind, 'task');
      assert.equal(describeItem(items.at(-1)!), 'status:completed');
      const done = await client.getTask(task.id, callDeadline());
      assert.deepEqual(texts(done), ['echo: slow one']);
    });

    test('stream yields task, working, artifact, completed in order', async () => {
      const items: StreamItem[] = await collect(client.stream(userText('streamed'), callDeadline()));
      assert.deepEqual(items.map(describeItem), ['task:submitted', 'status:working', 'artifact:echo-1', 'status:completed']);
    });

    test('cancel stops a slow task; canceling a finished one is -32002', async () => {
      const task = taskOf(await client.send(userText('slow cancel'), { ...callDeadline(), returnImmediately: true }));
      await client.cancelTask(task.id, callDeadline());
      await waitForState(client, task.id, 'canceled');
      const finished = taskOf(await client.send(userText('quick'), callDeadline()));
      const error = await rejection(() => client.cancelTask(finished.id, callDeadline()));
      assert.ok(error instanceof A2AClientError);
      assert.equal(error.kind, 'rpc');
      assert.equal(error.code, -32002);
      assert.equal(error.attempts, 1);
    });

    test('an unknown task is a TaskNotFoundError', async () => {
      const error = await rejection(() => client.getTask('no-such-task', callDeadline()));
      assert.ok(error instanceof TaskNotFoundError, String(error));
      assert.equal(error.code, -32001);
      assert.equal(error.taskId, 'no-such-task');
    });

    test('every call carried its A2A-Version header', () => {
      const calls = agent().seen.filter((s) => expected.paths.test(s.path));
      assert.ok(calls.length >= 10, `only ${calls.length} calls seen`);
      assert.deepEqual([...new Set(calls.map((s) => s.a2aVersion))], [expected.version]);
    });
  });
}

describe('client ↔ @a2a-js/sdk agent, A2A 1.0', () => {
  let agent: SdkAgent;
  before(async () => {
    agent = await startSdkAgent();
  });
  after(() => agent.close());

  test('by default the client picks JSON-RPC 1.0 from the SDK card', async () => {
    const client = await A2AClient.connect(agent.url);
    assert.equal(client.binding, 'JSONRPC');
    assert.equal(client.protocolVersion, '1.0');
    assert.equal(client.card.url, `${agent.url}/a2a/jsonrpc`);
    assert.equal(client.card.name, 'SDK Echo Agent');
  });

  for (const binding of ['JSONRPC', 'HTTP+JSON'] as Binding[]) {
    commonOperations(
      `over ${binding}`,
      async () => {
        const client = await A2AClient.connect(agent.url, { bindings: [binding] });
        assert.equal(client.binding, binding);
        return client;
      },
      () => agent,
      { version: '1.0', paths: binding === 'JSONRPC' ? /^\/a2a\/jsonrpc/ : /^\/a2a\/rest/ },
    );

    test(`listTasks over ${binding} finds the tasks by context and state`, async () => {
      const client = await A2AClient.connect(agent.url, { bindings: [binding] });
      const contextId = `ctx-${binding}-${Date.now()}`;
      const sent = taskOf(await client.send(userText('listed', { contextId }), callDeadline()));
      const page = await client.listTasks({ contextId, state: 'completed', pageSize: 10 }, callDeadline());
      assert.deepEqual(
        page.tasks.map((t) => t.id),
        [sent.id],
      );
      assert.equal(page.nextPageToken, '');
      const none = await client.listTasks({ contextId, state: 'working' }, callDeadline());
      assert.equal(none.tasks.length, 0);
    });
  }
});

describe('client ↔ @a2a-js/sdk agent with its 0.3 compatibility layer', () => {
  let agent: SdkAgent;
  let only03: SdkAgent;
  before(async () => {
    agent = await startSdkAgent({ legacy: true });
    only03 = await startSdkAgent({ only03Card: true });
  });
  after(async () => {
    await agent.close();
    await only03.close();
  });

  test('a card with 1.0 and 0.3 interfaces: the client prefers 1.0', async () => {
    const client = await A2AClient.connect(agent.url);
    assert.equal(client.protocolVersion, '1.0');
    assert.ok(client.card.interfaces.some((i) => i.version === '0.3'));
  });

  commonOperations(
    'forced to 0.3',
    () => A2AClient.connect(agent.url, { protocolVersion: '0.3' }),
    () => agent,
    { version: '0.3', paths: /^\/a2a\/jsonrpc/ },
  );

  test('the 0.3 methods are what went on the wire', () => {
    const methods = new Set(agent.seen.filter((s) => s.a2aVersion === '0.3').map((s) => s.rpcMethod));
    for (const method of ['message/send', 'message/stream', 'tasks/get', 'tasks/cancel', 'tasks/resubscribe']) {
      assert.ok(methods.has(method), `${method} missing from ${[...methods].join(', ')}`);
    }
  });

  commonOperations(
    'a peer that publishes only a 0.3 card at agent.json',
    async () => {
      const client = await A2AClient.connect(only03.url);
      assert.deepEqual(
        only03.seen.slice(0, 2).map((s) => s.path),
        ['/.well-known/agent-card.json', '/.well-known/agent.json'],
      );
      return client;
    },
    () => only03,
    { version: '0.3', paths: /^\/a2a\/jsonrpc/ },
  );

  test('0.3 has no ListTasks: unsupported, nothing sent', async () => {
    const client = await A2AClient.connect(only03.url);
    const before = only03.seen.length;
    const error = await rejection(() => client.listTasks({}, callDeadline()));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'unsupported');
    assert.equal(only03.seen.length, before);
  });
});
