// Everything that reads caller or peer text takes time in proportion to its
// length. Each function gets the input that makes a backtracking pattern (or a
// rescan on every chunk) cost the square of its length — minutes at these
// sizes — and must be done within a bound a hundred times what linear work
// needs even on a busy machine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trimEndChars, trimStartChars, withoutTrailingSlashes } from '../src/model/text.js';
import { base64 } from '../src/protocol/read.js';
import { SseParser } from '../src/protocol/sse.js';
import { parseText, resolveRequest } from '../src/skills/cluster/request.js';
import { findDeepNesting } from '../src/skills/manifest-review/nesting.js';
import { textMeansManifests } from '../src/skills/manifest-review/parse.js';
import type { Message } from '../src/model/model.js';

const BOUND_MS = 10_000;

function assertQuick(name: string, text: string, run: (text: string) => unknown): void {
  const started = Date.now();
  run(text);
  const ms = Date.now() - started;
  assert.ok(ms < BOUND_MS, `${name} took ${ms} ms for ${text.length} characters: superlinear`);
}

/** Runs `work`, which must refuse the input; refusing is an answer too, what counts is how long it took. */
const refused = (work: (text: string) => unknown) => (text: string) => assert.throws(() => work(text));

const asMessage = (text: string): Message => ({ messageId: 'm', role: 'user', parts: [{ kind: 'text', text }] });

describe('linear in the length of hostile text', () => {
  test('trimming a run of characters that does not reach the end', () => {
    assertQuick('trimEndChars', `${'='.repeat(1_000_000)}A`, (s) => trimEndChars(s, '='));
    assertQuick('trimStartChars', `A${'('.repeat(1_000_000)}`, (s) => trimStartChars(s, '('));
    assertQuick('withoutTrailingSlashes', `http://peer${'/'.repeat(1_000_000)}x`, withoutTrailingSlashes);
  });

  test('reading base64 whose "=" run is not at the end', () => {
    assertQuick('base64', `QQ${'='.repeat(200_000)}A`, refused((s) => base64(s, 'raw')));
  });

  test('telling manifests from text: a line starting with apiVersion or kind', () => {
    assertQuick('textMeansManifests', ' \n'.repeat(100_000), textMeansManifests);
    assertQuick('textMeansManifests (tabs)', '\t \n'.repeat(100_000), textMeansManifests);
  });

  test('reading a cluster request: trailing punctuation and quotes around words', () => {
    assertQuick('resolveRequest (trailing dots)', `${'.'.repeat(200_000)}x`, refused((s) => resolveRequest([], asMessage(s))));
    assertQuick('parseText (closing brackets)', `list x${')'.repeat(200_000)}y`, refused(parseText));
    assertQuick('parseText (opening quotes)', `list ${'"'.repeat(200_000)}`, parseText);
  });

  test('bounding the nesting of YAML', () => {
    assertQuick('findDeepNesting (flow)', `a: ${'['.repeat(1_000_000)}`, (s) => findDeepNesting(s, 100));
    assertQuick('findDeepNesting (indentation)', 'a:\n b:\n  c:\n'.repeat(100_000), (s) => findDeepNesting(s, 100));
    assertQuick('findDeepNesting (quotes)', `a: "${'\\"'.repeat(500_000)}`, (s) => findDeepNesting(s, 100));
  });

  test('an event stream whose one line arrives in thousands of small chunks', () => {
    const chunked = (text: string) => {
      const parser = new SseParser();
      for (let i = 0; i < text.length; i += 64) parser.push(text.slice(i, i + 64));
      assert.equal(parser.push('\n\n').length, 1);
    };
    assertQuick('SseParser', `data: ${'x'.repeat(1_000_000)}`, chunked);
  });
});
