import type { Message } from '../wire';
import { PartView } from './artifact-view';

const TOOL_CALL = 'assistantToolCall';

interface ToolCall {
  name: string;
  arguments?: unknown;
}

/** The tool call a status message of the assistant reports, if it is one. */
export function toolCallOf(message: Message | undefined): ToolCall | undefined {
  const mark = message?.parts.find((part) => part.metadata?.[TOOL_CALL] !== undefined)?.metadata?.[TOOL_CALL];
  if (typeof mark !== 'object' || mark === null || typeof (mark as ToolCall).name !== 'string') return undefined;
  return mark as ToolCall;
}

export function MessageView({ message }: { message: Message }) {
  const tool = toolCallOf(message);
  const who = message.role === 'ROLE_USER' ? 'user' : 'agent';
  if (tool !== undefined) {
    return (
      <div class="message tool-call">
        <span class="who">tool call</span> <code>{tool.name}</code> <code class="muted">{JSON.stringify(tool.arguments ?? {})}</code>
      </div>
    );
  }
  return (
    <div class={`message message-${who}`}>
      <span class="who">{who}</span>
      {message.parts.map((part, i) => (
        <PartView key={i} part={part} />
      ))}
    </div>
  );
}
