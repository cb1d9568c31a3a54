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

/** A message as a person reads it: its text parts, when it has any. */
function messageText(message: Message): string {
  const texts = message.parts.filter((part) => part.kind === 'text');
  return (texts.length > 0 ? texts : message.parts).map(partText).join(' ');
}

export function formatTask(task: Task): string {
  const lines = [`task ${task.id}  ${task.status.state}  (context ${task.contextId})`];
  if (task.status.message !== undefined) lines.push(`  status: ${messageText(task.status.message)}`);
  for (const artifact of task.artifacts) {
    lines.push(`  artifact ${artifact.name ?? artifact.artifactId}: ${artifact.parts.map(partText).join(' ')}`);
  }
  return lines.join('\n');
}

export function formatSendResult(result: SendResult): string {
  return result.kind === 'message' ? `message from agent: ${messageText(result.message)}` : formatTask(result.task);
}

export function formatStreamItem(item: StreamItem): string {
  switch (item.kind) {
    case 'task':
      return `task ${item.task.id}  ${item.task.status.state}`;
    case 'message':
      return `message from agent: ${messageText(item.message)}`;
    case 'status-update':
      return `  ${item.status.state}${item.status.message ? `: ${messageText(item.status.message)}` : ''}`;
    case 'artifact-update':
      return `  artifact ${item.artifact.name ?? item.artifact.artifactId}${item.append ? ' (+)' : ''}: ${item.artifact.parts.map(partText).join(' ')}`;
  }
}
