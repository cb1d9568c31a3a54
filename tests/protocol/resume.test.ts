import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParamsError } from '../../src/model/errors.js';
import { parseEventId } from '../../src/protocol/resume.js';

test('an event id is a whole number from 0 to 2^31-1, as text or (in metadata) a number; surrounding blanks are allowed', () => {
  assert.equal(parseEventId('7', 'Last-Event-ID'), 7);
  assert.equal(parseEventId(' 12 ', 'Last-Event-ID'), 12);
  assert.equal(parseEventId('0', 'lastEventId'), 0);
  assert.equal(parseEventId(2147483647, 'params.metadata.lastEventId'), 2147483647);
  assert.equal(parseEventId('0000000042', 'Last-Event-ID'), 42);
});

test('anything else is InvalidParams naming the source, quoting at most the start of the value', () => {
  const cases: unknown[] = ['', '-1', '+1', '1.0', '1e3', '0x1f', 'NaN', '2147483648', '99999999999', '１２', '1 2', -1, 1.5, Number.POSITIVE_INFINITY, null, true, {}, ['1'], 'x'.repeat(100_000)];
  for (const value of cases) {
    assert.throws(
      () => parseEventId(value, 'Last-Event-ID'),
      (error: unknown) => {
        assert.ok(error instanceof InvalidParamsError, `${String(value).slice(0, 20)}: ${String(error)}`);
        assert.equal(error.field, 'Last-Event-ID');
        assert.match(error.message, /^Last-Event-ID must be the id of an event this agent sent/);
        assert.ok(error.message.length < 200, `message of ${error.message.length} characters`);
        return true;
      },
    );
  }
});
