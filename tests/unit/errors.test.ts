import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as domainErrors from '../../src/model/errors.js';
import {
  ConcurrentUpdateError,
  ContentTypeNotSupportedError,
  DomainError,
  ExtendedAgentCardNotConfiguredError,
  InvalidParamsError,
  InvalidStateTransitionError,
  LimitExceededError,
  PushNotificationNotSupportedError,
  SkillNotAllowedError,
  UnauthenticatedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnavailableError,
  OwnerUnavailableError,
  StoreFullError,
  UnknownSkillError,
  UnsupportedOperationError,
} from '../../src/model/errors.js';
import { ERROR_DOMAIN, errorDetails, jsonRpcError, ProtocolError, protocolErrors, toWireError } from '../../src/protocol/errors.js';
import type { WireError } from '../../src/protocol/errors.js';

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

interface Expected {
  error: DomainError;
  code: number;
  httpStatus: number;
  reason: string;
  details: Record<string, string>;
  field?: string;
  retryAfterSeconds?: number;
}

// Codes and HTTP statuses from the A2A 1.0 error mapping table (JSON-RPC code, HTTP+JSON status).
const DOMAIN_CASES: Record<string, Expected> = {
  TaskNotFoundError: { error: new TaskNotFoundError('t-1'), code: -32001, httpStatus: 404, reason: 'TASK_NOT_FOUND', details: { taskId: 't-1' } },
  TaskNotCancelableError: {
    error: new TaskNotCancelableError('t-2', 'completed'),
    code: -32002,
    httpStatus: 400,
    reason: 'TASK_NOT_CANCELABLE',
    details: { taskId: 't-2', state: 'completed' },
  },
  PushNotificationNotSupportedError: {
    error: new PushNotificationNotSupportedError(),
    code: -32003,
    httpStatus: 400,
    reason: 'PUSH_NOTIFICATION_NOT_SUPPORTED',
    details: {},
  },
  UnsupportedOperationError: {
    error: new UnsupportedOperationError('task t-3 is completed', { taskId: 't-3', state: 'completed' }),
    code: -32004,
    httpStatus: 400,
    reason: 'UNSUPPORTED_OPERATION',
    details: { taskId: 't-3', state: 'completed' },
  },
  ContentTypeNotSupportedError: {
    error: new ContentTypeNotSupportedError('image/gif is not accepted', { mediaType: 'image/gif' }),
    code: -32005,
    httpStatus: 400,
    reason: 'CONTENT_TYPE_NOT_SUPPORTED',
    details: { mediaType: 'image/gif' },
  },
  ExtendedAgentCardNotConfiguredError: {
    error: new ExtendedAgentCardNotConfiguredError(),
    code: -32007,
    httpStatus: 400,
    reason: 'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
    details: {},
  },
  InvalidParamsError: {
    error: new InvalidParamsError('params.message.parts[1].text must be a string, got a number', 'params.message.parts[1].text'),
    code: -32602,
    httpStatus: 400,
    reason: 'INVALID_PARAMS',
    details: { field: 'params.message.parts[1].text' },
    field: 'params.message.parts[1].text',
  },
  // The skill is chosen by params.message.metadata.skill: the same path
  // convention the codecs use for every other invalid field.
  UnknownSkillError: {
    error: new UnknownSkillError('nope', ['echo', 'conformance']),
    code: -32602,
    httpStatus: 400,
    reason: 'UNKNOWN_SKILL',
    details: { skill: 'nope' },
    field: 'params.message.metadata.skill',
  },
  InvalidStateTransitionError: {
    error: new InvalidStateTransitionError('t-4', 'completed', 'working'),
    code: -32004,
    httpStatus: 400,
    reason: 'INVALID_STATE_TRANSITION',
    details: { taskId: 't-4', from: 'completed', to: 'working' },
  },
  UnavailableError: {
    error: new UnavailableError('the agent is draining', 7),
    code: -32050,
    httpStatus: 503,
    reason: 'UNAVAILABLE',
    details: { retryAfterSeconds: '7' },
    retryAfterSeconds: 7,
  },
  OwnerUnavailableError: {
    error: new OwnerUnavailableError('kagent-2.t-6', 'kagent-2', 'ECONNREFUSED', 5),
    code: -32050,
    httpStatus: 503,
    reason: 'OWNER_UNAVAILABLE',
    details: { taskId: 'kagent-2.t-6', owner: 'kagent-2', retryAfterSeconds: '5' },
    retryAfterSeconds: 5,
  },
  StoreFullError: {
    error: new StoreFullError('database or disk is full', 10),
    code: -32050,
    httpStatus: 503,
    reason: 'STORE_FULL',
    details: { retryAfterSeconds: '10' },
    retryAfterSeconds: 10,
  },
  ConcurrentUpdateError: {
    error: new ConcurrentUpdateError('t-5'),
    code: -32050,
    httpStatus: 503,
    reason: 'CONCURRENT_UPDATE',
    details: { taskId: 't-5' },
    retryAfterSeconds: 1,
  },
  // Authentication and per-caller refusals: implementation-defined codes, and the HTTP status the spec's examples name.
  UnauthenticatedError: {
    error: new UnauthenticatedError('the credential was not accepted', 'invalid_token'),
    code: -32051,
    httpStatus: 401,
    reason: 'UNAUTHENTICATED',
    details: {},
  },
  SkillNotAllowedError: {
    error: new SkillNotAllowedError('cluster-inspect', ['kagent:cluster-read']),
    code: -32052,
    httpStatus: 403,
    reason: 'SKILL_NOT_ALLOWED',
    details: { skill: 'cluster-inspect', requiredScopes: 'kagent:cluster-read' },
  },
  LimitExceededError: {
    error: new LimitExceededError('RATE_LIMITED', 'too many requests', 3),
    code: -32053,
    httpStatus: 429,
    reason: 'RATE_LIMITED',
    details: { retryAfterSeconds: '3' },
    retryAfterSeconds: 3,
  },
};

function expectedDetails(wire: Pick<Expected, 'reason' | 'details' | 'field' | 'retryAfterSeconds'>, message: string): object[] {
  const out: object[] = [{ '@type': ERROR_INFO, reason: wire.reason, domain: 'a2a-protocol.org', metadata: wire.details }];
  if (wire.field !== undefined) out.push({ '@type': BAD_REQUEST, fieldViolations: [{ field: wire.field, description: message }] });
  if (wire.retryAfterSeconds !== undefined) out.push({ '@type': RETRY_INFO, retryDelay: `${wire.retryAfterSeconds}s` });
  return out;
}

describe('domain errors become wire errors', () => {
  test('every domain error class exported by the model has a case here', () => {
    const classes = Object.entries(domainErrors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof DomainError)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(classes, Object.keys(DOMAIN_CASES).sort());
  });

  for (const [name, expected] of Object.entries(DOMAIN_CASES)) {
    test(`${name} -> ${expected.code} / HTTP ${expected.httpStatus} / ${expected.reason}`, () => {
      const wire = toWireError(expected.error);
      const want: WireError = {
        code: expected.code,
        httpStatus: expected.httpStatus,
        message: expected.error.message,
        reason: expected.reason,
        details: expected.details,
      };
      if (expected.field !== undefined) want.field = expected.field;
      if (expected.retryAfterSeconds !== undefined) want.retryAfterSeconds = expected.retryAfterSeconds;
      assert.deepEqual(wire, want);
      assert.deepEqual(errorDetails(wire), expectedDetails(expected, expected.error.message));
    });
  }

  test('the domain message reaches the caller', () => {
    assert.equal(toWireError(new TaskNotFoundError('abc')).message, 'task abc not found');
    assert.match(toWireError(new UnknownSkillError('x', ['echo'])).message, /offers: echo/);
  });
});

describe('error details', () => {
  test('ErrorInfo comes first and uses the A2A domain', () => {
    assert.equal(ERROR_DOMAIN, 'a2a-protocol.org');
    const [info] = errorDetails(toWireError(new TaskNotFoundError('t'))) as Record<string, unknown>[];
    assert.deepEqual(info, { '@type': ERROR_INFO, reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org', metadata: { taskId: 't' } });
  });

  test('only validation errors carry BadRequest, only retryable ones RetryInfo', () => {
    const types = (error: unknown) => errorDetails(toWireError(error)).map((d) => (d as { '@type': string })['@type']);
    assert.deepEqual(types(new TaskNotFoundError('t')), [ERROR_INFO]);
    assert.deepEqual(types(new InvalidParamsError('bad', 'params.id')), [ERROR_INFO, BAD_REQUEST]);
    assert.deepEqual(types(new UnavailableError('draining', 3)), [ERROR_INFO, RETRY_INFO]);
    assert.deepEqual(types(protocolErrors.parse('x')), [ERROR_INFO]);
  });

  test('BadRequest names the field and repeats the message', () => {
    const wire = toWireError(new InvalidParamsError('params.pageSize must be between 1 and 100, got 0', 'params.pageSize'));
    assert.deepEqual(errorDetails(wire)[1], {
      '@type': BAD_REQUEST,
      fieldViolations: [{ field: 'params.pageSize', description: 'params.pageSize must be between 1 and 100, got 0' }],
    });
  });

  test('RetryInfo gives the delay in seconds', () => {
    assert.deepEqual(errorDetails(toWireError(new UnavailableError('draining', 30)))[1], { '@type': RETRY_INFO, retryDelay: '30s' });
  });

  test('jsonRpcError is code, message and the details as data', () => {
    const wire = toWireError(new InvalidParamsError('bad id', 'params.id'));
    assert.deepEqual(jsonRpcError(wire), { code: -32602, message: 'bad id', data: errorDetails(wire) });
  });
});

describe('protocol errors', () => {
  const cases: [string, ProtocolError, number, number, string, Record<string, string>][] = [
    ['parse', protocolErrors.parse('Unexpected token'), -32700, 400, 'PARSE_ERROR', {}],
    ['invalidRequest', protocolErrors.invalidRequest('"jsonrpc" must be "2.0"'), -32600, 400, 'INVALID_REQUEST', {}],
    ['methodNotFound', protocolErrors.methodNotFound('tasks/list', '0.3'), -32601, 404, 'METHOD_NOT_FOUND', { method: 'tasks/list', version: '0.3' }],
    [
      'versionNotSupported',
      protocolErrors.versionNotSupported('2.0', ['1.0', '0.3']),
      -32009,
      400,
      'VERSION_NOT_SUPPORTED',
      { requestedVersion: '2.0', supportedVersions: '1.0,0.3' },
    ],
    ['contentType', protocolErrors.contentType('text/plain'), -32005, 415, 'CONTENT_TYPE_NOT_SUPPORTED', { contentType: 'text/plain' }],
    ['bodyTooLarge', protocolErrors.bodyTooLarge(2048), -32600, 413, 'PAYLOAD_TOO_LARGE', { limitBytes: '2048' }],
  ];
  for (const [name, error, code, httpStatus, reason, details] of cases) {
    test(`${name} -> ${code} / HTTP ${httpStatus} / ${reason}`, () => {
      assert.ok(error instanceof ProtocolError);
      const wire = toWireError(error);
      assert.deepEqual(wire, { code, httpStatus, message: error.message, reason, details });
      assert.deepEqual(errorDetails(wire), [{ '@type': ERROR_INFO, reason, domain: 'a2a-protocol.org', metadata: details }]);
    });
  }

  test('messages say what was wrong', () => {
    assert.match(protocolErrors.parse('Unexpected token } in JSON').message, /Unexpected token \}/);
    assert.match(protocolErrors.methodNotFound('tasks/list', '0.3').message, /"tasks\/list".*0\.3/);
    assert.match(protocolErrors.versionNotSupported('2.0', ['1.0', '0.3']).message, /"2\.0".*1\.0 and 0\.3/);
    assert.match(protocolErrors.contentType('text/plain').message, /text\/plain/);
    assert.match(protocolErrors.bodyTooLarge(2048).message, /2048 bytes/);
  });
});

describe('anything else is an internal error that leaks nothing', () => {
  const INTERNAL: WireError = { code: -32603, httpStatus: 500, message: 'Internal error', reason: 'INTERNAL', details: {} };

  class UnmappedError extends DomainError {
    readonly reason = 'SECRET_REASON';
  }

  const thrown: [string, unknown][] = [
    ['an Error', new Error('connect ECONNREFUSED postgres://admin:hunter2@db:5432')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'hunter2')")],
    ['a string', 'hunter2'],
    ['undefined', undefined],
    ['null', null],
    ['an object shaped like a wire error', { code: -32001, message: 'hunter2', reason: 'TASK_NOT_FOUND' }],
    ['a domain error nobody mapped', new UnmappedError('hunter2', { secret: 'hunter2' })],
  ];
  for (const [name, value] of thrown) {
    test(name, () => {
      const wire = toWireError(value);
      assert.deepEqual(wire, INTERNAL);
      const data = JSON.stringify(jsonRpcError(wire));
      assert.equal(data.includes('hunter2'), false);
      assert.equal(data.includes('SECRET_REASON'), false);
    });
  }
});
