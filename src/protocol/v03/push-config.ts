import type { PushAuthentication, PushConfig, PushConfigInput } from '../../model/push.js';
import type { PushConfigCodec } from '../codec.js';
import { readPushAuthentication, readPushConfig, readPushConfigId, writePushConfig } from '../push-fields.js';
import { nonEmptyString, object, optionalObject, optionalStringArray } from '../read.js';
import type { Obj } from '../read.js';

// A2A 0.3 push configs: a PushNotificationConfig (id, url, token,
// authentication { schemes[], credentials }) wrapped with its taskId as a
// TaskPushNotificationConfig; get, list and delete name the task as `id`.

function readAuthentication(value: unknown, path: string): PushAuthentication | undefined {
  const o = optionalObject(value, path);
  if (o === undefined) return undefined;
  const schemes = optionalStringArray(o.schemes, `${path}.schemes`) ?? [];
  // One Authorization header goes out: the first scheme the caller named is the one we use.
  const scheme = nonEmptyString(schemes[0], `${path}.schemes[0]`);
  return readPushAuthentication(scheme, o.credentials, path);
}

/** A PushNotificationConfig as a send carries it (`configuration.pushNotificationConfig`) or a set wraps it. */
export function decodePushConfigV03(value: unknown, path: string): PushConfigInput {
  const o = object(value, path);
  return readPushConfig(o, path, readAuthentication(o.authentication, `${path}.authentication`));
}

function encode(taskId: string, config: PushConfig): Obj {
  const inner: Obj = writePushConfig(config);
  if (config.authentication !== undefined) inner.authentication = { schemes: [config.authentication.scheme] };
  return { taskId, pushNotificationConfig: inner };
}

export const v03PushConfigCodec: PushConfigCodec = {
  decodePushConfigCreate: (params) => {
    const p = object(params, 'params');
    return {
      taskId: nonEmptyString(p.taskId, 'params.taskId'),
      config: decodePushConfigV03(p.pushNotificationConfig, 'params.pushNotificationConfig'),
      urlPath: 'params.pushNotificationConfig.url',
    };
  },
  decodePushConfigRef: (params) => {
    const p = object(params, 'params');
    const configId = readPushConfigId(p.pushNotificationConfigId, 'params.pushNotificationConfigId');
    // 0.3 get without a config id means the task's one (first) config.
    return { taskId: nonEmptyString(p.id, 'params.id'), idPath: 'params.pushNotificationConfigId', ...(configId === undefined ? {} : { configId }) };
  },
  decodePushConfigList: (params) => ({ taskId: nonEmptyString(object(params, 'params').id, 'params.id'), idPath: 'params.pushNotificationConfigId' }),
  encodePushConfig: encode,
  encodePushConfigs: (taskId, configs) => configs.map((config) => encode(taskId, config)),
  pushConfigDeleted: null,
};
