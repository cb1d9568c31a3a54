import type { ListTasksQuery, Message, StreamItem, Task, TaskPage, TaskState, SendResult } from '../model/model.js';
import type { PushConfig, PushConfigInput } from '../model/push.js';

/** The versions negotiated by `A2A-Version` (and spoken by our client). */
export type ProtocolVersion = '1.0' | '0.3';
/** Every version served: the negotiated ones and the 0.2 draft, known by its method names alone. */
export type ServedVersion = ProtocolVersion | '0.2';

export interface SendRequest {
  message: Message;
  returnImmediately: boolean;
  historyLength?: number;
  acceptedOutputModes?: string[];
  /** Where the send carried a push-notification config (1.0 `taskPushNotificationConfig`, 0.3 `pushNotificationConfig`), its path. */
  pushConfigField?: string;
  /** The push-notification config the send carried, decoded. */
  pushConfig?: PushConfigInput;
  /** The task id an A2A 0.2 client chose: the alias of the task the send creates or continues. */
  taskAlias?: string;
}

/** A send as a client writes it: a setting left out is the server's default. */
export type OutgoingSend = Omit<SendRequest, 'returnImmediately' | 'pushConfigField' | 'pushConfig'> & { returnImmediately?: boolean };

/** A config to save for a task (CreateTaskPushNotificationConfig, tasks/pushNotificationConfig/set). */
export interface PushConfigRequest {
  taskId: string;
  config: PushConfigInput;
  /** Where the request names the webhook URL, for an error about it. */
  urlPath: string;
}

/** One config of a task (get, delete), or all of them (list: no configId). */
export interface PushConfigRef {
  taskId: string;
  configId?: string;
  /** Where the request names (or would name) the config id, for an error about it. */
  idPath: string;
}

/** The push-config calls of one version, server side: requests in, configs (already without credentials) out. */
export interface PushConfigCodec {
  decodePushConfigCreate(params: unknown): PushConfigRequest;
  decodePushConfigRef(params: unknown): PushConfigRef;
  decodePushConfigList(params: unknown): PushConfigRef;
  encodePushConfig(taskId: string, config: PushConfig): unknown;
  encodePushConfigs(taskId: string, configs: readonly PushConfig[]): unknown;
  /** The answer to a delete. */
  readonly pushConfigDeleted: unknown;
}

export interface TaskQuery {
  id: string;
  historyLength?: number;
  /** The id may be a name the caller gave its task (A2A 0.2), to be resolved to ours. */
  mayBeAlias?: boolean;
}

/**
 * One protocol version's wire shapes, for both sides of a call. Decoders
 * validate and keep only the fields the model knows (unknown fields are
 * dropped, never stored or echoed), naming the path of what is wrong; encoders
 * write the model in that version's shape. The server decodes requests and
 * encodes answers; our A2A client encodes requests and decodes answers.
 */
export interface Codec extends PushConfigCodec {
  readonly version: ServedVersion;
  decodeSend(params: unknown): SendRequest;
  decodeTaskQuery(params: unknown): TaskQuery;
  encodeSendResult(result: SendResult): unknown;
  encodeTask(task: Task): unknown;
  encodeStreamItem(item: StreamItem): unknown;
  /** A task state as this version names it on the wire (in answers and in error details). */
  encodeTaskState(state: TaskState): string;
  /** The params of a send (unary or streaming). */
  encodeSend(request: OutgoingSend): Record<string, unknown>;
  decodeTask(value: unknown, path: string): Task;
  /** A send's answer or one stream event. */
  decodeStreamItem(value: unknown, path: string): StreamItem;
  /**
   * The codec that answers one request, when answers depend on it: A2A 0.2
   * names the task in every answer by the id the request gave, and numbers
   * a stream's artifacts in the order it saw them.
   */
  forRequest?(params: unknown): Codec;
}

/** Task listing exists from A2A 1.0 on. */
export interface ListingCodec extends Codec {
  decodeListTasks(params: unknown): ListTasksQuery;
  encodeTaskPage(page: TaskPage, includeArtifacts: boolean): unknown;
  decodeTaskPage(value: unknown, path: string): TaskPage;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/** Larger than any sane history; bounds the integer a caller may send. */
export const MAX_HISTORY_LENGTH = 1_000_000;
