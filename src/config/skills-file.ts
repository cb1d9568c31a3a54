import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod/v4';
import type { Config } from './load.js';
import { parseDuration, SKILLS_KEY } from './load.js';

// The declarative skills file (SKILLS_FILE, or the `skills.yaml` key of the
// mounted ConfigMap): skills defined by a prompt, a model and tools, the models
// they use and the MCP servers whose tools they may call. This schema is the
// one definition: it validates the file, and the JSON Schema editors complete
// it with (schemas/skills.schema.json) is generated from it.

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** A built-in (or added) skill id, `mcp:<server>/<tool>`, `mcp:<server>/*`, or `peer:<skill-id>`. */
const TOOL = /^(mcp:[A-Za-z0-9][A-Za-z0-9_-]{0,62}\/([A-Za-z0-9_.-]{1,64}|\*)|peer:[A-Za-z0-9][A-Za-z0-9_.-]{0,62}|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/;
const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;

const duration = (what: string, maxMs: number) =>
  z
    .string()
    .regex(DURATION, { message: `${what} must be a duration such as 500ms, 30s or 2m`, abort: true })
    .refine((text) => {
      const ms = parseDuration(text) ?? 0;
      return ms >= 100 && ms <= maxMs;
    }, { message: `${what} must be between 100ms and ${maxMs / 60_000}m` });

const http = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });

const budget = z
  .strictObject({
    rounds: z.int().min(0).max(50).default(5).describe('most tool-call rounds in one turn (0 offers no tools)'),
    tokens: z.int().min(1).max(1_000_000).default(4096).describe('tokens (prompt and reply, every model call of the turn) one turn may spend'),
    time: duration('time', 3_600_000).default('2m').describe('wall-clock budget of one turn, model calls and tool runs together'),
  })
  .describe('limits of one turn; the task ends with the reason when one is reached');

const skill = z
  .strictObject({
    id: z.string().regex(ID, { message: 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit' }).describe('the skill id callers name'),
    name: z.string().min(1).max(200).describe('name on the agent card'),
    description: z.string().min(1).max(4000).describe('what the skill does, on the agent card'),
    tags: z.array(z.string().min(1).max(100)).max(50).default([]),
    examples: z.array(z.string().min(1).max(2000)).max(50).optional(),
    inputModes: z.array(z.string().min(1)).max(20).default(['text/plain']).describe('media types the skill takes'),
    outputModes: z.array(z.string().min(1)).max(20).default(['text/markdown']).describe('media types the skill answers in'),
    systemPrompt: z.string().min(1).max(100_000).describe('the system prompt of every model call'),
    model: z.string().regex(NAME).describe('a name under models:'),
    tools: z
      .array(z.string().regex(TOOL, { message: 'must be a skill id, mcp:<server>/<tool>, mcp:<server>/* or peer:<skill-id>' }))
      .max(100)
      .default([])
      .describe('built-in skill ids, mcp:<server>/<tool> (or mcp:<server>/* for all of its tools), peer:<skill-id> (a discovered peer agent\'s skill)'),
    budget: budget.default({ rounds: 5, tokens: 4096, time: '2m' }),
  })
  .describe('a skill answered by a model, with tools');

const model = z
  .strictObject({
    endpoint: http.describe('OpenAI-compatible base URL, up to /chat/completions (e.g. http://ollama:11434/v1)'),
    model: z.string().min(1).max(200).describe('model name at that endpoint'),
    apiKeyFile: z.string().min(1).optional().describe('file holding the API key (a mounted Secret), sent as Authorization: Bearer'),
  })
  .describe('an OpenAI-compatible chat-completions model');

const mcpServer = z
  .strictObject({
    url: http.describe('the streamable HTTP endpoint of the MCP server (e.g. http://grafana-mcp:8000/mcp)'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(8192)).optional().describe('headers sent with every request'),
    tokenFile: z.string().min(1).optional().describe('file holding a token (a mounted Secret), sent as Authorization: Bearer'),
    timeout: duration('timeout', 600_000).default('30s').describe('longest wait for one tool call'),
    maxResultBytes: z.int().min(1024).max(4 * 1024 * 1024).default(65_536).describe('largest tool result accepted; a longer one is an error the model reads'),
  })
  .describe('an MCP server reached over streamable HTTP');

const skillsFile = z
  .strictObject({
    skills: z.array(skill).max(200).default([]),
    models: z.record(z.string().regex(NAME), model).default({}),
    mcpServers: z.record(z.string().regex(NAME), mcpServer).default({}),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.skills.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['skills', i, 'id'], message: `"${s.id}" is declared twice` });
      seen.add(s.id);
      if (!(s.model in file.models)) {
        ctx.addIssue({ code: 'custom', path: ['skills', i, 'model'], message: `"${s.model}" is not one of the models (${Object.keys(file.models).join(', ') || 'none declared'})` });
      }
      s.tools.forEach((tool, t) => {
        const server = /^mcp:([^/]+)\//.exec(tool)?.[1];
        if (server !== undefined && !(server in file.mcpServers)) {
          ctx.addIssue({ code: 'custom', path: ['skills', i, 'tools', t], message: `"${tool}" names MCP server "${server}", which is not one of the mcpServers (${Object.keys(file.mcpServers).join(', ') || 'none declared'})` });
        }
      });
      if (new Set(s.tools).size !== s.tools.length) ctx.addIssue({ code: 'custom', path: ['skills', i, 'tools'], message: 'lists a tool twice' });
    });
  })
  .describe('kagent-a2a declarative skills: skills answered by a model, the models, and the MCP servers whose tools they call');

export type SkillsFile = z.output<typeof skillsFile>;
export type DeclaredSkill = SkillsFile['skills'][number];
export type DeclaredModel = SkillsFile['models'][string];
export type DeclaredMcpServer = SkillsFile['mcpServers'][string];

/** A skills file that cannot be used: the message names the file, the skill (or model, or server) and the field. */
export class SkillsFileError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`invalid skills file ${path}: ${detail}`);
    this.name = 'SkillsFileError';
  }
}

export const EMPTY_SKILLS_FILE: SkillsFile = { skills: [], models: {}, mcpServers: {} };

/** Parses and validates the text of a skills file; `path` only names it in errors. */
export function parseSkillsFile(text: string, path: string): SkillsFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new SkillsFileError(path, `not YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (doc === null || doc === undefined) return EMPTY_SKILLS_FILE;
  const parsed = skillsFile.safeParse(doc);
  if (parsed.success) return parsed.data;
  throw new SkillsFileError(path, parsed.error.issues.map((issue) => describeIssue(doc, issue.path, issue.message)).join('; '));
}

/** SKILLS_FILE, else the skills.yaml key of the watched settings directory (CONFIG_PATH, a mounted ConfigMap), else none. */
export function skillsFilePath(config: Config, settingsPath = config.CONFIG_PATH): string | undefined {
  if (config.SKILLS_FILE !== undefined) return config.SKILLS_FILE;
  if (settingsPath === undefined) return undefined;
  try {
    return statSync(settingsPath).isDirectory() ? join(settingsPath, SKILLS_KEY) : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON Schema of the file, for editors (committed as schemas/skills.schema.json). */
export function skillsFileJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(skillsFile, { io: 'input', target: 'draft-2020-12' }),
    $id: 'https://github.com/kagent-dev/kagent-a2a/schemas/skills.schema.json',
    title: 'kagent-a2a skills.yaml',
  };
}

/** `skill "runbook" (skills[1]), field budget.time: …` — what a person editing the file looks for. */
function describeIssue(doc: unknown, path: readonly PropertyKey[], message: string): string {
  const [section, key] = path.map(String);
  const field = fieldPath(path.slice(2));
  if (section === 'skills' && key !== undefined) {
    const id = (doc as { skills?: { id?: unknown }[] }).skills?.[Number(key)]?.id;
    const who = typeof id === 'string' ? `skill "${id}" (skills[${key}])` : `skills[${key}]`;
    return `${who}${field === '' ? '' : `, field ${field}`}: ${message}`;
  }
  if ((section === 'models' || section === 'mcpServers') && key !== undefined) {
    return `${section === 'models' ? 'model' : 'MCP server'} "${key}"${field === '' ? '' : `, field ${field}`}: ${message}`;
  }
  return `${path.length === 0 ? 'the file' : `field ${fieldPath(path)}`}: ${message}`;
}

/** budget.time, tools[1]. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`)).join('');
}
