import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { assertRpcError, errorInfo, ok } from './helpers.js';
import { bearer, newApiKey } from '../../support/auth.js';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { ConfigMapDir } from '../../support/configmap-dir.js';
import { Gate } from '../../support/gate.js';
import { readMetric } from '../../support/metrics.js';
import { postRaw, rpc, textMessage } from '../../support/rpc.js';
import { waitFor } from '../../support/wait.js';

// An MCP client (the official SDK's, over streamable HTTP) against a real
// agent on loopback: this agent's skills are its tools, run as A2A tasks.

const MANIFEST = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: web',
  '  namespace: shop',
  'spec:',
  '  replicas: 2',
  '  selector:',
  '    matchLabels: {app: web}',
  '  template:',
  '    metadata:',
  '      labels: {app: web}',
  '    spec:',
  '      containers:',
  '        - name: web',
  '          image: nginx:latest',
  '',
].join('\n');

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client({ name: 'kagent-a2a-test', version: '1.0.0' });
  const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } }));
  return client;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('MCP_SERVER: the skills as MCP tools at /mcp', () => {
  let root: string;
  let agent: TestAgent;
  let gate: Gate;
  const keys = { reviewer: newApiKey(), dev: newApiKey() };
  let reviewer: Client;
  let dev: Client;

  before(async () => {
    gate = await Gate.start();
    root = mkdtempSync(join(tmpdir(), 'kagent-mcp-'));
    mkdirSync(join(root, 'keys'));
    for (const [principal, key] of Object.entries(keys)) writeFileSync(join(root, 'keys', principal), `${key}\n`);
    agent = await startTestAgent({
      MCP_SERVER: 'true',
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS_DIR: join(root, 'keys'),
      SKILL_PERMISSIONS: 'manifest-review=reviewer',
      MAX_BODY_BYTES: String(64 * 1024),
      RATE_LIMIT_UNAUTHENTICATED: 'off',
    });
    reviewer = await connect(agent.url, keys.reviewer);
    dev = await connect(agent.url, keys.dev);
  });

  after(async () => {
    await reviewer?.close();
    await dev?.close();
    await agent?.dispose();
    await gate?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('tools/list: one tool per skill the caller may use, described by its descriptor', async () => {
    const { tools } = await reviewer.listTools();
    const names = tools.map((tool) => tool.name);
    for (const skill of ['echo', 'manifest-review', 'help', 'delegate', 'gated']) assert.ok(names.includes(skill), `${skill} in ${names.join(', ')}`);
    const review = tools.find((tool) => tool.name === 'manifest-review')!;
    assert.match(review.description ?? '', /Reviews Kubernetes manifests offline/);
    assert.equal(review.title, 'Manifest review');
    assert.deepEqual(Object.keys(review.inputSchema.properties ?? {}).sort(), ['data', 'file', 'metadata', 'taskId', 'text']);
    // A restricted skill is not offered to a caller the rule does not name.
    const devNames = (await dev.listTools()).tools.map((tool) => tool.name);
    assert.ok(devNames.includes('echo'));
    assert.ok(!devNames.includes('manifest-review'));
  });

  test("a skill that answers directly (help) gives its answer, and starts no task", async () => {
    const result = (await dev.callTool({ name: 'help', arguments: { text: 'what can you do?' } })) as CallToolResult;
    assert.equal(result.isError, undefined);
    assert.match(text(result), /echo/);
    assert.doesNotMatch(text(result), /manifest-review/);
    assert.equal(result._meta?.['kagent.dev/taskId'], undefined);
  });

  test('echo: the call runs a stored task, listed and readable over A2A, and returns its artifact', async () => {
    const result = (await reviewer.callTool({ name: 'echo', arguments: { text: 'hello over MCP' } })) as CallToolResult;
    assert.equal(result.isError, undefined);
    assert.equal(text(result), 'hello over MCP');
    const taskId = result._meta?.['kagent.dev/taskId'];
    assert.equal(typeof taskId, 'string');
    assert.equal(result._meta?.['kagent.dev/state'], 'completed');
    const task = ok(await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.reviewer)));
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    assert.equal(task.metadata.skill, 'echo');
    const listed = ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.reviewer))).tasks.map((t: { id: string }) => t.id);
    assert.ok(listed.includes(taskId));
    // Tasks stay the caller's own.
    assert.equal((await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.dev))).body.error?.code, -32001);
    assert.ok((await readMetric(agent.url, 'kagent_mcp_tool_calls_total', { tool: 'echo', outcome: 'completed' })) >= 1);
  });

  test('manifest-review: a real manifest gives its findings as JSON and a report', async () => {
    const result = (await reviewer.callTool({ name: 'manifest-review', arguments: { text: MANIFEST } })) as CallToolResult;
    assert.equal(result.isError, undefined, text(result));
    const findings = (result.structuredContent as { findings: { rule: string }[] }).findings;
    assert.ok(findings.some((finding) => /latest|tag/i.test(finding.rule)), JSON.stringify(findings.map((f) => f.rule)));
    assert.ok(findings.some((finding) => /resources|limits|requests/i.test(finding.rule)));
    assert.match(text(result), /"findings"/);
    // The same review as a data part.
    const asData = (await reviewer.callTool({ name: 'manifest-review', arguments: { data: { manifests: MANIFEST } } })) as CallToolResult;
    assert.deepEqual((asData.structuredContent as { findings: unknown[] }).findings.length, findings.length);
  });

  test('progress notifications follow the task; a failed task is an error result with its reason', async () => {
    const run = gate.run();
    const progress: string[] = [];
    const call = reviewer.callTool({ name: 'gated', arguments: { text: 'wait', metadata: run.metadata } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
    });
    const taskId = await run.started();
    run.say('halfway there');
    await waitFor('the progress notification of the status update', () => progress.some((m) => m.includes('halfway there')));
    run.release('fail');
    const result = (await call) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(text(result), new RegExp(`task ${taskId} failed: the gate said fail`));
    assert.ok(progress.some((m) => m.startsWith(`task ${taskId} working`)));
  });

  test('a task that asks for input is a result that says so; it stays open to be answered with the same tool', async () => {
    const result = (await reviewer.callTool({ name: 'delegate', arguments: { text: 'do something' } })) as CallToolResult;
    assert.equal(result.isError, undefined);
    const taskId = result._meta?.['kagent.dev/taskId'] as string;
    assert.equal(result._meta?.['kagent.dev/state'], 'input-required');
    assert.match(text(result), /needs input: Which skill should a peer agent run\?/);
    assert.match(text(result), new RegExp(`calling delegate again with \\{"taskId": "${taskId}"`));
    assert.equal(ok(await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.reviewer))).status.state, 'TASK_STATE_INPUT_REQUIRED');
    // Another tool cannot answer it under its own name.
    const wrong = (await reviewer.callTool({ name: 'echo', arguments: { text: 'x', taskId } })) as CallToolResult;
    assert.equal(wrong.isError, true);
    assert.match(text(wrong), /started by tool delegate, not echo/);
    // Its own tool answers it: the answer joins the task's history, and the task goes on (here, to ask again).
    const answered = (await reviewer.callTool({ name: 'delegate', arguments: { text: 'any peer will do', taskId } })) as CallToolResult;
    assert.equal(answered._meta?.['kagent.dev/taskId'], taskId);
    const history = ok(await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.reviewer))).history;
    assert.ok(history.some((m: { parts: { text?: string }[] }) => m.parts.some((p) => p.text === 'any peer will do')));
  });

  test('a tool call the client cancels cancels its task, which the skill sees', async () => {
    const run = gate.run();
    const controller = new AbortController();
    const call = reviewer.callTool({ name: 'gated', arguments: { text: 'forever', metadata: run.metadata } }, undefined, { signal: controller.signal });
    const taskId = await run.started();
    controller.abort();
    await assert.rejects(call);
    await run.aborted();
    await waitFor('the task to be canceled', async () => ok(await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.reviewer))).status.state === 'TASK_STATE_CANCELED');
  });

  test('a dropped connection is not a cancel: the task runs on and ends as its skill says', async () => {
    const run = gate.run();
    const connection = new AbortController();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'gated', arguments: { text: 'keep going', metadata: run.metadata } } });
    const res = await fetch(`${agent.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${keys.reviewer}` }, body, signal: connection.signal });
    assert.equal(res.status, 200);
    const taskId = await run.started();
    connection.abort();
    await assert.rejects(res.text());
    run.release('complete');
    await waitFor('the task to complete', async () => ok(await rpc(agent.url, 'GetTask', { id: taskId }, bearer(keys.reviewer))).status.state === 'TASK_STATE_COMPLETED');
    assert.equal(run.wasAborted, false);
  });

  test('no credential: 401 with the usual auth error, before anything is parsed', async () => {
    const res = await postRaw(`${agent.url}/mcp`, INITIALIZE, MCP_HEADERS);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="kagent"/);
    const error = assertRpcError(JSON.parse(res.text), -32051);
    assert.equal(errorInfo(error).reason, 'UNAUTHENTICATED');
    await assert.rejects(connect(agent.url), httpStatus(401, /UNAUTHENTICATED/));
    await assert.rejects(connect(agent.url, newApiKey()), httpStatus(401, /UNAUTHENTICATED/));
  });

  test("a skill the caller's permissions forbid is refused, and starts no task", async () => {
    const before = ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.dev))).tasks.length;
    const result = (await dev.callTool({ name: 'manifest-review', arguments: { text: MANIFEST } })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(text(result), /skill "manifest-review" is restricted/);
    assert.equal(result._meta?.['kagent.dev/reason'], 'SKILL_NOT_ALLOWED');
    assert.equal(ok(await rpc(agent.url, 'ListTasks', {}, bearer(keys.dev))).tasks.length, before);
  });

  test('an unknown tool is a JSON-RPC error naming the tools there are', async () => {
    const error = await dev.callTool({ name: 'no-such-skill', arguments: { text: 'x' } }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError);
    assert.equal(error.code, -32602);
    assert.match(error.message, /no tool named "no-such-skill"; this agent offers: .*echo/);
    assert.doesNotMatch(error.message, /manifest-review/);
  });

  test('arguments that break the schema are an error result naming the argument', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ text: 5 }, /arguments\.text must be a string, got a number/],
      [{}, /arguments must hold text, data or a file/],
      [{ text: 'x', extra: true }, /arguments\.extra is not an argument of this tool/],
      [{ data: [1, 2] }, /arguments\.data must be an object, got an array/],
      [{ file: { bytes: 'not base64!' } }, /arguments\.file\.bytes must be base64-encoded bytes/],
      [{ file: { bytes: 'aGk=', uri: 'http://x' } }, /exactly one of bytes and uri/],
      [{ text: 'x', taskId: '' }, /arguments\.taskId must not be empty/],
    ];
    for (const [args, expected] of cases) {
      const result = (await dev.callTool({ name: 'echo', arguments: args })) as CallToolResult;
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match(text(result), expected);
      assert.equal(result._meta?.['kagent.dev/reason'], 'INVALID_PARAMS');
    }
  });

  test('malformed JSON-RPC: a parse error, a message that is not JSON-RPC, nesting past the limit', async () => {
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${keys.dev}` };
    const broken = await postRaw(`${agent.url}/mcp`, '{"jsonrpc": "2.0", "id": 1, "method": ', headers);
    assert.equal(broken.status, 400);
    assert.equal(JSON.parse(broken.text).error.code, -32700);
    const notRpc = await postRaw(`${agent.url}/mcp`, '{"hello": "world"}', headers);
    assert.equal(notRpc.status, 400);
    assert.equal(JSON.parse(notRpc.text).error.code, -32700);
    const deep = await postRaw(`${agent.url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { data: nested(200) } } }), headers);
    assert.equal(deep.status, 400);
    const error = assertRpcError(JSON.parse(deep.text), -32602);
    assert.match(error.message, /nest/i);
  });

  test('a huge argument is refused by the body limit with 413', async () => {
    const huge = 'x'.repeat(100 * 1024);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: huge } } });
    const res = await postRaw(`${agent.url}/mcp`, body, { ...MCP_HEADERS, authorization: `Bearer ${keys.dev}` });
    assert.equal(res.status, 413);
    assert.equal(errorInfo(assertRpcError(JSON.parse(res.text), JSON.parse(res.text).error.code)).reason, 'PAYLOAD_TOO_LARGE');
    await assert.rejects(dev.callTool({ name: 'echo', arguments: { text: huge } }), httpStatus(413, /PAYLOAD_TOO_LARGE/));
  });

  test('GET and DELETE are not served: the endpoint is stateless', async () => {
    const res = await fetch(`${agent.url}/mcp`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.dev}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const end = await fetch(`${agent.url}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.dev}`, 'mcp-session-id': 'x' } });
    await end.arrayBuffer();
    assert.equal(end.status, 405);
  });
});

describe('MCP with several replicas: stateless', () => {
  const agents: TestAgent[] = [];

  before(async () => {
    for (const pod of ['kagent-0', 'kagent-1']) agents.push(await startTestAgent({ MCP_SERVER: 'true', POD_NAME: pod }));
  });

  after(async () => {
    for (const agent of agents) await agent.dispose();
  });

  test('a client initialized by one replica is served by another, session id and all', async () => {
    const init = await postRaw(`${agents[0]!.url}/mcp`, INITIALIZE, MCP_HEADERS);
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id');
    assert.match(session ?? '', /^[0-9a-f-]{36}$/);
    const headers = { ...MCP_HEADERS, 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' };
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'from the other pod' } } });
    const res = await postRaw(`${agents[1]!.url}/mcp`, call, headers);
    assert.equal(res.status, 200);
    // The answer is one server-sent event holding the JSON-RPC response.
    const data = res.text.split('\n').find((line) => line.startsWith('data: '));
    const answer = JSON.parse(data!.slice('data: '.length));
    assert.equal(answer.id, 2);
    assert.deepEqual(answer.result.content, [{ type: 'text', text: 'from the other pod' }]);
    assert.match(answer.result._meta['kagent.dev/taskId'], /^kagent-1\./);
  });
});

describe('MCP tool calls and the per-caller limits', () => {
  let agent: TestAgent;
  let gate: Gate;
  let client: Client;

  before(async () => {
    gate = await Gate.start();
    agent = await startTestAgent({ MCP_SERVER: 'true', MAX_STREAMS_PER_PRINCIPAL: '1', MAX_TASKS_PER_PRINCIPAL: '1' });
    client = await connect(agent.url);
  });

  after(async () => {
    await client?.close();
    await agent?.dispose();
    await gate?.close();
  });

  test('a call in progress holds one of the caller\'s stream slots, shared with A2A streams; a second is refused until it ends', async () => {
    const run = gate.run();
    const held = client.callTool({ name: 'gated', arguments: { text: 'hold', metadata: run.metadata } });
    await run.started();
    const second = (await client.callTool({ name: 'echo', arguments: { text: 'one more' } })) as CallToolResult;
    assert.equal(second.isError, true);
    assert.equal(second._meta?.['kagent.dev/reason'], 'TOO_MANY_STREAMS');
    assert.match(text(second), /already has 1 tool calls and streams open/);
    const stream = await rpc(agent.url, 'SendStreamingMessage', { message: textMessage('a stream') });
    assert.equal(stream.status, 429);
    assert.equal(errorInfo(assertRpcError(stream.body, stream.body.error!.code)).reason, 'TOO_MANY_STREAMS');
    run.release('complete');
    assert.equal(((await held) as CallToolResult).isError, undefined);
    assert.equal(text((await client.callTool({ name: 'echo', arguments: { text: 'now' } })) as CallToolResult), 'now');
  });

  test("the caller's running-task cap applies to tool calls as to messages", async () => {
    const run = gate.run();
    const taskId = await rpc(agent.url, 'SendMessage', { message: textMessage('hold', { metadata: run.metadata }), configuration: { returnImmediately: true } });
    assert.equal(taskId.status, 200);
    await run.started();
    const refused = (await client.callTool({ name: 'echo', arguments: { text: 'too many' } })) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.equal(refused._meta?.['kagent.dev/reason'], 'TOO_MANY_TASKS');
    run.release('complete');
  });
});

describe('MCP_SERVER off', () => {
  let root: string;
  let agent: TestAgent;
  let configMap: ConfigMapDir;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-mcp-off-'));
    configMap = new ConfigMapDir(join(root, 'config'));
    configMap.update({ LOG_LEVEL: 'silent' });
    agent = await startTestAgent({}, undefined, { configPath: configMap.path, pollMs: 50 });
  });

  after(async () => {
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('/mcp is not there by default, and turns on and off live', async () => {
    assert.equal((await postRaw(`${agent.url}/mcp`, INITIALIZE, MCP_HEADERS)).status, 404);
    configMap.update({ LOG_LEVEL: 'silent', MCP_SERVER: 'true' });
    agent.reloadConfig();
    await waitFor('MCP_SERVER to apply', () => agent.config().MCP_SERVER);
    const client = await connect(agent.url);
    assert.equal(text((await client.callTool({ name: 'echo', arguments: { text: 'on' } })) as CallToolResult), 'on');
    await client.close();
    configMap.update({ LOG_LEVEL: 'silent', MCP_SERVER: 'false' });
    agent.reloadConfig();
    await waitFor('MCP_SERVER off to apply', () => !agent.config().MCP_SERVER);
    assert.equal((await postRaw(`${agent.url}/mcp`, INITIALIZE, MCP_HEADERS)).status, 404);
  });
});

/** The SDK client's error for an HTTP refusal: the status as its code, our error envelope in its message. */
function httpStatus(status: number, message: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof Error && (error as Error & { code?: number }).code === status && message.test(error.message);
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}
