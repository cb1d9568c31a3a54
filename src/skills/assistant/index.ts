export { assistantSkill } from './assistant.js';
export type { AssistantOptions } from './assistant.js';
export { runSkillVia, skillAsTool, summarizeTask, toolName } from './tools.js';
export type { AssistantTool, RunSkill, SkillToolOptions, SubTaskService, ToolContext, ToolResult } from './tools.js';
export { ChatError, streamChat } from './chat-completions.js';
export type { ChatEndpoint, ChatMessage, ChatReply, ChatToolCall, ChatToolSpec } from './chat-completions.js';
