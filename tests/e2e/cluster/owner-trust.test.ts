import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStream, rpc, textMessage } from '../../support/rpc.js';
import { freePort, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// A task id names its owner pod, and ids come from callers. These ids try to
// make a replica call somewhere else (a host, a port, a path, a decimal IP, a
// pod outside the StatefulSet); a listener on loopback records any request
// that arrives. The replica runs with a URL template that puts the pod name
// in the host, like the default one in Kubernetes.

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Loopback HTTP listeners (IPv4 and, where the machine has it, IPv6) on one port, recording every request. */
async function startRecorder(): Promise<{ port: number; seen: Recorded[]; close(): Promise<void> }> {
  const seen: Recorded[] = [];
  const port = await freePort();
  const servers: Server[] = [];
  for (const host of ['127.0.0.1', '::1']) {
    const server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{"secret":"from the listener"}}');
    });
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (listening) servers.push(server);
  }
  return {
    port,
    seen,
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}

describe('a task id cannot make a replica call anything but its siblings', () => {
  let dir: string;
  let pod: ServiceProcess;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;

  before(async () => {
    recorder = await startRecorder();
    dir = mkdtempSync(join(tmpdir(), 'kagent-trust-'));
    pod = await startService(dir, {
      POD_NAME: 'kagent-0',
      A2A_REPLICAS: '3',
      A2A_POD_URL_TEMPLATE: 'http://{pod}.kagent-headless.test.svc.cluster.local:8080',
      A2A_POD_CONNECT_TIMEOUT: '2s',
      A2A_POD_RESPONSE_TIMEOUT: '3s',
    });
  });

  after(async () => {
    await pod?.dispose();
    await recorder?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hostile = () => {
    const p = recorder.port;
    return [
      `localhost:${p}/admin?.x`,
      `[::1]:${p}/#.x`,
      `127.0.0.1:${p}.x`,
      `127.0.0.1:${p}/admin?.x`,
      '2130706433.x',
      `2130706433:${p}/?.x`,
      'kagent-99.x',
      'kagent-3.x',
      'kagent-01.x',
      'Kagent-1.x',
      'other-1.x',
      'a..b',
      '.x',
    ];
  };

  test('GetTask, CancelTask and SubscribeToTask with a hostile id: TaskNotFound, and no request leaves', async () => {
    recorder.seen.length = 0;
    const auth = { 'A2A-Version': '1.0', Authorization: 'Bearer caller-secret' };
    for (const id of hostile()) {
      for (const method of ['GetTask', 'CancelTask', 'SubscribeToTask']) {
        const res = await rpc(pod.url, method, { id }, auth);
        assert.equal(res.body.error?.code, -32001, `${method} ${id}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error!.message, /not found/);
      }
      const v03 = await rpc(pod.url, 'tasks/get', { id }, { 'A2A-Version': '0.3' });
      assert.equal(v03.body.error?.code, -32001, `tasks/get ${id}: ${JSON.stringify(v03.body)}`);
    }
    assert.deepEqual(recorder.seen, [], 'the listener saw nothing');
  });

  test('SendMessage and SendStreamingMessage naming a hostile task (taskId or task_id): TaskNotFound, and no request leaves', async () => {
    recorder.seen.length = 0;
    for (const id of hostile()) {
      for (const method of ['SendMessage', 'SendStreamingMessage']) {
        const camel = await rpc(pod.url, method, { message: textMessage('hi', { taskId: id }) }, { 'A2A-Version': '1.0', Authorization: 'Bearer caller-secret' });
        assert.equal(camel.body.error?.code, -32001, `${method} taskId ${id}: ${JSON.stringify(camel.body)}`);
        const snake = await rpc(pod.url, method, { message: textMessage('hi', { task_id: id }) });
        assert.equal(snake.body.error?.code, -32001, `${method} task_id ${id}: ${JSON.stringify(snake.body)}`);
      }
    }
    assert.deepEqual(recorder.seen, [], 'the listener saw nothing');
  });

  test('a caller that sets the hop header itself only gets this replica\'s own view', async () => {
    recorder.seen.length = 0;
    // x-kagent-forwarded-by is a routing hint, not a credential: with it the replica serves the
    // request itself — a sibling's task is not found here, the list holds this replica's tasks.
    const own = await rpc(pod.url, 'SendMessage', { message: textMessage('mine', { metadata: { skill: 'echo' } }) });
    const forged = { 'A2A-Version': '1.0', 'X-Kagent-Forwarded-By': 'kagent-1' };
    const sibling = await rpc(pod.url, 'GetTask', { id: 'kagent-1.0190a5f2-0000-7000-8000-000000000000' }, forged);
    assert.equal(sibling.body.error?.code, -32001);
    const list = await rpc(pod.url, 'ListTasks', { pageSize: 100 }, forged);
    assert.ok((list.body.result.tasks as { id: string }[]).some((t) => t.id === own.body.result.task.id));
    assert.equal(list.headers.get('x-kagent-missing-replicas'), null);
    assert.deepEqual(recorder.seen, []);
  });

  test('a stream opened with a hostile id is refused before it starts', async () => {
    recorder.seen.length = 0;
    const stream = await openStream(pod.url, 'SubscribeToTask', { id: `localhost:${recorder.port}/x?.y` });
    assert.match(stream.headers.get('content-type') ?? '', /application\/json/);
    stream.close();
    assert.deepEqual(recorder.seen, []);
  });
});
