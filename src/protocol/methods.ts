import { isAgentTaskId, isValidAlias } from '../model/task-alias.js';
import type { Codec, ProtocolVersion, ServedVersion } from './codec.js';
import { protocolErrors } from './errors.js';
import { v02Codec } from './v02/codec.js';
import { v03Codec } from './v03/codec.js';
import { v1Codec } from './v1/codec.js';

export type Operation =
  | 'send'
  | 'stream'
  | 'get'
  | 'list'
  | 'cancel'
  | 'subscribe'
  | 'push-config-create'
  | 'push-config-get'
  | 'push-config-list'
  | 'push-config-delete'
  | 'extended-card';

const V1_METHODS: ReadonlyMap<string, Operation> = new Map([
  ['SendMessage', 'send'],
  ['SendStreamingMessage', 'stream'],
  ['GetTask', 'get'],
  ['ListTasks', 'list'],
  ['CancelTask', 'cancel'],
  ['SubscribeToTask', 'subscribe'],
  ['CreateTaskPushNotificationConfig', 'push-config-create'],
  ['GetTaskPushNotificationConfig', 'push-config-get'],
  ['ListTaskPushNotificationConfigs', 'push-config-list'],
  ['DeleteTaskPushNotificationConfig', 'push-config-delete'],
  ['GetExtendedAgentCard', 'extended-card'],
]);

const V03_METHODS: ReadonlyMap<string, Operation> = new Map([
  ['message/send', 'send'],
  ['message/stream', 'stream'],
  ['tasks/get', 'get'],
  ['tasks/cancel', 'cancel'],
  ['tasks/resubscribe', 'subscribe'],
  ['tasks/pushNotificationConfig/set', 'push-config-create'],
  ['tasks/pushNotificationConfig/get', 'push-config-get'],
  ['tasks/pushNotificationConfig/list', 'push-config-list'],
  ['tasks/pushNotificationConfig/delete', 'push-config-delete'],
  ['agent/getAuthenticatedExtendedCard', 'extended-card'],
]);

// The drafts before 0.2.0, which "0.2" clients speak: never negotiated (they send
// no A2A-Version), recognised by their method names. Three of them live on in 0.3.
const V02_METHODS: ReadonlyMap<string, Operation> = new Map([
  ['tasks/send', 'send'],
  ['tasks/sendSubscribe', 'stream'],
  ['tasks/get', 'get'],
  ['tasks/cancel', 'cancel'],
  ['tasks/resubscribe', 'subscribe'],
  ['tasks/pushNotification/set', 'push-config-create'],
  ['tasks/pushNotification/get', 'push-config-get'],
]);

export const SUPPORTED_VERSIONS: readonly ProtocolVersion[] = ['1.0', '0.3'];

const TABLES: Readonly<Record<ServedVersion, { methods: ReadonlyMap<string, Operation>; codec: Codec }>> = {
  '1.0': { methods: V1_METHODS, codec: v1Codec },
  '0.3': { methods: V03_METHODS, codec: v03Codec },
  '0.2': { methods: V02_METHODS, codec: v02Codec },
};

/** The method name a version gives an operation (undefined: that version lacks it, as 0.3 lacks ListTasks). */
export function methodName(version: ServedVersion, operation: Operation): string | undefined {
  for (const [name, op] of TABLES[version].methods) if (op === operation) return name;
  return undefined;
}

export interface ResolvedMethod {
  version: ServedVersion;
  operation: Operation;
  codec: Codec;
}

/** "1.0", "1.0.1" and "1" all mean 1.0: patch versions take no part in negotiation. */
export function parseVersionHeader(header: string | undefined): ProtocolVersion | undefined {
  const value = header?.trim() ?? '';
  if (value === '') return undefined;
  const match = /^(\d+)(?:\.(\d+))?(?:\.\d+)?$/.exec(value);
  const majorMinor = match === null ? value : `${Number(match[1])}.${Number(match[2] ?? 0)}`;
  if (majorMinor === '1.0' || majorMinor === '0.3') return majorMinor;
  throw protocolErrors.versionNotSupported(value, SUPPORTED_VERSIONS);
}

/**
 * Which version and operation a JSON-RPC call is. The requested A2A-Version
 * decides; none (or an empty one) means 0.3, as the spec requires (3.6.2). A
 * 1.0 method name asked for as 0.3 that way is refused with a hint to send the
 * version, rather than served as 1.0: a client that forgets the header would
 * otherwise get 1.0 semantics it never asked for from this agent and 0.3 from
 * a stricter one.
 *
 * Without a version, the 0.2 drafts' names are served as 0.2. Those that 0.3
 * kept (tasks/get, tasks/cancel, tasks/resubscribe) are told apart by the task
 * id in `params`: only a 0.2 client names a task by an id of its own choosing;
 * an id of this agent's form is a 0.3 call (0.3 answers are what every client
 * that learned our id from a 0.3 or 1.0 answer expects).
 */
export function resolveMethod(method: string, requestedVersion: string | undefined, params?: unknown): ResolvedMethod {
  const requested = parseVersionHeader(requestedVersion);
  if (requested === undefined && V02_METHODS.has(method) && (!V03_METHODS.has(method) || namesClientTask(params))) {
    return { version: '0.2', operation: V02_METHODS.get(method)!, codec: v02Codec };
  }
  const version = requested ?? '0.3';
  const operation = TABLES[version].methods.get(method);
  if (operation !== undefined) return { version, operation, codec: TABLES[version].codec };
  if (requested === undefined && V1_METHODS.has(method)) throw protocolErrors.versionMissing(method);
  throw protocolErrors.methodNotFound(method, version);
}

/** Whether a call's params name a task by an id a 0.2 client may have chosen: not of our form, and valid as an alias. */
function namesClientTask(params: unknown): boolean {
  if (typeof params !== 'object' || params === null) return false;
  const id = (params as Record<string, unknown>).id;
  return typeof id === 'string' && !isAgentTaskId(id) && isValidAlias(id);
}
