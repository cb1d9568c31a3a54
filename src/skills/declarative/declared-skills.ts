import { readFileSync } from 'node:fs';
import { parseDuration } from '../../config/load.js';
import { SkillsFileError } from '../../config/skills-file.js';
import type { DeclaredSkill, SkillsFile } from '../../config/skills-file.js';
import type { JsonObject } from '../../model/model.js';
import type { McpServers, McpServerSpec } from '../../peers/mcp/mcp-servers.js';
import type { PeerStatus } from '../../peers/discovery.js';
import { chatTurn, descriptorAsTool, skillAsTool, toolName } from '../assistant/index.js';
import type { AssistantTool, ChatTurnOptions } from '../assistant/index.js';
import type { Skill, SkillContext } from '../skill.js';

// Skills declared in the skills file: a system prompt, a model and tools, run
// on the assistant's engine (chat-turn.ts). Their tools are this agent's own
// skills, the tools of MCP servers and the skills of discovered peers; the
// MCP and peer ones are looked up when a turn starts, since servers and peers
// come and go while the definition stays.

export interface DeclaredSkillsOptions {
  /** This agent's skills built at start, which a declared skill may call by id. */
  builtIn: (id: string) => Skill | undefined;
  mcp: McpServers;
  /** The peers discovery knows now. */
  peers: () => PeerStatus[];
  /** The skill that hands work to a peer (peer: tools run through it). */
  delegateSkillId: string;
  onModelCall?: ChatTurnOptions['onModelCall'];
  log?: ChatTurnOptions['log'];
  chunkIntervalMs?: number;
}

/**
 * The skills of a validated file, ready to register; throws SkillsFileError
 * (naming the skill or model and the field) for what only this agent can
 * check: a tool that is not one of its skills, an API key file it cannot read.
 */
export function declaredSkills(file: SkillsFile, path: string, options: DeclaredSkillsOptions): Skill[] {
  const keys = new Map<string, string | undefined>();
  for (const [name, model] of Object.entries(file.models)) {
    keys.set(name, model.apiKeyFile === undefined ? undefined : readSecret(model.apiKeyFile, path, `model "${name}", field apiKeyFile`));
  }
  return file.skills.map((declared, index) => {
    const where = `skill "${declared.id}" (skills[${index}])`;
    if (options.builtIn(declared.id) !== undefined) throw new SkillsFileError(path, `${where}, field id: "${declared.id}" is a built-in skill of this agent`);
    declared.tools.forEach((tool, t) => {
      if (tool.startsWith('mcp:') || tool.startsWith('peer:')) return;
      if (options.builtIn(tool) === undefined) throw new SkillsFileError(path, `${where}, field tools[${t}]: "${tool}" is not a built-in skill of this agent`);
    });
    const model = file.models[declared.model]!;
    const turn = chatTurn(
      {
        baseUrl: model.endpoint,
        model: model.model,
        apiKey: keys.get(declared.model),
        maxToolRounds: declared.budget.rounds,
        maxTokens: declared.budget.tokens,
        timeoutMs: parseDuration(declared.budget.time)!,
        systemPrompt: declared.systemPrompt,
        onModelCall: options.onModelCall,
        log: options.log,
        chunkIntervalMs: options.chunkIntervalMs,
        askUser: true,
      },
      `skill ${declared.id}`,
    );
    return {
      descriptor: {
        id: declared.id,
        name: declared.name,
        description: declared.description,
        tags: declared.tags,
        ...(declared.examples === undefined ? {} : { examples: declared.examples }),
        inputModes: declared.inputModes,
        outputModes: declared.outputModes,
      },
      execute: async (ctx) => turn.run(ctx, await toolsFor(declared, ctx, options)),
    } satisfies Skill;
  });
}

/** The MCP servers a file names, as the client takes them. */
export function mcpServerSpecs(file: SkillsFile): Record<string, McpServerSpec> {
  return Object.fromEntries(
    Object.entries(file.mcpServers).map(([name, server]) => [
      name,
      {
        url: server.url,
        ...(server.headers === undefined ? {} : { headers: server.headers }),
        ...(server.tokenFile === undefined ? {} : { tokenFile: server.tokenFile }),
        timeoutMs: parseDuration(server.timeout)!,
        maxResultBytes: server.maxResultBytes,
      },
    ]),
  );
}

/** The tools of one turn, in the order the file lists them; a name already taken is offered once. */
async function toolsFor(declared: DeclaredSkill, ctx: SkillContext, options: DeclaredSkillsOptions): Promise<AssistantTool[]> {
  const tools = new Map<string, AssistantTool>();
  const add = (tool: AssistantTool) => {
    if (!tools.has(tool.name)) tools.set(tool.name, tool);
  };
  for (const entry of declared.tools) {
    if (entry.startsWith('peer:')) {
      add(peerTool(entry.slice('peer:'.length), options));
    } else if (entry.startsWith('mcp:')) {
      const [server, name] = entry.slice('mcp:'.length).split('/') as [string, string];
      for (const tool of await mcpTools(server, name, ctx, options)) add(tool);
    } else {
      const skill = options.builtIn(entry);
      if (skill !== undefined) add(skillAsTool(skill));
    }
  }
  return [...tools.values()];
}

/** One tool of an MCP server, or all of them (`*`); a server that is down offers a named tool that reports it, and no others. */
async function mcpTools(server: string, name: string, ctx: SkillContext, options: DeclaredSkillsOptions): Promise<AssistantTool[]> {
  const call = (tool: string): AssistantTool['run'] => async (args, signal) => ({ text: await options.mcp.call(server, tool, args, signal) });
  let listed;
  try {
    listed = await options.mcp.tools(server);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    ctx.log.warn('an MCP server is unavailable; its tools are not offered this turn', { server, reason });
    if (name === '*') return [];
    return [{ name: toolName(`${server}_${name}`), description: `Tool ${name} of MCP server ${server} (unavailable now).`, parameters: { type: 'object' }, run: () => Promise.reject(new Error(reason)) }];
  }
  const wanted = name === '*' ? listed : listed.filter((tool) => tool.name === name);
  if (wanted.length === 0 && name !== '*') {
    const missing = `MCP server "${server}" has no tool named "${name}"`;
    return [{ name: toolName(`${server}_${name}`), description: `Tool ${name} of MCP server ${server} (not offered by it now).`, parameters: { type: 'object' }, run: () => Promise.reject(new Error(missing)) }];
  }
  return wanted.map((tool) => ({
    name: toolName(`${server}_${tool.name}`),
    description: tool.description,
    parameters: objectSchema(tool.inputSchema),
    run: call(tool.name),
  }));
}

/** A skill of a discovered peer, run through delegate as a sub-task; none offering it now is an error the model reads. */
function peerTool(skillId: string, options: DeclaredSkillsOptions): AssistantTool {
  const offered = options
    .peers()
    .filter((peer) => peer.state === 'healthy' && peer.source !== 'sibling')
    .flatMap((peer) => peer.skills.map((skill) => ({ peer, skill })))
    .find(({ skill }) => skill.id === skillId);
  const route = { skillId: options.delegateSkillId, metadata: { targetSkill: skillId } };
  if (offered === undefined) {
    return {
      name: toolName(skillId),
      skillId: options.delegateSkillId,
      description: `Skill ${skillId} of a peer agent (no discovered peer offers it now).`,
      parameters: { type: 'object', properties: { text: { type: 'string' } } },
      run: () => Promise.reject(new Error(`no discovered peer agent offers skill "${skillId}" now`)),
    };
  }
  const { peer, skill } = offered;
  const description = `${skill.name}: skill of the peer agent ${peer.name ?? peer.url}${skill.tags.length > 0 ? ` (${skill.tags.join(', ')})` : ''}.`;
  return descriptorAsTool({ id: skill.id, name: skill.name, description, tags: skill.tags }, {}, route);
}

/** Chat-completions APIs want an object schema for a function's parameters. */
function objectSchema(schema: JsonObject): JsonObject {
  return schema.type === 'object' ? schema : { type: 'object', properties: {} };
}

function readSecret(file: string, path: string, what: string): string {
  let value: string;
  try {
    value = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new SkillsFileError(path, `${what}: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (value === '') throw new SkillsFileError(path, `${what}: ${file} is empty`);
  return value;
}
