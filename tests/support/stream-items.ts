import type { StreamItem } from '../../src/model/model.js';

/** One stream item as a sequence assertion compares it: kind, state, and the first text of a status message (`status:working:first`). */
export function itemLabel(item: StreamItem): string {
  switch (item.kind) {
    case 'task':
      return `task:${item.task.status.state}`;
    case 'status-update': {
      const part = item.status.message?.parts[0];
      return `status:${item.status.state}${part?.kind === 'text' ? `:${part.text}` : ''}`;
    }
    case 'artifact-update':
      return `artifact:${item.artifact.artifactId}`;
    case 'message':
      return 'message';
  }
}
