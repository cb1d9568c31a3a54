// The version-free internal model. Protocol codecs translate the wire shapes of
// A2A 1.0 and 0.3 to and from these types; nothing below the protocol layer
// knows which version a caller speaks.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const TASK_STATES = [
  'submitted',
  'working',
  'input-required',
  'auth-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export type Role = 'user' | 'agent';

interface PartCommon {
  metadata?: JsonObject;
  mediaType?: string;
  filename?: string;
}

export interface TextPart extends PartCommon {
  kind: 'text';
  text: string;
}
/** File content carried inline, base64-encoded. */
export interface BytesPart extends PartCommon {
  kind: 'bytes';
  bytes: string;
}
/** File content referenced by URL. */
export interface UrlPart extends PartCommon {
  kind: 'url';
  url: string;
}
export interface DataPart extends PartCommon {
  kind: 'data';
  data: JsonValue;
}
export type Part = TextPart | BytesPart | UrlPart | DataPart;

export interface Message {
  messageId: string;
  role: Role;
  parts: Part[];
  contextId?: string;
  taskId?: string;
  metadata?: JsonObject;
  extensions?: string[];
  referenceTaskIds?: string[];
}

export interface TaskStatus {
  state: TaskState;
  message?: Message;
  /** ISO 8601, UTC, millisecond precision. */
  timestamp: string;
}

export interface Artifact {
  artifactId: string;
  name?: string;
  description?: string;
  parts: Part[];
  metadata?: JsonObject;
  extensions?: string[];
}

export interface Task {
  id: string;
  contextId: string;
  status: TaskStatus;
  artifacts: Artifact[];
  history: Message[];
  metadata?: JsonObject;
}

export interface StatusUpdateEvent {
  kind: 'status-update';
  taskId: string;
  contextId: string;
  status: TaskStatus;
  /** True when the stream for this task ends with this event (terminal or interrupted state). */
  final: boolean;
  metadata?: JsonObject;
}

export interface ArtifactUpdateEvent {
  kind: 'artifact-update';
  taskId: string;
  contextId: string;
  artifact: Artifact;
  append: boolean;
  lastChunk: boolean;
  metadata?: JsonObject;
}

export type TaskEvent = StatusUpdateEvent | ArtifactUpdateEvent;

/** An event with the task version it produced: a subscriber that read a snapshot skips what the snapshot holds. */
export interface VersionedEvent {
  event: TaskEvent;
  version: number;
}

/** One item of a response stream: the first is a Task or a lone Message; events follow a Task. */
export type StreamItem = { kind: 'task'; task: Task } | { kind: 'message'; message: Message } | TaskEvent;

/** What a sent message produced: a direct reply, or the task it started or continued. */
export type SendResult = { kind: 'message'; message: Message } | { kind: 'task'; task: Task };

/** Who is asking, as far as the core cares: scoping of stored tasks, and what the credential grants. */
export interface Caller {
  tenant: string;
  principal: string;
  /** Scopes the credential carries (a JWT's `scope`/`scp`); none for API keys and proxy identities. */
  scopes?: readonly string[];
}

export const ANONYMOUS: Caller = Object.freeze({ tenant: '', principal: 'anonymous' });

export interface SendMessageOptions {
  /** Return as soon as the task exists instead of waiting for a terminal or interrupted state. */
  returnImmediately?: boolean;
  historyLength?: number;
  acceptedOutputModes?: string[];
}

export interface ListTasksQuery {
  contextId?: string;
  state?: TaskState;
  pageSize: number;
  pageToken?: string;
  historyLength?: number;
  /** Only tasks whose status timestamp is at or after this instant (ms since epoch). */
  statusTimestampAfter?: number;
  includeArtifacts: boolean;
}

export interface TaskPage {
  tasks: Task[];
  nextPageToken: string;
  pageSize: number;
  totalSize: number;
}
