import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PATIENCE_MS } from './patience.js';

// A real OTLP/HTTP trace receiver on loopback, speaking the JSON encoding
// (OTEL_EXPORTER_OTLP_PROTOCOL=http/json): service processes export their spans
// to it as they would to a collector, and tests read what arrived.

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client. */
  kind: number;
  /** The resource's service.name and service.instance.id. */
  service: string;
  instance: string;
  attributes: Record<string, string | number | boolean>;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

export interface OtlpReceiver {
  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Every request that reached it, whatever its path. */
  readonly requests: number;
  /** The content type of each request, in order. */
  readonly contentTypes: readonly string[];
  /** Waits until `found` returns something for the spans received so far. */
  waitFor<T>(what: string, found: (spans: readonly ReceivedSpan[]) => T | undefined): Promise<T>;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: KeyValue[] }[] }[];
  }[];
}

function flatten(attributes: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (value === undefined) continue;
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue === undefined ? undefined : Number(value.intValue));
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    contentTypes.push(String(req.headers['content-type']));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      // Protobuf bodies are counted, not decoded: the JSON encoding is the one tests read.
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = flatten(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              service: String(resource['service.name']),
              instance: String(resource['service.instance.id']),
              attributes: flatten(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    get requests() {
      return requests;
    },
    contentTypes,
    async waitFor(what, found) {
      const deadline = Date.now() + PATIENCE_MS;
      for (;;) {
        const result = found(spans);
        if (result !== undefined) return result;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${PATIENCE_MS} ms; spans received:\n${spans.map((s) => `${s.instance} ${s.name} ${s.traceId}/${s.spanId} <- ${s.parentSpanId}`).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
