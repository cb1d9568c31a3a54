import { PushNotificationNotSupportedError } from '../../model/errors.js';
import type { PushConfigCodec } from '../codec.js';

// The 0.2 drafts' push-config calls (tasks/pushNotification/set and get) name
// the task by the client's own id; they are refused rather than half-served:
// a 0.2 client that wants callbacks sends A2A-Version: 0.3 or 1.0.

function refuse(): never {
  throw new PushNotificationNotSupportedError(
    'push notifications are served to A2A 0.3 and 1.0 callers only; send A2A-Version: 0.3 (tasks/pushNotificationConfig/set) or 1.0 (CreateTaskPushNotificationConfig)',
  );
}

export const v02PushConfigCodec: PushConfigCodec = {
  decodePushConfigCreate: refuse,
  decodePushConfigRef: refuse,
  decodePushConfigList: refuse,
  encodePushConfig: refuse,
  encodePushConfigs: refuse,
  pushConfigDeleted: null,
};
