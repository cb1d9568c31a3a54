import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SSE_HEARTBEAT, SseParser, encodeSseEvent, isEventStream } from '../../src/protocol/sse.js';

// The server's writer and the clients' reader share one framing: what one
// writes, the other reads back unchanged.

test('an event the server writes reads back as the same data', () => {
  for (const data of ['{"a":1}', '', 'two\nlines', 'cr\rand\r\ncrlf', 'trailing\n']) {
    const parser = new SseParser();
    const items = parser.push(encodeSseEvent(data));
    assert.deepEqual(items, [{ type: 'event', event: 'message', data: data.replace(/\r\n|\r/g, '\n') }], JSON.stringify(data));
  }
});

test('an event split across chunks at every byte reads back whole', () => {
  const wire = encodeSseEvent('{"result":"ok"}') + SSE_HEARTBEAT + encodeSseEvent('x');
  const parser = new SseParser();
  const items = [...wire].flatMap((ch) => parser.push(ch));
  assert.deepEqual(items, [
    { type: 'event', event: 'message', data: '{"result":"ok"}' },
    { type: 'comment', text: 'keep-alive' },
    { type: 'event', event: 'message', data: 'x' },
  ]);
});

test('an event stream is told by its content type, in any case', () => {
  assert.equal(isEventStream('text/event-stream; charset=utf-8'), true);
  assert.equal(isEventStream('Text/Event-Stream'), true);
  assert.equal(isEventStream('application/json'), false);
  assert.equal(isEventStream(undefined), false);
});
