import { randomUUID } from 'node:crypto';
import { InvalidParamsError, PushNotificationNotSupportedError, TaskNotFoundError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import type { PushConfig, PushConfigInput } from '../model/push.js';
import { redacted } from '../model/push.js';
import type { PushConfigRef, PushConfigRequest, SendRequest } from '../protocol/codec.js';
import type { StoredPushConfig } from '../store/push-store.js';
import type { TaskStore } from '../store/task-store.js';

/** Where a webhook URL may point: the egress guard (peers/egress), passed in from above. */
export interface WebhookCheck {
  /** Resolves when the URL may be called; rejects, naming the host and why, when it may not. */
  check(url: string): Promise<URL>;
}

export interface PushConfigsOptions {
  store: TaskStore;
  egress: WebhookCheck;
  /** PUSH_NOTIFICATIONS: false refuses every config, inline or not, with PushNotificationNotSupported. */
  enabled: boolean;
  /** Most configs one task may hold. */
  maxPerTask: number;
}

/**
 * The push-config calls (create, get, list, delete) and the config a send
 * carries, for the caller's own tasks only: another caller's task is not
 * found. Stored configs keep their credentials; what callers read back never does.
 */
export class PushConfigs {
  constructor(private readonly options: PushConfigsOptions) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** CreateTaskPushNotificationConfig: the config saved for the caller's task, as callers may read it back. `version`: the caller's, the shape its deliveries take. */
  async create(caller: Caller, request: PushConfigRequest, version: string): Promise<PushConfig> {
    this.refuseWhenOff();
    await this.ownTask(caller, request.taskId);
    return redacted(await this.save(request, version));
  }

  /** GetTaskPushNotificationConfig: one config of the caller's task (0.3 without an id: its first). */
  async get(caller: Caller, ref: PushConfigRef): Promise<PushConfig> {
    this.refuseWhenOff();
    await this.ownTask(caller, ref.taskId);
    const stored = await this.options.store.push.pushConfig(ref.taskId, ref.configId);
    if (stored === undefined) throw noSuchConfig(ref);
    return redacted(stored.config);
  }

  /** ListTaskPushNotificationConfigs: every config of the caller's task. */
  async list(caller: Caller, ref: PushConfigRef): Promise<PushConfig[]> {
    this.refuseWhenOff();
    await this.ownTask(caller, ref.taskId);
    const stored = await this.options.store.push.pushConfigs(ref.taskId);
    return stored.map((s) => redacted(s.config));
  }

  /**
   * DeleteTaskPushNotificationConfig. Idempotent, as deletes are: a config already gone
   * (a retried delete whose first answer was lost) is deleted, not an error. The task
   * must still be the caller's.
   */
  async delete(caller: Caller, ref: PushConfigRef): Promise<void> {
    this.refuseWhenOff();
    await this.ownTask(caller, ref.taskId);
    if (ref.configId === undefined) throw new InvalidParamsError(`${ref.idPath} is required to delete a push config`, ref.idPath);
    await this.options.store.push.deletePushConfig(ref.taskId, ref.configId);
  }

  /**
   * The config a send carries, checked before any work starts. For a new task
   * it is returned, to be saved with the task (its first event is delivered
   * too); for a continued task it is saved now, before the new turn's events.
   */
  async forSend(caller: Caller, request: SendRequest, version: string): Promise<StoredPushConfig | undefined> {
    if (request.pushConfigField === undefined) return undefined;
    if (!this.options.enabled) {
      throw new PushNotificationNotSupportedError(
        `push notifications are turned off on this agent (its card says pushNotifications: false); send without ${request.pushConfigField} and poll or stream instead`,
      );
    }
    // A version whose codec reads no config (the 0.2 drafts) is refused, never run with the config dropped.
    if (request.pushConfig === undefined) {
      throw new PushNotificationNotSupportedError(`${request.pushConfigField} is not served in this protocol version; send A2A-Version: 0.3 or 1.0 to be called back`);
    }
    const urlPath = `${request.pushConfigField}.url`;
    const taskId = request.message.taskId;
    if (taskId !== undefined) {
      await this.ownTask(caller, taskId);
      await this.save({ taskId, config: request.pushConfig, urlPath }, version);
      return undefined;
    }
    return { config: await this.checked(request.pushConfig, urlPath), version };
  }

  private refuseWhenOff(): void {
    if (!this.options.enabled) throw new PushNotificationNotSupportedError('push notifications are turned off on this agent (PUSH_NOTIFICATIONS=false)');
  }

  private async ownTask(caller: Caller, taskId: string): Promise<void> {
    if ((await this.options.store.getHead(caller, taskId)) === undefined) throw new TaskNotFoundError(taskId);
  }

  private async save(request: PushConfigRequest, version: string): Promise<PushConfig> {
    const config = await this.checked(request.config, request.urlPath);
    const saved = await this.options.store.push.savePushConfig(request.taskId, { config, version }, this.options.maxPerTask);
    if (!saved) {
      throw new InvalidParamsError(
        `task ${request.taskId} already has ${this.options.maxPerTask} push configs, the most allowed (PUSH_MAX_CONFIGS_PER_TASK); delete one or replace it by its id`,
        request.urlPath,
      );
    }
    return config;
  }

  /** The config with its id, once the egress guard admits its URL: a refused webhook is an error now, not a dead letter later. */
  private async checked(input: PushConfigInput, urlPath: string): Promise<PushConfig> {
    try {
      await this.options.egress.check(input.url);
    } catch (error) {
      throw new InvalidParamsError(`${urlPath} is not a webhook this agent may call: ${(error as Error).message}`, urlPath);
    }
    return { ...input, id: input.id ?? randomUUID() };
  }
}

/** A config the task does not have (or, asked for its first, a task without any). */
export function noSuchConfig(ref: PushConfigRef): InvalidParamsError {
  return new InvalidParamsError(`task ${ref.taskId} has no push config${ref.configId === undefined ? '' : ` ${ref.configId}`}`, ref.idPath);
}
