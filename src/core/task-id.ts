import { randomUUID } from 'node:crypto';

// A task id names the pod that owns it: "<pod>.<uuid>". Pod names are DNS
// labels (no dots), so the owner is what precedes the first dot. Ids contain
// no ":" — the HTTP+JSON binding puts ":cancel" right after the id.

export function newTaskId(pod: string): string {
  return `${pod}.${randomUUID()}`;
}

/** The pod that created the task, or undefined for an id this agent did not make. */
export function ownerOf(taskId: string): string | undefined {
  const dot = taskId.indexOf('.');
  return dot > 0 ? taskId.slice(0, dot) : undefined;
}
