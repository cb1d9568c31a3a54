import { InvalidParamsError } from '../model/errors.js';
import type { Artifact, BytesPart, JsonObject, Message, Part, Role, UrlPart } from '../model/model.js';
import { array, base64, nonEmptyString, object, optionalJsonObject, optionalString, optionalStringArray, string } from './read.js';
import type { Obj } from './read.js';

// Fields that several versions spell the same way; their parts differ, so each
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

/**
 * What a part's type is named in 0.3 (`kind`) and in the 0.2 drafts (`type`):
 * their parts are otherwise alike (text, a `file` holding bytes or uri, data
 * holding an object).
 */
export type PartTag = 'kind' | 'type';

/** A 0.3 or 0.2 part as a model part. */
export function readTaggedPart(value: unknown, path: string, tag: PartTag): Part {
  const o = object(value, path);
  const type = string(o[tag], `${path}.${tag}`);
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  const common = metadata === undefined ? {} : { metadata };
  switch (type) {
    case 'text':
      return { kind: 'text', text: string(o.text, `${path}.text`), ...common };
    case 'data':
      return { kind: 'data', data: object(o.data, `${path}.data`) as JsonObject, ...common };
    case 'file':
      return readFileContent(object(o.file, `${path}.file`), `${path}.file`, common);
    default:
      throw new InvalidParamsError(`${path}.${tag} must be text, file or data, got "${type}"`, `${path}.${tag}`);
  }
}

function readFileContent(file: Obj, path: string, common: { metadata?: JsonObject }): BytesPart | UrlPart {
  const fileCommon = {
    ...common,
    ...(file.mimeType != null ? { mediaType: string(file.mimeType, `${path}.mimeType`) } : {}),
    ...(file.name != null ? { filename: string(file.name, `${path}.name`) } : {}),
  };
  if (file.bytes !== undefined && file.uri !== undefined) throw new InvalidParamsError(`${path} must have bytes or uri, not both`, path);
  if (file.bytes !== undefined) return { kind: 'bytes', bytes: base64(file.bytes, `${path}.bytes`), ...fileCommon };
  if (file.uri !== undefined) return { kind: 'url', url: nonEmptyString(file.uri, `${path}.uri`), ...fileCommon };
  throw new InvalidParamsError(`${path} must have bytes or uri`, path);
}

/** A model part as 0.3 or 0.2 writes it. */
export function writeTaggedPart(part: Part, tag: PartTag): Obj {
  const out: Obj = (() => {
    switch (part.kind) {
      case 'text':
        return { [tag]: 'text', text: part.text };
      case 'data':
        // Their data parts hold an object; a bare value travels wrapped.
        return { [tag]: 'data', data: typeof part.data === 'object' && part.data !== null && !Array.isArray(part.data) ? part.data : { value: part.data } };
      case 'bytes':
      case 'url': {
        const file: Obj = part.kind === 'bytes' ? { bytes: part.bytes } : { uri: part.url };
        if (part.mediaType !== undefined) file.mimeType = part.mediaType;
        if (part.filename !== undefined) file.name = part.filename;
        return { [tag]: 'file', file };
      }
    }
  })();
  if (part.metadata !== undefined) out.metadata = part.metadata;
  return out;
}

const ROLES: ReadonlySet<string> = new Set(['user', 'agent']);

/** A 0.3 or 0.2 message's role and its parts (at least one), the fields every message has. */
export function readRoleAndParts(o: Obj, path: string, tag: PartTag): { role: Role; parts: Part[] } {
  const role = string(o.role, `${path}.role`);
  if (!ROLES.has(role)) throw new InvalidParamsError(`${path}.role must be user or agent, got "${role}"`, `${path}.role`);
  const parts = array(o.parts, `${path}.parts`);
  if (parts.length === 0) throw new InvalidParamsError(`${path}.parts must contain at least one part`, `${path}.parts`);
  return { role: role as Role, parts: parts.map((part, i) => readTaggedPart(part, `${path}.parts[${i}]`, tag)) };
}
