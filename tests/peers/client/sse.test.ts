import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { A2AClient, A2AClientError, SseParser, userText } from '../../../src/peers/client/index.js';
import type { SseItem } from '../../../src/peers/client/index.js';
import { rpcError, rpcResult, startScriptedServer, wireTask } from './servers.js';
import type { ScriptedServer } from './servers.js';
import { collect, describeItem, rejection } from './util.js';

// Reading server-sent events: the parser alone, fed every possible split of a
// stream, and the client reading streams written in awkward pieces by a real
// server.

function parseInPieces(text: string, cuts: number[]): SseItem[] {
  const parser = new SseParser();
  const bytes = Buffer.from(text, 'utf8');
  const items: SseItem[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    items.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  items.push(...parser.end());
  return items;
}

const events = (items: SseItem[]) => items.filter((i) => i.type === 'event').map((i) => (i.type === 'event' ? `${i.event}|${i.data}` : ''));

describe('SseParser', () => {
  const stream = [
    ': keep-alive',
    'data: {"a":1}',
    '',
    'event: update',
    'data: line one',
    'data:line two',
    'id: 7',
    '',
    ': another heartbeat',
    '',
    'data: ünïcødé ✓',
    '',
  ];
  const expected = ['message|{"a":1}', 'update|line one\nline two', 'message|ünïcødé ✓'];

  for (const [name, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ] as const) {
    test(`${name} line ends, split at every byte`, () => {
      const text = stream.join(eol) + eol;
      const whole = parseInPieces(text, []);
      assert.deepEqual(events(whole), expected);
      assert.deepEqual(
        whole.filter((i) => i.type === 'comment').map((i) => (i.type === 'comment' ? i.text : '')),
        ['keep-alive', 'another heartbeat'],
      );
      const length = Buffer.byteLength(text);
      for (let cut = 1; cut < length; cut++) {
        assert.deepEqual(events(parseInPieces(text, [cut])), expected, `split at byte ${cut}`);
      }
      // One byte at a time: every CR and LF lands at a chunk edge.
      assert.deepEqual(events(parseInPieces(text, Array.from({ length: length - 1 }, (_, i) => i + 1))), expected);
    });
  }

  test('a leading BOM is ignored; an event without its closing blank line is dropped', () => {
    assert.deepEqual(events(parseInPieces('\ufeffdata: x\n\ndata: unfinished\n', [])), ['message|x']);
  });

  test('the id field is kept; a field without a colon is a field with an empty value', () => {
    const items = parseInPieces('id: 42\ndata\ndata: y\n\n', []);
    assert.deepEqual(items, [{ type: 'event', event: 'message', data: '\ny', id: '42' }]);
  });
});

describe('the client reading streams from a real server', () => {
  let servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  test('events split into small writes with CRLF and heartbeats in between', async () => {
    const server = await startScriptedServer(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      const results = [
        { task: { ...wireTask('t-1'), status: { state: 'TASK_STATE_SUBMITTED' } } },
        { statusUpdate: { taskId: 't-1', contextId: 'ctx-1', status: { state: 'TASK_STATE_WORKING' } } },
        { artifactUpdate: { taskId: 't-1', contextId: 'ctx-1', artifact: { artifactId: 'a1', parts: [{ text: 'ünïcødé' }] }, lastChunk: true } },
        { statusUpdate: { taskId: 't-1', contextId: 'ctx-1', status: { state: 'TASK_STATE_COMPLETED' } } },
      ];
      const text = results.map((r) => `: keep-alive\r\ndata: ${JSON.stringify(rpcResult(req, r))}\r\n\r\n`).join('');
      const bytes = Buffer.from(text, 'utf8');
      for (let i = 0; i < bytes.length; i += 7) {
        res.write(bytes.subarray(i, i + 7));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      res.end();
    });
    servers.push(server);
    const items = await collect(A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('pieces'), { deadlineMs: 8000 }), 10_000);
    assert.deepEqual(items.map(describeItem), ['task:submitted', 'status:working', 'artifact:a1', 'status:completed']);
    const artifact = items[2]!;
    assert.equal(artifact.kind === 'artifact-update' && artifact.artifact.parts[0]?.kind === 'text' && artifact.artifact.parts[0].text, 'ünïcødé');
  });

  test('an error event ends the stream with that error after the items before it', async () => {
    const server = await startScriptedServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(rpcResult(req, { task: wireTask('t-2') }))}\n\n`);
      res.end(`data: ${JSON.stringify(rpcError(req, -32603, 'Internal error'))}\n\n`);
    });
    servers.push(server);
    const seen: string[] = [];
    const error = await rejection(async () => {
      for await (const item of A2AClient.fromUrl(`${server.url}/a2a`).stream(userText('x'), { deadlineMs: 5000 })) seen.push(item.kind);
    });
    assert.deepEqual(seen, ['task']);
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'rpc');
    assert.equal(error.code, -32603);
  });

  test('an event that is not JSON, or not A2A, is an invalid response naming what is wrong', async () => {
    const server = await startScriptedServer((req, res, i) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(i === 0 ? 'data: {not json\n\n' : `data: ${JSON.stringify(rpcResult(req, { statusUpdate: { taskId: 't', status: { state: 'TASK_STATE_DREAMING' } } }))}\n\n`);
    });
    servers.push(server);
    const client = A2AClient.fromUrl(`${server.url}/a2a`);
    const notJson = await rejection(() => collect(client.stream(userText('x'), { deadlineMs: 5000 })));
    assert.ok(notJson instanceof A2AClientError);
    assert.equal(notJson.kind, 'invalid-response');
    assert.match(notJson.message, /not JSON/);
    const badState = await rejection(() => collect(client.stream(userText('y'), { deadlineMs: 5000 })));
    assert.ok(badState instanceof A2AClientError);
    assert.equal(badState.kind, 'invalid-response');
    assert.match(badState.message, /result\.statusUpdate\.status\.state/);
  });

  test('a JSON answer where a stream was expected carries its error', async () => {
    const server = await startScriptedServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rpcError(req, -32004, 'task is finished')));
    });
    servers.push(server);
    const error = await rejection(() => collect(A2AClient.fromUrl(`${server.url}/a2a`).subscribe('done-task', { deadlineMs: 5000 })));
    assert.ok(error instanceof A2AClientError);
    assert.equal(error.kind, 'rpc');
    assert.equal(error.code, -32004);
  });
});
