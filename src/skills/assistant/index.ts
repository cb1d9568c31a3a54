export { assistantSkill } from './assistant.js';
export type { AssistantOptions } from './assistant.js';
export { descriptorAsTool, skillAsTool, summarizeTask, toolName } from './tools.js';
export type { AssistantTool, SkillToolOptions, ToolContext, ToolResult, ToolRoute } from './tools.js';
export { ChatError, streamChat } from './chat-completions.js';
export type { ChatEndpoint, ChatMessage, ChatReply, ChatToolCall, ChatToolSpec } from './chat-completions.js';
export { chatTurn } from './chat-turn.js';
export type { ChatTurn, ChatTurnOptions } from './chat-turn.js';
