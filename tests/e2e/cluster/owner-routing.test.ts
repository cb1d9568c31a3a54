import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Gate, GATED_SERVICE_ENV } from '../../support/gate.js';
import { collect, openStream, rpc, sseEvents, stepwise } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';
import { hookUrl, PushReceiver } from '../../support/push-receiver.js';
import { freePort, freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';

// Three replicas as real processes on loopback, each with its own port and
// SQLite data dir, finding each other through A2A_REPLICAS and a per-pod URL
// template: the per-pod-store mode of a StatefulSet, without Kubernetes.

let counter = 0;
function message(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `route-${process.pid}-${counter++}`, parts: [{ text }], ...extra };
}

describe('any replica answers for any task (per-pod stores, owner routing)', () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let ports: Awaited<ReturnType<typeof freePortDecade>>;
  let turn = 0;
  let gate: Gate;
  /** Round-robins like a ClusterIP Service. */
  const anyPod = () => pods[turn++ % pods.length]!.url;

  async function startPod(ordinal: number): Promise<ServiceProcess> {
    return startService(dirs[ordinal]!, {
      ...GATED_SERVICE_ENV,
      POD_NAME: `kagent-${ordinal}`,
      PORT: String(ports.port(ordinal)),
      A2A_REPLICAS: '3',
      A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
      CONFORMANCE_AGENT: 'true',
      STREAM_HEARTBEAT_INTERVAL: '200ms',
      // Push configs may name a webhook on localhost (nothing listens on the port the test gives) or a receiver on 127.0.0.1.
      EGRESS_ALLOW: 'localhost,127.0.0.1',
      PUSH_RETRY_BASE: '1h',
      PUSH_RETRY_MAX: '1h',
    });
  }

  before(async () => {
    gate = await Gate.start();
    ports = await freePortDecade();
    for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-pod-${i}-`)));
    for (let i = 0; i < 3; i++) pods.push(await startPod(i));
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.dispose()));
    await gate.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a task sent through one pod is read, and canceled, through the others', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', { message: message('hello', { metadata: { skill: 'echo' } }) });
    const id = sent.body.result.task.id as string;
    assert.match(id, /^kagent-0\./);
    for (const pod of [pods[1]!, pods[2]!]) {
      const got = await rpc(pod.url, 'GetTask', { id });
      assert.equal(got.body.result?.id, id, JSON.stringify(got.body));
      assert.equal(got.body.result.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(got.body.result.artifacts[0].parts[0].text, 'hello');
    }

    const run = gate.run();
    const slow = await rpc(pods[0]!.url, 'SendMessage', {
      message: message('slow', { metadata: run.metadata }),
      configuration: { returnImmediately: true },
    });
    const slowId = slow.body.result.task.id as string;
    await run.started();
    const canceled = await rpc(pods[2]!.url, 'CancelTask', { id: slowId });
    assert.equal(canceled.body.result?.status.state, 'TASK_STATE_CANCELED', JSON.stringify(canceled.body));
    // The skill on the owner saw the cancel that came through another pod.
    await run.aborted();
    const seen = await rpc(pods[1]!.url, 'GetTask', { id: slowId });
    assert.equal(seen.body.result.status.state, 'TASK_STATE_CANCELED');
  });

  test('a version asked for by query parameter reaches the owner too', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', { message: message('by query', { metadata: { skill: 'echo' } }) });
    const id = sent.body.result.task.id as string;
    const got = await rpc(`${pods[1]!.url}/?A2A-Version=1.0`, 'GetTask', { id }, {});
    assert.equal(got.body.result?.id, id, JSON.stringify(got.body));
  });

  test('errors of the owner come back unchanged through another pod', async () => {
    const sent = await rpc(pods[1]!.url, 'SendMessage', { message: message('done', { metadata: { skill: 'echo' } }) });
    const again = await rpc(pods[0]!.url, 'CancelTask', { id: sent.body.result.task.id });
    assert.equal(again.body.error?.code, -32002);
    const unknown = await rpc(pods[0]!.url, 'GetTask', { id: 'kagent-2.no-such-task' });
    assert.equal(unknown.body.error?.code, -32001);
  });

  test('push-config calls about a task reach the pod that owns it, in either version', async () => {
    const id = (await rpc(pods[0]!.url, 'SendMessage', { message: message('push', { metadata: { skill: 'echo' } }) })).body.result.task.id as string;
    const created = await rpc(pods[1]!.url, 'CreateTaskPushNotificationConfig', { taskId: id, id: 'routed', url: 'http://localhost:9/hook' });
    assert.equal(created.body.result?.id, 'routed', JSON.stringify(created.body));
    // Stored only on the owner: another pod lists it because it asks the owner.
    const listed = await rpc(pods[2]!.url, 'ListTaskPushNotificationConfigs', { taskId: id });
    assert.deepEqual(listed.body.result?.configs.map((c: { id: string }) => c.id), ['routed'], JSON.stringify(listed.body));
    const v03 = await rpc(pods[1]!.url, 'tasks/pushNotificationConfig/get', { id }, { 'A2A-Version': '0.3' });
    assert.equal(v03.body.result?.pushNotificationConfig.id, 'routed', JSON.stringify(v03.body));
    assert.deepEqual((await rpc(pods[2]!.url, 'DeleteTaskPushNotificationConfig', { taskId: id, id: 'routed' })).body.result, {});
    assert.deepEqual((await rpc(pods[0]!.url, 'ListTaskPushNotificationConfigs', { taskId: id })).body.result.configs, []);
  });

  test("a 0.3 caller's config set through another pod is delivered by the owner in 0.3 shapes", async () => {
    const receiver = await PushReceiver.start(await freePort());
    try {
      const run = gate.run();
      const id = (await rpc(pods[0]!.url, 'SendMessage', { message: message('held', { metadata: run.metadata }), configuration: { returnImmediately: true } })).body.result.task.id as string;
      await run.started();
      const set = await rpc(pods[1]!.url, 'tasks/pushNotificationConfig/set', { taskId: id, pushNotificationConfig: { id: 'v03', url: hookUrl(receiver.port, '/v03') } }, { 'A2A-Version': '0.3' });
      assert.equal(set.body.result?.pushNotificationConfig.id, 'v03', JSON.stringify(set.body));
      run.release();
      const kinds = async () => (await receiver.received()).map((r) => `${r.body.kind}:${r.body.status?.state}`);
      await waitFor('the final status delivered', async () => (await kinds()).includes('status-update:completed'));
      assert.ok((await receiver.received()).every((r) => r.path === '/v03' && r.contentType.startsWith('application/json')), JSON.stringify(await receiver.received()));
    } finally {
      await receiver.stop();
    }
  });

  test('a subscription through another pod relays every event in order', async () => {
    const run = gate.run();
    const sent = await rpc(pods[0]!.url, 'SendMessage', {
      message: message('watched', { metadata: run.metadata }),
      configuration: { returnImmediately: true },
    });
    const id = sent.body.result.task.id as string;
    await run.started();
    // The owner's own subscriber is the reference: every event the task published, in its order.
    const direct = stepwise(await openStream(pods[0]!.url, 'SubscribeToTask', { id }));
    const relayedStream = await openStream(pods[2]!.url, 'SubscribeToTask', { id });
    assert.match(relayedStream.headers.get('content-type') ?? '', /text\/event-stream/);
    const relayed = stepwise(relayedStream);
    assert.equal((await direct.next()).result.task.id, id);
    assert.equal((await relayed.next()).result.task.id, id);
    const relayedRest = relayed.rest();
    await waitFor('a heartbeat through the relay', () => relayedStream.comments.length > 0);
    for (const step of ['one', 'two', 'three']) run.say(step);
    run.release();
    const [owner, events] = await Promise.all([direct.rest(), relayedRest]);
    const results = (list: { result: unknown }[]) => list.map((e) => e.result);
    assert.deepEqual(
      results(owner).map((r: any) => r.statusUpdate?.status.message?.parts[0].text ?? r.statusUpdate?.status.state ?? r.artifactUpdate?.artifact.parts[0].text),
      ['one', 'two', 'three', 'watched', 'TASK_STATE_COMPLETED'],
    );
    assert.deepEqual(results(events), results(owner), 'the relay passes on every event of the owner, in order, and nothing else');
  });

  test('a task waiting for input is continued through other pods, blocking and streaming', async () => {
    const first = await rpc(pods[0]!.url, 'SendMessage', { message: { ...message('start'), messageId: `tck-input-required-${counter++}` } });
    const id = first.body.result.task.id as string;
    assert.equal(first.body.result.task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const resumed = await rpc(pods[1]!.url, 'SendMessage', { message: { ...message('more'), messageId: `tck-input-required-${counter++}`, taskId: id } });
    assert.equal(resumed.body.result?.task.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(resumed.body));
    const stream = await openStream(pods[2]!.url, 'SendStreamingMessage', {
      message: { ...message('finish'), messageId: `tck-complete-task-${counter++}`, taskId: id },
    });
    const events = await collect(stream);
    assert.equal(events[0].result.task.id, id);
    assert.equal(events.at(-1).result.statusUpdate.status.state, 'TASK_STATE_COMPLETED');
    const final = await rpc(pods[0]!.url, 'GetTask', { id });
    assert.equal(final.body.result.history.filter((m: { role: string }) => m.role === 'ROLE_USER').length, 3);
  });

  test('ListTasks through any pod returns every pod\'s tasks, newest first, paged exactly once', async () => {
    for (const pod of pods) await rpc(pod.url, 'SendMessage', { message: message('listed', { metadata: { skill: 'echo' } }) });
    const all = await rpc(anyPod(), 'ListTasks', { pageSize: 100 });
    const owners = new Set((all.body.result.tasks as { id: string }[]).map((t) => t.id.split('.')[0]));
    assert.deepEqual([...owners].sort(), ['kagent-0', 'kagent-1', 'kagent-2']);
    const times = (all.body.result.tasks as { status: { timestamp: string } }[]).map((t) => Date.parse(t.status.timestamp));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));

    const walked: string[] = [];
    let token = '';
    for (let page = 0; page < 100; page++) {
      const res = await rpc(anyPod(), 'ListTasks', { pageSize: 2, ...(token ? { pageToken: token } : {}) });
      assert.equal(res.body.result.totalSize, all.body.result.totalSize);
      walked.push(...(res.body.result.tasks as { id: string }[]).map((t) => t.id));
      token = res.body.result.nextPageToken;
      if (token === '') break;
    }
    assert.deepEqual(walked, (all.body.result.tasks as { id: string }[]).map((t) => t.id));
  });

  test('over HTTP+JSON too: any pod reads, cancels, subscribes to and lists any pod\'s task, and a 0.3 caller is answered in 0.3', async () => {
    const json = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
    const rest = async (url: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, { method, headers: json, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    };
    const sent = await rest(pods[0]!.url, 'POST', '/message:send', { message: message('over rest', { metadata: { skill: 'echo' } }) });
    const id = sent.body.task.id as string;
    assert.match(id, /^kagent-0\./);
    const got = await rest(pods[1]!.url, 'GET', `/tasks/${encodeURIComponent(id)}?historyLength=0`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.artifacts[0].parts[0].text, 'over rest');
    assert.equal(got.body.history, undefined);
    const v03 = await rpc(pods[2]!.url, 'tasks/get', { id }, { 'A2A-Version': '0.3' });
    assert.equal(v03.body.result?.kind, 'task', JSON.stringify(v03.body));
    assert.equal(v03.body.result.status.state, 'completed');
    // The owner's error, said again in the Status shape and in 0.3's state names.
    const notCancelable = await rest(pods[2]!.url, 'POST', `/tasks/${encodeURIComponent(id)}:cancel`);
    assert.equal(notCancelable.status, 400);
    assert.equal(notCancelable.body.error.details[0].reason, 'TASK_NOT_CANCELABLE');
    assert.equal(notCancelable.body.error.details[0].metadata.state, 'TASK_STATE_COMPLETED');
    const v03Refusal = await rpc(pods[1]!.url, 'tasks/cancel', { id }, { 'A2A-Version': '0.3' });
    assert.equal(v03Refusal.body.error?.data[0].metadata.state, 'completed');

    const run = gate.run();
    const held = await rest(pods[0]!.url, 'POST', '/message:send', { message: message('held', { metadata: run.metadata }), configuration: { returnImmediately: true } });
    const heldId = held.body.task.id as string;
    await run.started();
    const stream = await fetch(`${pods[1]!.url}/tasks/${encodeURIComponent(heldId)}:subscribe`, { headers: { 'A2A-Version': '1.0', accept: 'text/event-stream' } });
    assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
    run.say('relayed');
    run.release();
    const events = sseEvents(await stream.text());
    // Each event says its task version, on whichever pod the caller reached.
    assert.deepEqual(events.map((e) => e.id), events.map((_, i) => String(Number(events[0]!.id) + i)));
    const frames = events.map((e) => JSON.parse(e.data));
    assert.equal(frames[0].task.id, heldId);
    assert.equal(frames.at(-1).statusUpdate.status.state, 'TASK_STATE_COMPLETED');
    assert.ok(frames.some((f) => f.statusUpdate?.status.message?.parts[0].text === 'relayed'));

    const listed = await rest(pods[2]!.url, 'GET', '/tasks?pageSize=100');
    const owners = new Set((listed.body.tasks as { id: string }[]).map((t) => t.id.split('.')[0]));
    assert.deepEqual([...owners].sort(), ['kagent-0', 'kagent-1', 'kagent-2']);
  });

  test('when the owner dies mid-stream, the stream relayed through another pod ends with a retryable OWNER_UNAVAILABLE event', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', {
      // Held at the gate, never released: it is still running when its owner dies.
      message: message('dying', { metadata: gate.run().metadata }),
      configuration: { returnImmediately: true },
    });
    const id = sent.body.result.task.id as string;
    const stream = await openStream(pods[1]!.url, 'SubscribeToTask', { id }, { 'A2A-Version': '1.0' }, 'dying-stream');
    const events = stream.events();
    const first = await events.next();
    assert.equal(first.value.result.task.id, id);

    await pods[0]!.dispose();
    const rest: any[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
    const last = rest.at(-1);
    assert.ok(last?.error, `the stream ends with an error event, got ${JSON.stringify(rest)}`);
    assert.equal(last.id, 'dying-stream');
    assert.equal(last.error.code, -32050);
    const info = last.error.data.find((d: { '@type': string }) => d['@type'].endsWith('ErrorInfo'));
    assert.equal(info.reason, 'OWNER_UNAVAILABLE');
    assert.equal(info.metadata.owner, 'kagent-0');
    assert.ok(last.error.data.some((d: { '@type': string }) => d['@type'].endsWith('RetryInfo')), 'the error says when to retry');
    assert.ok(rest.slice(0, -1).every((e) => e.result !== undefined), 'every event before it is whole');

    pods[0] = await startPod(0);
  });

  test('when the owner is down, others answer with a retryable error naming it; back up, its tasks are there', async () => {
    const sent = await rpc(pods[0]!.url, 'SendMessage', {
      message: message('interrupted', { metadata: { skill: 'echo', delayMs: 30_000 } }),
      configuration: { returnImmediately: true },
    });
    const id = sent.body.result.task.id as string;
    const done = await rpc(pods[0]!.url, 'SendMessage', { message: message('kept', { metadata: { skill: 'echo' } }) });
    const doneId = done.body.result.task.id as string;

    await pods[0]!.dispose();
    const down = await rpc(pods[1]!.url, 'GetTask', { id });
    assert.equal(down.status, 503);
    assert.ok(Number(down.headers.get('retry-after')) > 0);
    assert.equal(down.body.error?.code, -32050);
    const info = down.body.error!.data.find((d: { '@type': string }) => d['@type'].endsWith('ErrorInfo'));
    assert.equal(info.reason, 'OWNER_UNAVAILABLE');
    assert.equal(info.metadata.owner, 'kagent-0');
    // The list still answers, with the reachable replicas' tasks, and names the one missing.
    const list = await rpc(pods[2]!.url, 'ListTasks', { pageSize: 100 });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.headers.get('x-kagent-missing-replicas'), 'kagent-0');
    const owners = new Set((list.body.result.tasks as { id: string }[]).map((t) => t.id.split('.')[0]));
    assert.deepEqual([...owners].sort(), ['kagent-1', 'kagent-2']);
    // A caller that needs all of them says so, and gets a retryable error instead.
    const complete = await rpc(pods[2]!.url, 'ListTasks', {}, { 'A2A-Version': '1.0', 'X-Kagent-Require-All-Replicas': 'true' });
    assert.equal(complete.status, 503);
    assert.ok(Number(complete.headers.get('retry-after')) > 0);
    assert.equal(complete.body.error?.code, -32050);
    assert.match(complete.body.error!.message, /kagent-0/);

    pods[0] = await startPod(0);
    // Echo is resumable: its owner runs it again from the stored request.
    const back = await rpc(pods[1]!.url, 'GetTask', { id });
    assert.equal(back.body.result?.status.state, 'TASK_STATE_WORKING', JSON.stringify(back.body));
    assert.ok(
      back.body.result.history.some((m: { parts: { text?: string }[] }) => /restarted while this task was running; resumed/.test(m.parts[0]?.text ?? '')),
      JSON.stringify(back.body.result.history),
    );
    assert.equal((await rpc(pods[2]!.url, 'CancelTask', { id })).body.result?.status.state, 'TASK_STATE_CANCELED');
    const kept = await rpc(pods[2]!.url, 'GetTask', { id: doneId });
    assert.equal(kept.body.result.status.state, 'TASK_STATE_COMPLETED');
  });
});
