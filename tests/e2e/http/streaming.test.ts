import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import type { GatedRun } from '../../support/gate.js';
import { rpc, stepwise, textMessage } from '../../support/rpc.js';
import type { SseCall } from './helpers.js';
import { assertRpcError, collectEnvelopes, errorInfo, ok, streamCall, trace, V03, v03Message, waitForTerminal } from './helpers.js';
import { readMetric } from '../../support/metrics.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';

const unique = () => Math.random().toString(36).slice(2);

// One test at a time: some count the server's open streams.
describe('streaming (SendStreamingMessage, SubscribeToTask)', () => {
  let agent: TestAgent;
  let url: string;
  let gate: Gate;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent({ CONFORMANCE_AGENT: 'true', STREAM_HEARTBEAT_INTERVAL: '100ms' });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  /** The results of a stream, after checking that every event is a 2.0 envelope with the call's id. */
  async function results(call: SseCall, timeoutMs = PATIENCE_MS): Promise<any[]> {
    return checked(call, await collectEnvelopes(call, timeoutMs));
  }

  function checked(call: SseCall, envelopes: any[]): any[] {
    for (const envelope of envelopes) {
      assert.equal(envelope.jsonrpc, '2.0');
      assert.equal(envelope.id, call.id);
      assert.equal(envelope.error, undefined, `stream error: ${JSON.stringify(envelope.error)}`);
      assert.ok(envelope.result !== undefined);
    }
    return envelopes.map((e) => e.result);
  }

  /** A working task held at the gate until the test releases it. */
  async function startWorking(): Promise<{ task: any; run: GatedRun }> {
    const run = gate.run();
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage('stream me', { metadata: run.metadata }),
        configuration: { returnImmediately: true },
      }),
    );
    await run.started();
    return { task, run };
  }

  /** The stream's results one at a time: the first ones read before the test moves the task on. */
  function reader(call: SseCall): { next(): Promise<any>; rest(): Promise<any[]> } {
    const steps = stepwise(call);
    return {
      next: async () => (await steps.next()).result,
      rest: async () => checked(call, await steps.rest()),
    };
  }

  test('SendStreamingMessage streams task, working, artifact, completed, then closes', async () => {
    const message = textMessage('stream echo', { metadata: { skill: 'echo' } });
    const call = await streamCall(url, 'SendStreamingMessage', { message });
    assert.equal(call.status, 200);
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(call.headers.get('cache-control'), 'no-cache, no-transform');
    const events = await results(call);
    assert.deepEqual(trace(events), ['task:TASK_STATE_SUBMITTED', 'statusUpdate:TASK_STATE_WORKING', 'artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    const task = events[0].task;
    assert.equal(task.history[0].messageId, message.messageId);
    for (const event of events.slice(1)) {
      const update = event.statusUpdate ?? event.artifactUpdate;
      assert.equal(update.taskId, task.id);
      assert.equal(update.contextId, task.contextId);
      assert.equal(update.final, undefined, '1.0 events carry no final flag');
    }
    assert.deepEqual(events[2].artifactUpdate.artifact.parts, [{ text: 'stream echo' }]);
    assert.equal(events[2].artifactUpdate.lastChunk, true);
    const stored = ok(await rpc(url, 'GetTask', { id: task.id }));
    assert.equal(stored.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(stored.status, events[3].statusUpdate.status);
  });

  test('a task that reports progress streams its updates in order', async () => {
    const run = gate.run();
    run.say('first step');
    run.say('second step');
    run.release();
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('progress', { metadata: run.metadata }) });
    const events = await results(call);
    assert.deepEqual(trace(events), [
      'task:TASK_STATE_SUBMITTED',
      'statusUpdate:TASK_STATE_WORKING',
      'statusUpdate:TASK_STATE_WORKING',
      'statusUpdate:TASK_STATE_WORKING',
      'artifactUpdate:echo',
      'statusUpdate:TASK_STATE_COMPLETED',
    ]);
    assert.deepEqual(
      events.slice(1, 4).map((e) => e.statusUpdate.status.message.parts[0].text),
      ['waiting at the gate', 'first step', 'second step'],
    );
    const times = events.filter((e) => e.statusUpdate).map((e) => Date.parse(e.statusUpdate.status.timestamp));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, 'status timestamps never go back');
  });

  test('SendStreamingMessage honours configuration.historyLength in its Task event: 0 is none', async () => {
    const message = textMessage('no history', { metadata: { skill: 'echo' } });
    const events = await results(await streamCall(url, 'SendStreamingMessage', { message, configuration: { historyLength: 0 } }));
    assert.equal(events[0].task.history, undefined, JSON.stringify(events[0].task));
    assert.equal(events.at(-1).statusUpdate.status.state, 'TASK_STATE_COMPLETED');
    // The stored task keeps its history: the limit shapes the answer only.
    assert.equal(ok(await rpc(url, 'GetTask', { id: events[0].task.id })).history.length, 1);
    const v03 = await results(
      await streamCall(url, 'message/stream', { message: { ...v03Message('no history'), metadata: { skill: 'echo' } }, configuration: { historyLength: 0 } }, V03),
    );
    assert.equal(v03[0].kind, 'task');
    assert.equal(v03[0].history, undefined, JSON.stringify(v03[0]));
  });

  test('SendStreamingMessage continuing a task sends no more history than asked, the latest messages', async () => {
    const first = await results(await streamCall(url, 'SendStreamingMessage', { message: textMessage('ask', { messageId: `tck-input-required-${unique()}` }) }));
    const taskId = first[0].task.id;
    const followUp = textMessage('more input', { messageId: `tck-complete-task-${unique()}`, taskId });
    const events = await results(await streamCall(url, 'SendStreamingMessage', { message: followUp, configuration: { historyLength: 1 } }));
    const task = events[0].task;
    assert.equal(task.id, taskId);
    assert.deepEqual(task.history.map((m: any) => m.messageId), [followUp.messageId]);
    assert.ok(ok(await rpc(url, 'GetTask', { id: taskId })).history.length > 1, 'the task holds more history than was sent');
  });

  test('an artifact sent whole is one chunk marked lastChunk; a chunked one marks only its last', async () => {
    const whole = await results(await streamCall(url, 'SendStreamingMessage', { message: textMessage('x', { messageId: `tck-stream-artifact-text-${unique()}` }) }));
    const single = whole.filter((e) => e.artifactUpdate !== undefined).map((e) => e.artifactUpdate);
    assert.equal(single.length, 1);
    assert.equal(single[0].lastChunk, true);
    assert.equal(single[0].append, false);
    const chunked = await results(await streamCall(url, 'SendStreamingMessage', { message: textMessage('x', { messageId: `tck-stream-artifact-chunked-${unique()}` }) }));
    assert.deepEqual(
      chunked.filter((e) => e.artifactUpdate !== undefined).map((e) => [e.artifactUpdate.append, e.artifactUpdate.lastChunk]),
      [[false, false], [true, true]],
    );
  });

  test('a lone message reply is one message event, then the stream closes', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('hi', { messageId: `tck-message-response-${unique()}` }) });
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await results(call);
    assert.equal(events.length, 1);
    assert.deepEqual(Object.keys(events[0]), ['message']);
    assert.equal(events[0].message.role, 'ROLE_AGENT');
    assert.deepEqual(events[0].message.parts, [{ text: 'Direct message response' }]);
  });

  test('a streamed task that asks for input ends the stream there', async () => {
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('ask', { messageId: `tck-input-required-${unique()}` }) });
    const events = await results(call);
    assert.deepEqual(trace(events), ['task:TASK_STATE_SUBMITTED', 'statusUpdate:TASK_STATE_INPUT_REQUIRED']);
  });

  test('SendStreamingMessage with bad params answers with a plain JSON error', async () => {
    const res = await rpc(url, 'SendStreamingMessage', { message: textMessage('x', { parts: [] }) });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assertRpcError(res.body, -32602);
  });

  test('SubscribeToTask starts with the current task, then live events until the end', async () => {
    const { task, run } = await startWorking();
    const call = await streamCall(url, 'SubscribeToTask', { id: task.id });
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const stream = reader(call);
    const first = await stream.next();
    assert.equal(first.task.id, task.id);
    assert.equal(first.task.status.state, 'TASK_STATE_WORKING');
    run.say('live');
    run.release();
    const events = await stream.rest();
    assert.deepEqual(trace(events), ['statusUpdate:TASK_STATE_WORKING', 'artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    assert.equal(events[0].statusUpdate.status.message.parts[0].text, 'live');
  });

  test('two subscribers of one running task see the same events', async () => {
    const { task, run } = await startWorking();
    const [first, second] = (await Promise.all([streamCall(url, 'SubscribeToTask', { id: task.id }), streamCall(url, 'SubscribeToTask', { id: task.id })])).map(reader);
    // Both are subscribed (each has its snapshot) before the task moves on.
    assert.deepEqual(await first!.next(), await second!.next());
    run.say('seen by both');
    run.release();
    const [a, b] = await Promise.all([first!.rest(), second!.rest()]);
    assert.deepEqual(trace(a), ['statusUpdate:TASK_STATE_WORKING', 'artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    assert.deepEqual(a, b);
  });

  test('SubscribeToTask of a finished task is a plain JSON -32004', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('done', { metadata: { skill: 'echo' } }) }));
    const res = await rpc(url, 'SubscribeToTask', { id: task.id });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const error = assertRpcError(res.body, -32004, res.body.id);
    assert.match(error.message, /completed/);
    assert.equal(errorInfo(error).metadata.state, 'TASK_STATE_COMPLETED');
  });

  test('SubscribeToTask of an unknown task is a plain JSON -32001', async () => {
    const res = await rpc(url, 'SubscribeToTask', { id: 'no-such-task' });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assertRpcError(res.body, -32001);
  });

  test('SubscribeToTask of a task waiting for input stays open until the task moves on', async () => {
    const { task } = ok(await rpc(url, 'SendMessage', { message: textMessage('ask', { messageId: `tck-input-required-${unique()}` }) }));
    const call = await streamCall(url, 'SubscribeToTask', { id: task.id });
    const pending = results(call);
    // The first event arrives while the task waits; the stream must not have ended by then.
    await waitFor('the subscription to be open', async () => (call.comments.length > 0 ? true : undefined), PATIENCE_MS, 20);
    ok(await rpc(url, 'SendMessage', { message: textMessage('more', { messageId: `tck-complete-task-${unique()}`, taskId: task.id }) }));
    const events = await pending;
    assert.equal(events[0].task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
  });

  test('heartbeat comments keep a quiet stream alive', async () => {
    const run = gate.run();
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('quiet', { metadata: run.metadata }) });
    const stream = reader(call);
    await stream.next();
    // Read on (comments are seen as the stream is read); nothing happens to the task until a heartbeat came.
    const rest = stream.rest();
    await waitFor('a heartbeat on the quiet stream', () => call.comments.includes(': keep-alive'));
    run.release();
    const events = await rest;
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
  });

  test('a client that leaves mid-stream does not cancel the task', async () => {
    const run = gate.run();
    const subscribers = async () => readMetric(url, 'a2a_stream_subscribers');
    const before = await subscribers();
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('leave', { metadata: run.metadata }) });
    const taskId = (await reader(call).next()).task.id as string;
    await run.started();
    call.close();
    // The server has seen the client go before the task may end: a leave that canceled would have done so by now.
    await waitFor('the server to drop the subscriber', async () => (await subscribers()) <= before);
    assert.equal(run.wasAborted, false, 'the skill was aborted when its client left');
    run.release();
    const done = await waitForTerminal(url, taskId);
    assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(done.artifacts[0].parts, [{ text: 'leave' }]);
  });

  test('a subscriber that leaves does not disturb another', async () => {
    const { task, run } = await startWorking();
    const subscribers = async () => readMetric(url, 'a2a_stream_subscribers');
    const before = await subscribers();
    const leaving = await streamCall(url, 'SubscribeToTask', { id: task.id });
    const staying = reader(await streamCall(url, 'SubscribeToTask', { id: task.id }));
    await reader(leaving).next();
    await staying.next();
    leaving.close();
    await waitFor('the server to drop the leaving subscriber', async () => (await subscribers()) <= before + 1);
    run.release();
    const events = await staying.rest();
    assert.deepEqual(trace(events), ['artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
    assert.equal(ok(await rpc(url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_COMPLETED');
  });

  test('many subscribers of one task each get every event once, in order, with rising ids', async () => {
    const { task, run } = await startWorking();
    const calls = await Promise.all(Array.from({ length: 40 }, () => streamCall(url, 'SubscribeToTask', { id: task.id })));
    const readers = calls.map(reader);
    // All are subscribed (each has its snapshot) before the task moves on.
    for (const r of readers) assert.equal((await r.next()).task.id, task.id);
    run.say('one');
    run.say('two');
    run.release();
    const all = await Promise.all(readers.map((r) => r.rest()));
    for (const [i, events] of all.entries()) {
      assert.deepEqual(trace(events), ['statusUpdate:TASK_STATE_WORKING', 'statusUpdate:TASK_STATE_WORKING', 'artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
      assert.deepEqual(
        events.slice(0, 2).map((e) => e.statusUpdate.status.message.parts[0].text),
        ['one', 'two'],
      );
      assert.deepEqual(events, all[0]);
      const ids = calls[i]!.ids.map(Number);
      assert.ok(ids.every((id, j) => Number.isSafeInteger(id) && (j === 0 || id > ids[j - 1]!)), `ids ${ids.join(', ')}`);
    }
  });

  test('a stream whose client asked to close the connection ends with it', async () => {
    const { task, run } = await startWorking();
    const before = await readMetric(url, 'a2a_stream_subscribers');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'closing', method: 'SubscribeToTask', params: { id: task.id } });
    const socket = connect({ host: '127.0.0.1', port: agent.port });
    const received = new Promise<{ text: string; how: string }>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), how: 'end' }));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve({ text: Buffer.concat(chunks).toString('utf8'), how: error.code ?? 'error' }));
    });
    try {
      socket.write(
        [
          'POST / HTTP/1.1',
          `Host: 127.0.0.1:${agent.port}`,
          'Content-Type: application/json',
          'Accept: text/event-stream',
          'A2A-Version: 1.0',
          'Connection: close',
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          body,
        ].join('\r\n'),
      );
      await waitFor('the subscription to be open', async () => ((await readMetric(url, 'a2a_stream_subscribers')) > before ? true : undefined));
      run.release();
      // The server closes the connection once the stream has ended: the client needs no timeout to be rid of it.
      const { text, how } = await within(PATIENCE_MS, 'the server to close the connection', received);
      assert.equal(how, 'end');
      const head = text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase();
      assert.match(head, /^http\/1\.1 200/);
      assert.match(head, /\r\nconnection: close(\r\n|$)/);
      assert.ok(text.includes('TASK_STATE_COMPLETED'));
      assert.ok(text.endsWith('\r\n0\r\n\r\n'), 'the chunked body ended properly');
    } finally {
      socket.destroy();
    }
  });
});
