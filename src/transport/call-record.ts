import type { TaskState } from '../model/model.js';
import { LimitExceededError } from '../model/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { endSpan } from '../observability/tracing.js';
import type { Span } from '../observability/tracing.js';
import { toWireError } from '../protocol/errors.js';
import type { WireError } from '../protocol/errors.js';

/** What one call did, for its log line, metrics and span; the same for every binding. */
export interface CallRecord {
  /** The operation's method name in the version spoken (a known name only: callers cannot grow the label set). */
  method: string;
  version: string;
  taskId?: string;
  /** The request's server span, when tracing is on. */
  span?: Span;
  /** How the answering version names a task state: errors are worded in it. */
  stateName?: (state: TaskState) => string;
}

export const unknownCall = (span?: Span): CallRecord => ({ method: 'unknown', version: 'unknown', ...(span === undefined ? {} : { span }) });

/** Ends calls: one log line, the request metrics and the span's end, whichever binding served them. */
export class CallRecorder {
  /** The metric series a call lands in, found once per label combination: every call would otherwise hash its labels twice. */
  private readonly series = new Map<string, { count: () => void; time: (seconds: number) => void }>();

  constructor(private readonly logger: Logger, private readonly metrics: Metrics) {}

  finish(record: CallRecord, outcome: string, started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (record.span !== undefined) {
      // What the call was and how it ended; never what the task says.
      record.span.setAttributes({ 'rpc.method': record.method, 'a2a.protocol.version': record.version });
      if (record.taskId !== undefined) record.span.setAttribute('a2a.task.id', record.taskId);
      endSpan(record.span, outcome, outcome === 'ok' || outcome === 'forwarded' ? undefined : outcome);
    }
    const series = this.seriesOf(record.method, record.version, outcome);
    series.count();
    series.time(seconds);
    if (this.logger.isLevelEnabled('info')) {
      this.logger.info({ rpc: record.method, version: record.version, taskId: record.taskId, outcome, ms: Math.round(seconds * 1e4) / 10 }, 'a2a request');
    }
  }

  private seriesOf(method: string, version: string, outcome: string): { count: () => void; time: (seconds: number) => void } {
    // Method and version are known names and outcomes come from the error table: the map stays small.
    const key = `${method} ${version} ${outcome}`;
    let series = this.series.get(key);
    if (series === undefined) {
      const counter = this.metrics.requests.labels({ method, version, outcome });
      const histogram = this.metrics.requestSeconds.labels({ method });
      series = { count: () => counter.inc(), time: (seconds) => histogram.observe(seconds) };
      this.series.set(key, series);
    }
    return series;
  }

  /** Ends a failed call and gives the wire error to answer with. */
  failed(record: CallRecord, error: unknown, started: bigint): WireError {
    const wire = toWireError(error, record.stateName);
    if (wire.reason === 'INTERNAL') this.logger.error({ err: error, method: record.method }, 'request failed');
    if (error instanceof LimitExceededError && error.reason !== 'RATE_LIMITED') {
      this.metrics.limited.inc({ limit: error.reason === 'TOO_MANY_TASKS' ? 'tasks' : 'streams' });
    }
    this.finish(record, wire.reason, started);
    return wire;
  }
}
