/**
 * How long a test waits for something that should happen before it calls it
 * a failure. A passing test never waits this long: it goes on as soon as the
 * condition holds. It is generous so that a loaded machine is never mistaken
 * for a bug; only a test that fails pays for it.
 */
export const PATIENCE_MS = 60_000;
