import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParamsError } from '../../src/model/errors.js';
import { parseEventId, resumeAfter } from '../../src/protocol/resume.js';

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

test('the position a binding found outside the params wins over params.metadata.lastEventId; neither: a plain subscribe', () => {
  const params = { id: 't', metadata: { lastEventId: '3' } };
  assert.equal(resumeAfter({ value: '5', source: 'Last-Event-ID' }, params), 5);
  assert.equal(resumeAfter(undefined, params), 3);
  assert.equal(resumeAfter(undefined, { id: 't', metadata: { lastEventId: '' } }), undefined);
  assert.equal(resumeAfter(undefined, { id: 't' }), undefined);
  assert.equal(resumeAfter(undefined, undefined), undefined);
  // A bad value is named by where it came from, even when the params hold a good one.
  assert.throws(() => resumeAfter({ value: 'x', source: 'lastEventId' }, params), (error: unknown) => error instanceof InvalidParamsError && error.field === 'lastEventId');
  assert.throws(() => resumeAfter(undefined, { metadata: { lastEventId: -1 } }), (error: unknown) => error instanceof InvalidParamsError && error.field === 'params.metadata.lastEventId');
});
