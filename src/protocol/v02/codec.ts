import { randomUUID } from 'node:crypto';
import { InvalidParamsError } from '../../model/errors.js';
import { endsStream } from '../../model/lifecycle.js';
import type { Artifact, Message, Part, StreamItem, Task, TaskState, TaskStatus, SendResult } from '../../model/model.js';
import { checkAlias } from '../../model/task-alias.js';
import { readArtifact, readRoleAndParts, readTaggedPart, writeTaggedPart } from '../shared-fields.js';
import type { Codec, OutgoingSend, SendRequest, TaskQuery } from '../codec.js';
import { MAX_HISTORY_LENGTH } from '../codec.js';
import { array, nonEmptyString, object, optionalBoolean, optionalInteger, optionalJsonObject, optionalString, string } from '../read.js';
import type { Obj } from '../read.js';
import { v02PushConfigCodec } from './push-config.js';

// The A2A drafts before 0.2.0 settled on message/send (schema v0.1.0, the
// shape "0.2" clients still speak): the client chooses the task id and sends
// it with every call (`tasks/send`, `tasks/get`, …); `sessionId` is the
// context; parts are told apart by `type` (text, file, data); messages carry
// no id; artifacts carry no id but their `index` in the task, and in a stream
// `append` and `lastChunk`; status updates carry `final`; a stream holds
// update events only, never a Task; states are lowercase, with no
// auth-required and no rejected.

/** Our states as the draft names them: it has no auth-required (the client is asked for something) and no rejected (the task failed). */
const WIRE_STATES: Readonly<Record<TaskState, string>> = {
  submitted: 'submitted',
  working: 'working',
  'input-required': 'input-required',
  'auth-required': 'input-required',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
  rejected: 'failed',
};

const READ_STATES: ReadonlySet<string> = new Set(['submitted', 'working', 'input-required', 'completed', 'canceled', 'failed']);

// ---- decoding ---------------------------------------------------------------

export function decodePart(value: unknown, path: string): Part {
  return readTaggedPart(value, path, 'type');
}

/** A draft message has no id: it gets a fresh one, so two sends of the same words are two turns. */
export function decodeMessage(value: unknown, path: string): Message {
  const o = object(value, path);
  const message: Message = { messageId: randomUUID(), ...readRoleAndParts(o, path, 'type') };
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  if (metadata !== undefined) message.metadata = metadata;
  return message;
}

/** The task id the client chose (or one of ours it was given): named in every call. */
function taskName(params: Obj): string {
  return checkAlias(nonEmptyString(params.id, 'params.id'), 'params.id');
}

function decodeSend(params: unknown): SendRequest {
  const p = object(params, 'params');
  const taskAlias = taskName(p);
  const message = decodeMessage(p.message, 'params.message');
  const sessionId = optionalString(p.sessionId, 'params.sessionId');
  if (sessionId) message.contextId = sessionId;
  // tasks/send answers when the task stops (done, or waiting for input), as the draft's agents did.
  const request: SendRequest = { message, returnImmediately: false, taskAlias };
  const historyLength = optionalInteger(p.historyLength, 'params.historyLength', 0, MAX_HISTORY_LENGTH);
  if (historyLength !== undefined) request.historyLength = historyLength;
  if (p.pushNotification != null) request.pushConfigField = 'params.pushNotification';
  return request;
}

function decodeTaskQuery(params: unknown): TaskQuery {
  const p = object(params, 'params');
  const query: TaskQuery = { id: taskName(p), mayBeAlias: true };
  const historyLength = optionalInteger(p.historyLength, 'params.historyLength', 0, MAX_HISTORY_LENGTH);
  if (historyLength !== undefined) query.historyLength = historyLength;
  return query;
}

// Answers, for the client side (and the round-trip tests): a peer's answer in the draft's shapes.

function decodeStatus(value: unknown, path: string): TaskStatus {
  const o = object(value, path);
  const state = string(o.state, `${path}.state`);
  if (!READ_STATES.has(state)) throw new InvalidParamsError(`${path}.state is not a task state this agent knows: "${state}"`, `${path}.state`);
  const status: TaskStatus = { state: state as TaskState, timestamp: optionalString(o.timestamp, `${path}.timestamp`) ?? '' };
  if (o.message != null) status.message = decodeMessage(o.message, `${path}.message`);
  return status;
}

/** A draft artifact has no id: its index in the task stands for one. */
function decodeArtifact(value: unknown, path: string, fallbackIndex: number): Artifact {
  const o = object(value, path);
  const index = optionalInteger(o.index, `${path}.index`, 0, Number.MAX_SAFE_INTEGER) ?? fallbackIndex;
  return readArtifact({ ...o, artifactId: String(index) }, path, decodePart);
}

function decodeTask(value: unknown, path: string): Task {
  const o = object(value, path);
  const task: Task = {
    id: nonEmptyString(o.id, `${path}.id`),
    contextId: optionalString(o.sessionId, `${path}.sessionId`) ?? '',
    status: decodeStatus(o.status, `${path}.status`),
    artifacts: o.artifacts == null ? [] : array(o.artifacts, `${path}.artifacts`).map((a, i) => decodeArtifact(a, `${path}.artifacts[${i}]`, i)),
    history: o.history == null ? [] : array(o.history, `${path}.history`).map((m, i) => decodeMessage(m, `${path}.history[${i}]`)),
  };
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  if (metadata !== undefined) task.metadata = metadata;
  return task;
}

/** A tasks/send answer is a Task; a stream event is a status or an artifact update, told apart by what it carries. */
function decodeStreamItem(value: unknown, path: string): StreamItem {
  const o = object(value, path);
  const taskId = nonEmptyString(o.id, `${path}.id`);
  const metadata = optionalJsonObject(o.metadata, `${path}.metadata`);
  const extra = metadata === undefined ? {} : { metadata };
  if (o.artifact != null) {
    const artifact = object(o.artifact, `${path}.artifact`);
    return {
      kind: 'artifact-update',
      taskId,
      contextId: '',
      artifact: decodeArtifact(artifact, `${path}.artifact`, 0),
      append: optionalBoolean(artifact.append, `${path}.artifact.append`) ?? false,
      lastChunk: optionalBoolean(artifact.lastChunk, `${path}.artifact.lastChunk`) ?? false,
      ...extra,
    };
  }
  // A status update says whether it is the last; a Task never does.
  if (o.final != null) {
    const status = decodeStatus(o.status, `${path}.status`);
    return { kind: 'status-update', taskId, contextId: '', status, final: optionalBoolean(o.final, `${path}.final`) ?? endsStream(status.state), ...extra };
  }
  return { kind: 'task', task: decodeTask(o, path) };
}

// ---- encoding ---------------------------------------------------------------

export function encodePart(part: Part): Obj {
  return writeTaggedPart(part, 'type');
}

export function encodeMessage(message: Message): Obj {
  const out: Obj = { role: message.role, parts: message.parts.map(encodePart) };
  if (message.metadata !== undefined) out.metadata = message.metadata;
  return out;
}

function encodeStatus(status: TaskStatus): Obj {
  const out: Obj = { state: WIRE_STATES[status.state], timestamp: status.timestamp };
  if (status.message !== undefined) out.message = encodeMessage(status.message);
  return out;
}

function encodeArtifact(artifact: Artifact, index: number): Obj {
  const out: Obj = { parts: artifact.parts.map(encodePart), index };
  if (artifact.name !== undefined) out.name = artifact.name;
  if (artifact.description !== undefined) out.description = artifact.description;
  if (artifact.metadata !== undefined) out.metadata = artifact.metadata;
  return out;
}

/**
 * What one request's answers need to know: the name it gave the task (its
 * answers use it, our id stays ours), and the index each artifact has in the
 * task, learned from the task and then in the order new ones appear.
 */
class Naming {
  private readonly indexes = new Map<string, number>();

  constructor(private readonly name: string | undefined) {}

  idOf(taskId: string): string {
    return this.name ?? taskId;
  }

  indexOf(artifactId: string): number {
    let index = this.indexes.get(artifactId);
    if (index === undefined) {
      index = this.indexes.size;
      this.indexes.set(artifactId, index);
    }
    return index;
  }

  task(task: Task): Obj {
    const out: Obj = { id: this.idOf(task.id), sessionId: task.contextId, status: encodeStatus(task.status) };
    if (task.artifacts.length > 0) out.artifacts = task.artifacts.map((a) => encodeArtifact(a, this.indexOf(a.artifactId)));
    if (task.history.length > 0) out.history = task.history.map(encodeMessage);
    if (task.metadata !== undefined) out.metadata = task.metadata;
    return out;
  }

  /** A skill that answers with a lone message: the draft knows only tasks, so it is a task done with that message. */
  directReply(message: Message): Obj {
    const status: TaskStatus = { state: 'completed', message, timestamp: new Date().toISOString() };
    return { id: this.idOf(message.taskId ?? randomUUID()), sessionId: message.contextId ?? '', status: encodeStatus(status) };
  }

  /** A stream holds updates only: the Task it starts with becomes the status it is in (and teaches the artifacts' indexes). */
  streamItem(item: StreamItem): Obj {
    switch (item.kind) {
      case 'task':
        for (const artifact of item.task.artifacts) this.indexOf(artifact.artifactId);
        return { id: this.idOf(item.task.id), status: encodeStatus(item.task.status), final: endsStream(item.task.status.state) };
      case 'message': {
        const task = this.directReply(item.message);
        return { id: task.id, status: task.status, final: true };
      }
      case 'status-update': {
        const event: Obj = { id: this.idOf(item.taskId), status: encodeStatus(item.status), final: item.final };
        if (item.metadata !== undefined) event.metadata = item.metadata;
        return event;
      }
      case 'artifact-update': {
        const artifact = encodeArtifact(item.artifact, this.indexOf(item.artifact.artifactId));
        artifact.append = item.append;
        artifact.lastChunk = item.lastChunk;
        const event: Obj = { id: this.idOf(item.taskId), artifact };
        if (item.metadata !== undefined) event.metadata = item.metadata;
        return event;
      }
    }
  }
}

// ---- the client's side: requests out --------------------------------------

function encodeSend(request: OutgoingSend): Obj {
  const out: Obj = { id: request.taskAlias ?? request.message.taskId ?? randomUUID(), message: encodeMessage(request.message) };
  if (request.message.contextId !== undefined) out.sessionId = request.message.contextId;
  if (request.historyLength !== undefined) out.historyLength = request.historyLength;
  return out;
}

function codecNaming(name: string | undefined): Codec {
  const naming = (): Naming => new Naming(name);
  return {
    version: '0.2',
    ...v02PushConfigCodec,
    encodeSend,
    decodeTask,
    decodeStreamItem,
    decodeSend,
    decodeTaskQuery,
    encodeSendResult: (result: SendResult) => (result.kind === 'message' ? naming().directReply(result.message) : naming().task(result.task)),
    encodeTask: (task) => naming().task(task),
    // One Naming per codec: a stream's artifacts keep the indexes it gave them.
    encodeStreamItem: ((shared: Naming) => (item: StreamItem) => shared.streamItem(item))(naming()),
    encodeTaskState: (state: TaskState) => WIRE_STATES[state],
    forRequest: (params: unknown) => {
      const id = typeof params === 'object' && params !== null ? (params as Obj).id : undefined;
      return codecNaming(typeof id === 'string' && id !== '' ? id : undefined);
    },
  };
}

/** The draft's codec; `forRequest` gives the one that answers a request in the name it gave its task. */
export const v02Codec: Codec = codecNaming(undefined);
