export { assistantSkill } from './assistant.js';
export type { AssistantOptions } from './assistant.js';
export { skillAsTool, summarizeTask, toolName } from './tools.js';
export type { AssistantTool, SkillToolOptions, ToolContext, ToolResult } from './tools.js';
export { ChatError, streamChat } from './chat-completions.js';
export type { ChatEndpoint, ChatMessage, ChatReply, ChatToolCall, ChatToolSpec } from './chat-completions.js';
