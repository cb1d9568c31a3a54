import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../../src/protocol/errors.js';
import { parseVersionHeader, resolveMethod, SUPPORTED_VERSIONS } from '../../src/protocol/methods.js';
import type { Operation } from '../../src/protocol/methods.js';
import { v03Codec } from '../../src/protocol/v03/codec.js';
import { v1Codec } from '../../src/protocol/v1/codec.js';

const V1: Record<string, Operation> = {
  SendMessage: 'send',
  SendStreamingMessage: 'stream',
  GetTask: 'get',
  ListTasks: 'list',
  CancelTask: 'cancel',
  SubscribeToTask: 'subscribe',
  CreateTaskPushNotificationConfig: 'push-config-create',
  GetTaskPushNotificationConfig: 'push-config-get',
  ListTaskPushNotificationConfigs: 'push-config-list',
  DeleteTaskPushNotificationConfig: 'push-config-delete',
  GetExtendedAgentCard: 'extended-card',
};

const V03: Record<string, Operation> = {
  'message/send': 'send',
  'message/stream': 'stream',
  'tasks/get': 'get',
  'tasks/cancel': 'cancel',
  'tasks/resubscribe': 'subscribe',
  'tasks/pushNotificationConfig/set': 'push-config-create',
  'tasks/pushNotificationConfig/get': 'push-config-get',
  'tasks/pushNotificationConfig/list': 'push-config-list',
  'tasks/pushNotificationConfig/delete': 'push-config-delete',
  'agent/getAuthenticatedExtendedCard': 'extended-card',
};

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ProtocolError, nothing was thrown');
}

describe('A2A-Version header', () => {
  const accepted: [string, '1.0' | '0.3'][] = [
    ['1.0', '1.0'],
    ['1.0.1', '1.0'],
    ['1', '1.0'],
    [' 1.0 ', '1.0'],
    ['0.3', '0.3'],
    ['0.3.0', '0.3'],
    ['0.3.7', '0.3'],
  ];
  for (const [header, version] of accepted) {
    test(`${JSON.stringify(header)} means ${version}`, () => assert.equal(parseVersionHeader(header), version));
  }

  for (const header of [undefined, '', '   ']) {
    test(`${JSON.stringify(header)} means no version asked`, () => assert.equal(parseVersionHeader(header), undefined));
  }

  for (const header of ['99.0', '2.0', 'abc', '0.2', '1.1', '0', 'v1.0', '1.0-beta']) {
    test(`${JSON.stringify(header)} is refused with -32009 naming it`, () => {
      const error = protocolError(() => parseVersionHeader(header));
      assert.equal(error.code, -32009);
      assert.equal(error.reason, 'VERSION_NOT_SUPPORTED');
      assert.equal(error.details.requestedVersion, header);
      assert.equal(error.details.supportedVersions, '1.0,0.3');
      assert.ok(error.message.includes(`"${header}"`), error.message);
    });
  }

  test('a bad version is refused by resolveMethod before the method is looked at', () => {
    assert.equal(protocolError(() => resolveMethod('SendMessage', '2.0')).code, -32009);
    assert.equal(protocolError(() => resolveMethod('no/such', 'abc')).code, -32009);
  });

  test('the agent supports exactly 1.0 and 0.3', () => assert.deepEqual([...SUPPORTED_VERSIONS], ['1.0', '0.3']));
});

describe('method resolution', () => {
  for (const [method, operation] of Object.entries(V1)) {
    test(`${method} with A2A-Version 1.0 -> ${operation} (1.0 codec)`, () => {
      const resolved = resolveMethod(method, '1.0');
      assert.equal(resolved.version, '1.0');
      assert.equal(resolved.operation, operation);
      assert.equal(resolved.codec, v1Codec);
    });
    // Spec 3.6.2: no version (or an empty one) is 0.3, and 0.3 has no such method.
    for (const none of [undefined, '', '  ']) {
      test(`${method} with version ${JSON.stringify(none)} -> -32601 telling the caller to send A2A-Version: 1.0`, () => {
        const error = protocolError(() => resolveMethod(method, none));
        assert.equal(error.code, -32601);
        assert.equal(error.reason, 'METHOD_NOT_FOUND');
        assert.match(error.message, /A2A-Version: 1\.0/);
        assert.deepEqual(error.details, { method, version: '0.3' });
      });
    }
    test(`${method} with A2A-Version 0.3 -> -32601`, () => {
      const error = protocolError(() => resolveMethod(method, '0.3'));
      assert.equal(error.code, -32601);
      assert.deepEqual(error.details, { method, version: '0.3' });
    });
  }

  for (const [method, operation] of Object.entries(V03)) {
    test(`${method} with A2A-Version 0.3 -> ${operation} (0.3 codec)`, () => {
      const resolved = resolveMethod(method, '0.3.0');
      assert.equal(resolved.version, '0.3');
      assert.equal(resolved.operation, operation);
      assert.equal(resolved.codec, v03Codec);
    });
    test(`${method} with an empty header -> 0.3 ${operation}`, () => {
      const resolved = resolveMethod(method, '');
      assert.equal(resolved.version, '0.3');
      assert.equal(resolved.operation, operation);
      assert.equal(resolved.codec, v03Codec);
    });
    test(`${method} with A2A-Version 1.0 -> -32601`, () => {
      const error = protocolError(() => resolveMethod(method, '1.0'));
      assert.equal(error.code, -32601);
      assert.deepEqual(error.details, { method, version: '1.0' });
    });
  }

  for (const method of ['tasks/query', 'sendMessage', 'message/send ', 'SendMessage/', 'rpc.discover']) {
    test(`unknown method ${JSON.stringify(method)} -> -32601 with or without a header`, () => {
      for (const header of [undefined, '1.0', '0.3']) {
        const error = protocolError(() => resolveMethod(method, header));
        assert.equal(error.code, -32601, `header ${String(header)}`);
        assert.equal(error.reason, 'METHOD_NOT_FOUND');
        assert.equal(error.details.method, method);
        assert.ok(error.message.includes(`"${method}"`), error.message);
      }
    });
  }
});
