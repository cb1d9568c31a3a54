import { randomUUID } from 'node:crypto';
import { endsStream, isInterrupted, isTerminal } from '../../model/lifecycle.js';
import type { Artifact, Caller, JsonObject, Message, Part, StreamItem, Task } from '../../model/model.js';
import type { Skill } from '../skill.js';

/** The task a tool runs for: sub-work joins its conversation. */
export interface ToolContext {
  taskId: string;
  contextId: string;
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
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonObject;
  /** Throwing reports the error to the model, which may try again; an aborted `signal` ends the turn. */
  run(args: JsonObject, signal: AbortSignal, context: ToolContext): Promise<ToolResult>;
}

/**
 * Runs a skill as a sub-task and resolves with the task once it has ended or
 * asked for input (or with the skill's direct reply); aborting `signal`
 * cancels the sub-task.
 */
export type RunSkill = (skillId: string, message: Message, signal: AbortSignal) => Promise<Task | Message>;

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
export function skillAsTool(skill: Skill, runSkill: RunSkill, options: SkillToolOptions = {}): AssistantTool {
  const { descriptor } = skill;
  const maxChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  const takesJson = (descriptor.inputModes ?? []).some((mode) => mode === 'application/json');
  const properties: JsonObject = {
    text: { type: 'string', description: 'The request for the skill, written the way its description and examples show.' },
  };
  if (takesJson) properties.data = { type: 'object', description: 'Structured (JSON) input, for a skill that takes it.' };
  const examples = descriptor.examples?.length ? ` Examples: ${descriptor.examples.map((e) => JSON.stringify(e)).join('; ')}.` : '';
  return {
    name: toolName(descriptor.id),
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
        metadata: { skill: descriptor.id },
      };
      const outcome = await runSkill(descriptor.id, message, signal);
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

/** What `runSkillVia` needs of the agent's task service (kept structural so skills do not depend on core). */
export interface SubTaskService {
  sendStreamingMessage(caller: Caller, message: Message): Promise<AsyncIterable<StreamItem>>;
  getTask(caller: Caller, taskId: string): Promise<Task>;
  cancelTask(caller: Caller, taskId: string): Promise<Task>;
}

/**
 * A RunSkill over the agent's own task service: the skill runs as a real task
 * (listed, stored, cancelable) in the caller's conversation. A sub-task that
 * asks for input is canceled after it is read, since nobody will answer it;
 * the model learns what it asked. `caller` may be chosen per message (the
 * caller of the task the message references), so that sub-tasks are the
 * caller's own and its skill permissions apply to them.
 */
export function runSkillVia(service: SubTaskService, callerFor: Caller | ((message: Message) => Caller)): RunSkill {
  return async (skillId, message, signal) => {
    signal.throwIfAborted();
    const caller = typeof callerFor === 'function' ? callerFor(message) : callerFor;
    const stream = await service.sendStreamingMessage(caller, { ...message, metadata: { ...message.metadata, skill: skillId } });
    let taskId: string | undefined;
    let canceled = false;
    const cancel = () => {
      if (taskId === undefined || canceled) return;
      canceled = true;
      service.cancelTask(caller, taskId).catch(() => {});
    };
    // Closing the stream ends the loop below at once.
    const stop = () => {
      cancel();
      (stream as { close?: () => void }).close?.();
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const item of stream) {
        if (item.kind === 'message') return item.message;
        if (item.kind === 'task') taskId = item.task.id;
        if (signal.aborted) break;
      }
      if (signal.aborted) {
        cancel();
        signal.throwIfAborted();
      }
      if (taskId === undefined) throw new Error(`skill ${skillId} started no task`);
      let task = await service.getTask(caller, taskId);
      // A stream cut short (a slow reader) leaves the task running: wait for it.
      while (!endsStream(task.status.state)) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        signal.throwIfAborted();
        task = await service.getTask(caller, taskId);
      }
      if (!isTerminal(task.status.state)) await service.cancelTask(caller, taskId).catch(() => {});
      return task;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  };
}
