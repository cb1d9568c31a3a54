import type { Artifact, Task, TaskEvent } from './model.js';

// What each event does to its task, as both stores apply it: a status replaces
// the status and adds its message to the history; an artifact replaces the one
// of its id in place (or, appended, extends its parts), or joins the end.

/** The artifact an append leaves: the earlier one's fields, overridden by the chunk's, and the parts of both. */
export function appendedArtifact(previous: Artifact, chunk: Artifact): Artifact {
  return { ...previous, ...chunk, parts: [...previous.parts, ...chunk.parts] };
}

/** The task after `event`; `task` itself is left as it was. */
export function taskAfter(task: Task, event: TaskEvent): Task {
  if (event.kind === 'status-update') {
    const { message } = event.status;
    return { ...task, status: event.status, history: message === undefined ? task.history : [...task.history, message] };
  }
  const { artifact, append } = event;
  const artifacts = [...task.artifacts];
  const at = artifacts.findIndex((a) => a.artifactId === artifact.artifactId);
  if (at === -1) artifacts.push(artifact);
  else artifacts[at] = append ? appendedArtifact(artifacts[at]!, artifact) : artifact;
  return { ...task, artifacts };
}
