import type { Message, Part, StreamItem, Task, SendResult } from '../model/model.js';

// Human-readable renderings for the operator CLI. --json bypasses all of this.

export function partText(part: Part): string {
  switch (part.kind) {
    case 'text':
      return part.text;
    case 'data': {
      // Data is for programs: show its start; --json prints it whole.
      const json = JSON.stringify(part.data);
      return json.length > DATA_PREVIEW ? `${json.slice(0, DATA_PREVIEW)}… (--json for all)` : json;
    }
    case 'url':
      return `<file ${part.filename ?? ''} ${part.url}>`.replace('  ', ' ');
    case 'bytes':
      return `<file ${part.filename ?? ''} ${Buffer.from(part.bytes, 'base64').length} bytes>`.replace('  ', ' ');
  }
}

const DATA_PREVIEW = 160;
const SNIPPET = 48;

/** A message as a person reads it: its text parts, when it has any. */
function messageText(message: Message): string {
  const texts = message.parts.filter((part) => part.kind === 'text');
  return (texts.length > 0 ? texts : message.parts).map(partText).join(' ');
}

/** The start of a text on one line, quoted, so a listing stays one line per task. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(line.length > SNIPPET ? `${line.slice(0, SNIPPET - 1)}…` : line);
}

export interface TaskView {
  /** Show the task's history (the messages the agent returned, at most the last N asked for). */
  history?: boolean;
}

export function formatTask(task: Task, view: TaskView = {}): string {
  const lines = [`task ${task.id}  ${task.status.state}  (context ${task.contextId})`];
  if (task.status.message !== undefined) lines.push(`  status: ${messageText(task.status.message)}`);
  for (const artifact of task.artifacts) {
    lines.push(`  artifact ${artifact.name ?? artifact.artifactId}: ${artifact.parts.map(partText).join(' ')}`);
  }
  if (view.history === true) {
    if (task.history.length === 0) lines.push('  history: none');
    else {
      lines.push(`  history (${task.history.length} message${task.history.length === 1 ? '' : 's'}, oldest first):`);
      for (const message of task.history) lines.push(`    ${message.role}: ${messageText(message)}`);
    }
  }
  return lines.join('\n');
}

/**
 * The skill running a task: what the agent recorded in the task's metadata
 * (kagent-a2a does), else what the first message asked for.
 */
export function taskSkill(task: Task): string | undefined {
  const recorded = task.metadata?.skill;
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  const asked = task.history.find((m) => m.role === 'user')?.metadata?.skill;
  return typeof asked === 'string' && asked !== '' ? asked : undefined;
}

/** One line of a task listing: id, state, last change, skill, and the start of what was asked. */
export function formatTaskLine(task: Task): string {
  const first = task.history.find((m) => m.role === 'user') ?? task.status.message;
  const text = first === undefined ? '' : `  ${snippet(messageText(first))}`;
  return `${task.id}  ${task.status.state.padEnd(14)}  ${task.status.timestamp}  ${(taskSkill(task) ?? '-').padEnd(15)}${text}`;
}

export function formatSendResult(result: SendResult): string {
  return result.kind === 'message' ? `message from agent: ${messageText(result.message)}` : formatTask(result.task);
}

export function formatStreamItem(item: StreamItem): string {
  switch (item.kind) {
    case 'task': {
      // Reattaching to a running task: its latest progress says where it is.
      const { status } = item.task;
      return `task ${item.task.id}  ${status.state}${status.message ? `: ${messageText(status.message)}` : ''}`;
    }
    case 'message':
      return `message from agent: ${messageText(item.message)}`;
    case 'status-update':
      return `  ${item.status.state}${item.status.message ? `: ${messageText(item.status.message)}` : ''}`;
    case 'artifact-update':
      return `  artifact ${item.artifact.name ?? item.artifact.artifactId}${item.append ? ' (+)' : ''}: ${item.artifact.parts.map(partText).join(' ')}`;
  }
}
