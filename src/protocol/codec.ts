import type { ListTasksQuery, Message, StreamItem, Task, TaskPage, SendResult } from '../model/model.js';

export type ProtocolVersion = '1.0' | '0.3';

export interface SendRequest {
  message: Message;
  returnImmediately: boolean;
  historyLength?: number;
  acceptedOutputModes?: string[];
}

export interface TaskQuery {
  id: string;
  historyLength?: number;
}

/**
 * One protocol version's wire shapes. Decoders validate and keep only the
 * fields the model knows (unknown fields are dropped, never stored or echoed);
 * encoders write the model in that version's shape.
 */
export interface Codec {
  readonly version: ProtocolVersion;
  decodeSend(params: unknown): SendRequest;
  decodeTaskQuery(params: unknown): TaskQuery;
  encodeSendResult(result: SendResult): unknown;
  encodeTask(task: Task): unknown;
  encodeStreamItem(item: StreamItem): unknown;
}

/** Task listing exists from A2A 1.0 on. */
export interface ListingCodec extends Codec {
  decodeListTasks(params: unknown): ListTasksQuery;
  encodeTaskPage(page: TaskPage, includeArtifacts: boolean): unknown;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/** Larger than any sane history; bounds the integer a caller may send. */
export const MAX_HISTORY_LENGTH = 1_000_000;
