import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redacted } from '../../src/model/push.js';
import { v03Codec } from '../../src/protocol/v03/codec.js';
import { v1Codec } from '../../src/protocol/v1/codec.js';
import { assertThrowsInvalidParams } from '../support/codec-helpers.js';

// Push configs on the wire, both versions: what each decodes to, what each
// writes back (never the credentials), and where a bad field is named.

const message1 = { role: 'ROLE_USER', messageId: 'm', parts: [{ text: 'x' }] };
const message03 = { kind: 'message', role: 'user', messageId: 'm', parts: [{ kind: 'text', text: 'x' }] };

describe('1.0 push configs', () => {
  test('create decodes the flat TaskPushNotificationConfig, snake_case too, and drops what it does not know', () => {
    const decoded = v1Codec.decodePushConfigCreate({
      task_id: 't1',
      id: 'c1',
      url: 'https://hooks.test/a?b=1',
      token: 'tok',
      authentication: { scheme: 'Bearer', credentials: 'secret' },
      tenant: 'ignored',
      extra: true,
    });
    assert.deepEqual(decoded, {
      taskId: 't1',
      config: { id: 'c1', url: 'https://hooks.test/a?b=1', token: 'tok', authentication: { scheme: 'Bearer', credentials: 'secret' } },
      urlPath: 'params.url',
    });
  });

  test('a send carries it as configuration.taskPushNotificationConfig', () => {
    const request = v1Codec.decodeSend({ message: message1, configuration: { taskPushNotificationConfig: { url: 'https://hooks.test/' } } });
    assert.deepEqual(request.pushConfig, { url: 'https://hooks.test/' });
    assertThrowsInvalidParams(
      () => v1Codec.decodeSend({ message: message1, configuration: { taskPushNotificationConfig: { url: 'ftp://hooks.test/' } } }),
      'params.configuration.taskPushNotificationConfig.url',
    );
  });

  test('get and delete need the task and the config id; list the task', () => {
    assert.deepEqual(v1Codec.decodePushConfigRef({ taskId: 't', id: 'c' }), { taskId: 't', configId: 'c', idPath: 'params.id' });
    assertThrowsInvalidParams(() => v1Codec.decodePushConfigRef({ taskId: 't' }), 'params.id');
    assertThrowsInvalidParams(() => v1Codec.decodePushConfigRef({ id: 'c' }), 'params.taskId');
    assert.equal(v1Codec.decodePushConfigList({ taskId: 't', pageSize: 5 }).taskId, 't');
  });

  test('answers carry the scheme and never the credentials', () => {
    const config = redacted({ id: 'c', url: 'https://hooks.test/', token: 'tok', authentication: { scheme: 'Basic', credentials: 'dTpw' } });
    assert.deepEqual(v1Codec.encodePushConfig('t', config), { taskId: 't', id: 'c', url: 'https://hooks.test/', token: 'tok', authentication: { scheme: 'Basic' } });
    assert.deepEqual(v1Codec.encodePushConfigs('t', [config]), { configs: [v1Codec.encodePushConfig('t', config)] });
    assert.deepEqual(v1Codec.pushConfigDeleted, {});
  });
});

describe('0.3 push configs', () => {
  test('set decodes the wrapped PushNotificationConfig; the first of its schemes is the one used', () => {
    const decoded = v03Codec.decodePushConfigCreate({
      taskId: 't1',
      pushNotificationConfig: { url: 'http://hooks.test/x', authentication: { schemes: ['Bearer', 'Basic'], credentials: 'k' } },
    });
    assert.deepEqual(decoded, { taskId: 't1', config: { url: 'http://hooks.test/x', authentication: { scheme: 'Bearer', credentials: 'k' } }, urlPath: 'params.pushNotificationConfig.url' });
    assertThrowsInvalidParams(
      () => v03Codec.decodePushConfigCreate({ taskId: 't', pushNotificationConfig: { url: 'http://hooks.test/', authentication: { schemes: [] } } }),
      'params.pushNotificationConfig.authentication.schemes[0]',
    );
    assertThrowsInvalidParams(() => v03Codec.decodePushConfigCreate({ taskId: 't' }), 'params.pushNotificationConfig');
  });

  test('a send carries it as configuration.pushNotificationConfig', () => {
    const request = v03Codec.decodeSend({ message: message03, configuration: { pushNotificationConfig: { url: 'https://hooks.test/', token: 't' } } });
    assert.deepEqual(request.pushConfig, { url: 'https://hooks.test/', token: 't' });
  });

  test('get, list and delete name the task as id; get may leave out the config id', () => {
    assert.deepEqual(v03Codec.decodePushConfigRef({ id: 't' }), { taskId: 't', idPath: 'params.pushNotificationConfigId' });
    assert.deepEqual(v03Codec.decodePushConfigRef({ id: 't', pushNotificationConfigId: 'c' }), { taskId: 't', configId: 'c', idPath: 'params.pushNotificationConfigId' });
    assertThrowsInvalidParams(() => v03Codec.decodePushConfigRef({ id: 't', pushNotificationConfigId: 'a/b' }), 'params.pushNotificationConfigId');
    assert.equal(v03Codec.decodePushConfigList({ id: 't' }).taskId, 't');
  });

  test('answers are TaskPushNotificationConfig objects with schemes and no credentials', () => {
    const config = redacted({ id: 'c', url: 'https://hooks.test/', authentication: { scheme: 'Bearer', credentials: 'k' } });
    const wire = { taskId: 't', pushNotificationConfig: { id: 'c', url: 'https://hooks.test/', authentication: { schemes: ['Bearer'] } } };
    assert.deepEqual(v03Codec.encodePushConfig('t', config), wire);
    assert.deepEqual(v03Codec.encodePushConfigs('t', [config]), [wire]);
    assert.equal(v03Codec.pushConfigDeleted, null);
  });
});
