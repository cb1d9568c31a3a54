// Skills declared in a skills file, end to end: a real agent reads the file,
// its skills answer through the scripted chat-completions server (no paid API
// may be called from a test) and call a built-in skill, a real MCP server (the
// SDK's server side, on loopback) and a skill of a real peer agent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok, totalTasks } from '../../e2e/http/helpers.js';
import { startToolServer } from '../../peers/mcp/tool-server.js';
import type { ToolServer } from '../../peers/mcp/tool-server.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { freePort } from '../../support/service-process.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';
import { hangingReply, startChatServer, textReply, toolCallReply } from '../assistant/chat-server.js';
import type { ChatServer } from '../assistant/chat-server.js';

const MANIFEST = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n';

function skillsYaml(chatUrl: string, keyFile: string, mcpUrl: string, downUrl: string): string {
  const skill = (id: string, budget: string, tools = '[]') => `
  - id: ${id}
    name: ${id}
    description: The ${id} skill.
    tags: [ops]
    examples: ["why is my pod crashing?"]
    systemPrompt: You are the ${id} agent. Follow the runbooks.
    model: scripted
    tools: ${tools}
    budget: ${budget}`;
  return `models:
  scripted:
    endpoint: ${chatUrl}
    model: scripted-model
    apiKeyFile: ${keyFile}
mcpServers:
  runbooks:
    url: ${mcpUrl}
  down:
    url: ${downUrl}
skills:${skill('runbook', '{rounds: 3, tokens: 100000, time: 30s}', '[manifest-review, "mcp:runbooks/lookup_runbook", "mcp:down/search", "peer:conformance"]')}${skill(
    'one-round',
    '{rounds: 1, tokens: 100000, time: 30s}',
    '["mcp:runbooks/*", "peer:translate"]',
  )}${skill('few-tokens', '{tokens: 10}')}${skill('hasty', '{time: 500ms}')}
`;
}

describe('declared skills, end to end', () => {
  let dir: string;
  let chat: ChatServer;
  let tools: ToolServer;
  let peer: TestAgent;
  let agent: TestAgent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-declared-'));
    chat = await startChatServer();
    tools = await startToolServer();
    writeFileSync(join(dir, 'api-key'), 'sk-declared-key\n');
    writeFileSync(join(dir, 'skills.yaml'), skillsYaml(chat.baseUrl, join(dir, 'api-key'), tools.url, `http://127.0.0.1:${await freePort()}/mcp`));
    // A real agent as the peer: it has the conformance skill, the agent under test does not.
    peer = await startTestAgent({ POD_NAME: 'peer-0', CONFORMANCE_AGENT: 'true' });
    agent = await startTestAgent({ POD_NAME: 'agent-0', SKILLS_FILE: join(dir, 'skills.yaml'), A2A_PEERS: peer.url, A2A_DISCOVERY_INTERVAL: '1h' });
    await waitFor('the peer to be discovered', () => agent.discovery.list().some((p) => p.state === 'healthy'));
  });
  after(async () => {
    await agent?.dispose();
    await peer?.dispose();
    await tools?.close();
    await chat?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends to a declared skill and waits for the task's end; returns it with the chat requests the turn made. */
  async function ask(skill: string, text: string): Promise<{ task: any; requests: ChatServer['requests'] }> {
    const from = chat.requests.length;
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage(text, { metadata: { skill } }) })).task;
    const full = ok(await rpc(agent.url, 'GetTask', { id: task.id, historyLength: 100 }));
    return { task: full, requests: chat.requests.slice(from) };
  }
  const toolMessage = (request: ChatServer['requests'][number]) => String(request.body.messages.find((m: any) => m.role === 'tool')?.content);
  const said = (task: any) => (task.history ?? []).flatMap((m: any) => m.parts.map((p: any) => p.text ?? '')).join('\n');
  const answer = (task: any) => task.artifacts.flatMap((a: any) => a.parts.map((p: any) => p.text)).join('');

  test('the card lists the declared skills as the file describes them', async () => {
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as any;
    const runbook = card.skills.find((s: any) => s.id === 'runbook');
    assert.ok(runbook, `card skills: ${card.skills.map((s: any) => s.id).join(', ')}`);
    assert.equal(runbook.description, 'The runbook skill.');
    assert.deepEqual(runbook.tags, ['ops']);
    assert.deepEqual(runbook.examples, ['why is my pod crashing?']);
  });

  test('the model calls a built-in skill, which runs as a sub-task; the answer streams as the artifact', async () => {
    chat.enqueue(toolCallReply([{ id: 'c1', name: 'manifest-review', args: [JSON.stringify({ text: MANIFEST })] }]), textReply(['The ', 'manifest is fine.']));
    const { task, requests } = await ask('runbook', 'check my manifest');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    assert.equal(answer(task), 'The manifest is fine.');
    assert.equal(requests.length, 2);
    const first = requests[0]!;
    assert.equal(first.headers.authorization, 'Bearer sk-declared-key', 'the key from the model\'s apiKeyFile');
    assert.equal(first.body.model, 'scripted-model');
    assert.deepEqual(first.body.messages[0], { role: 'system', content: 'You are the runbook agent. Follow the runbooks.' });
    const offered = first.body.tools.map((t: any) => t.function.name);
    assert.deepEqual(offered, ['manifest-review', 'runbooks_lookup_runbook', 'down_search', 'conformance', 'ask_user']);
    assert.match(toolMessage(requests[1]!), /Skill manifest-review \(task [^)]+\) ended completed/);
    assert.match(said(task), /calling manifest-review\(/, 'the tool call shows as a status update');
  });

  test('the model calls a tool of an MCP server, offered with the server\'s description and input schema', async () => {
    chat.enqueue(toolCallReply([{ id: 'c2', name: 'runbooks_lookup_runbook', args: ['{"name":', '"CrashLoopBackOff"}'] }]), textReply(['Restart it.']));
    const { task, requests } = await ask('runbook', 'my pod is in CrashLoopBackOff');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    const spec = requests[0]!.body.tools.find((t: any) => t.function.name === 'runbooks_lookup_runbook').function;
    assert.match(spec.description, /Finds the runbook/);
    assert.equal(spec.parameters.properties.name.type, 'string');
    assert.equal(toolMessage(requests[1]!), "Runbook for CrashLoopBackOff: check the pod's last logs, then restart it.");
    assert.match(said(task), /calling runbooks_lookup_runbook\(\{"name":"CrashLoopBackOff"\}\)/);
  });

  test('a tool of an MCP server that is down is a tool error the model reads; the task goes on', async () => {
    chat.enqueue(toolCallReply([{ id: 'c3', name: 'down_search', args: ['{}'] }]), textReply(['The search tool is down.']));
    const { task, requests } = await ask('runbook', 'search the runbooks');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    assert.match(toolMessage(requests[1]!), /^error: down_search failed: MCP server "down" is unavailable: /);
  });

  test('the model calls a skill of a discovered peer, through delegation', async () => {
    const peerTasks = await totalTasks(peer.url);
    chat.enqueue(toolCallReply([{ id: 'c4', name: 'conformance', args: ['{"text":"hello peer"}'] }]), textReply(['The peer answered.']));
    const { task, requests } = await ask('runbook', 'ask the peer');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    assert.match(toolMessage(requests[1]!), /Skill conformance \(task [^)]+\) ended completed\.\nIt said: Unhandled messageId prefix/);
    assert.equal(await totalTasks(peer.url), peerTasks + 1, 'the peer ran the work');
  });

  test('a wildcard offers every tool of the server; the rounds budget ends the turn with the reason', async () => {
    const call = (id: string) => toolCallReply([{ id, name: 'runbooks_lookup_runbook', args: ['{"name":"x"}'] }]);
    chat.enqueue(call('r1'), call('r2'));
    const { task, requests } = await ask('one-round', 'loop');
    const offered = requests[0]!.body.tools.map((t: any) => t.function.name).sort();
    assert.deepEqual(offered, ['ask_user', 'runbooks_broken', 'runbooks_huge', 'runbooks_lookup_runbook', 'runbooks_slow', 'translate']);
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.match(said([task].map((t) => ({ history: [t.status.message] }))[0]), /Stopped after 1 tool-call round, the limit for one turn; the model still wanted to call runbooks_lookup_runbook/);
  });

  test('the model asks the user: the task waits for input, and the reply continues the conversation', async () => {
    chat.enqueue(toolCallReply([{ id: 'q1', name: 'ask_user', args: ['{"question":"Which namespace?"}'] }]));
    const { task } = await ask('runbook', 'my pod crashes');
    assert.equal(task.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(task.status));
    assert.equal(task.status.message.parts[0].text, 'Which namespace?');
    const from = chat.requests.length;
    chat.enqueue(textReply(['Looking at payments.']));
    const reply = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('payments', { taskId: task.id, contextId: task.contextId }) })).task;
    assert.equal(reply.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(reply.status));
    const conversation = chat.requests[from]!.body.messages.map((m: any) => `${m.role}: ${m.content}`);
    assert.deepEqual(conversation.slice(-3), ['user: my pod crashes', 'assistant: Which namespace?', 'user: payments']);
  });

  test('a peer skill no discovered peer offers is a tool error the model reads', async () => {
    chat.enqueue(toolCallReply([{ id: 't1', name: 'translate', args: ['{"text":"hola"}'] }]), textReply(['No translator.']));
    const { task, requests } = await ask('one-round', 'translate hola');
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    assert.equal(toolMessage(requests[1]!), 'error: translate failed: no discovered peer agent offers skill "translate" now');
  });

  test('a token budget too small for the request rejects it, saying so', async () => {
    const { task, requests } = await ask('few-tokens', 'hello');
    assert.equal(requests.length, 0, 'the model was not called');
    assert.equal(task.status.state, 'TASK_STATE_REJECTED');
    assert.match(task.status.message.parts[0].text, /The token budget of 10 tokens for one turn is too small for this request/);
  });

  test('the time budget fails the task with the reason', async () => {
    chat.enqueue(hangingReply(['thinking']));
    const { task } = await ask('hasty', 'hello');
    assert.equal(task.status.state, 'TASK_STATE_FAILED');
    assert.match(task.status.message.parts[0].text, /time budget of 0\.5s exceeded while waiting for the model/);
  });

  test('cancel mid-round closes the model connection and cancels the task', async () => {
    const from = chat.requests.length;
    chat.enqueue(hangingReply(['partial ', 'answer ']));
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hello', { metadata: { skill: 'runbook' } }), configuration: { returnImmediately: true } })).task;
    // The model is streaming its answer: the turn is mid-round.
    await waitFor('the model to be asked', () => chat.requests[from]);
    const canceled = ok(await rpc(agent.url, 'CancelTask', { id: task.id }));
    assert.equal(canceled.status.state, 'TASK_STATE_CANCELED');
    await chat.requests[from]!.closedEarly;
    const after = ok(await rpc(agent.url, 'GetTask', { id: task.id }));
    assert.equal(after.status.state, 'TASK_STATE_CANCELED', 'the skill did not overwrite the cancel');
  });
});
