import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamItem } from '../../src/model/model.js';
import { resultEnvelope } from '../../src/protocol/jsonrpc.js';
import { v03Codec } from '../../src/protocol/v03/codec.js';
import { v1Codec } from '../../src/protocol/v1/codec.js';
import type { JsonRpcId } from '../../src/protocol/jsonrpc.js';
import type { Codec } from '../../src/protocol/codec.js';
import { encodeSseEvent } from '../../src/protocol/sse.js';
import { rpcEventFramer } from '../../src/transport/event-frames.js';

const event: StreamItem = {
  kind: 'status-update',
  taskId: 't-1',
  contextId: 'c-1',
  status: { state: 'working', timestamp: '2026-01-01T00:00:00.000Z', message: { messageId: 'm', role: 'agent', parts: [{ kind: 'text', text: 'a "quoted" \u2028 line' }] } },
  final: false,
};

/** The JSON-RPC envelope a stream's SSE event carries. */
function eventFrame(id: JsonRpcId, item: StreamItem, codec: Codec): string {
  const frame = rpcEventFramer(id, codec)(item, undefined);
  assert.ok(frame.startsWith('data: ') && frame.endsWith('\n\n'), frame);
  return frame.slice('data: '.length, -2);
}

test('a shared event frame is exactly the envelope each stream would have written', () => {
  for (const codec of [v1Codec, v03Codec]) {
    for (const id of [1, 'req-"7"', null]) {
      assert.equal(eventFrame(id, event, codec), resultEnvelope(id, codec.encodeStreamItem(event)));
      assert.deepEqual(JSON.parse(eventFrame(id, event, codec)), { jsonrpc: '2.0', id, result: codec.encodeStreamItem(event) });
    }
  }
});

test('each protocol version gets its own encoding of the same event', () => {
  assert.match(eventFrame(1, event, v1Codec), /"statusUpdate"/);
  assert.match(eventFrame(1, event, v03Codec), /"kind":"status-update"/);
  assert.match(eventFrame(1, event, v1Codec), /"statusUpdate"/, 'the 0.3 encoding did not replace the 1.0 one');
});

test('an event frame is the SSE event the protocol writes, its task version as the id', () => {
  const envelope = resultEnvelope(3, v1Codec.encodeStreamItem(event));
  assert.equal(rpcEventFramer(3, v1Codec)(event, 7), encodeSseEvent(envelope, { id: 7 }));
  assert.equal(rpcEventFramer(3, v1Codec)(event, undefined), encodeSseEvent(envelope));
});
