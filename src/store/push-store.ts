import type { Caller, StreamItem } from '../model/model.js';
import type { PushConfig } from '../model/push.js';

// What the stores keep for push notifications: each task's configs, and the
// outbox of deliveries, written in the same transaction as the event each one
// carries (see the stores' transition and putArtifact).

/** A config with the protocol version of the caller that created it: its deliveries are written in that version. */
export interface StoredPushConfig {
  config: PushConfig;
  version: string;
}

/** One event to post to one config, claimed by this pod until `leaseMs` runs out. */
export interface Delivery {
  /** The outbox row: increasing in the order the events were written. */
  id: number;
  taskId: string;
  target: StoredPushConfig;
  item: StreamItem;
  /** Attempts so far, this one included. */
  attempts: number;
  /** When the event entered the outbox (ms since the epoch). */
  createdAt: number;
}

/** A delivery given up on: kept until retried or until its task is deleted. */
export interface DeadLetter {
  id: number;
  taskId: string;
  configId: string;
  /** The webhook's origin only: its path and query may carry secrets of the receiver. */
  origin: string;
  attempts: number;
  createdAt: number;
  deadAt: number;
  lastError: string;
}

export interface PushStore {
  /** Saves (or replaces, by id) a task's config; false when the task already has `maxPerTask` others. */
  savePushConfig(taskId: string, stored: StoredPushConfig, maxPerTask: number): Promise<boolean>;
  /** One config of the task; without an id, its first. */
  pushConfig(taskId: string, configId?: string): Promise<StoredPushConfig | undefined>;
  pushConfigs(taskId: string): Promise<StoredPushConfig[]>;
  /** Deletes the config and its pending deliveries; false when there was none. */
  deletePushConfig(taskId: string, configId: string): Promise<boolean>;
  /**
   * Claims up to `limit` due deliveries, each the oldest pending one of its
   * task and config (so each config receives its task's events in order), for
   * `leaseMs`: no other claim returns them until then. Pods sharing a store
   * never claim the same delivery while its lease holds.
   */
  claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]>;
  delivered(id: number): Promise<void>;
  retryLater(id: number, delayMs: number, error: string): Promise<void>;
  deadLetter(id: number, error: string): Promise<void>;
  /** The caller's dead letters, oldest first. */
  deadLetters(caller: Caller, limit: number): Promise<DeadLetter[]>;
  /** Puts the caller's dead letter back in the outbox as a new delivery; false when the caller has no such dead letter. */
  retryDeadLetter(caller: Caller, id: number): Promise<boolean>;
}

/** Longest error text kept with a delivery. */
export const MAX_DELIVERY_ERROR_CHARS = 500;

export function deliveryError(error: string): string {
  return error.length > MAX_DELIVERY_ERROR_CHARS ? `${error.slice(0, MAX_DELIVERY_ERROR_CHARS)}…` : error;
}

export interface OutboxRow {
  n: number | string;
  task_id: string;
  config_id: string;
  payload_json: string;
  attempts: number;
  created_at: number | string;
  config_json: string;
}

export function deliveryOf(row: OutboxRow): Delivery {
  return {
    id: Number(row.n),
    taskId: row.task_id,
    target: JSON.parse(row.config_json) as StoredPushConfig,
    item: JSON.parse(row.payload_json) as StreamItem,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
  };
}

export interface DeadLetterRow {
  n: number | string;
  task_id: string;
  config_id: string;
  attempts: number;
  created_at: number | string;
  dead_at: number | string;
  last_error: string | null;
  config_json: string | null;
}

export function deadLetterOf(row: DeadLetterRow): DeadLetter {
  const url = row.config_json === null ? undefined : (JSON.parse(row.config_json) as StoredPushConfig).config.url;
  return {
    id: Number(row.n),
    taskId: row.task_id,
    configId: row.config_id,
    origin: url === undefined ? '' : new URL(url).origin,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
    deadAt: Number(row.dead_at),
    lastError: row.last_error ?? '',
  };
}
