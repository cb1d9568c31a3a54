import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePageToken, encodePageToken } from '../../src/model/page-token.js';
import { assertThrowsInvalidParams } from '../support/codec-helpers.js';

const b64url = (text: string) => Buffer.from(text).toString('base64url');

describe('page tokens', () => {
  const cursors = [
    { updatedAt: 1_735_787_045_678, id: 'kagent-0-3f2a9c' },
    { updatedAt: 0, id: '' },
    { updatedAt: Number.MAX_SAFE_INTEGER, id: 'ünïcødé/with spaces?&=' },
  ];
  for (const cursor of cursors) {
    test(`round trip ${JSON.stringify(cursor)}`, () => {
      const token = encodePageToken(cursor);
      assert.match(token, /^[A-Za-z0-9_-]+$/, 'a token travels in URLs and JSON without escaping');
      assert.deepEqual(decodePageToken(token), cursor);
    });
  }

  test('different cursors give different tokens', () => {
    assert.notEqual(encodePageToken({ updatedAt: 1, id: 'a' }), encodePageToken({ updatedAt: 1, id: 'b' }));
    assert.notEqual(encodePageToken({ updatedAt: 1, id: 'a' }), encodePageToken({ updatedAt: 2, id: 'a' }));
  });

  const garbage: [string, string][] = [
    ['empty', ''],
    ['not base64', '!!!'],
    ['random text', 'next-page-please'],
    ['base64 of plain text', b64url('hello')],
    ['an object', b64url('{"updatedAt":1,"id":"a"}')],
    ['one element', b64url('[1]')],
    ['three elements', b64url('[1,"a","b"]')],
    ['fractional time', b64url('[1.5,"a"]')],
    ['time as a string', b64url('["1","a"]')],
    ['id as a number', b64url('[1,2]')],
    ['unsafe integer time', b64url('[9007199254740993,"a"]')],
    ['null', b64url('null')],
  ];
  for (const [name, token] of garbage) {
    test(`garbage token (${name}) -> InvalidParamsError on pageToken`, () => {
      const error = assertThrowsInvalidParams(() => decodePageToken(token), 'params.pageToken');
      assert.equal(error.reason, 'INVALID_PARAMS');
    });
  }
});
