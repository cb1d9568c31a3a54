import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { Gate } from '../../support/gate.js';
import { rpc, stepwise, textMessage } from '../../support/rpc.js';
import { collectEnvelopes, ok, streamCall, trace } from './helpers.js';
import { metricValue, scrape as metrics } from '../../support/metrics.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { waitFor, within } from '../../support/wait.js';

// A reader that stops reading must be cut once it falls STREAM_BUFFER_EVENTS
// events behind, without holding up the task or the other readers. Events
// only pile up once the socket stops taking data, and kernel buffers on
// loopback hold a few MB, so the task's message is made larger than that: its
// first event (the task snapshot, which carries the message) cannot be
// delivered to a reader that never reads, and later events queue behind it.
const BIG_TEXT_BYTES = 8 * 1024 * 1024;
const BUFFER_EVENTS = 3;

/** An SSE subscription over a raw socket that sends its request and then never reads. */
function stalledSubscription(port: number, taskId: string): Socket {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'stalled', method: 'SubscribeToTask', params: { id: taskId } });
  const socket = connect({ host: '127.0.0.1', port });
  socket.pause();
  socket.write(
    [
      'POST / HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Content-Type: application/json',
      'Accept: text/event-stream',
      'A2A-Version: 1.0',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
  return socket;
}

/** Reads what the socket still holds until the server closes it. */
function readToEnd(socket: Socket): Promise<{ text: string; how: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), how: 'end' }));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ text: Buffer.concat(chunks).toString('latin1'), how: error.code ?? 'error' }));
    socket.resume();
  });
}

describe('a slow subscriber', () => {
  let agent: TestAgent;
  let url: string;
  let gate: Gate;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent({ STREAM_BUFFER_EVENTS: String(BUFFER_EVENTS), MAX_BODY_BYTES: String(32 * 1024 * 1024), MAX_ARTIFACT_BYTES: String(64 * 1024 * 1024) });
    url = agent.url;
  });

  after(async () => {
    await agent.dispose();
    await gate.close();
  });

  test('is disconnected, while a reading subscriber gets every event and the task completes', async () => {
    const bigText = 'x'.repeat(BIG_TEXT_BYTES);
    const cutBefore = metricValue(await metrics(url), 'a2a_streams_disconnected_total') ?? 0;
    // Long enough for two progress updates after both subscriptions are open, even when
    // opening them takes seconds on a loaded machine; with the artifact and the completion
    // that is more events than the stalled stream may hold.
    const { task } = ok(
      await rpc(url, 'SendMessage', {
        message: textMessage(bigText, { metadata: { delayMs: 6000 } }),
        configuration: { returnImmediately: true, historyLength: 0 },
      }),
    );

    const stalled = stalledSubscription(agent.port, task.id);
    try {
      await waitFor('the stalled subscription to be open', async () => {
        const open = metricValue(await metrics(url), 'a2a_stream_subscribers') ?? 0;
        return open >= 1 ? true : undefined;
      });

      const reader = await streamCall(url, 'SubscribeToTask', { id: task.id });
      const envelopes = await collectEnvelopes(reader);
      const events = envelopes.map((e) => e.result);
      for (const envelope of envelopes) assert.equal(envelope.id, reader.id);

      const steps = trace(events);
      assert.equal(events[0].task.id, task.id);
      assert.ok(['task:TASK_STATE_SUBMITTED', 'task:TASK_STATE_WORKING'].includes(steps[0]!), steps[0]);
      assert.deepEqual(steps.slice(-2), ['artifactUpdate:echo', 'statusUpdate:TASK_STATE_COMPLETED']);
      const middle = steps.slice(1, -2);
      assert.ok(middle.length >= 2, `progress updates: ${JSON.stringify(steps)}`);
      for (const step of middle) assert.equal(step, 'statusUpdate:TASK_STATE_WORKING');
      assert.equal(events.at(-2).artifactUpdate.artifact.parts[0].text.length, BIG_TEXT_BYTES);

      const stored = ok(await rpc(url, 'GetTask', { id: task.id, historyLength: 0 }));
      assert.equal(stored.status.state, 'TASK_STATE_COMPLETED');

      const cutAfter = await waitFor('the stalled stream to be counted as cut', async () => {
        const value = metricValue(await metrics(url), 'a2a_streams_disconnected_total') ?? 0;
        return value > cutBefore ? value : undefined;
      });
      assert.equal(cutAfter, cutBefore + 1, 'only the stalled stream was cut');

      // The server dropped what it had not sent: reading now gets the start of
      // the stream, then the connection ends without the task's completion.
      const received = await within(PATIENCE_MS, 'the stalled connection to end', readToEnd(stalled));
      assert.equal(received.how, 'end');
      assert.match(received.text, /^HTTP\/1\.1 200/);
      assert.match(received.text, /text\/event-stream/);
      assert.ok(received.text.includes('"id":"stalled"'));
      assert.ok(!received.text.includes('TASK_STATE_COMPLETED'), 'the stalled reader never got the completion');

      await waitFor('no stream to remain open', async () => {
        const open = metricValue(await metrics(url), 'a2a_stream_subscribers');
        return open === 0 ? true : undefined;
      });
    } finally {
      stalled.destroy();
    }
  });

  test('a reader keeping up with a small buffer is never cut', async () => {
    const cutBefore = metricValue(await metrics(url), 'a2a_streams_disconnected_total') ?? 0;
    const run = gate.run();
    const call = await streamCall(url, 'SendStreamingMessage', { message: textMessage('small and steady', { metadata: run.metadata }) });
    // The reader keeps up: each progress event is read before the skill reports the next.
    const stream = stepwise(call);
    const events = [(await stream.next()).result, (await stream.next()).result];
    for (let i = 0; i < BUFFER_EVENTS + 2; i++) {
      run.say(`step ${i}`);
      events.push((await stream.next()).result);
    }
    run.release();
    events.push(...(await stream.rest()).map((e) => e.result));
    // More events than the buffer holds, delivered because the reader keeps up.
    assert.ok(events.length > BUFFER_EVENTS, trace(events).join(', '));
    assert.equal(trace(events).at(-1), 'statusUpdate:TASK_STATE_COMPLETED');
    assert.equal(metricValue(await metrics(url), 'a2a_streams_disconnected_total') ?? 0, cutBefore);
  });
});
