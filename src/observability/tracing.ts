import type { IncomingHttpHeaders } from 'node:http';
import { context, diag, DiagLogLevel, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { VERSION } from '../version.js';

// OpenTelemetry traces, off unless an OTLP endpoint is configured. Every
// helper here returns at once when tracing is off: no span objects, no context
// switches, no header parsing on the hot path. When it is on, spans leave in
// batches in the background; an exporter that never answers costs dropped
// spans, never a slower request.

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];

export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to <endpoint>/v1/traces. Absent: tracing is off. */
  endpoint: string | undefined;
  protocol: OtlpProtocol;
  serviceName: string;
  /** The replica (pod name), as `service.instance.id`. */
  instance: string;
  /** Longest wait for one export, and for the last flush at shutdown. */
  timeoutMs: number;
  /** Export failures, for the log. */
  onError: (reason: string) => void;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Sends the spans still queued (within the export timeout) and stops tracing. */
  shutdown(): Promise<void>;
}

export { SpanKind };
export type { Span };

const TRACER_NAME = 'kagent-a2a';
let enabled = false;

/** Starts exporting spans when an endpoint is set; the SDK is loaded only then. */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  if (settings.endpoint === undefined) return { enabled: false, shutdown: async () => undefined };
  if (enabled) throw new Error('tracing is already started in this process');
  const [{ NodeTracerProvider, BatchSpanProcessor }, { W3CTraceContextPropagator }, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const url = `${settings.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: settings.timeoutMs });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': VERSION, 'service.instance.id': settings.instance }),
    ),
    // Attribute values can come from callers (a task id in a request): bounded, like everything a caller sends.
    spanLimits: { attributeValueLengthLimit: 256 },
    // Bounded queue: when the collector is slow or gone, spans are dropped rather than held.
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: settings.timeoutMs })],
  });
  // Only W3C trace context: what VAPORA, peers and the other replicas send and expect.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  diag.setLogger(
    {
      error: (message) => settings.onError(exportFailure(message)),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true },
  );
  enabled = true;
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () =>
      (stopped ??= (async () => {
        // An endpoint that never answers must not hold the stop: the last flush gets one export timeout.
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, settings.timeoutMs + 500)));
        await Promise.race([provider.shutdown().catch((error: unknown) => settings.onError(error instanceof Error ? error.message : String(error))), bound]);
        clearTimeout(timer);
        enabled = false;
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      })()),
  };
}

/** The SDK reports a failed export as the error serialized to JSON, stack and all: its message is enough. */
function exportFailure(report: string): string {
  try {
    const parsed = JSON.parse(report) as { message?: unknown };
    if (typeof parsed.message === 'string' && parsed.message !== '') return parsed.message;
  } catch {
    // Not JSON: the report is the message.
  }
  return report;
}

/** Whether spans are recorded in this process. */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * A server span for an inbound request, continuing the caller's trace when its
 * `traceparent` is well-formed; a malformed one is ignored and a new trace begins.
 */
export function startServerSpan(name: string, headers: IncomingHttpHeaders, attributes?: Attributes): Span | undefined {
  if (!enabled) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  return trace.getTracer(TRACER_NAME, VERSION).startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/** A span under whatever span is active now (a request, a skill run); a root span when none is. */
export function startSpan(name: string, kind: SpanKind, attributes?: Attributes): Span | undefined {
  if (!enabled) return undefined;
  return trace.getTracer(TRACER_NAME, VERSION).startSpan(name, { kind, attributes });
}

/** Runs `fn` with `span` as the active span, so that spans and log lines under it find it. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Ends a span with its outcome; an error outcome marks the span failed. */
export function endSpan(span: Span | undefined, outcome: string, error?: string): void {
  if (span === undefined) return;
  span.setAttribute('kagent.outcome', outcome);
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/**
 * Writes `traceparent` (and `tracestate`) for an outbound call made under
 * `span`, or else the active span, replacing any a caller sent: the receiver's
 * spans then hang under this call. Does nothing when tracing is off.
 */
export function injectTraceHeaders(headers: Record<string, string>, span?: Span): void {
  if (!enabled) return;
  const carrier = span === undefined ? context.active() : trace.setSpan(context.active(), span);
  propagation.inject(carrier, headers);
}

/** `trace_id` and `span_id` of the active span, for log lines; empty when there is none. A new object each time: the logger merges into it. */
export function traceLogFields(): Record<string, string> {
  if (!enabled) return {};
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
