import type { PushAuthentication, PushConfig, PushConfigInput } from '../../model/push.js';
import type { PushConfigCodec, PushConfigRef } from '../codec.js';
import { readPushAuthentication, readPushConfig, readPushConfigId, writePushConfig } from '../push-fields.js';
import { nonEmptyString, optionalProtoObject, protoObject, string } from '../read.js';
import type { Obj } from '../read.js';

// A2A 1.0 push configs: one flat TaskPushNotificationConfig (taskId, id, url,
// token, authentication { scheme, credentials }), in requests and answers.

function readAuthentication(value: unknown, path: string): PushAuthentication | undefined {
  const o = optionalProtoObject(value, path);
  if (o === undefined) return undefined;
  return readPushAuthentication(string(o.scheme, `${path}.scheme`), o.credentials, path);
}

/** A TaskPushNotificationConfig as a send carries it (`configuration.taskPushNotificationConfig`) or a create names it. */
export function decodePushConfigV1(value: unknown, path: string): PushConfigInput {
  const o = protoObject(value, path);
  return readPushConfig(o, path, readAuthentication(o.authentication, `${path}.authentication`));
}

function decodeRef(params: unknown): PushConfigRef {
  const p = protoObject(params, 'params');
  const ref: PushConfigRef = { taskId: nonEmptyString(p.taskId, 'params.taskId'), idPath: 'params.id' };
  const id = readPushConfigId(p.id, 'params.id');
  if (id !== undefined) ref.configId = id;
  return ref;
}

function encode(taskId: string, config: PushConfig): Obj {
  const out: Obj = { taskId, ...writePushConfig(config) };
  if (config.authentication !== undefined) out.authentication = { scheme: config.authentication.scheme };
  return out;
}

/** A config as a caller sends it, credentials included: a replica relaying a caller's config to the task's owner. */
export function encodePushConfigInputV1(config: PushConfigInput): Obj {
  const out: Obj = { url: config.url };
  if (config.id !== undefined) out.id = config.id;
  if (config.token !== undefined) out.token = config.token;
  if (config.authentication !== undefined) out.authentication = { ...config.authentication };
  return out;
}

/** A TaskPushNotificationConfig an owner answered with (its id always set). */
export function decodePushConfigAnswerV1(value: unknown, path: string): PushConfig {
  const config = decodePushConfigV1(value, path);
  return { ...config, id: nonEmptyString(config.id, `${path}.id`) };
}

export const v1PushConfigCodec: PushConfigCodec = {
  decodePushConfigCreate: (params) => {
    const p = protoObject(params, 'params');
    return { taskId: nonEmptyString(p.taskId, 'params.taskId'), config: decodePushConfigV1(p, 'params'), urlPath: 'params.url' };
  },
  decodePushConfigRef: (params) => {
    const ref = decodeRef(params);
    nonEmptyString(ref.configId, 'params.id');
    return ref;
  },
  decodePushConfigList: (params) => ({ taskId: decodeRef(params).taskId, idPath: 'params.id' }),
  encodePushConfig: encode,
  encodePushConfigs: (taskId, configs) => ({ configs: configs.map((config) => encode(taskId, config)) }),
  // google.protobuf.Empty
  pushConfigDeleted: {},
};
