import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParamsError } from '../../src/model/errors.js';
import type { Task, TaskState } from '../../src/model/model.js';
import { messageResult, taskResult, toolFor, toolMessage } from '../../src/protocol/mcp-tools.js';

function task(state: TaskState, extra: Partial<Task> = {}): Task {
  return { id: 't1', contextId: 'c1', status: { state, timestamp: '2026-01-01T00:00:00.000Z' }, artifacts: [], history: [], ...extra };
}

function said(text: string) {
  return { messageId: 'm', role: 'agent' as const, parts: [{ kind: 'text' as const, text }] };
}

test('a skill is a tool of the same id, titled and described by its descriptor', () => {
  const tool = toolFor({ id: 'echo', name: 'Echo', description: 'Returns the parts it was sent.' });
  assert.equal(tool.name, 'echo');
  assert.equal(tool.title, 'Echo');
  assert.equal(tool.description, 'Returns the parts it was sent.');
  assert.equal(tool.inputSchema.type, 'object');
  assert.equal((tool.inputSchema as { additionalProperties?: boolean }).additionalProperties, false);
});

test('arguments become the parts of a user message that names the tool as its skill', () => {
  const message = toolMessage('echo', { text: 'hi', data: { a: 1 }, file: { bytes: 'aGk', name: 'a.txt', mimeType: 'text/plain' }, metadata: { delayMs: 5, skill: 'other' } }, 'id-1');
  assert.deepEqual(message, {
    messageId: 'id-1',
    role: 'user',
    parts: [
      { kind: 'text', text: 'hi' },
      { kind: 'data', data: { a: 1 } },
      // Unpadded base64 is kept in its standard, padded form.
      { kind: 'bytes', bytes: 'aGk=', filename: 'a.txt', mediaType: 'text/plain' },
    ],
    // The tool decides the skill, whatever the metadata says.
    metadata: { delayMs: 5, skill: 'echo' },
  });
  assert.deepEqual(toolMessage('echo', { file: { uri: 'https://example.com/x' }, taskId: 't9' }, 'id-2').parts, [{ kind: 'url', url: 'https://example.com/x' }]);
  assert.equal(toolMessage('echo', { text: 'answer', taskId: 't9' }, 'id-3').taskId, 't9');
});

test('arguments nested past the limit are refused before anything reads them', () => {
  let deep: unknown = 'leaf';
  for (let i = 0; i < 150; i++) deep = { a: deep };
  assert.throws(() => toolMessage('echo', { data: deep }, 'id'), InvalidParamsError);
  assert.throws(() => toolMessage('echo', 'text', 'id'), /arguments must be an object, got a string/);
  assert.throws(() => toolMessage('echo', undefined, 'id'), /arguments must hold text, data or a file/);
});

test('a completed task gives its artifacts: text, JSON (also structured when it is the one object), files, links', () => {
  const result = taskResult(
    task('completed', {
      artifacts: [
        { artifactId: 'report', parts: [{ kind: 'text', text: '# Report' }] },
        { artifactId: 'findings', parts: [{ kind: 'data', data: { findings: [] } }] },
        { artifactId: 'png', parts: [{ kind: 'bytes', bytes: 'iVBO', mediaType: 'image/png' }] },
        { artifactId: 'bin', parts: [{ kind: 'bytes', bytes: 'AAAA' }] },
        { artifactId: 'link', parts: [{ kind: 'url', url: 'https://example.com/r', filename: 'r.txt' }] },
      ],
    }),
    'x',
  );
  assert.equal(result.isError, undefined);
  assert.deepEqual(result.content, [
    { type: 'text', text: '# Report' },
    { type: 'text', text: '{\n  "findings": []\n}' },
    { type: 'image', data: 'iVBO', mimeType: 'image/png' },
    { type: 'resource', resource: { uri: 'kagent-a2a:task/t1/artifact/bin', mimeType: 'application/octet-stream', blob: 'AAAA' } },
    { type: 'resource_link', uri: 'https://example.com/r', name: 'r.txt' },
  ]);
  assert.deepEqual(result.structuredContent, { findings: [] });
  assert.deepEqual(result._meta, { 'kagent.dev/taskId': 't1', 'kagent.dev/state': 'completed' });
});

test('a completed task with no artifacts says what its status said, or that there was no output', () => {
  assert.deepEqual(taskResult(task('completed', { status: { state: 'completed', timestamp: 'x', message: said('done') } }), 'x').content, [{ type: 'text', text: 'done' }]);
  assert.deepEqual(taskResult(task('completed'), 'x').content, [{ type: 'text', text: 'task t1 completed with no output' }]);
});

test('failed, rejected and canceled tasks are error results with their reason', () => {
  for (const state of ['failed', 'rejected', 'canceled'] as const) {
    const result = taskResult(task(state, { status: { state, timestamp: 'x', message: said('no good') } }), 'x');
    assert.equal(result.isError, true);
    assert.deepEqual(result.content, [{ type: 'text', text: `task t1 ${state}: no good` }]);
  }
});

test('a task waiting for input or authorization says what it needs and how to answer, and is no error', () => {
  for (const [state, needs] of [['input-required', 'input'], ['auth-required', 'authorization']] as const) {
    const result = taskResult(task(state, { status: { state, timestamp: 'x', message: said('which namespace?') } }), 'cluster-inspect');
    assert.equal(result.isError, undefined);
    const text = (result.content[0] as { text: string }).text;
    assert.match(text, new RegExp(`^task t1 needs ${needs}: which namespace\\?`));
    assert.match(text, /calling cluster-inspect again with \{"taskId": "t1", "text": <your answer>\}/);
  }
});

test("a skill's direct reply is its parts", () => {
  assert.deepEqual(messageResult(said('the skills are: echo')), { content: [{ type: 'text', text: 'the skills are: echo' }] });
});
