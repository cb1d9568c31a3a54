import { randomUUID } from 'node:crypto';
import { InvalidParamsError, PushNotificationNotSupportedError, TaskNotFoundError } from '../model/errors.js';
import type { Caller } from '../model/model.js';
import type { PushConfig, PushConfigInput } from '../model/push.js';
import { redacted } from '../model/push.js';
import type { Codec, PushConfigRef, PushConfigRequest, SendRequest } from '../protocol/codec.js';
import type { Operation } from '../protocol/methods.js';
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

type PushOperation = Extract<Operation, `push-config-${string}`>;

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

  /** Serves one push-config call in the codec's version: params in, the encoded answer out. */
  async call(operation: PushOperation, codec: Codec, params: unknown, caller: Caller): Promise<unknown> {
    this.refuseWhenOff();
    switch (operation) {
      case 'push-config-create': {
        const request = codec.decodePushConfigCreate(params);
        await this.ownTask(caller, request.taskId);
        const config = await this.save(request, codec.version);
        return codec.encodePushConfig(request.taskId, redacted(config));
      }
      case 'push-config-get': {
        const ref = codec.decodePushConfigRef(params);
        await this.ownTask(caller, ref.taskId);
        const stored = await this.options.store.push.pushConfig(ref.taskId, ref.configId);
        if (stored === undefined) throw noSuchConfig(ref);
        return codec.encodePushConfig(ref.taskId, redacted(stored.config));
      }
      case 'push-config-list': {
        const ref = codec.decodePushConfigList(params);
        await this.ownTask(caller, ref.taskId);
        const stored = await this.options.store.push.pushConfigs(ref.taskId);
        return codec.encodePushConfigs(ref.taskId, stored.map((s) => redacted(s.config)));
      }
      case 'push-config-delete': {
        const ref = codec.decodePushConfigRef(params);
        await this.ownTask(caller, ref.taskId);
        if (ref.configId === undefined) throw new InvalidParamsError(`${ref.idPath} is required to delete a push config`, ref.idPath);
        if (!(await this.options.store.push.deletePushConfig(ref.taskId, ref.configId))) throw noSuchConfig(ref);
        return codec.pushConfigDeleted;
      }
    }
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

function noSuchConfig(ref: PushConfigRef): InvalidParamsError {
  return new InvalidParamsError(`task ${ref.taskId} has no push config${ref.configId === undefined ? '' : ` ${ref.configId}`}`, ref.idPath);
}
