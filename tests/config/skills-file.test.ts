// The skills file's schema: what it accepts, the message a bad file gets (the
// skill, or model, or server, and the field), the JSON Schema committed for
// editors, and a bad file at start stopping the start.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import { parseSkillsFile, skillsFileJsonSchema, SkillsFileError } from '../../src/config/skills-file.js';
import { ok } from '../e2e/http/helpers.js';
import { startTestAgent } from '../support/agent.js';
import { rpc, textMessage } from '../support/rpc.js';

const MODELS = 'models:\n  local:\n    endpoint: http://127.0.0.1:9/v1\n    model: m\n';
const skill = (extra = '') => `  - id: runbook\n    name: Runbook\n    description: d\n    systemPrompt: p\n    model: local\n${extra}`;
const refused = (text: string, pattern: RegExp) =>
  assert.throws(() => parseSkillsFile(text, 'skills.yaml'), (error: Error) => error instanceof SkillsFileError && pattern.test(error.message) && /^invalid skills file skills\.yaml: /.test(error.message));

describe('the skills file', () => {
  test('a minimal skill gets the defaults', () => {
    const file = parseSkillsFile(`${MODELS}skills:\n${skill()}`, 'f');
    assert.deepEqual(file.skills[0]!.budget, { rounds: 5, tokens: 4096, time: '2m' });
    assert.deepEqual(file.skills[0]!.tools, []);
    assert.deepEqual(file.skills[0]!.inputModes, ['text/plain']);
    assert.deepEqual(file.mcpServers, {});
  });

  test('an empty file is no skills', () => {
    assert.deepEqual(parseSkillsFile('', 'f'), { skills: [], models: {}, mcpServers: {} });
  });

  test('each mistake is named by its skill (or model, or server) and field', () => {
    refused(`${MODELS}skills:\n${skill('    budget: {time: soon}\n')}`, /skill "runbook" \(skills\[0\]\), field budget\.time: time must be a duration/);
    refused(`${MODELS}skills:\n${skill('    tools: [manifest-review, "bad tool"]\n')}`, /skill "runbook" \(skills\[0\]\), field tools\[1\]: must be a skill id, mcp:<server>\/<tool>/);
    refused(`${MODELS}skills:\n${skill('    tools: ["mcp:grafana/query"]\n')}`, /field tools\[0\]: "mcp:grafana\/query" names MCP server "grafana", which is not one of the mcpServers \(none declared\)/);
    refused(`${MODELS}skills:\n${skill().replace('model: local', 'model: gpt')}`, /skill "runbook" \(skills\[0\]\), field model: "gpt" is not one of the models \(local\)/);
    refused(`${MODELS}skills:\n${skill()}${skill()}`, /skill "runbook" \(skills\[1\]\), field id: "runbook" is declared twice/);
    refused(`${MODELS}skills:\n${skill('    sytemPrompt: typo\n')}`, /skill "runbook" \(skills\[0\]\).*sytemPrompt/);
    refused(`models:\n  local:\n    endpoint: ftp://x\n    model: m\n`, /model "local", field endpoint: must be an absolute http\(s\) URL/);
    refused(`mcpServers:\n  grafana:\n    url: http://g/mcp\n    maxResultBytes: 1\n`, /MCP server "grafana", field maxResultBytes/);
    refused('skills: [', /not YAML/);
    refused('- a list', /the file: /);
  });

  test('the committed JSON Schema is the one the schema generates (node scripts/skills-schema.mjs after a build)', () => {
    const committed = readFileSync(new URL('../../../schemas/skills.schema.json', import.meta.url), 'utf8');
    assert.equal(committed, `${JSON.stringify(skillsFileJsonSchema(), null, 2)}\n`);
  });

  test('the JSON Schema describes the contract names', () => {
    const schema = skillsFileJsonSchema() as any;
    assert.deepEqual(Object.keys(schema.properties), ['skills', 'models', 'mcpServers']);
    const item = schema.properties.skills.items;
    for (const field of ['id', 'name', 'description', 'tags', 'examples', 'systemPrompt', 'model', 'tools', 'budget']) assert.ok(field in item.properties, field);
    assert.deepEqual(Object.keys(schema.properties.models.additionalProperties.properties), ['endpoint', 'model', 'apiKeyFile']);
    for (const field of ['url', 'headers', 'tokenFile']) assert.ok(field in schema.properties.mcpServers.additionalProperties.properties, field);
  });
});

describe('the skills file at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kagent-skills-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const startWith = async (text: string) => {
    const path = join(dir, `skills-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return startTestAgent({ SKILLS_FILE: path });
  };
  const stopsStart = async (text: string, pattern: RegExp) =>
    assert.rejects(startWith(text), (error: Error) => error instanceof ConfigError && error.key === 'SKILLS_FILE' && pattern.test(error.message));

  test('a bad file stops the start, naming the skill and the field', async () => {
    await stopsStart(`${MODELS}skills:\n${skill('    budget: {rounds: 99}\n')}`, /skill "runbook" \(skills\[0\]\), field budget\.rounds/);
  });

  test('a tool that is not a skill of this agent stops the start', async () => {
    await stopsStart(`${MODELS}skills:\n${skill('    tools: [cluster-diagnose]\n')}`, /field tools\[0\]: "cluster-diagnose" is not a built-in skill of this agent/);
  });

  test('a declared skill may not take a built-in skill\'s id', async () => {
    await stopsStart(`${MODELS}skills:\n${skill().replace('id: runbook', 'id: echo')}`, /skill "echo" \(skills\[0\]\), field id: "echo" is a built-in skill/);
  });

  test('an API key file that cannot be read stops the start, naming the model', async () => {
    await stopsStart(`${MODELS}    apiKeyFile: ${join(dir, 'missing')}\nskills:\n${skill()}`, /model "local", field apiKeyFile: .*missing cannot be read \(ENOENT\)/);
  });

  test('a declared skill may be the default skill: a message naming none goes to it', async () => {
    const path = join(dir, 'default.yaml');
    writeFileSync(path, `${MODELS}skills:\n${skill()}`);
    const withDefault = await startTestAgent({ SKILLS_FILE: path, DEFAULT_SKILL: 'runbook' });
    try {
      // Its model (port 9) does not answer: the task fails on the model, where echo (the tests' default) would have completed.
      const task = ok(await rpc(withDefault.url, 'SendMessage', { message: textMessage('hello') })).task;
      assert.equal(task.status.state, 'TASK_STATE_FAILED');
      assert.match(JSON.stringify(task.status.message), /model/);
    } finally {
      await withDefault.dispose();
    }
  });
});
