import { setFlagsFromString } from 'node:v8';

/**
 * Bounds how far V8's old generation may grow past what the last full collection
 * kept before it collects again. Left to itself V8 lets it grow up to four times
 * the live heap while the process is busy: filling the store, the service keeps
 * about 30 MB live but its old generation reached ~105 MB of dead request objects
 * between full collections, which was most of its peak RSS. A fixed factor keeps
 * the garbage in proportion to the live heap; the cost is more frequent full
 * collections, which V8 marks concurrently.
 *
 * The flag is read by V8 at every full collection, so setting it at start (before
 * the agent allocates anything lasting) holds for the whole process. 0 leaves V8's
 * own heuristic.
 */
export function boundHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
