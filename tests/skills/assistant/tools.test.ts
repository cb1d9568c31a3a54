import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANONYMOUS } from '../../../src/model/model.js';
import type { Message, Task } from '../../../src/model/model.js';
import { assistantSkill, skillAsTool, toolName } from '../../../src/skills/assistant/index.js';
import type { ToolContext, ToolResult } from '../../../src/skills/assistant/index.js';
import { runSubTask } from '../../../src/core/sub-task.js';
import type { RunSkill } from '../../../src/skills/skill.js';
import { echoSkill } from '../../../src/skills/echo.js';
import type { Skill } from '../../../src/skills/skill.js';
import { waitFor } from '../../support/wait.js';
import { SkillHarness, userMessage } from '../../support/skill-harness.js';
import { startChatServer, textReply, toolCallReply } from './chat-server.js';
import type { ChatServer } from './chat-server.js';
import { PATIENCE_MS } from '../../support/patience.js';

// Skills offered to the model as tools run as real sub-tasks of the agent's
// task service; the model endpoint is the scripted stand-in of chat-server.ts.

const T = { timeout: PATIENCE_MS };

const echo = echoSkill({ maxDelayMs: 10_000 });
const broken: Skill = {
  descriptor: { id: 'broken', name: 'Broken', description: 'always fails', tags: [], inputModes: ['text/plain'] },
  async execute() {
    throw new Error('boom');
  },
};
const asking: Skill = {
  descriptor: { id: 'asking', name: 'Asking', description: 'needs a namespace', tags: [], inputModes: ['text/plain'] },
  async execute(ctx) {
    await ctx.requireInput('Which namespace?');
  },
};
const direct: Skill = {
  descriptor: { id: 'direct', name: 'Direct', description: 'answers without a task', tags: [], inputModes: ['text/plain'] },
  replyDirectly: () => ({ messageId: 'd1', role: 'agent', parts: [{ kind: 'text', text: 'right away' }] }),
  async execute() {},
};
const quiet: Skill = {
  descriptor: { id: 'quiet', name: 'Quiet', description: 'completes silently', tags: [], inputModes: ['text/plain'] },
  async execute() {},
};

let server: ChatServer;
let harness: SkillHarness;
let runSkill: RunSkill;
// A tool run for this task, as the harness's anonymous caller (a running skill gets the same from its context).
const parent: ToolContext = { taskId: 'parent-task', contextId: 'ctx-tools', runSkill: (id, message, signal) => runSkill(id, message, signal) };

before(async () => {
  server = await startChatServer();
  const assistant = assistantSkill({
    baseUrl: server.baseUrl,
    model: 'scripted-model',
    maxToolRounds: 2,
    maxTokens: 100_000,
    timeoutMs: 5000,
    chunkIntervalMs: 0,
    tools: [skillAsTool(echo)],
  });
  harness = await SkillHarness.start([assistant, echo, broken, asking, direct, quiet]);
  runSkill = (id, message, signal) => runSubTask(harness.service, ANONYMOUS, id, message, signal);
});
after(async () => {
  await harness.close();
  await server.close();
});

const signal = () => new AbortController().signal;

describe('skillAsTool', () => {
  test('describes the skill in function-calling terms', () => {
    const tool = skillAsTool(echo);
    assert.equal(tool.name, 'echo');
    assert.match(tool.description, /^Returns the parts it was sent as an artifact\./);
    assert.match(tool.description, /Examples: "hello"/);
    assert.deepEqual(Object.keys(tool.parameters.properties as object), ['text', 'data'], 'echo takes JSON, so data is offered');
    assert.equal(tool.parameters.required, undefined);

    const textOnly = skillAsTool(broken);
    assert.deepEqual(Object.keys(textOnly.parameters.properties as object), ['text']);
    assert.deepEqual(textOnly.parameters.required, ['text']);
  });

  test('tool names keep to the characters chat-completions APIs accept', () => {
    assert.equal(toolName('cluster-inspect'), 'cluster-inspect');
    assert.equal(toolName('k8s.review manifests'), 'k8s_review_manifests');
    assert.equal(toolName('x'.repeat(80)).length, 64);
  });

  test('runs the skill as a sub-task in the caller conversation and summarizes its artifacts', T, async () => {
    const result: ToolResult = await skillAsTool(echo).run({ text: 'hello from the model' }, signal(), parent);
    const { taskId, state } = result.data as { taskId: string; state: string };
    assert.equal(state, 'completed');
    assert.equal(result.text, `Skill echo (task ${taskId}) ended completed.\n\n## echo\nhello from the model`);

    const sub = await harness.service.getTask(ANONYMOUS, taskId);
    assert.equal(sub.contextId, parent.contextId);
    assert.deepEqual(sub.history[0]?.referenceTaskIds, [parent.taskId]);
    assert.equal(sub.history[0]?.metadata?.skill, 'echo');
  });

  test('data arguments reach the skill as a data part', T, async () => {
    const result = await skillAsTool(echo).run({ data: { kind: 'Pod', replicas: 2 } }, signal(), parent);
    assert.match(result.text, /## echo\n```json\n\{\n {2}"kind": "Pod",\n {2}"replicas": 2\n\}\n```$/);
  });

  test('arguments without text or data are an error the model reads', T, async () => {
    await assert.rejects(skillAsTool(echo).run({ other: 1 }, signal(), parent), /give "text" or "data"/);
    await assert.rejects(skillAsTool(broken).run({ data: {} }, signal(), parent), /give "text"$/);
  });

  test('a failing skill comes back with its reason', T, async () => {
    const result = await skillAsTool(broken).run({ text: 'x' }, signal(), parent);
    assert.match(result.text, /^Skill broken \(task \S+\) ended failed\.\nReason: skill broken failed: boom$/);
  });

  test('a skill that asks for input reports the question, and its sub-task is canceled', T, async () => {
    const result = await skillAsTool(asking).run({ text: 'list pods' }, signal(), parent);
    assert.match(result.text, /ended input-required\.\nIt asked: Which namespace\?$/);
    const { taskId } = result.data as { taskId: string };
    assert.equal((await harness.service.getTask(ANONYMOUS, taskId)).status.state, 'canceled');
  });

  test('a direct reply and a silent completion are reported as such', T, async () => {
    assert.equal((await skillAsTool(direct).run({ text: 'x' }, signal(), parent)).text, 'direct replied:\nright away');
    assert.match((await skillAsTool(quiet).run({ text: 'x' }, signal(), parent)).text, /ended completed\.\nIt produced no output\.$/);
  });

  test('long results are cut to the limit with a note', T, async () => {
    const result = await skillAsTool(echo, { maxResultChars: 60 }).run({ text: 'y'.repeat(500) }, signal(), parent);
    assert.match(result.text, /\n…\[cut: \d+ more characters\]$/);
    assert.equal(result.text.split('\n…[cut')[0]!.length, 60);
  });
});

describe('runSubTask', () => {
  test('aborting the signal cancels the running sub-task', T, async () => {
    const controller = new AbortController();
    const message: Message = { ...userMessage('wait'), contextId: parent.contextId, metadata: { delayMs: 300_000 } };
    const running = runSkill('echo', message, controller.signal);
    let sub: Task | undefined;
    await waitFor('the sub-task to be working', async () => {
      const page = await harness.service.listTasks(ANONYMOUS, { contextId: parent.contextId, state: 'working', pageSize: 10, includeArtifacts: false });
      sub = page.tasks.find((t) => t.history[0]?.messageId === message.messageId);
      return sub !== undefined;
    });
    controller.abort(new Error('parent canceled'));
    await assert.rejects(running, /parent canceled/);
    await waitFor('the sub-task to be canceled', async () => (await harness.service.getTask(ANONYMOUS, sub!.id)).status.state === 'canceled');
  });

  test('an already aborted signal starts nothing', T, async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await assert.rejects(runSkill('echo', userMessage('x'), controller.signal), /too late/);
  });
});

describe('assistant with skills as tools', () => {
  test('the model calls a skill, which runs as a sub-task, and answers from its result', T, async () => {
    const from = server.requests.length;
    server.enqueue(toolCallReply([{ id: 'e1', name: 'echo', args: ['{"text":', '"ping"}'] }]), textReply(['echo said ping']));
    const items = await harness.stream('use echo on ping', { metadata: { skill: 'assistant' } });
    const task = (items[0] as { task: Task }).task;
    const final = await harness.service.getTask(ANONYMOUS, task.id);
    assert.equal(final.status.state, 'completed');

    const toolMessage = server.requests[from + 1]!.body.messages.at(-1);
    assert.equal(toolMessage.role, 'tool');
    assert.equal(toolMessage.tool_call_id, 'e1');
    assert.match(toolMessage.content, /^Skill echo \(task \S+\) ended completed\.\n\n## echo\nping$/);

    const subId = /task (\S+)\)/.exec(toolMessage.content)![1]!;
    const sub = await harness.service.getTask(ANONYMOUS, subId);
    assert.equal(sub.contextId, task.contextId, 'the sub-task joins the conversation');
    assert.deepEqual(sub.history[0]?.referenceTaskIds, [task.id]);
  });
});
