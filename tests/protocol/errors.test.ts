import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as domainErrors from '../../src/model/errors.js';
import {
  DomainError,
  InvalidParamsError,
  InvalidStateTransitionError,
  LimitExceededError,
  PushNotificationNotSupportedError,
  SkillNotAllowedError,
  TenantNotAllowedError,
  UnauthenticatedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnavailableError,
  OwnerUnavailableError,
  StoreFullError,
  UnknownSkillError,
  UnsupportedOperationError,
} from '../../src/model/errors.js';
import { AGENT_ERROR_DOMAIN, ERROR_DOMAIN, ERROR_TABLE, errorDetails, fromJsonRpcError, jsonRpcError, ProtocolError, protocolErrors, toWireError, wireCodes } from '../../src/protocol/errors.js';
import type { GrpcStatus, WireError } from '../../src/protocol/errors.js';
import { v03Codec } from '../../src/protocol/v03/codec.js';
import { v1Codec } from '../../src/protocol/v1/codec.js';

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
  TenantNotAllowedError: {
    error: new TenantNotAllowedError('other'),
    code: -32052,
    httpStatus: 403,
    reason: 'TENANT_NOT_ALLOWED',
    details: { tenant: 'other' },
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

// Written out, not read from the table: the reasons A2A (and JSON-RPC 2.0) define carry its domain, ours our own.
const A2A_REASONS = new Set([
  'PARSE_ERROR', 'INVALID_REQUEST', 'METHOD_NOT_FOUND', 'INVALID_PARAMS', 'INTERNAL', 'TASK_NOT_FOUND', 'TASK_NOT_CANCELABLE',
  'PUSH_NOTIFICATION_NOT_SUPPORTED', 'UNSUPPORTED_OPERATION', 'CONTENT_TYPE_NOT_SUPPORTED', 'INVALID_AGENT_RESPONSE',
  'EXTENDED_AGENT_CARD_NOT_CONFIGURED', 'EXTENSION_SUPPORT_REQUIRED', 'VERSION_NOT_SUPPORTED',
]);
const domainOf = (reason: string) => (A2A_REASONS.has(reason) ? 'a2a-protocol.org' : 'kagent.dev');

function expectedDetails(wire: Pick<Expected, 'reason' | 'details' | 'field' | 'retryAfterSeconds'>, message: string): object[] {
  const out: object[] = [{ '@type': ERROR_INFO, reason: wire.reason, domain: domainOf(wire.reason), metadata: wire.details }];
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
  test('every reason of the table has its domain: the A2A one for A2A errors, our own for ours', () => {
    assert.equal(ERROR_DOMAIN, 'a2a-protocol.org');
    assert.equal(AGENT_ERROR_DOMAIN, 'kagent.dev');
    for (const [reason, row] of Object.entries(ERROR_TABLE)) assert.equal(row.domain, domainOf(reason), reason);
    const [info] = errorDetails(toWireError(new LimitExceededError('RATE_LIMITED', 'slow down', 1))) as Record<string, unknown>[];
    assert.equal(info!.domain, 'kagent.dev');
  });

  test('ErrorInfo comes first and uses the A2A domain for an A2A error', () => {
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
    // HTTP's own 415 for a body it cannot read; a JSON-RPC answer stays a 200 with -32005.
    ['contentType', protocolErrors.contentType('text/plain'), -32005, 415, 'CONTENT_TYPE_NOT_SUPPORTED', { contentType: 'text/plain' }],
    ['bodyTooLarge', protocolErrors.bodyTooLarge(2048), -32600, 413, 'PAYLOAD_TOO_LARGE', { limitBytes: '2048' }],
  ];
  for (const [name, error, code, httpStatus, reason, details] of cases) {
    test(`${name} -> ${code} / HTTP ${httpStatus} / ${reason}`, () => {
      assert.ok(error instanceof ProtocolError);
      const wire = toWireError(error);
      assert.deepEqual(wire, { code, httpStatus, message: error.message, reason, details });
      assert.deepEqual(errorDetails(wire), [{ '@type': ERROR_INFO, reason, domain: domainOf(reason), metadata: details }]);
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

describe('the error table', () => {
  const rows = Object.entries(ERROR_TABLE);
  // Every google.rpc.Code name; the table may only use these.
  const GRPC_CODES: ReadonlySet<string> = new Set([
    'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
    'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
  ]);

  test('every reason has a JSON-RPC code, an HTTP error status and a gRPC status', () => {
    for (const [reason, row] of rows) {
      assert.match(reason, /^[A-Z]+(_[A-Z]+)*$/, `${reason} is UPPER_SNAKE_CASE`);
      assert.ok(Number.isInteger(row.jsonRpc) && row.jsonRpc >= -32768 && row.jsonRpc <= -32000, `${reason}: JSON-RPC ${row.jsonRpc} is in the reserved range`);
      assert.ok(Number.isInteger(row.http) && row.http >= 400 && row.http <= 599, `${reason}: HTTP ${row.http} is an error status`);
      assert.ok(GRPC_CODES.has(row.grpc) && (row.grpc as string) !== 'OK', `${reason}: ${row.grpc} is a google.rpc.Code error`);
    }
  });

  // A2A 1.0.1, section 5.4 (error code mappings), and JSON-RPC 2.0's own codes.
  const PRESCRIBED: [string, number, GrpcStatus, number][] = [
    ['TASK_NOT_FOUND', -32001, 'NOT_FOUND', 404],
    ['TASK_NOT_CANCELABLE', -32002, 'FAILED_PRECONDITION', 400],
    ['PUSH_NOTIFICATION_NOT_SUPPORTED', -32003, 'FAILED_PRECONDITION', 400],
    ['UNSUPPORTED_OPERATION', -32004, 'FAILED_PRECONDITION', 400],
    ['CONTENT_TYPE_NOT_SUPPORTED', -32005, 'INVALID_ARGUMENT', 400],
    ['INVALID_AGENT_RESPONSE', -32006, 'INTERNAL', 500],
    ['EXTENDED_AGENT_CARD_NOT_CONFIGURED', -32007, 'FAILED_PRECONDITION', 400],
    ['EXTENSION_SUPPORT_REQUIRED', -32008, 'FAILED_PRECONDITION', 400],
    ['VERSION_NOT_SUPPORTED', -32009, 'FAILED_PRECONDITION', 400],
    ['PARSE_ERROR', -32700, 'INVALID_ARGUMENT', 400],
    ['INVALID_REQUEST', -32600, 'INVALID_ARGUMENT', 400],
    ['INVALID_PARAMS', -32602, 'INVALID_ARGUMENT', 400],
    ['INTERNAL', -32603, 'INTERNAL', 500],
  ];
  for (const [reason, jsonRpc, grpc, http] of PRESCRIBED) {
    test(`${reason} is ${jsonRpc} / ${grpc} / HTTP ${http} as the specs prescribe`, () => {
      assert.deepEqual(wireCodes(reason), { jsonRpc, http, grpc, domain: 'a2a-protocol.org' });
    });
  }

  test('each A2A error has a JSON-RPC code of its own', () => {
    const a2a = PRESCRIBED.filter(([, code]) => code >= -32099 && code <= -32001).map(([, code]) => code);
    assert.equal(new Set(a2a).size, a2a.length);
  });

  test("this server's own codes do not reuse a code the specs give a meaning", () => {
    const prescribed = new Set(PRESCRIBED.map(([, code]) => code));
    const own = rows.filter(([, row]) => !prescribed.has(row.jsonRpc) && row.jsonRpc !== -32601);
    assert.deepEqual([...new Set(own.map(([, row]) => row.jsonRpc))].sort((a, b) => b - a), [-32050, -32051, -32052, -32053]);
  });

  test('reasons that share a JSON-RPC code are the same kind of failure in gRPC', () => {
    const byCode = new Map<number, Set<string>>();
    for (const [, row] of rows) byCode.set(row.jsonRpc, (byCode.get(row.jsonRpc) ?? new Set()).add(row.grpc));
    for (const [code, statuses] of byCode) assert.equal(statuses.size, 1, `${code} maps to ${[...statuses].join(', ')}`);
  });

  test("this server's own codes each have one HTTP status and one gRPC status, used by no other own code", () => {
    const own = rows.filter(([, row]) => row.jsonRpc <= -32050 && row.jsonRpc >= -32099);
    const byCode = new Map<number, Set<string>>();
    for (const [, row] of own) byCode.set(row.jsonRpc, (byCode.get(row.jsonRpc) ?? new Set()).add(`${row.http} ${row.grpc}`));
    for (const [code, kinds] of byCode) assert.equal(kinds.size, 1, `${code} maps to ${[...kinds].join(', ')}`);
    const kinds = [...byCode.values()].map((set) => [...set][0]);
    assert.equal(new Set(kinds).size, kinds.length);
  });

  test('every domain error class maps through its row', () => {
    for (const [name, { error }] of Object.entries(DOMAIN_CASES)) {
      const row = wireCodes(error.reason);
      assert.ok(row !== undefined, `${name}: reason ${error.reason} has no row`);
      const wire = toWireError(error);
      assert.deepEqual([wire.code, wire.httpStatus], [row.jsonRpc, row.http], name);
    }
  });

  test('every protocol error maps through its row (the media-type refusal takes HTTP\'s 415)', () => {
    for (const error of [protocolErrors.parse('x'), protocolErrors.invalidRequest('x'), protocolErrors.methodNotFound('m', '1.0'), protocolErrors.versionNotSupported('9', ['1.0']), protocolErrors.contentType('text/plain'), protocolErrors.bodyTooLarge(1)]) {
      const row = ERROR_TABLE[error.reason];
      assert.deepEqual([error.code, error.httpStatus], [row.jsonRpc, error.reason === 'CONTENT_TYPE_NOT_SUPPORTED' ? 415 : row.http], error.reason);
    }
  });

  test('a reason a peer makes up finds no row, not an inherited property', () => {
    for (const reason of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'task_not_found', '']) assert.equal(wireCodes(reason), undefined, reason);
  });
});

describe('error details name task states as the answering version does', () => {
  test('a state in the details is written by the given namer; without one it stays as is', () => {
    const error = new TaskNotCancelableError('t-1', 'completed');
    assert.equal(toWireError(error, v1Codec.encodeTaskState).details.state, 'TASK_STATE_COMPLETED');
    assert.equal(toWireError(error, v03Codec.encodeTaskState).details.state, 'completed');
    assert.equal(toWireError(error).details.state, 'completed');
    assert.equal(toWireError(error, v1Codec.encodeTaskState).details.taskId, 't-1');
  });

  test('details without a state, or with something that is no task state, are left alone', () => {
    const odd = new UnsupportedOperationError('x', { state: 'not-a-state' });
    assert.equal(toWireError(odd, v1Codec.encodeTaskState).details.state, 'not-a-state');
    assert.deepEqual(toWireError(new TaskNotFoundError('t'), v1Codec.encodeTaskState).details, { taskId: 't' });
  });
});

describe('an error a replica answered with, read back', () => {
  const stateOf = (wire: string) => (wire === 'TASK_STATE_COMPLETED' ? ('completed' as const) : undefined);

  test('is answered again exactly as the replica said it, in any version', () => {
    for (const { error } of Object.values(DOMAIN_CASES)) {
      const said = jsonRpcError(toWireError(error, (state) => v1Codec.encodeTaskState(state)));
      const again = toWireError(fromJsonRpcError(JSON.parse(JSON.stringify(said)), stateOf), (state) => v1Codec.encodeTaskState(state));
      assert.deepEqual(jsonRpcError(again), said, error.name);
    }
    const notCancelable = fromJsonRpcError(jsonRpcError(toWireError(new TaskNotCancelableError('t', 'completed'), v1Codec.encodeTaskState)), stateOf);
    assert.equal(toWireError(notCancelable, v03Codec.encodeTaskState).details.state, 'completed', 'a 0.3 caller reads the state as 0.3 names it');
  });

  test('without an ErrorInfo, by its code; with nothing readable, as an internal error', () => {
    assert.equal(fromJsonRpcError({ code: -32001, message: 'task not found (answered by the stand-in)' }, stateOf).reason, 'TASK_NOT_FOUND');
    assert.equal(fromJsonRpcError({ code: -32001, message: 'x', data: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'constructor' }] }, stateOf).reason, 'TASK_NOT_FOUND');
    for (const junk of [undefined, null, 'text', 42, { code: 7 }]) assert.equal(toWireError(fromJsonRpcError(junk, stateOf)).reason, 'INTERNAL');
  });
});
