import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { FLAWED_DEPLOYMENT } from '../../support/manifests.js';
import { rpc } from '../../support/rpc.js';

let counter = 0;
const message = (parts: unknown[], metadata?: Record<string, unknown>) => ({
  role: 'ROLE_USER',
  messageId: `routing-${counter++}`,
  parts,
  ...(metadata === undefined ? {} : { metadata }),
});

describe('which skill a message reaches', () => {
  let agent: TestAgent;
  before(async () => {
    // The production default: no LLM configured, so 'auto' falls back to help.
    agent = await startTestAgent({ DEFAULT_SKILL: 'auto' });
  });
  after(() => agent.dispose());

  test('a message that names no skill and matches none is answered with the skills on offer, and no task', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: message([{ text: 'what can you do?' }]) });
    const reply = res.body.result.message;
    assert.ok(reply, JSON.stringify(res.body));
    assert.match(reply.parts[0].text, /metadata\.skill/);
    const offered = (reply.parts[1].data.skills as { id: string }[]).map((s) => s.id);
    assert.deepEqual(offered.sort(), ['delegate', 'echo', 'manifest-review']);
    const list = await rpc(agent.url, 'ListTasks', {});
    assert.equal(list.body.result.totalSize, 0);
  });

  test('Kubernetes YAML goes to manifest-review without naming it', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: message([{ text: FLAWED_DEPLOYMENT }]) });
    const task = res.body.result.task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    const findings = task.artifacts.find((a: { parts: { data?: unknown }[] }) => a.parts[0]?.data !== undefined).parts[0].data.findings as { rule: string }[];
    assert.ok(findings.some((f) => f.rule === 'image-latest'), JSON.stringify(findings));
  });

  test('a data part can name the skill', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: message([{ data: { skill: 'echo', note: 'hi' } }]) });
    assert.equal(res.body.result.task.artifacts[0].parts[0].data.note, 'hi');
  });

  test('a named skill wins over the content', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: message([{ text: FLAWED_DEPLOYMENT }], { skill: 'echo' }) });
    assert.equal(res.body.result.task.artifacts[0].parts[0].text, FLAWED_DEPLOYMENT);
  });

  test('a skill this agent lacks, with no peers to ask, is -32602 naming the skills it has', async () => {
    const res = await rpc(agent.url, 'SendMessage', { message: message([{ text: 'x' }], { skill: 'summarize' }) });
    assert.equal(res.body.error?.code, -32602);
    assert.match(res.body.error!.message, /summarize.*echo/);
  });
});

describe('routing settings are checked at start', () => {
  test('an unknown DEFAULT_SKILL is refused, naming the setting and the skills', async () => {
    await assert.rejects(startTestAgent({ DEFAULT_SKILL: 'nope' }), /DEFAULT_SKILL.*"nope" is not a skill of this agent \(echo, delegate, manifest-review/);
  });

  test('LLM_URL without LLM_MODEL is refused', async () => {
    await assert.rejects(startTestAgent({ LLM_URL: 'http://127.0.0.1:1/v1' }), /LLM_MODEL.*required when LLM_URL is set/);
  });

  test('an unreadable LLM key file is refused, naming the setting', async () => {
    await assert.rejects(startTestAgent({ LLM_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'm', LLM_API_KEY_FILE: '/nonexistent/key' }), /LLM_API_KEY_FILE.*ENOENT/);
  });

  test('with an LLM configured, the assistant is offered and is the default', async () => {
    const agent = await startTestAgent({ DEFAULT_SKILL: 'auto', LLM_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'm' });
    try {
      const card = (await (await fetch(`http://127.0.0.1:${agent.port}/.well-known/agent-card.json`)).json()) as { skills: { id: string }[] };
      assert.ok(card.skills.some((s) => s.id === 'assistant'));
      // The model is unreachable: the task fails, which shows the message went to the assistant.
      const res = await rpc(`http://127.0.0.1:${agent.port}`, 'SendMessage', { message: message([{ text: 'why is my pod pending?' }]) });
      assert.equal(res.body.result.task.status.state, 'TASK_STATE_FAILED');
      assert.match(JSON.stringify(res.body.result.task.status.message), /127\.0\.0\.1:1/);
    } finally {
      await agent.dispose();
    }
  });
});

// No API server runs here: the fake one serves fixtures shaped like real API output.
describe('cluster questions reach the cluster skills', () => {
  test('"diagnose statefulset kagent in namespace kagent" goes to cluster-diagnose through the agent', async () => {
    const { FakeApiServer } = await import('../../skills/cluster/fake-api.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const api = await FakeApiServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'kagent-kubeconfig-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'agent', user: { token: api.token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'agent' } }],
        'current-context': 'fake',
      }),
    );
    const agent = await startTestAgent({ DEFAULT_SKILL: 'auto', KUBERNETES_SKILLS: 'true', KUBECONFIG: kubeconfig });
    try {
      const card = (await (await fetch(`http://127.0.0.1:${agent.port}/.well-known/agent-card.json`)).json()) as { skills: { id: string }[] };
      assert.ok(card.skills.some((s) => s.id === 'cluster-diagnose'));
      const res = await rpc(`http://127.0.0.1:${agent.port}`, 'SendMessage', {
        message: message([{ text: 'diagnose statefulset kagent in namespace kagent' }]),
      });
      const task = res.body.result.task;
      assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
      assert.ok(api.requests.some((r) => r.path.includes('/apis/apps/v1/namespaces/kagent/statefulsets/kagent')), JSON.stringify(api.requests.map((r) => r.path)));
      assert.ok(api.requests.every((r) => r.method === 'GET'));
    } finally {
      await agent.dispose();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('KUBERNETES_SKILLS without any cluster credentials is refused at start, naming the setting', async () => {
    await assert.rejects(startTestAgent({ KUBERNETES_SKILLS: 'true', KUBECONFIG: '/nonexistent/kubeconfig' }), /KUBECONFIG/);
  });
});
