import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { InvalidParamsError } from '../model/errors.js';
import type { JsonObject, Message, Part, Task } from '../model/model.js';
import { base64, checkNesting, nonEmptyString, object, optionalObject, string } from './read.js';

// The MCP shape of this agent's skills: each skill is a tool whose arguments
// become the message of an A2A task, and whose ended task becomes the tool's
// result. Only wire shapes here; running the task is the MCP endpoint's.

/** What a tool is made from: the skill's descriptor as the card shows it. */
export interface ToolSource {
  id: string;
  name: string;
  description: string;
}

/** `_meta` keys of a tool result: which task ran the call, and how it ended. */
export const TASK_ID_META = 'kagent.dev/taskId';
export const TASK_STATE_META = 'kagent.dev/state';

const ARGUMENT_NAMES = new Set(['text', 'data', 'file', 'metadata', 'taskId']);

/** Every tool takes the same arguments: the parts of an A2A message, as the Skill API reads them. */
const INPUT_SCHEMA: Tool['inputSchema'] = {
  type: 'object',
  properties: {
    text: { type: 'string', description: 'the request as text (YAML or JSON manifests count as text); becomes a text part' },
    data: { type: 'object', description: 'structured input; becomes a data part (e.g. {"manifests": "...", "nodeCount": 3} for manifest-review)' },
    file: {
      type: 'object',
      description: 'a file, inline (bytes, base64) or by uri; becomes a file part',
      properties: {
        bytes: { type: 'string', contentEncoding: 'base64' },
        uri: { type: 'string' },
        name: { type: 'string' },
        mimeType: { type: 'string' },
      },
      additionalProperties: false,
    },
    metadata: { type: 'object', description: "the message's metadata, for skills that read it (echo: delayMs)" },
    taskId: { type: 'string', description: 'the task of an earlier call of this tool that asked for input: this call answers it' },
  },
  additionalProperties: false,
};

export function toolFor(skill: ToolSource): Tool {
  return { name: skill.id, title: skill.name, description: skill.description, inputSchema: INPUT_SCHEMA };
}

/**
 * The A2A message a tool call sends to the skill `tool`; arguments that break
 * the schema are an InvalidParamsError naming the argument.
 */
export function toolMessage(tool: string, args: unknown, messageId: string): Message {
  checkNesting(args, 'arguments');
  const o = object(args ?? {}, 'arguments');
  const unknown = Object.keys(o).find((key) => !ARGUMENT_NAMES.has(key));
  if (unknown !== undefined) throw new InvalidParamsError(`arguments.${unknown.slice(0, 64)} is not an argument of this tool (text, data, file, metadata, taskId)`, 'arguments');
  const parts: Part[] = [];
  if (o.text !== undefined) parts.push({ kind: 'text', text: string(o.text, 'arguments.text') });
  if (o.data !== undefined) parts.push({ kind: 'data', data: object(o.data, 'arguments.data') as JsonObject });
  if (o.file !== undefined) parts.push(filePart(object(o.file, 'arguments.file')));
  if (parts.length === 0) throw new InvalidParamsError('arguments must hold text, data or a file: the skill has nothing to work on', 'arguments');
  const metadata = optionalObject(o.metadata, 'arguments.metadata') as JsonObject | undefined;
  const taskId = o.taskId === undefined ? undefined : nonEmptyString(o.taskId, 'arguments.taskId');
  return { messageId, role: 'user', parts, metadata: { ...metadata, skill: tool }, ...(taskId === undefined ? {} : { taskId }) };
}

function filePart(file: Record<string, unknown>): Part {
  const unknown = Object.keys(file).find((key) => !['bytes', 'uri', 'name', 'mimeType'].includes(key));
  if (unknown !== undefined) throw new InvalidParamsError(`arguments.file.${unknown.slice(0, 64)} is not a field of a file (bytes, uri, name, mimeType)`, 'arguments.file');
  const common = {
    ...(file.name === undefined ? {} : { filename: string(file.name, 'arguments.file.name') }),
    ...(file.mimeType === undefined ? {} : { mediaType: string(file.mimeType, 'arguments.file.mimeType') }),
  };
  if ((file.bytes === undefined) === (file.uri === undefined)) throw new InvalidParamsError('arguments.file must hold exactly one of bytes and uri', 'arguments.file');
  if (file.bytes !== undefined) return { kind: 'bytes', bytes: base64(file.bytes, 'arguments.file.bytes'), ...common };
  return { kind: 'url', url: nonEmptyString(file.uri, 'arguments.file.uri'), ...common };
}

/**
 * A task that ended, or asked for something, as a tool result: its artifacts
 * (text as text, data as JSON text) when it completed; what it asks when it
 * waits for input (the result then says how to answer); an error result with
 * the task's own words when it failed, was rejected or canceled.
 */
export function taskResult(task: Task, tool: string): CallToolResult {
  const state = task.status.state;
  const _meta = { [TASK_ID_META]: task.id, [TASK_STATE_META]: state };
  const said = textOf(task.status.message?.parts ?? []);
  switch (state) {
    case 'completed': {
      const parts = task.artifacts.flatMap((artifact) => artifact.parts.map((part) => ({ part, uri: `kagent-a2a:task/${task.id}/artifact/${artifact.artifactId}` })));
      const content = parts.length > 0 ? parts.map(({ part, uri }) => contentOf(part, uri)) : [{ type: 'text' as const, text: said ?? `task ${task.id} completed with no output` }];
      const data = parts.flatMap(({ part }) => (part.kind === 'data' ? [part] : []));
      const structured = data.length === 1 && isObject(data[0]!.data) ? { structuredContent: data[0]!.data } : {};
      return { content, ...structured, _meta };
    }
    case 'input-required':
    case 'auth-required': {
      const needs = state === 'input-required' ? 'input' : 'authorization';
      const text =
        `task ${task.id} needs ${needs}: ${said ?? '(no question given)'}\n` +
        `Answer by calling ${tool} again with {"taskId": "${task.id}", "text": <your answer>}.`;
      return { content: [{ type: 'text', text }], _meta };
    }
    default:
      return { content: [{ type: 'text', text: `task ${task.id} ${state}${said === undefined ? '' : `: ${said}`}` }], isError: true, _meta };
  }
}

/** A skill's direct answer, which started no task. */
export function messageResult(message: Message): CallToolResult {
  return { content: message.parts.map((part) => contentOf(part, `kagent-a2a:message/${message.messageId}`)) };
}

/** A call refused before or while running its task: the error's own message. */
export function errorResult(message: string, reason: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true, _meta: { 'kagent.dev/reason': reason } };
}

/** The words of a status message, for progress and results. */
export function textOf(parts: readonly Part[]): string | undefined {
  const text = parts.flatMap((part) => (part.kind === 'text' ? [part.text] : [])).join('\n');
  return text === '' ? undefined : text;
}

/** One part as MCP content; a file inline is a resource named `uri`. */
function contentOf(part: Part, uri: string): CallToolResult['content'][number] {
  switch (part.kind) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'data':
      return { type: 'text', text: JSON.stringify(part.data, null, 2) };
    case 'bytes': {
      const mimeType = part.mediaType ?? 'application/octet-stream';
      if (mimeType.startsWith('image/')) return { type: 'image', data: part.bytes, mimeType };
      return { type: 'resource', resource: { uri, mimeType, blob: part.bytes } };
    }
    case 'url':
      return { type: 'resource_link', uri: part.url, name: part.filename ?? part.url, ...(part.mediaType === undefined ? {} : { mimeType: part.mediaType }) };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
