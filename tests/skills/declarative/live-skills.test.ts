// The skills file in a mounted ConfigMap (the skills.yaml key), edited while
// the agent runs: the same rules as live settings. Edits arrive through the
// file watch, as the kubelet makes them (a long poll interval rules the poll out).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { ok } from '../../e2e/http/helpers.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { ConfigMapDir } from '../../support/configmap-dir.js';
import { readMetric } from '../../support/metrics.js';
import { rpc, textMessage } from '../../support/rpc.js';
import { deferred, waitFor } from '../../support/wait.js';
import { chunk, DONE, startChatServer, textReply, toolCallReply } from '../assistant/chat-server.js';
import type { ChatServer } from '../assistant/chat-server.js';

interface Mounted {
  configMap: ConfigMapDir;
  agent: TestAgent;
  chat: ChatServer;
  /** The ConfigMap's data with this skills.yaml. */
  write(skills: string): void;
}

const model = (chat: ChatServer) => `models:\n  local:\n    endpoint: ${chat.baseUrl}\n    model: scripted-model\n`;
const skill = (id: string, description = `The ${id} skill.`, prompt = `You are ${id}.`) =>
  `  - id: ${id}\n    name: ${id}\n    description: ${description}\n    systemPrompt: ${prompt}\n    model: local\n    tools: [echo]\n`;

async function mounted(t: TestContext, skills: string): Promise<Mounted> {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-configmap-'));
  const configMap = new ConfigMapDir(join(dir, 'config'));
  const chat = await startChatServer();
  const write = (text: string) => configMap.update({ LOG_LEVEL: 'silent', 'skills.yaml': `${model(chat)}skills:\n${text}` });
  write(skills);
  const agent = await startTestAgent({}, undefined, { configPath: configMap.path, pollMs: 600_000 });
  t.after(async () => {
    await agent.dispose();
    await chat.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { configMap, agent, chat, write };
}

async function card(agent: TestAgent): Promise<{ ids: string[]; etag: string; skills: any[] }> {
  const res = await fetch(`${agent.url}/.well-known/agent-card.json`);
  const body = (await res.json()) as any;
  return { ids: body.skills.map((s: any) => s.id), etag: res.headers.get('etag') ?? '', skills: body.skills };
}

describe('the skills file, edited live', () => {
  test('the skills.yaml key of the ConfigMap is read at start, and is not taken for a setting', async (t) => {
    const { agent } = await mounted(t, skill('runbook'));
    assert.ok((await card(agent)).ids.includes('runbook'));
    assert.equal(agent.config().LOG_LEVEL, 'silent');
  });

  test('an added skill shows on the card (a new ETag) and answers, without a restart', async (t) => {
    const { agent, chat, write } = await mounted(t, skill('runbook'));
    const before = await card(agent);
    write(skill('runbook') + skill('cost', 'What the cluster costs.'));
    const after = await waitFor('the new skill on the card', async () => {
      const now = await card(agent);
      return now.ids.includes('cost') ? now : undefined;
    });
    assert.notEqual(after.etag, before.etag);
    assert.equal(after.skills.find((s) => s.id === 'cost').description, 'What the cluster costs.');
    chat.enqueue(textReply(['It costs little.']));
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('how much?', { metadata: { skill: 'cost' } }) })).task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    assert.equal(chat.requests.at(-1)!.body.messages[0].content, 'You are cost.');
    assert.equal(await readMetric(agent.url, 'kagent_skills_file_reloads_total', { outcome: 'applied' }), 1);
  });

  test('a broken edit is refused and counted; the last good skills stay in force', async (t) => {
    const { agent, chat, configMap } = await mounted(t, skill('runbook'));
    const before = await card(agent);
    // A skill naming a model the file does not declare.
    configMap.update({ LOG_LEVEL: 'silent', 'skills.yaml': `${model(chat)}skills:\n${skill('runbook')}${skill('cost').replace('model: local', 'model: gpt-9')}` });
    await waitFor('the refusal to be counted', async () => (await readMetric(agent.url, 'kagent_skills_file_reloads_total', { outcome: 'rejected' })) === 1);
    const after = await card(agent);
    assert.deepEqual(after.ids, before.ids);
    assert.equal(after.etag, before.etag);
    chat.enqueue(textReply(['still here']));
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi', { metadata: { skill: 'runbook' } }) })).task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(await readMetric(agent.url, 'kagent_skills_file_reloads_total', { outcome: 'applied' }), 0);
  });

  test('a removed skill leaves the card and new work, but a task already running finishes on its definition', async (t) => {
    const { agent, chat, write } = await mounted(t, skill('runbook') + skill('cost'));
    const gate = deferred();
    chat.enqueue({ steps: [chunk({ role: 'assistant', content: '' }), chunk({ content: 'first ' }), { until: gate.promise }, chunk({ content: 'second' }), chunk({}, 'stop'), DONE] });
    const from = chat.requests.length;
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi', { metadata: { skill: 'cost' } }), configuration: { returnImmediately: true } })).task;
    await waitFor('the model to be asked', () => chat.requests[from]);
    write(skill('runbook'));
    await waitFor('the removed skill to leave the card', async () => !(await card(agent)).ids.includes('cost'));
    const refused = await rpc(agent.url, 'SendMessage', { message: textMessage('again', { metadata: { skill: 'cost' } }) });
    assert.match(refused.body.error?.message ?? '', /cost/, JSON.stringify(refused.body));
    assert.equal(ok(await rpc(agent.url, 'GetTask', { id: task.id })).status.state, 'TASK_STATE_WORKING');
    gate.resolve();
    const done = await waitFor('the running task to finish', async () => {
      const now = ok(await rpc(agent.url, 'GetTask', { id: task.id }));
      return now.status.state === 'TASK_STATE_COMPLETED' ? now : undefined;
    });
    assert.equal(done.artifacts.flatMap((a: any) => a.parts.map((p: any) => p.text)).join(''), 'first second');
  });

  test('a changed skill: the running task keeps the definition it started with, the next task gets the new one', async (t) => {
    const { agent, chat, write } = await mounted(t, skill('runbook'));
    const gate = deferred();
    // The running task's first model call holds its tool call until the edit is in force; its second comes after.
    const held = toolCallReply([{ id: 'e1', name: 'echo', args: ['{"text":"ping"}'] }]);
    held.steps.splice(1, 0, { until: gate.promise });
    chat.enqueue(held);
    const from = chat.requests.length;
    const running = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi', { metadata: { skill: 'runbook' } }), configuration: { returnImmediately: true } })).task;
    await waitFor('the model to be asked', () => chat.requests[from]);
    write(skill('runbook', 'The runbook skill, version 2.', 'You are runbook v2.'));
    await waitFor('the new description on the card', async () => (await card(agent)).skills.find((s) => s.id === 'runbook')?.description === 'The runbook skill, version 2.');
    chat.enqueue(textReply(['new']));
    const next = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('hi again', { metadata: { skill: 'runbook' } }) })).task;
    assert.equal(next.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(chat.requests.at(-1)!.body.messages[0].content, 'You are runbook v2.');
    chat.enqueue(textReply(['old']));
    const secondCall = chat.requests.length;
    gate.resolve();
    await waitFor('the running task to finish', async () => ok(await rpc(agent.url, 'GetTask', { id: running.id })).status.state === 'TASK_STATE_COMPLETED');
    assert.equal(chat.requests[secondCall]!.body.messages[0].content, 'You are runbook.', 'its model call after the edit still has the old prompt');
  });
});
