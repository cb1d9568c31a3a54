import type { JsonObject, Message, Part } from '../../model/model.js';
import type { SkillContext } from '../skill.js';
import { ChatError, streamChat } from './chat-completions.js';
import type { ChatEndpoint, ChatMessage, ChatReply, ChatToolCall, ChatToolSpec } from './chat-completions.js';
import { partsAsText } from './tools.js';
import type { AssistantTool } from './tools.js';
import { withoutTrailingSlashes } from '../../model/text.js';
import { redactSecrets } from '../../observability/redact.js';

// The engine every model-driven skill runs on (the assistant, and the skills
// declared in skills.yaml): one turn of a conversation with a chat-completions
// model that may call tools, the answer streamed as one artifact, each tool
// call a status update, bounded in rounds, tokens and time, ended by cancel.

export interface ChatTurnOptions {
  /** OpenAI-compatible base URL, up to `/chat/completions` (e.g. http://ollama:11434/v1). */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Most rounds of tool calls in one turn; 0 offers no tools. */
  maxToolRounds: number;
  /** Tokens (prompt and reply, every call of the turn) one turn may spend. */
  maxTokens: number;
  /** Wall-clock budget of one turn, model calls and tool runs together. */
  timeoutMs: number;
  systemPrompt: string;
  /** Told about each model call: ok or error, and the tokens the endpoint reported (absent when it reported none). */
  onModelCall?: (call: { outcome: 'ok' | 'error'; promptTokens?: number; completionTokens?: number }) => void;
  /** Where what the model endpoint sent back on an error goes (with the API key and other credentials hidden); never the task. */
  log?: (fields: Record<string, unknown>, message: string) => void;
  /**
   * Offers the model a tool that asks the user a question: the task turns
   * input-required with it, and the reply continues the conversation.
   */
  askUser?: boolean;
  /**
   * Streamed text is written as an artifact chunk at most this often (ms), so
   * a fast model does not cost a store write per token. Default 100; 0 writes
   * every network read.
   */
  chunkIntervalMs?: number;
}

export interface ChatTurn {
  /**
   * Runs one turn of the task with these tools; those that run a skill the
   * caller may not use are not offered (they would only be refused as sub-tasks).
   */
  run(ctx: SkillContext, tools: readonly AssistantTool[]): Promise<void>;
}

/** The engine for one model, checked once; `who` names the skill in errors ("assistant", "skill runbook"). */
export function chatTurn(options: ChatTurnOptions, who: string): ChatTurn {
  const endpoint = validate(options, who);
  return {
    run(ctx, tools) {
      const usable = tools.filter((tool) => tool.skillId === undefined || ctx.mayUse(tool.skillId));
      const byName = new Map(usable.map((tool) => [tool.name, tool]));
      const specs: ChatToolSpec[] =
        options.maxToolRounds === 0
          ? []
          : [...byName.values()].map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } }));
      if (options.askUser === true && !byName.has(ASK_USER)) specs.push(ASK_USER_SPEC);
      return runTurn(who, ctx, endpoint, options, byName, specs);
    },
  };
}

/** Marks the status messages that report tool calls, so they stay out of the conversation sent to the model. */
const TOOL_CALL_METADATA = 'assistantToolCall';

function validate(options: ChatTurnOptions, who: string): ChatEndpoint {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new Error(`${who}: baseUrl "${options.baseUrl}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${who}: baseUrl "${options.baseUrl}" is not an http(s) URL`);
  if (options.model.trim() === '') throw new Error(`${who}: model is empty`);
  if (!(options.maxTokens > 0)) throw new Error(`${who}: maxTokens must be positive`);
  if (!(options.timeoutMs > 0)) throw new Error(`${who}: timeoutMs must be positive`);
  if (!(options.maxToolRounds >= 0)) throw new Error(`${who}: maxToolRounds must be 0 or more`);
  const endpoint: ChatEndpoint = { baseUrl: withoutTrailingSlashes(options.baseUrl), model: options.model };
  if (options.apiKey !== undefined && options.apiKey !== '') endpoint.apiKey = options.apiKey;
  return endpoint;
}

class TimeBudgetExceeded extends Error {}

/** The tool through which the model asks the user (askUser). */
const ASK_USER = 'ask_user';
const ASK_USER_SPEC: ChatToolSpec = {
  type: 'function',
  function: {
    name: ASK_USER,
    description: 'Asks the user a question when the answer needs something only they can tell. The turn ends; their reply continues the conversation.',
    parameters: { type: 'object', properties: { question: { type: 'string', description: 'The question, as the user will read it.' } }, required: ['question'], additionalProperties: false },
  },
};

/** The question of an ask_user call among the model's tool calls, when it may ask. */
function askedQuestion(calls: readonly ChatToolCall[], options: ChatTurnOptions): string | undefined {
  if (options.askUser !== true) return undefined;
  const call = calls.find((c) => c.function.name === ASK_USER);
  if (call === undefined) return undefined;
  try {
    const args: unknown = JSON.parse(call.function.arguments);
    const question = typeof args === 'object' && args !== null ? (args as { question?: unknown }).question : undefined;
    if (typeof question === 'string' && question.trim() !== '') return question;
  } catch {
    // Arguments that are not JSON still mean the model wants to ask.
  }
  return 'Could you tell me more about what you need?';
}

async function runTurn(
  who: string,
  ctx: SkillContext,
  endpoint: ChatEndpoint,
  options: ChatTurnOptions,
  tools: ReadonlyMap<string, AssistantTool>,
  toolSpecs: ChatToolSpec[],
): Promise<void> {
  if (partsAsText(ctx.message.parts).trim() === '') {
    await ctx.requireInput('What would you like to ask? Send the question as text.');
    return;
  }
  const messages: ChatMessage[] = [{ role: 'system', content: options.systemPrompt }, ...conversation(ctx.history)];

  const controller = new AbortController();
  const onCancel = () => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  const seconds = `${Number((options.timeoutMs / 1000).toFixed(3))}s`;
  const timer = setTimeout(() => controller.abort(new TimeBudgetExceeded(`time budget of ${seconds} exceeded`)), options.timeoutMs);
  const answer = new AnswerWriter(ctx, options.chunkIntervalMs ?? 100);
  let activity = 'waiting for the model';
  try {
    await ctx.working();
    // The model is the outside world, and paid for: the task is stored working before it is
    // asked, so that a pod that stops here leaves a task another pod can see and take over.
    await ctx.durable();
    const notes: string[] = [];
    let used = 0;
    let estimated = false;
    let rounds = 0;
    for (;;) {
      const promptTokens = estimateTokens(JSON.stringify(messages) + JSON.stringify(toolSpecs));
      const allowance = options.maxTokens - used - promptTokens;
      if (allowance <= 0 && used === 0) {
        await ctx.reject(
          `The token budget of ${options.maxTokens} tokens for one turn is too small for this request: the conversation and tool descriptions alone need about ${promptTokens}.`,
        );
        return;
      }
      if (allowance <= 0) {
        notes.push(budgetNote(options.maxTokens, used, estimated, 'what is left would not cover the conversation so far'));
        break;
      }
      activity = 'waiting for the model';
      let replyChars = 0;
      answer.startSegment();
      const reply: ChatReply = await countedCall(options, () => streamChat(
        endpoint,
        { messages, tools: toolSpecs, maxTokens: allowance },
        {
          signal: controller.signal,
          onText: async (text) => {
            await answer.add(text);
            replyChars += text.length;
            // A server that ignores max_tokens is held to the budget by estimate.
            return Math.ceil(replyChars / 4) <= allowance;
          },
        },
      ));
      await answer.endSegment();
      const total = reply.usage?.total_tokens;
      if (typeof total === 'number' && Number.isFinite(total)) {
        used += total;
      } else {
        used += promptTokens + estimateTokens(reply.content + JSON.stringify(reply.toolCalls));
        estimated = true;
      }
      if (reply.finishReason === 'stopped' || reply.finishReason === 'length') {
        notes.push(budgetNote(options.maxTokens, used, estimated, 'the answer may be cut off'));
        break;
      }
      if (reply.toolCalls.length === 0) break;
      const question = askedQuestion(reply.toolCalls, options);
      if (question !== undefined) {
        // The turn ends here; the user's reply continues the conversation (the question is in its history).
        await answer.finish();
        await ctx.requireInput(question);
        return;
      }
      const wanted = [...new Set(reply.toolCalls.map((call) => call.function.name))].join(', ');
      if (rounds >= options.maxToolRounds) {
        notes.push(`Stopped after ${rounds} tool-call round${rounds === 1 ? '' : 's'}, the limit for one turn; the model still wanted to call ${wanted}.`);
        break;
      }
      if (used >= options.maxTokens) {
        notes.push(budgetNote(options.maxTokens, used, estimated, `the model still wanted to call ${wanted}`));
        break;
      }
      messages.push({ role: 'assistant', content: reply.content === '' ? null : reply.content, tool_calls: reply.toolCalls });
      for (const call of reply.toolCalls) {
        activity = `running tool ${call.function.name}`;
        messages.push({ role: 'tool', tool_call_id: call.id, content: await callTool(ctx, call, tools, controller.signal) });
      }
      rounds++;
    }
    await answer.finish();
    if (notes.length > 0) await ctx.complete(notes.join(' '));
    else if (!answer.wroteText) await ctx.complete('The model returned an empty answer.');
    else await ctx.complete();
  } catch (error) {
    // Canceled (or the agent is stopping): the task has ended or will be failed by the runner.
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    const timedOut = controller.signal.reason instanceof TimeBudgetExceeded;
    const reason = timedOut
      ? `${(controller.signal.reason as Error).message} while ${activity}`
      : error instanceof ChatError
        ? error.message
        : `the ${who} failed while ${activity}: ${error instanceof Error ? error.message : String(error)}`;
    if (error instanceof ChatError && error.detail !== undefined) {
      options.log?.({ taskId: ctx.taskId, status: error.status, detail: redactSecrets(error.detail, [endpoint.apiKey]) }, 'model endpoint error');
    }
    await answer.finish().catch(() => {});
    // Said by us, not the endpoint; the key is taken out all the same, in case anything quoted it.
    await ctx.fail(redactSecrets(reason, [endpoint.apiKey]));
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onCancel);
  }
}

async function callTool(ctx: SkillContext, call: ChatToolCall, tools: ReadonlyMap<string, AssistantTool>, signal: AbortSignal): Promise<string> {
  const { name } = call.function;
  const tool = tools.get(name);
  if (tool === undefined) return `error: there is no tool named ${JSON.stringify(name)}; the tools are: ${[...tools.keys()].join(', ') || 'none'}`;
  let args: unknown;
  try {
    args = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
  } catch (error) {
    return `error: the arguments are not valid JSON (${(error as Error).message}); call ${name} again with a JSON object`;
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return `error: the arguments must be a JSON object; call ${name} again`;
  await ctx.working([
    {
      kind: 'text',
      text: `calling ${name}(${shorten(JSON.stringify(args), 200)})`,
      metadata: { [TOOL_CALL_METADATA]: { id: call.id, name, arguments: args as JsonObject } },
    },
  ]);
  // A tool acts on the outside world too: the call is on record before it is made.
  await ctx.durable();
  try {
    const result = await tool.run(args as JsonObject, signal, { taskId: ctx.taskId, contextId: ctx.contextId, runSkill: ctx.runSkill });
    return result.text === '' ? `${name} returned nothing.` : result.text;
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    return `error: ${name} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The task's messages as a chat: user → user, agent → assistant; tool-call reports are left out. */
function conversation(history: readonly Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of history) {
    if (message.role === 'agent' && message.parts.every((part) => part.metadata?.[TOOL_CALL_METADATA] !== undefined)) continue;
    const content = partsAsText(message.parts);
    if (content.trim() === '') continue;
    out.push(message.role === 'user' ? { role: 'user', content } : { role: 'assistant', content });
  }
  return out;
}

function budgetNote(max: number, used: number, estimated: boolean, detail?: string): string {
  const spent = used === 0 ? '' : ` (${estimated ? 'about ' : ''}${used} used)`;
  return `Stopped: the token budget of ${max} tokens for this turn is spent${spent}${detail === undefined ? '' : `; ${detail}`}.`;
}

/** One model call, reported to `onModelCall` however it ends. */
async function countedCall(options: ChatTurnOptions, call: () => Promise<ChatReply>): Promise<ChatReply> {
  let reply: ChatReply;
  try {
    reply = await call();
  } catch (error) {
    options.onModelCall?.({ outcome: 'error' });
    throw error;
  }
  const tokens = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  options.onModelCall?.({ outcome: 'ok', promptTokens: tokens(reply.usage?.prompt_tokens), completionTokens: tokens(reply.usage?.completion_tokens) });
  return reply;
}

/** The usual rule of thumb when the server reports no usage: four characters a token. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Streams the answer as chunks of one artifact. The latest text is held back
 * until more arrives, so the closing chunk (lastChunk) carries text, and text
 * is written at most every `intervalMs`.
 */
class AnswerWriter {
  private readonly artifactId: string;
  private pending = '';
  private written = false;
  private lastWrite = 0;
  private segmentHasText = false;
  private separatorDue = false;
  private closed = false;

  constructor(
    private readonly ctx: SkillContext,
    private readonly intervalMs: number,
  ) {
    // One id per turn, so a turn run again after a restart replaces its partial answer instead of adding another.
    this.artifactId = `answer-${ctx.message.messageId}`;
  }

  get wroteText(): boolean {
    return this.written || this.pending !== '';
  }

  startSegment(): void {
    this.segmentHasText = false;
  }

  async add(text: string): Promise<void> {
    if (!this.segmentHasText && this.separatorDue) text = `\n\n${text}`;
    this.segmentHasText = true;
    this.separatorDue = false;
    if (this.pending !== '' && Date.now() - this.lastWrite >= this.intervalMs) {
      const chunk = this.pending;
      this.pending = '';
      await this.write(chunk, false);
    }
    this.pending += text;
  }

  /** Before tools run, what the model said so far is shown. */
  async endSegment(): Promise<void> {
    if (this.segmentHasText) this.separatorDue = true;
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    await this.write(chunk, false);
  }

  /** Closes the artifact; a no-op when nothing was said or it is already closed. */
  async finish(): Promise<void> {
    if (this.closed || (this.pending === '' && !this.written)) return;
    this.closed = true;
    const chunk = this.pending;
    this.pending = '';
    await this.write(chunk, true);
  }

  private async write(text: string, lastChunk: boolean): Promise<void> {
    const parts: Part[] = [{ kind: 'text', text, mediaType: 'text/markdown' }];
    const append = this.written;
    this.written = true;
    this.lastWrite = Date.now();
    await this.ctx.artifact({ artifactId: this.artifactId, name: 'answer', parts }, { append, lastChunk });
  }
}
