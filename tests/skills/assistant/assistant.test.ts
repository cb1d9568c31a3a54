import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ANONYMOUS } from '../../../src/model/model.js';
import type { ArtifactUpdateEvent, Part, StatusUpdateEvent, StreamItem, Task } from '../../../src/model/model.js';
import { assistantSkill } from '../../../src/skills/assistant/index.js';
import type { AssistantOptions, AssistantTool } from '../../../src/skills/assistant/index.js';
import { waitFor } from '../../support/wait.js';
import { SkillHarness, userMessage } from '../../support/skill-harness.js';
import { chunk, DONE, errorReply, hangingReply, sse, startChatServer, textReply, toolCallReply, usageChunk } from './chat-server.js';
import type { ChatServer } from './chat-server.js';
import { PATIENCE_MS } from '../../support/patience.js';

// The model endpoint is a scripted chat-completions server on loopback that
// stands in for a paid API: see chat-server.ts.

const T = { timeout: PATIENCE_MS };

let server: ChatServer;
const harnesses: SkillHarness[] = [];
/** What the skill logged: where upstream error bodies go instead of the task. */
const logged: { fields: Record<string, unknown>; message: string }[] = [];
const lastLogged = () => last(logged).fields;

before(async () => {
  server = await startChatServer();
});
after(async () => {
  for (const h of harnesses) await h.close();
  await server.close();
});

async function start(options: Partial<AssistantOptions> = {}): Promise<SkillHarness> {
  const skill = assistantSkill({
    baseUrl: server.baseUrl,
    model: 'scripted-model',
    apiKey: 'sk-test-key',
    maxToolRounds: 3,
    maxTokens: 100_000,
    timeoutMs: 5000,
    tools: [],
    chunkIntervalMs: 0,
    log: (fields, message) => logged.push({ fields, message }),
    ...options,
  });
  const harness = await SkillHarness.start([skill]);
  harnesses.push(harness);
  return harness;
}

const artifacts = (items: StreamItem[]) => items.filter((i): i is ArtifactUpdateEvent => i.kind === 'artifact-update');
const statuses = (items: StreamItem[]) => items.filter((i): i is StatusUpdateEvent => i.kind === 'status-update');
const text = (parts: readonly Part[] | undefined) => (parts ?? []).map((p) => (p.kind === 'text' ? p.text : '')).join('');
const last = <X>(list: X[]): X => {
  assert.ok(list.length > 0, 'expected a non-empty list');
  return list[list.length - 1]!;
};
const finalStatus = (items: StreamItem[]) => last(statuses(items)).status;
const streamedText = (items: StreamItem[]) => artifacts(items).map((a) => text(a.artifact.parts)).join('');

/** The chat-completions requests made since `from`. */
const requestsSince = (from: number) => server.requests.slice(from);

/** Checks the A2A chunk protocol: one artifact id, append after the first, lastChunk only on the last. */
function assertChunked(items: StreamItem[]): void {
  const chunks = artifacts(items);
  assert.ok(chunks.length > 0, 'expected artifact chunks');
  assert.equal(new Set(chunks.map((c) => c.artifact.artifactId)).size, 1, 'all chunks belong to one artifact');
  chunks.forEach((c, i) => {
    assert.equal(c.append, i > 0, `chunk ${i} append`);
    assert.equal(c.lastChunk, i === chunks.length - 1, `chunk ${i} lastChunk`);
    assert.equal(c.artifact.parts[0]?.mediaType, 'text/markdown');
  });
}

describe('assistant skill: descriptor', () => {
  test('names the model and the tools it offers', () => {
    const tool: AssistantTool = { name: 'cluster-inspect', description: 'x', parameters: { type: 'object' }, run: async () => ({ text: '' }) };
    const { descriptor } = assistantSkill({ baseUrl: 'http://127.0.0.1:1/v1', model: 'llama3.1', maxToolRounds: 2, maxTokens: 10, timeoutMs: 1000, tools: [tool] });
    assert.equal(descriptor.id, 'assistant');
    assert.match(descriptor.description, /llama3\.1/);
    assert.match(descriptor.description, /cluster-inspect/);
    assert.deepEqual(descriptor.outputModes, ['text/markdown']);
    assert.ok(descriptor.inputModes?.includes('text/plain'));
  });

  test('without tool rounds it claims no tools', () => {
    const tool: AssistantTool = { name: 'cluster-inspect', description: 'x', parameters: { type: 'object' }, run: async () => ({ text: '' }) };
    const { descriptor } = assistantSkill({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm', maxToolRounds: 0, maxTokens: 10, timeoutMs: 1000, tools: [tool] });
    assert.doesNotMatch(descriptor.description, /cluster-inspect/);
  });

  test('refuses a base URL that is not http(s), and an empty model', () => {
    const base = { model: 'm', maxToolRounds: 1, maxTokens: 10, timeoutMs: 1000, tools: [] };
    assert.throws(() => assistantSkill({ ...base, baseUrl: 'ftp://x/v1' }), /baseUrl "ftp:\/\/x\/v1" is not an http\(s\) URL/);
    assert.throws(() => assistantSkill({ ...base, baseUrl: 'not a url' }), /not an absolute URL/);
    assert.throws(() => assistantSkill({ ...base, baseUrl: 'http://x/v1', model: ' ' }), /model is empty/);
  });
});

describe('assistant skill: streaming answers', () => {
  test('streams the model text as chunks of one artifact, then completes', T, async () => {
    const harness = await start();
    const from = server.requests.length;
    server.enqueue(textReply(['Pods ', 'restart ', 'when ', 'probes fail.'], { delayMs: 30 }));
    const items = await harness.stream('Why do my pods restart?');

    assert.equal(items[0]?.kind, 'task');
    assert.equal(statuses(items)[0]?.status.state, 'working');
    assertChunked(items);
    assert.ok(artifacts(items).length >= 2, `expected the answer in several chunks, got ${artifacts(items).length}`);
    assert.equal(streamedText(items), 'Pods restart when probes fail.');
    assert.equal(finalStatus(items).state, 'completed');
    assert.equal(finalStatus(items).message, undefined, 'a complete answer needs no note');
    // Chunks come before the end of the stream, not after it.
    const lastArtifact = items.lastIndexOf(last(artifacts(items)));
    assert.ok(lastArtifact < items.indexOf(last(statuses(items))));

    const stored = await harness.service.getTask(ANONYMOUS, (items[0] as { task: Task }).task.id);
    assert.equal(stored.artifacts.length, 1);
    assert.equal(text(stored.artifacts[0]!.parts), 'Pods restart when probes fail.');

    const [request] = requestsSince(from);
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, '/v1/chat/completions');
    assert.equal(request!.headers.authorization, 'Bearer sk-test-key');
    assert.equal(request!.body.model, 'scripted-model');
    assert.equal(request!.body.stream, true);
    assert.deepEqual(request!.body.stream_options, { include_usage: true });
    assert.equal(request!.body.tools, undefined, 'no tools offered when there are none');
    assert.ok(request!.body.max_tokens > 0 && request!.body.max_tokens < 100_000, `max_tokens ${request!.body.max_tokens}`);
    assert.equal(request!.body.messages[0].role, 'system');
    assert.deepEqual(request!.body.messages.slice(1), [{ role: 'user', content: 'Why do my pods restart?' }]);
  });

  test('sends no Authorization header without a key', T, async () => {
    const harness = await start({ apiKey: undefined });
    const from = server.requests.length;
    server.enqueue(textReply(['ok']));
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'completed');
    assert.equal(requestsSince(from)[0]!.headers.authorization, undefined);
  });

  test('data parts and text files reach the model as text', T, async () => {
    const harness = await start();
    const from = server.requests.length;
    server.enqueue(textReply(['seen']));
    const yaml = 'apiVersion: v1\nkind: Pod\n';
    await harness.send([
      { kind: 'text', text: 'Look at these:' },
      { kind: 'data', data: { replicas: 3 } },
      { kind: 'bytes', bytes: Buffer.from(yaml).toString('base64'), mediaType: 'application/yaml', filename: 'pod.yaml' },
      { kind: 'bytes', bytes: Buffer.from([0, 1, 2, 3]).toString('base64'), mediaType: 'application/octet-stream', filename: 'blob.bin' },
    ]);
    const content: string = requestsSince(from)[0]!.body.messages[1].content;
    assert.match(content, /^Look at these:/);
    assert.match(content, /"replicas": 3/);
    assert.match(content, /pod\.yaml \(application\/yaml\):\napiVersion: v1\nkind: Pod/);
    assert.match(content, /\[blob\.bin \(application\/octet-stream\), 4 bytes, not shown\]/);
  });

  test('an empty message asks for the question; the answer continues the conversation', T, async () => {
    const harness = await start();
    const from = server.requests.length;
    const first = await harness.task(await harness.send([{ kind: 'text', text: '   ' }]));
    assert.equal(first.status.state, 'input-required');
    assert.match(text(first.status.message?.parts), /What would you like to ask/);
    assert.equal(requestsSince(from).length, 0, 'nothing to ask the model yet');

    server.enqueue(textReply(['Use kubectl rollout status.']));
    const second = await harness.task(await harness.send('How do I watch a rollout?', { taskId: first.id, contextId: first.contextId }));
    assert.equal(second.status.state, 'completed');
    const messages = requestsSince(from)[0]!.body.messages;
    assert.deepEqual(
      messages.slice(1).map((m: { role: string }) => m.role),
      ['assistant', 'user'],
      'the blank message is skipped; the question asked becomes an assistant turn',
    );
    assert.equal(messages[2].content, 'How do I watch a rollout?');
  });

  test('a server that ignores stream:true and answers one JSON object still works', T, async () => {
    const harness = await start();
    server.enqueue({
      headers: { 'content-type': 'application/json' },
      steps: [
        {
          write: JSON.stringify({
            id: 'chatcmpl-x',
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: 'Whole answer.' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
          }),
        },
      ],
    });
    const items = await harness.stream('hi');
    assert.equal(finalStatus(items).state, 'completed');
    assertChunked(items);
    assert.equal(streamedText(items), 'Whole answer.');
  });

  test('a model that says nothing completes with a note instead of an empty artifact', T, async () => {
    const harness = await start();
    server.enqueue(textReply([]));
    const items = await harness.stream('hi');
    assert.equal(artifacts(items).length, 0);
    assert.equal(finalStatus(items).state, 'completed');
    assert.match(text(finalStatus(items).message?.parts), /empty answer/);
  });
});

describe('assistant skill: tool calls', () => {
  const replicas: Record<string, number> = { web: 3, api: 0 };
  const calls: unknown[] = [];
  const lookup: AssistantTool = {
    name: 'deployment-status',
    description: 'Reports the available replicas of a Deployment.',
    parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    async run(args) {
      calls.push(args);
      const name = String(args.name);
      if (!(name in replicas)) throw new Error(`no Deployment named ${name}`);
      return { text: `${name}: ${replicas[name]} available` };
    },
  };

  test('runs a call split across chunks, reports it as a status update, and answers with its result', T, async () => {
    const harness = await start({ tools: [lookup] });
    calls.length = 0;
    const from = server.requests.length;
    server.enqueue(
      toolCallReply([{ id: 'call_a1', name: 'deployment-status', args: ['{"na', 'me": "a', 'pi"}'] }], { text: ['Let me check.'], delayMs: 10 }),
      textReply(['api has ', '0 available replicas.'], { delayMs: 20 }),
    );
    const items = await harness.stream('Is api up?');

    assert.deepEqual(calls, [{ name: 'api' }]);
    assert.equal(finalStatus(items).state, 'completed');
    assertChunked(items);
    assert.equal(streamedText(items), 'Let me check.\n\napi has 0 available replicas.');

    // Order: text before the call, the call, text after it.
    const callStatus = statuses(items).find((s) => text(s.status.message?.parts).startsWith('calling '));
    assert.ok(callStatus, 'a status update names the call');
    assert.equal(text(callStatus.status.message?.parts), 'calling deployment-status({"name":"api"})');
    const at = items.indexOf(callStatus);
    const before = artifacts(items.slice(0, at)).map((a) => text(a.artifact.parts)).join('');
    const afterCall = artifacts(items.slice(at)).map((a) => text(a.artifact.parts)).join('');
    assert.equal(before, 'Let me check.');
    assert.equal(afterCall, '\n\napi has 0 available replicas.');

    const [first, second] = requestsSince(from);
    assert.deepEqual(first!.body.tools, [
      {
        type: 'function',
        function: { name: 'deployment-status', description: 'Reports the available replicas of a Deployment.', parameters: lookup.parameters },
      },
    ]);
    const tail = second!.body.messages.slice(-2);
    assert.deepEqual(tail[0], {
      role: 'assistant',
      content: 'Let me check.',
      tool_calls: [{ id: 'call_a1', type: 'function', function: { name: 'deployment-status', arguments: '{"name": "api"}' } }],
    });
    assert.deepEqual(tail[1], { role: 'tool', tool_call_id: 'call_a1', content: 'api: 0 available' });
    assert.equal(server.remaining, 0);
  });

  test('several calls in one round run in order; bad arguments, unknown tools and tool errors go back to the model', T, async () => {
    const harness = await start({ tools: [lookup] });
    calls.length = 0;
    const from = server.requests.length;
    server.enqueue(
      toolCallReply([
        { id: 'c1', name: 'deployment-status', args: ['{"name":', '"web"}'] },
        { id: 'c2', name: 'deployment-status', args: ['{"name": "nope"}'] },
        { id: 'c3', name: 'deployment-status', args: ['{"name": '] },
        { id: 'c4', name: 'delete-cluster', args: ['{}'] },
      ]),
      textReply(['web is up.']),
    );
    const items = await harness.stream('How are web and nope?');
    assert.equal(finalStatus(items).state, 'completed');
    assert.deepEqual(calls, [{ name: 'web' }, { name: 'nope' }]);
    assert.deepEqual(
      statuses(items).map((s) => text(s.status.message?.parts)).filter((t) => t.startsWith('calling')),
      ['calling deployment-status({"name":"web"})', 'calling deployment-status({"name":"nope"})'],
    );
    const toolMessages = requestsSince(from)[1]!.body.messages.filter((m: { role: string }) => m.role === 'tool');
    assert.deepEqual(
      toolMessages.map((m: { tool_call_id: string }) => m.tool_call_id),
      ['c1', 'c2', 'c3', 'c4'],
    );
    assert.equal(toolMessages[0].content, 'web: 3 available');
    assert.equal(toolMessages[1].content, 'error: deployment-status failed: no Deployment named nope');
    assert.match(toolMessages[2].content, /^error: the arguments are not valid JSON/);
    assert.match(toolMessages[3].content, /^error: there is no tool named "delete-cluster"; the tools are: deployment-status/);
  });

  test('tool-call reports stay out of the conversation sent back to the model', T, async () => {
    const harness = await start({ tools: [lookup] });
    const from = server.requests.length;
    server.enqueue(toolCallReply([{ id: 'c1', name: 'deployment-status', args: ['{"name":"web"}'] }]), textReply(['fine']));
    await harness.send('check web');
    const roles = requestsSince(from)[1]!.body.messages.map((m: { role: string }) => m.role);
    assert.deepEqual(roles, ['system', 'user', 'assistant', 'tool']);
  });

  test('stops at the round limit and says so, keeping what was said', T, async () => {
    const harness = await start({ tools: [lookup], maxToolRounds: 1 });
    calls.length = 0;
    const from = server.requests.length;
    server.enqueue(
      toolCallReply([{ id: 'r1', name: 'deployment-status', args: ['{"name":"web"}'] }], { text: ['Checking web.'] }),
      toolCallReply([{ id: 'r2', name: 'deployment-status', args: ['{"name":"api"}'] }], { text: ['Now api.'] }),
    );
    const items = await harness.stream('check everything');
    assert.equal(requestsSince(from).length, 2);
    assert.deepEqual(calls, [{ name: 'web' }], 'the second round never runs');
    assert.equal(finalStatus(items).state, 'completed');
    assert.equal(
      text(finalStatus(items).message?.parts),
      'Stopped after 1 tool-call round, the limit for one turn; the model still wanted to call deployment-status.',
    );
    assertChunked(items);
    assert.equal(streamedText(items), 'Checking web.\n\nNow api.');
  });

  test('with no tool rounds allowed, no tools are offered', T, async () => {
    const harness = await start({ tools: [lookup], maxToolRounds: 0 });
    const from = server.requests.length;
    server.enqueue(textReply(['plain']));
    await harness.send('hi');
    assert.equal(requestsSince(from)[0]!.body.tools, undefined);
  });

  test('cancel during a tool run aborts the tool and calls the model no more', T, async () => {
    let aborted = false;
    let started = false;
    const slow: AssistantTool = {
      name: 'slow',
      description: 'never finishes by itself',
      parameters: { type: 'object' },
      run: (_args, signal) =>
        new Promise((_resolve, reject) => {
          started = true;
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    };
    const harness = await start({ tools: [slow] });
    const from = server.requests.length;
    server.enqueue(toolCallReply([{ id: 's1', name: 'slow', args: ['{}'] }]));
    const stream = await harness.service.sendStreamingMessage(ANONYMOUS, userMessage('go slow'));
    const items: StreamItem[] = [];
    const reading = (async () => {
      for await (const item of stream) items.push(item);
    })();
    await waitFor('the tool to start', () => started);
    const taskId = (items[0] as { task: Task }).task.id;
    await harness.cancel(taskId);
    await reading;
    await waitFor('the tool to see the abort', () => aborted);
    assert.equal(finalStatus(items).state, 'canceled');
    assert.equal(requestsSince(from).length, 1);
    assert.equal((await harness.service.getTask(ANONYMOUS, taskId)).status.state, 'canceled');
  });
});

describe('assistant skill: budgets', () => {
  const noop: AssistantTool = { name: 'noop', description: 'does nothing', parameters: { type: 'object' }, run: async () => ({ text: 'done' }) };

  test('reported usage that spends the token budget ends the turn before more tools run', T, async () => {
    let ran = 0;
    const counted: AssistantTool = { ...noop, run: async () => ((ran += 1), { text: 'done' }) };
    const harness = await start({ tools: [counted], maxTokens: 400 });
    const from = server.requests.length;
    server.enqueue(toolCallReply([{ id: 'u1', name: 'noop', args: ['{}'] }], { text: ['Working on it.'], usage: { prompt_tokens: 380, completion_tokens: 40, total_tokens: 420 } }));
    const items = await harness.stream('do it');
    assert.equal(requestsSince(from).length, 1);
    assert.equal(ran, 0);
    assert.ok(requestsSince(from)[0]!.body.max_tokens <= 400);
    assert.equal(finalStatus(items).state, 'completed');
    assert.equal(
      text(finalStatus(items).message?.parts),
      'Stopped: the token budget of 400 tokens for this turn is spent (420 used); the model still wanted to call noop.',
    );
    assert.equal(streamedText(items), 'Working on it.');
  });

  test('usage over several calls adds up, and the next call gets only what is left', T, async () => {
    const harness = await start({ tools: [noop], maxTokens: 2000 });
    const from = server.requests.length;
    server.enqueue(
      toolCallReply([{ id: 'u1', name: 'noop', args: ['{}'] }], { usage: { prompt_tokens: 900, completion_tokens: 100, total_tokens: 1000 } }),
      textReply(['ok'], { usage: { prompt_tokens: 950, completion_tokens: 10, total_tokens: 960 } }),
    );
    const items = await harness.stream('do it');
    assert.equal(finalStatus(items).state, 'completed');
    const [first, second] = requestsSince(from);
    assert.ok(second!.body.max_tokens < 1000, `second call may spend at most what is left: ${second!.body.max_tokens}`);
    assert.ok(second!.body.max_tokens < first!.body.max_tokens);
  });

  test('when what is left cannot carry the conversation, the turn ends after the tools ran', T, async () => {
    let ran = 0;
    const counted: AssistantTool = { ...noop, run: async () => ((ran += 1), { text: 'done' }) };
    const harness = await start({ tools: [counted], maxTokens: 1000 });
    const from = server.requests.length;
    server.enqueue(toolCallReply([{ id: 'u1', name: 'noop', args: ['{}'] }], { usage: { prompt_tokens: 800, completion_tokens: 50, total_tokens: 850 } }));
    const items = await harness.stream('do it');
    assert.equal(ran, 1);
    assert.equal(requestsSince(from).length, 1);
    assert.equal(finalStatus(items).state, 'completed');
    assert.equal(
      text(finalStatus(items).message?.parts),
      'Stopped: the token budget of 1000 tokens for this turn is spent (850 used); what is left would not cover the conversation so far.',
    );
  });

  test('finish_reason "length" completes with what was said and a note that it may be cut off', T, async () => {
    const harness = await start({ maxTokens: 300 });
    server.enqueue(textReply(['The answer is long and'], { finishReason: 'length' }));
    const items = await harness.stream('tell me everything');
    assert.equal(finalStatus(items).state, 'completed');
    assert.match(text(finalStatus(items).message?.parts), /^Stopped: the token budget of 300 tokens for this turn is spent \(about \d+ used\); the answer may be cut off\.$/);
    assert.equal(streamedText(items), 'The answer is long and');
  });

  test('a server that ignores max_tokens is cut off by estimate and sees the connection closed', T, async () => {
    const harness = await start({ maxTokens: 200 });
    const from = server.requests.length;
    server.enqueue(hangingReply(Array.from({ length: 200 }, () => 'word '.repeat(20)), 5));
    const items = await harness.stream('talk forever');
    assert.equal(finalStatus(items).state, 'completed');
    assert.match(text(finalStatus(items).message?.parts), /token budget of 200 tokens/);
    const said = streamedText(items);
    assert.ok(said.length > 0 && said.length < 200 * 100, `kept ${said.length} characters`);
    assertChunked(items);
    await requestsSince(from)[0]!.closedEarly;
  });

  test('a question too long for the budget is rejected without calling the model', T, async () => {
    const harness = await start({ maxTokens: 150 });
    const from = server.requests.length;
    const items = await harness.stream('x'.repeat(400));
    assert.equal(requestsSince(from).length, 0);
    assert.equal(finalStatus(items).state, 'rejected');
    assert.match(
      text(finalStatus(items).message?.parts),
      /^The token budget of 150 tokens for one turn is too small for this request: the conversation and tool descriptions alone need about \d+\.$/,
    );
  });

  test('the time budget aborts a stalled model call, fails the task and keeps the partial answer', T, async () => {
    const harness = await start({ timeoutMs: 400 });
    const from = server.requests.length;
    server.enqueue(hangingReply(['Thinking ', 'about it']));
    const items = await harness.stream('slow question');
    assert.equal(finalStatus(items).state, 'failed');
    assert.equal(text(finalStatus(items).message?.parts), 'time budget of 0.4s exceeded while waiting for the model');
    assertChunked(items);
    assert.equal(streamedText(items), 'Thinking about it');
    await requestsSince(from)[0]!.closedEarly;
  });

  test('the time budget also bounds tool runs, whose signal is aborted', T, async () => {
    let toolAborted = false;
    const stuck: AssistantTool = {
      name: 'stuck',
      description: 'waits',
      parameters: { type: 'object' },
      run: (_args, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            toolAborted = true;
            reject(new Error('aborted'));
          }),
        ),
    };
    const harness = await start({ timeoutMs: 400, tools: [stuck] });
    server.enqueue(toolCallReply([{ id: 't1', name: 'stuck', args: ['{}'] }]));
    const items = await harness.stream('wait');
    assert.equal(finalStatus(items).state, 'failed');
    assert.equal(text(finalStatus(items).message?.parts), 'time budget of 0.4s exceeded while running tool stuck');
    assert.ok(toolAborted);
  });
});

describe('assistant skill: cancellation', () => {
  test('cancel closes the model connection', T, async () => {
    const harness = await start();
    const from = server.requests.length;
    // The first chunk is written when the second arrives, and nothing follows it:
    // only the cancel itself can close the connection.
    server.enqueue(hangingReply(['partial ', 'answer'], 100));
    const stream = await harness.service.sendStreamingMessage(ANONYMOUS, userMessage('a long question'));
    const items: StreamItem[] = [];
    const reading = (async () => {
      for await (const item of stream) items.push(item);
    })();
    await waitFor('the first streamed chunk', () => artifacts(items).length > 0);
    await harness.cancel((items[0] as { task: Task }).task.id);
    await reading;
    assert.equal(finalStatus(items).state, 'canceled');
    const request = requestsSince(from)[0]!;
    await request.closedEarly;
    assert.equal(request.hungUp, true);
  });
});

describe('assistant skill: endpoint errors', () => {
  // The task says what happened in our words; what the endpoint sent goes to the log only (it may quote the request).
  const cases: [string, ReturnType<typeof errorReply>, string, RegExp][] = [
    [
      '401 with an OpenAI error object',
      errorReply(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }),
      'the model endpoint answered HTTP 401 Unauthorized',
      /: Incorrect API key provided \(invalid_api_key\)$/,
    ],
    [
      '429 with Retry-After',
      errorReply(429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '20' }),
      'the model endpoint answered HTTP 429 Too Many Requests (retry after 20s)',
      /: Rate limit reached \(requests\)$/,
    ],
    [
      '500 with an Ollama-style error string',
      errorReply(500, { error: 'model "llama9" not found, try pulling it first' }),
      'the model endpoint answered HTTP 500 Internal Server Error',
      /: model "llama9" not found, try pulling it first$/,
    ],
    ['502 with a plain-text body', errorReply(502, 'upstream connect error'), 'the model endpoint answered HTTP 502 Bad Gateway', /: "upstream connect error"$/],
  ];
  for (const [name, reply, expected, loggedDetail] of cases) {
    test(`HTTP error: ${name} fails the task with the status; the server's message goes to the log`, T, async () => {
      const harness = await start();
      server.enqueue(reply);
      const task = await harness.task(await harness.send('hi'));
      assert.equal(task.status.state, 'failed');
      assert.equal(text(task.status.message?.parts), expected);
      assert.equal(last(logged).message, 'model endpoint error');
      assert.match(String(lastLogged().detail), new RegExp(`^${server.baseUrl.replace(/[.]/g, '\\.')}/chat/completions: `));
      assert.match(String(lastLogged().detail), loggedDetail);
      assert.equal(lastLogged().taskId, task.id);
    });
  }

  test('a 401 body quoting the Authorization header: the key is neither in the task nor in the log', T, async () => {
    const harness = await start({ apiKey: 'sk-live-0123456789abcdef' });
    server.enqueue({
      status: 401,
      headers: { 'content-type': 'application/json' },
      steps: [{ write: '{"error": {"message": "Incorrect API key provided: ' }, { echoHeader: 'authorization' }, { write: '", "code": "invalid_api_key"}}' }],
    });
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'failed');
    assert.equal(last(server.requests).headers.authorization, 'Bearer sk-live-0123456789abcdef', 'the key was sent, and so echoed');
    assert.doesNotMatch(JSON.stringify(task), /0123456789abcdef/);
    assert.doesNotMatch(JSON.stringify(logged), /0123456789abcdef/);
    assert.match(String(lastLogged().detail), /Incorrect API key provided: Bearer \*\*\*/);
  });

  test('a chunk that is not JSON fails the task as a malformed stream', T, async () => {
    const harness = await start();
    server.enqueue({ steps: [chunk({ role: 'assistant', content: 'Hel' }), { write: 'data: {"choices": [\n\n' }, DONE] });
    const items = await harness.stream('hi');
    assert.equal(finalStatus(items).state, 'failed');
    assert.equal(text(finalStatus(items).message?.parts), 'the model endpoint sent a malformed stream: a chunk is not JSON');
    assert.equal(lastLogged().detail, '"{\\"choices\\": ["');
  });

  test('choices that are not an array fail the task as a malformed stream', T, async () => {
    const harness = await start();
    server.enqueue({ steps: [sse({ choices: { index: 0 } }), DONE] });
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'failed');
    assert.match(text(task.status.message?.parts), /malformed stream: "choices" is not an array/);
  });

  test('an error event mid-stream fails the task; its message goes to the log', T, async () => {
    const harness = await start();
    server.enqueue({ steps: [chunk({ content: 'Start' }), sse({ error: { message: 'the GPU fell over', code: 'server_error' } }), DONE] });
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'failed');
    assert.equal(text(task.status.message?.parts), 'the model endpoint reported an error mid-stream');
    assert.equal(lastLogged().detail, 'the GPU fell over (server_error)');
  });

  test('a stream that ends before finishing fails the task', T, async () => {
    const harness = await start();
    server.enqueue({ steps: [chunk({ role: 'assistant', content: 'Half a' }), chunk({ content: ' sentence' })] });
    const items = await harness.stream('hi');
    assert.equal(finalStatus(items).state, 'failed');
    assert.match(text(finalStatus(items).message?.parts), /stream ended before the reply was complete/);
    // What was said is kept and the artifact closed.
    assertChunked(items);
    assert.equal(streamedText(items), 'Half a sentence');
  });

  test('an HTML page instead of an event stream fails the task', T, async () => {
    const harness = await start();
    server.enqueue({ headers: { 'content-type': 'text/html' }, steps: [{ write: '<html>login</html>' }] });
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'failed');
    assert.match(text(task.status.message?.parts), /answered with text\/html, not an event stream/);
  });

  test('an endpoint nobody listens on fails the task naming the URL', T, async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const harness = await start({ baseUrl: `http://127.0.0.1:${port}/v1/` });
    const task = await harness.task(await harness.send('hi'));
    assert.equal(task.status.state, 'failed');
    assert.equal(text(task.status.message?.parts), `could not reach the model endpoint http://127.0.0.1:${port}/v1/chat/completions: ECONNREFUSED`);
  });

  test('usage-only chunks and CRLF line ends are understood', T, async () => {
    const harness = await start();
    server.enqueue({
      steps: [
        { write: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'crlf ' }, finish_reason: null }] })}\r\n\r\n` },
        { write: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'works' }, finish_reason: 'stop' }] })}\r\n\r\n` },
        usageChunk({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }),
        { write: ': a comment line\r\n\r\n' },
        { write: 'data: [DONE]\r\n\r\n' },
      ],
    });
    const items = await harness.stream('hi');
    assert.equal(finalStatus(items).state, 'completed');
    assert.equal(streamedText(items), 'crlf works');
  });
});
