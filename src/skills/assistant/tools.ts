import { randomUUID } from 'node:crypto';
import { isInterrupted } from '../../model/lifecycle.js';
import type { Artifact, JsonObject, Message, Part, Task } from '../../model/model.js';
import type { RunSkill, Skill, SkillDescriptor } from '../skill.js';

/** The task a tool runs for: sub-work joins its conversation, as the caller of that task. */
export interface ToolContext {
  taskId: string;
  contextId: string;
  runSkill: RunSkill;
}

export interface ToolResult {
  /** What the model reads. */
  text: string;
  /** For code that calls the tool directly (e.g. the sub-task's id); never sent to the model. */
  data?: unknown;
}

/** A function the model may call (OpenAI function-calling). */
export interface AssistantTool {
  /** ^[A-Za-z0-9_-]{1,64}$, as the chat-completions APIs require. */
  name: string;
  /** The skill this tool runs, when it runs one: offered only to callers who may use that skill. */
  skillId?: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonObject;
  /** Throwing reports the error to the model, which may try again; an aborted `signal` ends the turn. */
  run(args: JsonObject, signal: AbortSignal, context: ToolContext): Promise<ToolResult>;
}


export interface SkillToolOptions {
  /** Longest tool result handed to the model; the rest is cut with a note. Default 12,000 characters. */
  maxResultChars?: number;
}

const DEFAULT_MAX_RESULT_CHARS = 12_000;

/**
 * Offers a skill to the model as a tool: the arguments become the message the
 * skill receives (`text` as a text part, `data` as a data part), and the ended
 * sub-task comes back as text — its state, its last status message, its artifacts.
 */
export function skillAsTool(skill: Skill, options: SkillToolOptions = {}): AssistantTool {
  return descriptorAsTool(skill.descriptor, options);
}

/** How a tool reaches a skill that is not this agent's: the local skill that runs it (delegate), and what its message carries. */
export interface ToolRoute {
  skillId: string;
  metadata: JsonObject;
}

/** As skillAsTool, from what a card says of the skill; with `via`, the sub-task runs `via.skillId` (a peer's skill, through delegate). */
export function descriptorAsTool(descriptor: SkillDescriptor, options: SkillToolOptions = {}, via?: ToolRoute): AssistantTool {
  const maxChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  const takesJson = (descriptor.inputModes ?? []).some((mode) => mode === 'application/json');
  const runs = via?.skillId ?? descriptor.id;
  const properties: JsonObject = {
    text: { type: 'string', description: 'The request for the skill, written the way its description and examples show.' },
  };
  if (takesJson) properties.data = { type: 'object', description: 'Structured (JSON) input, for a skill that takes it.' };
  const examples = descriptor.examples?.length ? ` Examples: ${descriptor.examples.map((e) => JSON.stringify(e)).join('; ')}.` : '';
  return {
    name: toolName(descriptor.id),
    skillId: runs,
    description: `${descriptor.description}${examples}`,
    parameters: takesJson
      ? { type: 'object', properties, additionalProperties: false }
      : { type: 'object', properties, required: ['text'], additionalProperties: false },
    async run(args, signal, context) {
      const parts: Part[] = [];
      if (typeof args.text === 'string' && args.text !== '') parts.push({ kind: 'text', text: args.text });
      if (takesJson && args.data !== undefined && args.data !== null) parts.push({ kind: 'data', data: args.data, mediaType: 'application/json' });
      if (parts.length === 0) throw new Error(takesJson ? 'give "text" or "data"' : 'give "text"');
      const message: Message = {
        messageId: randomUUID(),
        role: 'user',
        parts,
        contextId: context.contextId,
        referenceTaskIds: [context.taskId],
        metadata: { ...via?.metadata, skill: runs },
      };
      const outcome = await context.runSkill(runs, message, signal);
      if (!('status' in outcome)) return { text: truncate(`${descriptor.id} replied:\n${partsAsText(outcome.parts)}`, maxChars), data: { message: outcome } };
      return { text: truncate(summarizeTask(descriptor.id, outcome), maxChars), data: { taskId: outcome.id, state: outcome.status.state } };
    },
  };
}

/** Chat-completions function names allow letters, digits, "_" and "-", up to 64. */
export function toolName(id: string): string {
  const name = id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return name === '' ? 'tool' : name;
}

/** A sub-task's outcome as the model reads it. */
export function summarizeTask(skillId: string, task: Task): string {
  const lines = [`Skill ${skillId} (task ${task.id}) ended ${task.status.state}.`];
  const said = task.status.message === undefined ? '' : partsAsText(task.status.message.parts);
  if (said !== '') {
    const label = isInterrupted(task.status.state) ? 'It asked' : task.status.state === 'completed' ? 'It said' : 'Reason';
    lines.push(`${label}: ${said}`);
  }
  for (const artifact of task.artifacts) lines.push('', artifactAsText(artifact));
  if (task.artifacts.length === 0 && said === '') lines.push('It produced no output.');
  return lines.join('\n');
}

function artifactAsText(artifact: Artifact): string {
  const title = artifact.name ?? artifact.artifactId;
  const description = artifact.description === undefined ? '' : ` — ${artifact.description}`;
  return `## ${title}${description}\n${partsAsText(artifact.parts)}`;
}

const TEXTUAL = /^(text\/|application\/(json|x-yaml|yaml|xml|x-ndjson)|[^;]*\+(json|yaml|xml))/i;
const INLINE_FILE_LIMIT = 64 * 1024;

/** Parts as plain text: text as is, data as JSON, textual files decoded, other files named. */
export function partsAsText(parts: readonly Part[]): string {
  return parts
    .map((part) => {
      switch (part.kind) {
        case 'text':
          return part.text;
        case 'data':
          return '```json\n' + JSON.stringify(part.data, null, 2) + '\n```';
        case 'url':
          return `[${part.filename ?? 'file'} at ${part.url}${part.mediaType ? ` (${part.mediaType})` : ''}]`;
        case 'bytes': {
          const size = Buffer.byteLength(part.bytes, 'base64');
          const name = part.filename ?? 'file';
          if (part.mediaType !== undefined && TEXTUAL.test(part.mediaType) && size <= INLINE_FILE_LIMIT) {
            return `${name} (${part.mediaType}):\n${Buffer.from(part.bytes, 'base64').toString('utf8')}`;
          }
          return `[${name}${part.mediaType ? ` (${part.mediaType})` : ''}, ${size} bytes, not shown]`;
        }
      }
    })
    .filter((text) => text !== '')
    .join('\n');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n…[cut: ${text.length - max} more characters]`;
}

