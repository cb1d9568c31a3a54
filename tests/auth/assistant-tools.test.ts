// The assistant calls other skills as tools: those calls run as the caller who
// asked the assistant, so its skill permissions apply and the sub-tasks are its
// own. The model is a scripted chat-completions server on loopback (no paid API
// may be called from a test).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok } from '../e2e/http/helpers.js';
import { startChatServer, textReply, toolCallReply } from '../skills/assistant/chat-server.js';
import type { ChatServer } from '../skills/assistant/chat-server.js';
import { bearer, newApiKey } from '../support/auth.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';

const MANIFEST = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n';

describe('the assistant’s tool calls run as its caller', () => {
  let root: string;
  let chat: ChatServer;
  let agent: TestAgent;
  const keys = { reviewer: newApiKey(), dev: newApiKey() };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-assistant-auth-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), key);
    chat = await startChatServer();
    agent = await startTestAgent({
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      LLM_URL: chat.baseUrl,
      LLM_MODEL: 'scripted-model',
      SKILL_PERMISSIONS: 'manifest-review=reviewer',
    });
  });

  after(async () => {
    await agent?.dispose();
    await chat?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Asks the assistant; the model calls manifest-review once, then answers. Returns what the tool told the model. */
  async function askAs(who: keyof typeof keys): Promise<{ toolResult: string; taskId: string; offered: string[] }> {
    const before = chat.requests.length;
    chat.enqueue(toolCallReply([{ id: `call-${who}`, name: 'manifest-review', args: [JSON.stringify({ text: MANIFEST })] }]), textReply(['done']));
    const task = ok(await rpc(agent.url, 'SendMessage', { message: textMessage('review my config', { metadata: { skill: 'assistant' } }) }, bearer(keys[who]))).task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    const second = chat.requests[before + 1];
    assert.ok(second, 'the model was asked again with the tool result');
    const toolMessage = second.body.messages.find((m: any) => m.role === 'tool');
    const offered = (chat.requests[before]!.body.tools ?? []).map((t: any) => t.function.name as string);
    return { toolResult: String(toolMessage.content), taskId: task.id, offered };
  }

  test('a caller without permission for the tool’s skill is not offered it, and a call to it anyway does no work', async () => {
    const { toolResult, offered } = await askAs('dev');
    assert.ok(!offered.includes('manifest-review'), `offered: ${offered.join(', ')}`);
    assert.match(toolResult, /no tool named "manifest-review"/);
    assert.equal(ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.dev))).totalSize, 1, 'only the assistant task: no sub-task ran');
  });

  test('a permitted caller gets the review, and the sub-task is listed as its own', async () => {
    const { toolResult, taskId, offered } = await askAs('reviewer');
    assert.ok(offered.includes('manifest-review'), `offered: ${offered.join(', ')}`);
    assert.match(toolResult, /Skill manifest-review \(task [^)]+\) ended completed/);
    const listed = ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.reviewer))).tasks.map((t: any) => t.id);
    assert.equal(listed.length, 2);
    assert.ok(listed.includes(taskId));
    assert.equal(ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.dev))).totalSize, 1, 'the other caller sees none of it');
  });
});
