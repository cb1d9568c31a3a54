import { pino } from 'pino';
import type { Logger } from 'pino';
import { redactCredentials } from './redact.js';
import { traceLogFields } from './tracing.js';

export type { Logger };

/** Structured JSON logs on stdout, one object per line. */
export function createLogger(level: string, base: Record<string, string>): Logger {
  return pino({
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // A line written under a span names it, so logs and traces join up.
    mixin: traceLogFields,
    // An error's message often quotes the URL it failed on, credentials and all.
    serializers: { err: redactedError },
  });
}

function redactedError(error: Error): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(error);
  if (typeof serialized.message === 'string') serialized.message = redactCredentials(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = redactCredentials(serialized.stack);
  return serialized;
}
