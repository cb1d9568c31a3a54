import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError, toWireError } from '../../src/protocol/errors.js';
import type { WireError } from '../../src/protocol/errors.js';
import { errorEnvelope, parseJsonRpcRequest, resultEnvelope, salvageId } from '../../src/protocol/jsonrpc.js';

function refused(body: string): ProtocolError {
  try {
    parseJsonRpcRequest(body);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${body} to be refused`);
}

const request = (fields: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', ...fields });

describe('parseJsonRpcRequest accepts', () => {
  test('a full request', () => {
    assert.deepEqual(parseJsonRpcRequest(request({ params: { id: 't' } })), { id: 1, method: 'GetTask', params: { id: 't' } });
  });

  test('string, number and null ids', () => {
    for (const id of ['abc', '', 0, -5, 1.5, null]) assert.equal(parseJsonRpcRequest(request({ id })).id, id);
  });

  test('absent params', () => {
    const parsed = parseJsonRpcRequest(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'ListTasks' }));
    assert.equal(parsed.params, undefined);
  });

  test('an empty params object', () => {
    assert.deepEqual(parseJsonRpcRequest(request({ params: {} })).params, {});
  });
});

describe('parseJsonRpcRequest refuses', () => {
  for (const body of ['', '{', '{"jsonrpc": "2.0",}', 'not json', "{'jsonrpc':'2.0'}", '{"a":1} trailing']) {
    test(`malformed JSON ${JSON.stringify(body)} -> -32700`, () => {
      const error = refused(body);
      assert.equal(error.code, -32700);
      assert.equal(error.reason, 'PARSE_ERROR');
      assert.equal(error.httpStatus, 400);
    });
  }

  test('a batch (array) -> -32600 saying batches are unsupported', () => {
    for (const body of ['[]', `[${request({})}]`]) {
      const error = refused(body);
      assert.equal(error.code, -32600);
      assert.match(error.message, /batch/);
    }
  });

  for (const body of ['null', '42', '"text"', 'true']) {
    test(`a non-object body ${body} -> -32600`, () => assert.equal(refused(body).code, -32600));
  }

  const envelopeCases: [string, Record<string, unknown>, RegExp][] = [
    ['jsonrpc missing', { jsonrpc: undefined }, /jsonrpc/],
    ['jsonrpc "1.0"', { jsonrpc: '1.0' }, /jsonrpc/],
    ['jsonrpc as a number', { jsonrpc: 2.0 }, /jsonrpc/],
    ['method missing', { method: undefined }, /method/],
    ['method empty', { method: '' }, /method/],
    ['method a number', { method: 5 }, /method/],
    ['id a boolean', { id: true }, /"id"/],
    ['id an object', { id: { n: 1 } }, /"id"/],
    ['id an array', { id: [1] }, /"id"/],
    ['params a string', { params: 'x' }, /params/],
    ['params a number', { params: 3 }, /params/],
    ['params null', { params: null }, /params/],
  ];
  for (const [name, fields, message] of envelopeCases) {
    test(`${name} -> -32600`, () => {
      const error = refused(request(fields));
      assert.equal(error.code, -32600);
      assert.equal(error.reason, 'INVALID_REQUEST');
      assert.match(error.message, message);
    });
  }

  // A2A has no notifications: every call expects an answer, so a request without an id is refused, saying so.
  test('id missing -> -32600 saying the id is missing', () => {
    const error = refused(request({ id: undefined }));
    assert.equal(error.code, -32600);
    assert.match(error.message, /"id" is missing/);
  });

  // By-position params are valid JSON-RPC; A2A methods take named params only, so it is the arguments that are wrong.
  test('params an array -> -32602 naming params', () => {
    let wire: WireError | undefined;
    try {
      parseJsonRpcRequest(request({ params: [1, 2] }));
    } catch (error) {
      wire = toWireError(error);
    }
    assert.ok(wire !== undefined, 'expected params as an array to be refused');
    assert.equal(wire.code, -32602);
    assert.equal(wire.reason, 'INVALID_PARAMS');
    assert.equal(wire.field, 'params');
    assert.match(wire.message, /not an array/);
  });
});

describe('salvageId', () => {
  test('recovers a string or number id from a request that fails later checks', () => {
    assert.equal(salvageId(JSON.stringify({ jsonrpc: '1.0', id: 'req-7' })), 'req-7');
    assert.equal(salvageId(JSON.stringify({ id: 42, params: [] })), 42);
    assert.equal(salvageId(JSON.stringify({ id: 0 })), 0);
  });

  test('answers null when there is no usable id', () => {
    for (const body of ['{', '', '[{"id":1}]', '5', 'null', '{"id":true}', '{"id":{"a":1}}', '{"id":null}', '{"method":"GetTask"}']) {
      assert.equal(salvageId(body), null, body);
    }
  });
});

describe('envelopes', () => {
  test('result and error envelopes are JSON-RPC 2.0 with the id', () => {
    assert.deepEqual(JSON.parse(resultEnvelope('a', { ok: true })), { jsonrpc: '2.0', id: 'a', result: { ok: true } });
    assert.deepEqual(JSON.parse(errorEnvelope(null, { code: -32700, message: 'bad' })), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'bad' } });
  });
});
