// The reviewer runs reviews in a worker thread, one at a time: a canceled
// review stops (its worker goes) and the next one still runs, a review that
// needs more memory than allowed fails alone, and waiting reviews can be
// dropped before they start.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Reviewer } from '../../../src/skills/manifest-review/reviewer.js';
import type { ReviewJob } from '../../../src/skills/manifest-review/review-job.js';

const small: ReviewJob = { inputs: [{ kind: 'text', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', source: 'small' }], maxFindings: 10 };

/** A few seconds of work for the worker: thousands of pods with findings. */
function large(): ReviewJob {
  let text = '';
  for (let i = 0; text.length < 600_000; i++) text += `---\napiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: [{name: c, image: x}]}\n`;
  return { inputs: [{ kind: 'text', text, source: 'large' }], maxFindings: 10 };
}

const reviewers: Reviewer[] = [];
after(async () => {
  for (const reviewer of reviewers) await reviewer.close();
});
function reviewer(maxHeapMb?: number): Reviewer {
  const made = new Reviewer(maxHeapMb === undefined ? {} : { maxHeapMb });
  reviewers.push(made);
  return made;
}

test('a review answers with the bounded report', async () => {
  const outcome = await reviewer().review(small, new AbortController().signal);
  assert.equal(outcome.kind, 'reviewed');
  assert.deepEqual(outcome.kind === 'reviewed' && outcome.report.counts, { errors: 0, warnings: 0, infos: 0, objects: 1 });
});

test('a running review stops when its signal aborts, and the next review still runs', async () => {
  const subject = reviewer();
  const controller = new AbortController();
  const running = subject.review(large(), controller.signal);
  const waiting = subject.review(small, new AbortController().signal);
  controller.abort(new Error('task canceled'));
  await assert.rejects(running, /task canceled/);
  assert.equal((await waiting).kind, 'reviewed');
});

test('a waiting review that is aborted never runs; the others do', async () => {
  const subject = reviewer();
  const first = subject.review(large(), new AbortController().signal);
  const controller = new AbortController();
  const dropped = subject.review(small, controller.signal);
  controller.abort(new Error('not any more'));
  await assert.rejects(dropped, /not any more/);
  assert.equal((await first).kind, 'reviewed');
});

test('a review that needs more memory than allowed fails alone, saying so; the next one runs', async () => {
  const subject = reviewer(16);
  await assert.rejects(subject.review(large(), new AbortController().signal), /the review needed more than the 16 MB a review may use/);
  assert.equal((await subject.review(small, new AbortController().signal)).kind, 'reviewed');
});

test('text that only may be manifests is left out with its note when it is not', async () => {
  const outcome = await reviewer().review(
    { inputs: [{ kind: 'text', text: 'what kind of apiVersion should I use?', source: 'text', unlessNot: 'the message: text that is neither manifests nor a path' }], maxFindings: 10 },
    new AbortController().signal,
  );
  assert.deepEqual(outcome, { kind: 'nothing', skipped: ['the message: text that is neither manifests nor a path'] });
});
