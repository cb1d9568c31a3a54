import type { Artifact, Message, Part } from '../model/model.js';
import { array, nonEmptyString, optionalJsonObject, optionalString, optionalStringArray } from './read.js';
import type { Obj } from './read.js';

// Fields that 1.0 and 0.3 spell the same way; only their parts differ, so each
// codec passes its own part decoder.

/** Reads a message's optional fields into `message`; empty lists are left out. */
export function readMessageExtras(o: Obj, path: string, message: Message): Message {
  const contextId = optionalString(o.contextId, `${path}.contextId`);
  if (contextId) message.contextId = contextId;
  const taskId = optionalString(o.taskId, `${path}.taskId`);
  if (taskId) message.taskId = taskId;
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  if (metadata !== undefined) message.metadata = metadata;
  const extensions = optionalStringArray(o.extensions, `${path}.extensions`);
  if (extensions !== undefined && extensions.length > 0) message.extensions = extensions;
  const refs = optionalStringArray(o.referenceTaskIds, `${path}.referenceTaskIds`);
  if (refs !== undefined && refs.length > 0) message.referenceTaskIds = refs;
  return message;
}

export function readArtifact(o: Obj, path: string, decodePart: (value: unknown, path: string) => Part): Artifact {
  const artifact: Artifact = {
    artifactId: nonEmptyString(o.artifactId, `${path}.artifactId`),
    parts: array(o.parts, `${path}.parts`).map((part, i) => decodePart(part, `${path}.parts[${i}]`)),
  };
  const name = optionalString(o.name, `${path}.name`);
  if (name !== undefined) artifact.name = name;
  const description = optionalString(o.description, `${path}.description`);
  if (description !== undefined) artifact.description = description;
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  if (metadata !== undefined) artifact.metadata = metadata;
  const extensions = optionalStringArray(o.extensions, `${path}.extensions`);
  if (extensions !== undefined && extensions.length > 0) artifact.extensions = extensions;
  return artifact;
}
