import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { A2AClient, userText } from '../../../src/peers/client/index.js';
import { replyJson, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { Received, ScriptedServer } from './servers.js';
import { collect, describeItem } from './util.js';

// A limit a Node timer cannot hold (Infinity, or more than 2^31-1 ms) used to
// fire after 1 ms, with a TimeoutOverflowWarning: "no limit" ended every call
// at once. The server answers after a short pause, so a call that is cut
// after 1 ms shows it.

let servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function slowServer(): Promise<ScriptedServer> {
  const server = await startScriptedServer((req, res) => {
    if (req.json !== undefined && (req.json as { method?: string }).method === 'SendStreamingMessage') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (result: unknown) => `data: ${JSON.stringify(rpcResult(req, result))}\n\n`;
      res.write(event({ task: { ...wireTask('s-1'), status: { state: 'TASK_STATE_WORKING' } } }));
      setTimeout(() => res.end(event({ statusUpdate: { taskId: 's-1', contextId: 'ctx-1', status: { state: 'TASK_STATE_COMPLETED' } } })), 50);
      return;
    }
    setTimeout(() => replyJson(res, 200, rpcResult(req as Received, wireTask('t-1'))), 50);
  });
  servers.push(server);
  return server;
}

async function withoutWarnings<T>(run: () => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const listener = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', listener);
  try {
    const result = await run();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, [], 'no process warning');
    return result;
  } finally {
    process.off('warning', listener);
  }
}

test('an attempt timeout and a deadline of Infinity are no limit', async () => {
  const server = await slowServer();
  const client = A2AClient.fromUrl(`${server.url}/a2a`, { retry: false, timeoutMs: Number.POSITIVE_INFINITY, deadlineMs: Number.POSITIVE_INFINITY });
  const task = await withoutWarnings(() => client.getTask('t-1'));
  assert.equal(task.id, 't-1');
});

test('a deadline longer than a timer can hold does not end the call at once', async () => {
  const server = await slowServer();
  const client = A2AClient.fromUrl(`${server.url}/a2a`, { retry: false });
  const task = await withoutWarnings(() => client.getTask('t-1', { timeoutMs: 2 ** 31, deadlineMs: 30 * 86_400_000 }));
  assert.equal(task.id, 't-1');
});

test('a stream stall timeout of Infinity is no limit', async () => {
  const server = await slowServer();
  const client = A2AClient.fromUrl(`${server.url}/a2a`, { retry: false });
  const items = await withoutWarnings(() => collect(client.stream(userText('pause'), { stallTimeoutMs: Number.POSITIVE_INFINITY })));
  assert.deepEqual(items.map(describeItem), ['task:working', 'status:completed']);
});
