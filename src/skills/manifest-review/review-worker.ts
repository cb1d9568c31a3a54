// The reviewer's worker thread: takes one job at a time and answers with its
// outcome, or with what went wrong.
import { parentPort } from 'node:worker_threads';
import { runReview } from './review-job.js';
import type { ReviewJob } from './review-job.js';

const port = parentPort;
if (port === null) throw new Error('review-worker runs as a worker thread');
port.on('message', (job: ReviewJob) => {
  runReview(job).then(
    (outcome) => port.postMessage({ ok: true, outcome }),
    (error: unknown) => port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
});
