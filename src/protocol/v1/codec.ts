import { InvalidParamsError } from '../../model/errors.js';
import { endsStream } from '../../model/lifecycle.js';
import type { Artifact, ListTasksQuery, Message, Part, Role, StreamItem, Task, TaskPage, TaskState, TaskStatus, SendResult } from '../../model/model.js';
import { readArtifact, readMessageExtras } from '../shared-fields.js';
import type { ListingCodec, OutgoingSend, SendRequest, TaskQuery } from '../codec.js';
import { DEFAULT_PAGE_SIZE, MAX_HISTORY_LENGTH, MAX_PAGE_SIZE } from '../codec.js';
import {
  array,
  base64,
  json,
  nonEmptyString,
  optionalBoolean,
  fail,
  optionalJsonObject,
  optionalProtoEnum,
  optionalProtoInteger,
  optionalProtoObject,
  optionalString,
  optionalStringArray,
  optionalTimestamp,
  protoObject,
  string,
} from '../read.js';
import type { Obj } from '../read.js';
import { decodePushConfigV1, v1PushConfigCodec } from './push-config.js';

// A2A 1.0 (ProtoJSON): camelCase fields, SCREAMING_SNAKE enums, oneof by field
// presence (no `kind`), parts as text | raw | url | data.

const STATE_TO_WIRE: Readonly<Record<TaskState, string>> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  'auth-required': 'TASK_STATE_AUTH_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  rejected: 'TASK_STATE_REJECTED',
};
/** The TaskState and Role names by their number in a2a.proto: ProtoJSON parsers take either. */
const STATE_NUMBERS = [
  'TASK_STATE_UNSPECIFIED',
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
] as const;
const ROLE_NUMBERS = ['ROLE_UNSPECIFIED', 'ROLE_USER', 'ROLE_AGENT'] as const;
const STATE_FROM_WIRE = new Map<string, TaskState>(
  Object.entries(STATE_TO_WIRE).map(([state, wire]) => [wire, state as TaskState]),
);
const ROLE_TO_WIRE: Readonly<Record<Role, string>> = { user: 'ROLE_USER', agent: 'ROLE_AGENT' };
const ROLE_FROM_WIRE = new Map<string, Role>([
  ['ROLE_USER', 'user'],
  ['ROLE_AGENT', 'agent'],
]);

// ---- decoding ---------------------------------------------------------------

export function decodePart(value: unknown, path: string): Part {
  const o = protoObject(value, path);
  const common = {
    ...(o.metadata != null ? { metadata: optionalJsonObject(o.metadata, `${path}.metadata`)! } : {}),
    ...(o.mediaType != null ? { mediaType: string(o.mediaType, `${path}.mediaType`) } : {}),
    ...(o.filename != null ? { filename: string(o.filename, `${path}.filename`) } : {}),
  };
  const present = ['text', 'raw', 'url', 'data'].filter((k) => o[k] !== undefined);
  if (present.length !== 1) {
    throw new InvalidParamsError(
      `${path} must have exactly one of text, raw, url or data${present.length > 1 ? `, got ${present.join(' and ')}` : ''}`,
      path,
    );
  }
  if (o.text !== undefined) return { kind: 'text', text: string(o.text, `${path}.text`), ...common };
  if (o.raw !== undefined) return { kind: 'bytes', bytes: base64(o.raw, `${path}.raw`), ...common };
  if (o.url !== undefined) return { kind: 'url', url: nonEmptyString(o.url, `${path}.url`), ...common };
  return { kind: 'data', data: json(o.data), ...common };
}

function decodeParts(value: unknown, path: string): Part[] {
  const items = array(value, path);
  if (items.length === 0) throw new InvalidParamsError(`${path} must contain at least one part`, path);
  return items.map((item, i) => decodePart(item, `${path}[${i}]`));
}

export function decodeMessage(value: unknown, path: string): Message {
  const o = protoObject(value, path);
  const roleWire = optionalProtoEnum(o.role, `${path}.role`, ROLE_NUMBERS) ?? fail(`${path}.role`, 'ROLE_USER or ROLE_AGENT', o.role);
  const role = ROLE_FROM_WIRE.get(roleWire);
  if (role === undefined) throw new InvalidParamsError(`${path}.role must be ROLE_USER or ROLE_AGENT, got "${roleWire}"`, `${path}.role`);
  const message: Message = {
    messageId: nonEmptyString(o.messageId, `${path}.messageId`),
    role,
    parts: decodeParts(o.parts, `${path}.parts`),
  };
  return readMessageExtras(o, path, message);
}

function decodeHistoryLength(o: Obj, path: string): number | undefined {
  return optionalProtoInteger(o.historyLength, path, 0, MAX_HISTORY_LENGTH);
}

function decodeSend(params: unknown): SendRequest {
  const p = protoObject(params, 'params');
  const request: SendRequest = { message: decodeMessage(p.message, 'params.message'), returnImmediately: false };
  const config = optionalProtoObject(p.configuration, 'params.configuration');
  if (config !== undefined) {
    request.returnImmediately = optionalBoolean(config.returnImmediately, 'params.configuration.returnImmediately') ?? false;
    const historyLength = decodeHistoryLength(config, 'params.configuration.historyLength');
    if (historyLength !== undefined) request.historyLength = historyLength;
    const modes = optionalStringArray(config.acceptedOutputModes, 'params.configuration.acceptedOutputModes');
    if (modes !== undefined && modes.length > 0) request.acceptedOutputModes = modes;
    if (config.taskPushNotificationConfig != null) {
      request.pushConfigField = 'params.configuration.taskPushNotificationConfig';
      request.pushConfig = decodePushConfigV1(config.taskPushNotificationConfig, request.pushConfigField);
    }
  }
  return request;
}

function decodeTaskQuery(params: unknown): TaskQuery {
  const p = protoObject(params, 'params');
  const query: TaskQuery = { id: nonEmptyString(p.id, 'params.id') };
  const historyLength = decodeHistoryLength(p, 'params.historyLength');
  if (historyLength !== undefined) query.historyLength = historyLength;
  return query;
}

function decodeListTasks(params: unknown): ListTasksQuery {
  const p = params === undefined || params === null ? {} : protoObject(params, 'params');
  const query: ListTasksQuery = {
    pageSize: optionalProtoInteger(p.pageSize, 'params.pageSize', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE,
    includeArtifacts: optionalBoolean(p.includeArtifacts, 'params.includeArtifacts') ?? false,
  };
  const contextId = optionalString(p.contextId, 'params.contextId');
  if (contextId) query.contextId = contextId;
  const status = optionalProtoEnum(p.status, 'params.status', STATE_NUMBERS);
  if (status !== undefined && status !== '' && status !== 'TASK_STATE_UNSPECIFIED') {
    const state = STATE_FROM_WIRE.get(status);
    if (state === undefined) {
      throw new InvalidParamsError(`params.status must be one of ${[...STATE_FROM_WIRE.keys()].join(', ')}, got "${status}"`, 'params.status');
    }
    query.state = state;
  }
  const pageToken = optionalString(p.pageToken, 'params.pageToken');
  if (pageToken) query.pageToken = pageToken;
  const historyLength = decodeHistoryLength(p, 'params.historyLength');
  if (historyLength !== undefined) query.historyLength = historyLength;
  const after = optionalTimestamp(p.statusTimestampAfter, 'params.statusTimestampAfter');
  if (after !== undefined) query.statusTimestampAfter = after;
  return query;
}

// Responses, for the client side: the same readers, so a peer's malformed
// answer is reported with the path of what was wrong.

function decodeStatus(value: unknown, path: string): TaskStatus {
  const o = protoObject(value, path);
  const wire = optionalProtoEnum(o.state, `${path}.state`, STATE_NUMBERS) ?? fail(`${path}.state`, 'a task state', o.state);
  const state = STATE_FROM_WIRE.get(wire);
  if (state === undefined) throw new InvalidParamsError(`${path}.state is not a task state: "${wire}"`, `${path}.state`);
  const status: TaskStatus = { state, timestamp: optionalString(o.timestamp, `${path}.timestamp`) ?? '' };
  if (o.message != null) status.message = decodeMessage(o.message, `${path}.message`);
  return status;
}

export function decodeArtifact(value: unknown, path: string): Artifact {
  return readArtifact(protoObject(value, path), path, decodePart);
}

export function decodeTask(value: unknown, path: string): Task {
  const o = protoObject(value, path);
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

/** A SendMessageResponse or StreamResponse: exactly one of task, message, statusUpdate, artifactUpdate. */
export function decodeStreamItem(value: unknown, path: string): StreamItem {
  const o = protoObject(value, path);
  if (o.task != null) return { kind: 'task', task: decodeTask(o.task, `${path}.task`) };
  if (o.message != null) return { kind: 'message', message: decodeMessage(o.message, `${path}.message`) };
  if (o.statusUpdate != null) {
    const e = protoObject(o.statusUpdate, `${path}.statusUpdate`);
    const status = decodeStatus(e.status, `${path}.statusUpdate.status`);
    const metadata = optionalJsonObject(e.metadata, `${path}.statusUpdate.metadata`);
    return {
      kind: 'status-update',
      taskId: nonEmptyString(e.taskId, `${path}.statusUpdate.taskId`),
      contextId: optionalString(e.contextId, `${path}.statusUpdate.contextId`) ?? '',
      status,
      final: endsStream(status.state),
      ...(metadata === undefined ? {} : { metadata }),
    };
  }
  if (o.artifactUpdate != null) {
    const e = protoObject(o.artifactUpdate, `${path}.artifactUpdate`);
    const metadata = optionalJsonObject(e.metadata, `${path}.artifactUpdate.metadata`);
    return {
      ...(metadata === undefined ? {} : { metadata }),
      kind: 'artifact-update',
      taskId: nonEmptyString(e.taskId, `${path}.artifactUpdate.taskId`),
      contextId: optionalString(e.contextId, `${path}.artifactUpdate.contextId`) ?? '',
      artifact: decodeArtifact(e.artifact, `${path}.artifactUpdate.artifact`),
      append: optionalBoolean(e.append, `${path}.artifactUpdate.append`) ?? false,
      lastChunk: optionalBoolean(e.lastChunk, `${path}.artifactUpdate.lastChunk`) ?? false,
    };
  }
  throw new InvalidParamsError(`${path} has none of task, message, statusUpdate, artifactUpdate`, path);
}

// ---- encoding ---------------------------------------------------------------

export function encodePart(part: Part): Obj {
  const out: Obj = {};
  switch (part.kind) {
    case 'text':
      out.text = part.text;
      break;
    case 'bytes':
      out.raw = part.bytes;
      break;
    case 'url':
      out.url = part.url;
      break;
    case 'data':
      out.data = part.data;
      break;
  }
  if (part.mediaType !== undefined) out.mediaType = part.mediaType;
  if (part.filename !== undefined) out.filename = part.filename;
  if (part.metadata !== undefined) out.metadata = part.metadata;
  return out;
}

export function encodeMessage(message: Message): Obj {
  const out: Obj = { messageId: message.messageId, role: ROLE_TO_WIRE[message.role], parts: message.parts.map(encodePart) };
  if (message.contextId !== undefined) out.contextId = message.contextId;
  if (message.taskId !== undefined) out.taskId = message.taskId;
  if (message.metadata !== undefined) out.metadata = message.metadata;
  if (message.extensions !== undefined) out.extensions = message.extensions;
  if (message.referenceTaskIds !== undefined) out.referenceTaskIds = message.referenceTaskIds;
  return out;
}

function encodeStatus(status: TaskStatus): Obj {
  const out: Obj = { state: STATE_TO_WIRE[status.state], timestamp: status.timestamp };
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

function encodeTask(task: Task, includeArtifacts = true): Obj {
  const out: Obj = { id: task.id, contextId: task.contextId, status: encodeStatus(task.status) };
  if (includeArtifacts && task.artifacts.length > 0) out.artifacts = task.artifacts.map(encodeArtifact);
  if (task.history.length > 0) out.history = task.history.map(encodeMessage);
  if (task.metadata !== undefined) out.metadata = task.metadata;
  return out;
}

function encodeStreamItem(item: StreamItem): Obj {
  switch (item.kind) {
    case 'task':
      return { task: encodeTask(item.task) };
    case 'message':
      return { message: encodeMessage(item.message) };
    case 'status-update': {
      const event: Obj = { taskId: item.taskId, contextId: item.contextId, status: encodeStatus(item.status) };
      if (item.metadata !== undefined) event.metadata = item.metadata;
      return { statusUpdate: event };
    }
    case 'artifact-update': {
      const event: Obj = {
        taskId: item.taskId,
        contextId: item.contextId,
        artifact: encodeArtifact(item.artifact),
        append: item.append,
        lastChunk: item.lastChunk,
      };
      if (item.metadata !== undefined) event.metadata = item.metadata;
      return { artifactUpdate: event };
    }
  }
}

// ---- the client's side: requests out, answers in ---------------------------

function encodeSend(request: OutgoingSend): Obj {
  const configuration: Obj = {};
  if (request.returnImmediately === true) configuration.returnImmediately = true;
  if (request.historyLength !== undefined) configuration.historyLength = request.historyLength;
  if (request.acceptedOutputModes !== undefined) configuration.acceptedOutputModes = request.acceptedOutputModes;
  return { message: encodeMessage(request.message), ...(Object.keys(configuration).length > 0 ? { configuration } : {}) };
}

/** ListTasks params for a query (a replica asking another for its own tasks). */
export function encodeListTasks(query: ListTasksQuery): Obj {
  const out: Obj = { pageSize: query.pageSize, includeArtifacts: query.includeArtifacts };
  if (query.contextId !== undefined) out.contextId = query.contextId;
  if (query.state !== undefined) out.status = STATE_TO_WIRE[query.state];
  if (query.pageToken !== undefined) out.pageToken = query.pageToken;
  if (query.historyLength !== undefined) out.historyLength = query.historyLength;
  if (query.statusTimestampAfter !== undefined) out.statusTimestampAfter = new Date(query.statusTimestampAfter).toISOString();
  return out;
}

/** The model's name of a 1.0 wire state name, undefined for anything else. */
export function decodeTaskState(wire: string): TaskState | undefined {
  return STATE_FROM_WIRE.get(wire);
}

/** A ListTasksResponse; a peer that leaves out empty fields is read as sending their defaults. */
function decodeTaskPage(value: unknown, path: string): TaskPage {
  const o = protoObject(value, path);
  const tasks = o.tasks == null ? [] : array(o.tasks, `${path}.tasks`).map((t, i) => decodeTask(t, `${path}.tasks[${i}]`));
  return {
    tasks,
    nextPageToken: optionalString(o.nextPageToken, `${path}.nextPageToken`) ?? '',
    pageSize: optionalProtoInteger(o.pageSize, `${path}.pageSize`, 0, Number.MAX_SAFE_INTEGER) ?? tasks.length,
    totalSize: optionalProtoInteger(o.totalSize, `${path}.totalSize`, 0, Number.MAX_SAFE_INTEGER) ?? tasks.length,
  };
}

export const v1Codec: ListingCodec = {
  ...v1PushConfigCodec,
  version: '1.0',
  encodeSend,
  decodeTask,
  decodeStreamItem,
  encodeTaskState: (state: TaskState) => STATE_TO_WIRE[state],
  decodeTaskPage,
  decodeSend,
  decodeTaskQuery,
  decodeListTasks,
  encodeSendResult: (result: SendResult) =>
    result.kind === 'message' ? { message: encodeMessage(result.message) } : { task: encodeTask(result.task) },
  encodeTask: (task) => encodeTask(task),
  encodeStreamItem,
  encodeTaskPage: (page: TaskPage, includeArtifacts: boolean) => ({
    tasks: page.tasks.map((task) => {
      const out = encodeTask(task, includeArtifacts);
      if (includeArtifacts && out.artifacts === undefined) out.artifacts = [];
      return out;
    }),
    nextPageToken: page.nextPageToken,
    pageSize: page.pageSize,
    totalSize: page.totalSize,
  }),
};
