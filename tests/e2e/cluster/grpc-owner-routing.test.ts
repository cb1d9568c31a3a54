import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Gate, GATED_SERVICE_ENV } from '../../support/gate.js';
import { decodeA2a, encodeA2a, metadataOf, RawGrpcClient } from '../../support/grpc-client.js';
import { freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// Two replicas with per-pod stores as real processes, each serving gRPC on a
// port of its own: a gRPC call about the other pod's task is carried out by
// that pod (the dispatcher's owner routing), and a listing spans both.

let counter = 0;
const sendRequest = (text: string, metadata: Record<string, unknown>) => ({
  message: { role: 'ROLE_USER', messageId: `grpc-route-${process.pid}-${counter++}`, parts: [{ text }], metadata },
});

describe('gRPC on any replica answers for any task (per-pod stores)', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  const clients: RawGrpcClient[] = [];
  let gate: Gate;

  before(async () => {
    gate = await Gate.start();
    const ports = await freePortDecade();
    for (let ordinal = 0; ordinal < 2; ordinal++) {
      dirs.push(mkdtempSync(join(tmpdir(), `kagent-grpc-pod-${ordinal}-`)));
      const grpcPort = await ports.take(5 + ordinal);
      pods.push(
        await startService(dirs[ordinal]!, {
          ...GATED_SERVICE_ENV,
          POD_NAME: `kagent-${ordinal}`,
          PORT: String(ports.port(ordinal)),
          GRPC_PORT: String(grpcPort),
          A2A_REPLICAS: '2',
          A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
          STREAM_HEARTBEAT_INTERVAL: '200ms',
          // Webhooks on localhost are admitted; nothing listens on port 9, and a failed delivery waits an hour.
          EGRESS_ALLOW: 'localhost',
          PUSH_RETRY_BASE: '1h',
          PUSH_RETRY_MAX: '1h',
        }),
      );
      clients.push(new RawGrpcClient(`127.0.0.1:${grpcPort}`));
    }
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all(pods.map((pod) => pod.dispose()));
    await gate?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a task sent to one pod is read, listed, followed and canceled over gRPC through the other', async () => {
    const [zero, one] = clients as [RawGrpcClient, RawGrpcClient];
    const sent = decodeA2a('SendMessageResponse', await one.unary('SendMessage', encodeA2a('SendMessageRequest', sendRequest('hello', { skill: 'echo' }))));
    const id = sent.task.id as string;
    assert.match(id, /^kagent-1\./);
    const read = decodeA2a('Task', await zero.unary('GetTask', encodeA2a('GetTaskRequest', { id })));
    assert.equal(read.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(read.artifacts[0].parts[0].text, 'hello');
    const listed = decodeA2a('ListTasksResponse', await zero.unary('ListTasks', encodeA2a('ListTasksRequest', { pageSize: 100 })));
    assert.ok(listed.tasks.some((task: { id: string }) => task.id === id), 'the listing spans both pods');

    const run = gate.run();
    const held = decodeA2a('SendMessageResponse', await one.unary('SendMessage', encodeA2a('SendMessageRequest', { ...sendRequest('held', run.metadata), configuration: { returnImmediately: true } })));
    const heldId = held.task.id as string;
    await run.started();
    const stream = zero.stream('SubscribeToTask', encodeA2a('SubscribeToTaskRequest', { id: heldId }));
    const events: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (bytes: Buffer) => {
        const event = decodeA2a('StreamResponse', bytes);
        events.push(event.task ? `task:${event.task.status.state}` : event.statusUpdate ? `status:${event.statusUpdate.status.state}` : 'other');
      });
      stream.on('end', resolve).on('error', reject);
    });
    await new Promise((resolve) => stream.once('metadata', resolve));
    const canceled = decodeA2a('Task', await zero.unary('CancelTask', encodeA2a('CancelTaskRequest', { id: heldId })));
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    await run.aborted();
    await ended;
    assert.deepEqual([events[0], events.at(-1)], ['task:TASK_STATE_WORKING', 'status:TASK_STATE_CANCELED']);
  });
  test("push-config calls over gRPC and HTTP+JSON reach the task's pod through the other; credentials stay there", async () => {
    const [zero, one] = clients as [RawGrpcClient, RawGrpcClient];
    const sent = decodeA2a('SendMessageResponse', await one.unary('SendMessage', encodeA2a('SendMessageRequest', sendRequest('push', { skill: 'echo' }))));
    const taskId = sent.task.id as string;
    assert.match(taskId, /^kagent-1\./);
    const config = { taskId, id: 'routed', url: 'http://localhost:9/hook', authentication: { scheme: 'Bearer', credentials: 'kept-on-the-owner' } };
    const expected = { taskId, id: 'routed', url: 'http://localhost:9/hook', authentication: { scheme: 'Bearer' } };
    const created = decodeA2a('TaskPushNotificationConfig', await zero.unary('CreateTaskPushNotificationConfig', encodeA2a('TaskPushNotificationConfig', config)));
    assert.deepEqual(created, expected);
    const got = decodeA2a('TaskPushNotificationConfig', await zero.unary('GetTaskPushNotificationConfig', encodeA2a('GetTaskPushNotificationConfigRequest', { taskId, id: 'routed' })));
    assert.deepEqual(got, expected);
    // The same config through pod 0's HTTP+JSON routes, which ask the owner too.
    const listed = await fetch(`${pods[0]!.url}/tasks/${encodeURIComponent(taskId)}/pushNotificationConfigs`);
    assert.equal(listed.status, 200);
    assert.deepEqual(await listed.json(), { configs: [expected] });
    await zero.unary('DeleteTaskPushNotificationConfig', encodeA2a('DeleteTaskPushNotificationConfigRequest', { taskId, id: 'routed' }));
    const after = await fetch(`${pods[0]!.url}/tasks/${encodeURIComponent(taskId)}/pushNotificationConfigs/routed`);
    assert.equal(after.status, 400, 'a config the task no longer has is an invalid-params error');
  });

  test('a stream resumed through the other pod with last-event-id replays what came after that event, in order', async () => {
    const [zero, one] = clients as [RawGrpcClient, RawGrpcClient];
    const label = (bytes: Buffer) => {
      const event = decodeA2a('StreamResponse', bytes);
      if (event.task) return `task:${event.task.status.state}`;
      if (event.statusUpdate) return `status:${event.statusUpdate.status.state}`;
      return event.artifactUpdate ? `artifact:${event.artifactUpdate.artifact.parts[0].text}` : 'other';
    };
    const read = async (stream: AsyncIterable<unknown>) => {
      const labels: string[] = [];
      for await (const bytes of stream) labels.push(label(bytes as Buffer));
      return labels;
    };
    const first = one.stream('SendStreamingMessage', encodeA2a('SendMessageRequest', sendRequest('resumed', { skill: 'echo' })));
    let id = '';
    first.once('data', (bytes: Buffer) => (id = decodeA2a('StreamResponse', bytes).task.id as string));
    const all = await read(first);
    assert.match(id, /^kagent-1\./);
    assert.ok(all.length >= 3, all.join(' | '));
    // Event ids are task versions: the Task event of a new task is 1, each event after it one more.
    const resumed = await read(zero.stream('SubscribeToTask', encodeA2a('SubscribeToTaskRequest', { id }), metadataOf({ 'last-event-id': '1' })));
    assert.deepEqual(resumed, all.slice(1));
  });
});
