import { InvalidParamsError } from '../../model/errors.js';
import { endsStream } from '../../model/lifecycle.js';
import type { Artifact, Message, Part, StreamItem, Task, TaskState, TaskStatus, SendResult } from '../../model/model.js';
import { TASK_STATES } from '../../model/model.js';
import { readArtifact, readMessageExtras, readRoleAndParts, readTaggedPart, writeTaggedPart } from '../shared-fields.js';
import type { Codec, OutgoingSend, SendRequest, TaskQuery } from '../codec.js';
import { MAX_HISTORY_LENGTH } from '../codec.js';
import {
  array,
  nonEmptyString,
  object,
  optionalBoolean,
  optionalInteger,
  optionalJsonObject,
  optionalObject,
  optionalString,
  optionalStringArray,
  string,
} from '../read.js';
import type { Obj } from '../read.js';
import { decodePushConfigV03, v03PushConfigCodec } from './push-config.js';

// A2A 0.3: `kind` discriminators on every object, lowercase kebab-case states,
// `file` parts holding bytes or uri, and a `final` flag on status updates.

// ---- decoding ---------------------------------------------------------------

export function decodePart(value: unknown, path: string): Part {
  return readTaggedPart(value, path, 'kind');
}

export function decodeMessage(value: unknown, path: string): Message {
  const o = object(value, path);
  const { role, parts } = readRoleAndParts(o, path, 'kind');
  const message: Message = { messageId: nonEmptyString(o.messageId, `${path}.messageId`), role, parts };
  return readMessageExtras(o, path, message);
}

function decodeSend(params: unknown): SendRequest {
  const p = object(params, 'params');
  const request: SendRequest = { message: decodeMessage(p.message, 'params.message'), returnImmediately: false };
  const config = optionalObject(p.configuration, 'params.configuration');
  if (config !== undefined) {
    // 0.3 spells the execution mode the other way round: blocking, default true.
    request.returnImmediately = optionalBoolean(config.blocking, 'params.configuration.blocking') === false;
    const historyLength = optionalInteger(config.historyLength, 'params.configuration.historyLength', 0, MAX_HISTORY_LENGTH);
    if (historyLength !== undefined) request.historyLength = historyLength;
    const modes = optionalStringArray(config.acceptedOutputModes, 'params.configuration.acceptedOutputModes');
    if (modes !== undefined && modes.length > 0) request.acceptedOutputModes = modes;
    if (config.pushNotificationConfig != null) {
      request.pushConfigField = 'params.configuration.pushNotificationConfig';
      request.pushConfig = decodePushConfigV03(config.pushNotificationConfig, request.pushConfigField);
    }
  }
  return request;
}

function decodeTaskQuery(params: unknown): TaskQuery {
  const p = object(params, 'params');
  const query: TaskQuery = { id: nonEmptyString(p.id, 'params.id') };
  const historyLength = optionalInteger(p.historyLength, 'params.historyLength', 0, MAX_HISTORY_LENGTH);
  if (historyLength !== undefined) query.historyLength = historyLength;
  return query;
}

// Responses, for the client side: a peer's answer in 0.3 shapes, read with the
// same field readers so a malformed answer is reported with its path.

const STATES: ReadonlySet<string> = new Set(TASK_STATES);

function decodeState(value: unknown, path: string): TaskState {
  const state = string(value, path);
  if (!STATES.has(state)) throw new InvalidParamsError(`${path} is not a task state: "${state}"`, path);
  return state as TaskState;
}

function decodeStatus(value: unknown, path: string): TaskStatus {
  const o = object(value, path);
  const status: TaskStatus = { state: decodeState(o.state, `${path}.state`), timestamp: optionalString(o.timestamp, `${path}.timestamp`) ?? '' };
  if (o.message != null) status.message = decodeMessage(o.message, `${path}.message`);
  return status;
}

export function decodeArtifact(value: unknown, path: string): Artifact {
  return readArtifact(object(value, path), path, decodePart);
}

/** A 0.3 Task (`kind` "task", or absent). */
export function decodeTask(value: unknown, path: string): Task {
  const o = object(value, path);
  if (o.kind != null && o.kind !== 'task') throw new InvalidParamsError(`${path}.kind must be "task", got "${String(o.kind)}"`, `${path}.kind`);
  const task: Task = {
    id: nonEmptyString(o.id, `${path}.id`),
    contextId: optionalString(o.contextId, `${path}.contextId`) ?? '',
    status: decodeStatus(o.status, `${path}.status`),
    artifacts: o.artifacts == null ? [] : array(o.artifacts, `${path}.artifacts`).map((a, i) => decodeArtifact(a, `${path}.artifacts[${i}]`)),
    history: o.history == null ? [] : array(o.history, `${path}.history`).map((m, i) => decodeMessage(m, `${path}.history[${i}]`)),
  };
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  if (metadata !== undefined) task.metadata = metadata;
  return task;
}

/** A message/send result or one message/stream event: a Task, Message, or update event, told apart by `kind`. */
export function decodeStreamItem(value: unknown, path: string): StreamItem {
  const o = object(value, path);
  const kind = string(o.kind, `${path}.kind`);
  switch (kind) {
    case 'task':
      return { kind: 'task', task: decodeTask(o, path) };
    case 'message':
      return { kind: 'message', message: decodeMessage(o, path) };
    case 'status-update': {
      const status = decodeStatus(o.status, `${path}.status`);
      const event: StreamItem = {
        kind: 'status-update',
        taskId: nonEmptyString(o.taskId, `${path}.taskId`),
        contextId: optionalString(o.contextId, `${path}.contextId`) ?? '',
        status,
        final: optionalBoolean(o.final, `${path}.final`) ?? endsStream(status.state),
      };
      const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
      if (metadata !== undefined) event.metadata = metadata;
      return event;
    }
    case 'artifact-update': {
      const event: StreamItem = {
        kind: 'artifact-update',
        taskId: nonEmptyString(o.taskId, `${path}.taskId`),
        contextId: optionalString(o.contextId, `${path}.contextId`) ?? '',
        artifact: decodeArtifact(o.artifact, `${path}.artifact`),
        append: optionalBoolean(o.append, `${path}.append`) ?? false,
        lastChunk: optionalBoolean(o.lastChunk, `${path}.lastChunk`) ?? false,
      };
      const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
      if (metadata !== undefined) event.metadata = metadata;
      return event;
    }
    default:
      throw new InvalidParamsError(`${path}.kind must be task, message, status-update or artifact-update, got "${kind}"`, `${path}.kind`);
  }
}

// ---- encoding ---------------------------------------------------------------

export function encodePart(part: Part): Obj {
  return writeTaggedPart(part, 'kind');
}

export function encodeMessage(message: Message): Obj {
  const out: Obj = { kind: 'message', messageId: message.messageId, role: message.role, parts: message.parts.map(encodePart) };
  if (message.contextId !== undefined) out.contextId = message.contextId;
  if (message.taskId !== undefined) out.taskId = message.taskId;
  if (message.metadata !== undefined) out.metadata = message.metadata;
  if (message.extensions !== undefined) out.extensions = message.extensions;
  if (message.referenceTaskIds !== undefined) out.referenceTaskIds = message.referenceTaskIds;
  return out;
}

function encodeStatus(status: TaskStatus): Obj {
  const out: Obj = { state: status.state, timestamp: status.timestamp };
  if (status.message !== undefined) out.message = encodeMessage(status.message);
  return out;
}

export function encodeArtifact(artifact: Artifact): Obj {
  const out: Obj = { artifactId: artifact.artifactId, parts: artifact.parts.map(encodePart) };
  if (artifact.name !== undefined) out.name = artifact.name;
  if (artifact.description !== undefined) out.description = artifact.description;
  if (artifact.metadata !== undefined) out.metadata = artifact.metadata;
  if (artifact.extensions !== undefined) out.extensions = artifact.extensions;
  return out;
}

function encodeTask(task: Task): Obj {
  const out: Obj = { kind: 'task', id: task.id, contextId: task.contextId, status: encodeStatus(task.status) };
  if (task.artifacts.length > 0) out.artifacts = task.artifacts.map(encodeArtifact);
  if (task.history.length > 0) out.history = task.history.map(encodeMessage);
  if (task.metadata !== undefined) out.metadata = task.metadata;
  return out;
}

function encodeStreamItem(item: StreamItem): Obj {
  switch (item.kind) {
    case 'task':
      return encodeTask(item.task);
    case 'message':
      return encodeMessage(item.message);
    case 'status-update': {
      const event: Obj = {
        kind: 'status-update',
        taskId: item.taskId,
        contextId: item.contextId,
        status: encodeStatus(item.status),
        final: item.final,
      };
      if (item.metadata !== undefined) event.metadata = item.metadata;
      return event;
    }
    case 'artifact-update': {
      const event: Obj = {
        kind: 'artifact-update',
        taskId: item.taskId,
        contextId: item.contextId,
        artifact: encodeArtifact(item.artifact),
        append: item.append,
        lastChunk: item.lastChunk,
      };
      if (item.metadata !== undefined) event.metadata = item.metadata;
      return event;
    }
  }
}

// ---- the client's side: requests out, answers in ---------------------------

function encodeSend(request: OutgoingSend): Obj {
  const configuration: Obj = {};
  // 0.3 says it the other way round: blocking, true unless told otherwise.
  if (request.returnImmediately !== undefined) configuration.blocking = !request.returnImmediately;
  if (request.historyLength !== undefined) configuration.historyLength = request.historyLength;
  if (request.acceptedOutputModes !== undefined) configuration.acceptedOutputModes = request.acceptedOutputModes;
  return { message: encodeMessage(request.message), ...(Object.keys(configuration).length > 0 ? { configuration } : {}) };
}

export const v03Codec: Codec = {
  ...v03PushConfigCodec,
  version: '0.3',
  encodeSend,
  decodeTask,
  decodeStreamItem,
  decodeSend,
  decodeTaskQuery,
  encodeSendResult: (result: SendResult) => (result.kind === 'message' ? encodeMessage(result.message) : encodeTask(result.task)),
  encodeTask: (task) => encodeTask(task),
  encodeStreamItem,
  // 0.3 names states as the model does.
  encodeTaskState: (state: TaskState) => state,
};
