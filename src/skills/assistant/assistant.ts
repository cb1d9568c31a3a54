import type { Skill } from '../skill.js';
import { chatTurn } from './chat-turn.js';
import type { ChatTurnOptions } from './chat-turn.js';
import type { AssistantTool } from './tools.js';

export interface AssistantOptions extends Omit<ChatTurnOptions, 'systemPrompt'> {
  tools: AssistantTool[];
  /** Replaces the default system prompt. */
  systemPrompt?: string;
  /** Whether a turn interrupted by a restart is run again (its model calls are paid twice). */
  resumable?: boolean;
}

const DEFAULT_SYSTEM_PROMPT =
  'You are the assistant of a Kubernetes agent reached over the A2A protocol. Answer in Markdown, briefly and precisely. ' +
  'When a tool can check or fetch what the question is about, call it instead of guessing, and base the answer on what it returned. ' +
  'Say so when you do not know.';

/**
 * Free-text questions answered by a chat-completions model, which may call
 * the agent's other skills as tools. The answer streams as one artifact;
 * every tool call is reported as a status update. A turn is bounded in
 * tool-call rounds, tokens and time, and cancel closes the model connection.
 */
export function assistantSkill(options: AssistantOptions): Skill {
  const turn = chatTurn({ ...options, systemPrompt: options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT }, 'assistant');
  if (new Set(options.tools.map((tool) => tool.name)).size !== options.tools.length) throw new Error('assistant: two tools share a name');
  const offersTools = options.maxToolRounds > 0 && options.tools.length > 0;
  const toolList = options.tools.map((tool) => tool.name).join(', ');
  return {
    descriptor: {
      id: 'assistant',
      name: 'Assistant',
      description:
        `Answers free-text questions with a language model (${options.model})` +
        (offersTools ? `, which may call this agent's other skills as tools (${toolList}).` : '.') +
        ' The answer streams as Markdown; each tool call shows as a status update.',
      tags: ['assistant', 'llm', 'chat', 'kubernetes'],
      examples: ['Why would a Deployment stay at 0 available replicas?', 'Review this manifest and explain the findings: <YAML>'],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['text/markdown'],
    },
    resumable: options.resumable === true,
    execute: (ctx) => turn.run(ctx, options.tools),
  };
}

