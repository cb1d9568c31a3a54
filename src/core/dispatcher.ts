import { LimitExceededError, PushNotificationNotSupportedError, UnsupportedOperationError } from '../model/errors.js';
import type { Caller, ListTasksQuery, SendResult, Task, TaskPage } from '../model/model.js';
import type { PushConfig } from '../model/push.js';
import type { ProtocolVersion, PushConfigRef, PushConfigRequest, SendRequest, ServedVersion, TaskQuery } from '../protocol/codec.js';
import type { Operation } from '../protocol/methods.js';
import type { PushConfigs } from '../push/push-configs.js';
import { isAgentTaskId } from '../model/task-alias.js';
import { aliasOf, namedById, taskIdElsewhere } from './alias-lookup.js';
import { listAcrossPods } from './cluster-list.js';
import type { KeyedSlots } from './keyed-slots.js';
import type { TaskService } from './task-service.js';
import type { TaskStream } from './task-stream.js';
import type { StoredPushConfig } from '../store/push-store.js';
import { withFields } from '../model/with-fields.js';

// The one place an A2A operation is carried out, whatever binding brought it
// (JSON-RPC, HTTP+JSON, gRPC): an operation with its params already decoded
// into the version-free model, and the caller auth named, in; a result or a
// stream of events out. No request, no response, no header: each binding
// decodes, calls `dispatch`, and writes the answer in its own framing.

/** SubscribeToTask's params. */
export interface SubscribeQuery {
  id: string;
  /** The id may be a name the caller gave its task (A2A 0.2), to be resolved to ours. */
  mayBeAlias?: boolean;
  /** Resume after this event version of the task (a stream's `Last-Event-ID`); absent: from the task as it is now. */
  afterVersion?: number;
}

/** The push-config operations that name a config (or, listing, all of a task's). */
export type PushConfigRefOperation = Exclude<Extract<Operation, `push-config-${string}`>, 'push-config-create'>;

/** One operation and its decoded params. */
export type A2aRequest =
  /** `version`: the one the caller speaks, the shape a push config the send carries is delivered in (absent: 1.0). */
  | { operation: 'send'; send: SendRequest; version?: ServedVersion }
  | { operation: 'stream'; send: SendRequest; version?: ServedVersion }
  | { operation: 'get'; query: TaskQuery }
  | { operation: 'list'; query: ListTasksQuery }
  | { operation: 'cancel'; query: TaskQuery }
  | { operation: 'subscribe'; query: SubscribeQuery }
  /** `version`: as for a send, the shape the config's deliveries take. */
  | { operation: 'push-config-create'; create: PushConfigRequest; version?: ServedVersion }
  | { operation: PushConfigRefOperation; ref: PushConfigRef }
  /** The extended card is a wire document: it is built in the version the caller speaks. */
  | { operation: 'extended-card'; version: ProtocolVersion };

/** What an operation answers; the binding encodes it. `via`: the replica that carried it out, when that was another one. */
export type A2aResult = (
  /** SendMessage: the task, or the agent's lone message. */
  | { kind: 'sent'; result: SendResult }
  /** GetTask, CancelTask. */
  | { kind: 'task'; task: Task }
  /** ListTasks. `missingReplicas`: pods that did not answer, whose tasks are not in the page (empty: none missing). */
  | { kind: 'page'; page: TaskPage; includeArtifacts: boolean; missingReplicas: readonly string[] }
  /**
   * SendStreamingMessage, SubscribeToTask: events until the stream ends. A
   * binding writes each item through `streamItemWithHistoryLimit(item,
   * historyLength)` and closes the stream when its caller goes away.
   */
  | { kind: 'stream'; stream: TaskStream; historyLength?: number }
  /** GetExtendedAgentCard: the card, already in the version asked. */
  | { kind: 'card'; card: unknown }
  /** Create and GetTaskPushNotificationConfig: the config, without its credentials. */
  | { kind: 'push-config'; taskId: string; config: PushConfig }
  /** ListTaskPushNotificationConfigs, without credentials. */
  | { kind: 'push-configs'; taskId: string; configs: readonly PushConfig[] }
  /** DeleteTaskPushNotificationConfig. */
  | { kind: 'push-config-deleted' }
) & { via?: string };

/** What a binding knows about the call beyond its params; never credentials. */
export interface CallContext {
  /** Another replica relayed this call here: it is served from this pod's own tasks and never routed on. */
  forwarded?: boolean;
  /** ListTasks: every replica's tasks or a retryable error, rather than a partial list. */
  requireAllReplicas?: boolean;
  /**
   * What the caller said that an owner replica must hear too, by lowercase
   * header (or metadata) name: extensions, request id, trace context. Never credentials.
   */
  passOn?: Readonly<Record<string, string>>;
  /** Fires when the caller has gone away: a call relayed for it stops. */
  signal?: AbortSignal;
  /** A call to every replica on the caller's behalf (a listing, an alias lookup): not counted as a relayed call. */
  fanOut?: boolean;
}

/**
 * The replicas of a StatefulSet whose pods each keep their own tasks
 * (per-pod stores): a call about another pod's task is carried out by that
 * pod, and a listing spans them all. Absent with a shared store, where every
 * pod sees every task.
 */
export interface Replicas {
  readonly self: string;
  /** Every replica's pod name, this one included. */
  pods(): readonly string[];
  /** The replica that owns a task, when that is another replica of this StatefulSet; undefined: it is served here (an id naming anything else is simply not found). */
  ownerElsewhere(taskId: string): string | undefined;
  /** Carries the operation out on `pod` for the same caller; fails with the owner's error, or OwnerUnavailable when it does not answer. */
  call(pod: string, caller: Caller, request: A2aRequest, context: CallContext): Promise<A2aResult>;
}

export interface DispatcherOptions {
  service: TaskService;
  /** The extended card for an authenticated caller, in the version asked; absent: the agent offers none. */
  extendedCard?: (caller: Caller, version: ProtocolVersion) => Promise<unknown>;
  /** Caps the streams one caller may have open at once; absent: no cap. */
  streamsPerCaller?: KeyedSlots;
  /** Per-pod stores: the other replicas, which own their tasks. */
  replicas?: Replicas;
  /** The push-config calls and the configs sends carry; absent: push notifications are not supported. */
  push?: PushConfigs;
}

/** Seconds a caller at its stream cap is told to wait: streams end when their tasks do. */
const STREAM_CAP_RETRY_SECONDS = 5;

export class Dispatcher {
  private readonly openStreams = new Set<TaskStream>();

  constructor(private readonly options: DispatcherOptions) {}

  /** Carries out one operation for a caller the binding has authenticated (the anonymous caller when authentication is off). */
  async dispatch(caller: Caller, request: A2aRequest, context: CallContext = {}): Promise<A2aResult> {
    const { replicas, push } = this.options;
    // Refused before routing: no replica of this agent serves push notifications then.
    if (push === undefined && (request.operation === 'send' || request.operation === 'stream')) refusePushConfig(request.send);
    // Owner routing is decided before anything is carried out; a relayed call is served where it arrives.
    if (replicas !== undefined && context.forwarded !== true) {
      if (request.operation === 'list') return this.listEverywhere(replicas, caller, request.query, context);
      // A task named by an alias (A2A 0.2) that another replica holds is named by our id from here on: the id names its owner.
      const alias = aliasOf(request);
      const taskId = alias === undefined ? requestTaskId(request) : await taskIdElsewhere(replicas, this.options.service, caller, alias, context);
      const owner = taskId === undefined ? undefined : replicas.ownerElsewhere(taskId);
      // The owner's 1.0 call names the task by our id: a 0.2 send's id of the task travels as the message's taskId.
      if (owner !== undefined && taskId !== undefined) return this.relay(replicas, owner, caller, namedById(request, taskId), context);
    }
    return this.serve(caller, request, context.forwarded === true);
  }

  /** Ends every open stream cleanly (the response is finished, not cut): part of a graceful stop. */
  closeStreams(): void {
    for (const stream of this.openStreams) stream.close();
  }

  /**
   * Carries the operation out on this pod. `forwarded`: another replica
   * relayed it, and may name the task by its alias (it is asking which
   * replica holds a 0.2 client's task).
   */
  private async serve(caller: Caller, request: A2aRequest, forwarded: boolean): Promise<A2aResult> {
    const { service } = this.options;
    const taskOf = (query: { id: string; mayBeAlias?: boolean }) => service.resolveTaskId(caller, query.id, query.mayBeAlias === true || forwarded);
    switch (request.operation) {
      case 'send': {
        const pushConfig = await this.inlinePushConfig(caller, request);
        return { kind: 'sent', result: await service.sendMessage(caller, request.send.message, withFields(request.send, { pushConfig })) };
      }
      case 'stream': {
        const pushConfig = await this.inlinePushConfig(caller, request);
        const stream = await this.openStream(caller, () => service.sendStreamingMessage(caller, request.send.message, withFields(request.send, { pushConfig })));
        return request.send.historyLength === undefined ? { kind: 'stream', stream } : { kind: 'stream', stream, historyLength: request.send.historyLength };
      }
      case 'get':
        return { kind: 'task', task: await service.getTask(caller, await taskOf(request.query), request.query.historyLength) };
      case 'list': {
        const page = await service.listTasks(caller, request.query);
        return { kind: 'page', page, includeArtifacts: request.query.includeArtifacts, missingReplicas: [] };
      }
      case 'cancel':
        return { kind: 'task', task: await service.cancelTask(caller, await taskOf(request.query)) };
      case 'subscribe': {
        const { query } = request;
        const taskId = await taskOf(query);
        return { kind: 'stream', stream: await this.openStream(caller, () => service.subscribe(caller, taskId, query.afterVersion)) };
      }
      case 'push-config-create': {
        const config = await this.pushConfigs().create(caller, request.create, request.version ?? '1.0');
        return { kind: 'push-config', taskId: request.create.taskId, config };
      }
      case 'push-config-get':
        return { kind: 'push-config', taskId: request.ref.taskId, config: await this.pushConfigs().get(caller, request.ref) };
      case 'push-config-list':
        return { kind: 'push-configs', taskId: request.ref.taskId, configs: await this.pushConfigs().list(caller, request.ref) };
      case 'push-config-delete':
        await this.pushConfigs().delete(caller, request.ref);
        return { kind: 'push-config-deleted' };
      case 'extended-card': {
        const { extendedCard } = this.options;
        // Without authentication the card does not declare extendedAgentCard, and for that case the spec (3.3.4) asks for UnsupportedOperation.
        if (extendedCard === undefined) throw new UnsupportedOperationError('this agent has no extended agent card (capabilities.extendedAgentCard is false)');
        return { kind: 'card', card: await extendedCard(caller, request.version) };
      }
    }
  }

  private pushConfigs(): PushConfigs {
    if (this.options.push === undefined) throw new PushNotificationNotSupportedError();
    return this.options.push;
  }

  /** The push config a send carried, checked (and for a continued task saved) before any work starts; refused when push is off. */
  private async inlinePushConfig(caller: Caller, request: { send: SendRequest; version?: ServedVersion }): Promise<StoredPushConfig | undefined> {
    if (this.options.push === undefined) return refusePushConfig(request.send);
    return this.options.push.forSend(caller, request.send, request.version ?? '1.0');
  }

  private async relay(replicas: Replicas, owner: string, caller: Caller, request: A2aRequest, context: CallContext): Promise<A2aResult> {
    const result = await replicas.call(owner, caller, request, context);
    // The owner holds the caller's stream slot; this pod only passes the events on, and ends them on a graceful stop.
    if (result.kind === 'stream') this.track(result.stream);
    return result;
  }

  /** Every replica's tasks, merged into one page. */
  private async listEverywhere(replicas: Replicas, caller: Caller, query: ListTasksQuery, context: CallContext): Promise<A2aResult> {
    const { service } = this.options;
    const pageOf = async (pod: string): Promise<TaskPage> => {
      if (pod === replicas.self) return service.listTasks(caller, query);
      const answer = await replicas.call(pod, caller, { operation: 'list', query }, { ...context, fanOut: true });
      if (answer.kind !== 'page') throw new Error(`it answered ListTasks with a ${answer.kind}`);
      return answer.page;
    };
    const { page, missing } = await listAcrossPods(replicas.pods(), query, pageOf, context.requireAllReplicas === true);
    return { kind: 'page', page: service.boundPage(page), includeArtifacts: query.includeArtifacts, missingReplicas: missing };
  }

  private track(stream: TaskStream): void {
    this.openStreams.add(stream);
    stream.onClose(() => this.openStreams.delete(stream));
  }

  /** A stream in one of the caller's stream slots, released when it ends; a caller at the cap is refused before any work starts. */
  private async openStream(caller: Caller, open: () => Promise<TaskStream>): Promise<TaskStream> {
    const release = this.streamSlot(caller);
    let stream: TaskStream;
    try {
      stream = await open();
    } catch (error) {
      release();
      throw error;
    }
    this.track(stream);
    stream.onClose(release);
    return stream;
  }

  private streamSlot(caller: Caller): () => void {
    const slots = this.options.streamsPerCaller;
    if (slots === undefined) return () => undefined;
    const release = slots.tryAcquire(`${caller.tenant}\u0000${caller.principal}`);
    if (release === undefined) {
      throw new LimitExceededError(
        'TOO_MANY_STREAMS',
        `this caller already has ${slots.max} streams open, the most allowed at once; close one or retry later`,
        STREAM_CAP_RETRY_SECONDS,
      );
    }
    return release;
  }
}

/** The task a request names, before it is carried out (for logs, spans and routing); a send that starts a task names none yet. */
export function requestTaskId(request: A2aRequest): string | undefined {
  switch (request.operation) {
    case 'send':
    case 'stream': {
      // A 0.2 send names its task by the client's id, which may be one of ours it was given.
      const { message, taskAlias } = request.send;
      return message.taskId ?? (taskAlias !== undefined && isAgentTaskId(taskAlias) ? taskAlias : undefined);
    }
    case 'get':
    case 'cancel':
    case 'subscribe':
      return request.query.id;
    case 'push-config-create':
      return request.create.taskId;
    case 'push-config-get':
    case 'push-config-list':
    case 'push-config-delete':
      return request.ref.taskId;
    default:
      return undefined;
  }
}

/** The task a result is about, once known. */
export function resultTaskId(result: A2aResult): string | undefined {
  switch (result.kind) {
    case 'sent':
      return result.result.kind === 'task' ? result.result.task.id : undefined;
    case 'task':
      return result.task.id;
    case 'stream':
      return result.stream.taskId;
    case 'push-config':
    case 'push-configs':
      return result.taskId;
    default:
      return undefined;
  }
}

/**
 * The card says `pushNotifications: false`, so a send that asks for push
 * notifications is refused before any work starts (spec 3.3.4) rather than run
 * with the config silently dropped: its caller would wait for calls that never come.
 */
function refusePushConfig(request: SendRequest): undefined {
  if (request.pushConfigField === undefined) return undefined;
  throw new PushNotificationNotSupportedError(
    `push notifications are not supported by this agent (its card says pushNotifications: false); send without ${request.pushConfigField} and poll or stream instead`,
  );
}
