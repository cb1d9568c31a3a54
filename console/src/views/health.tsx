import { useState } from 'preact/hooks';
import { view } from '../api';
import { buckets, parseMetrics, quantile, sum } from '../metrics';
import type { Sample } from '../metrics';
import { usePoll } from '../poll';

const EVERY_MS = 3000;
/** Ten minutes of points. */
const KEEP = 200;

interface Point {
  at: number;
  requestsPerSecond: number;
  errorRatio: number;
  p99Seconds: number | undefined;
  running: number;
}

interface Reading {
  at: number;
  samples: Sample[];
}

function point(now: Reading, before: Reading): Point {
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  const total = sum(now.samples, 'a2a_requests_total') - sum(before.samples, 'a2a_requests_total');
  const failed = (r: Reading) => sum(r.samples, 'a2a_requests_total', (l) => l.outcome !== 'ok');
  const errors = failed(now) - failed(before);
  return {
    at: now.at,
    requestsPerSecond: total / seconds,
    errorRatio: total > 0 ? errors / total : 0,
    p99Seconds: quantile(0.99, buckets(now.samples, 'a2a_request_duration_seconds'), buckets(before.samples, 'a2a_request_duration_seconds')),
    running: sum(now.samples, 'kagent_tasks_running'),
  };
}

/** This pod's own metrics, read every few seconds and kept for the last minutes: no Prometheus needed. */
export function HealthView() {
  const [points, setPoints] = useState<Point[]>([]);
  const [last, setLast] = useState<Reading | undefined>(undefined);
  const [error, setError] = useState('');

  usePoll(
    async () => {
      const res = await view('/metrics');
      if (!res.ok) {
        setError(res.status === 401 ? '/metrics needs the metrics token (METRICS_TOKEN_FILE); the console cannot chart it' : `/metrics answered ${res.status}`);
        return;
      }
      const reading = { at: Date.now(), samples: parseMetrics(await res.text()) };
      setError('');
      setLast((before) => {
        if (before !== undefined) setPoints((list) => [...list, point(reading, before)].slice(-KEEP));
        return reading;
      });
    },
    EVERY_MS,
    [],
  );

  const latest = points[points.length - 1];
  return (
    <section aria-labelledby="health-title">
      <h2 id="health-title">Health of this pod</h2>
      {error !== '' && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {last === undefined ? <p>Reading /metrics…</p> : latest === undefined && <p>Collecting a second reading…</p>}
      <div class="charts">
        <Chart title="Requests per second" values={points.map((p) => p.requestsPerSecond)} format={(v) => v.toFixed(2)} />
        <Chart title="Error ratio" values={points.map((p) => p.errorRatio)} format={(v) => `${(v * 100).toFixed(1)} %`} />
        <Chart title="p99 latency" values={points.map((p) => p.p99Seconds)} format={(v) => `${(v * 1000).toFixed(0)} ms`} />
        <Chart title="Running tasks" values={points.map((p) => p.running)} format={(v) => v.toFixed(0)} />
      </div>
    </section>
  );
}

/** A line over the readings; a reading with nothing to measure (no request, so no latency) is a gap at zero and shows as —. */
function Chart({ title, values, format }: { title: string; values: (number | undefined)[]; format: (v: number) => string }) {
  const width = 240;
  const height = 60;
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const scale = max || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const line = values.map((v, i) => `${(i * step).toFixed(1)},${(height - ((v ?? 0) / scale) * (height - 4) - 2).toFixed(1)}`).join(' ');
  const current = values[values.length - 1];
  return (
    <figure class="chart">
      <figcaption>
        {title}: <strong>{current === undefined ? '—' : format(current)}</strong> <span class="muted">(max {format(max)})</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${title} over the last ${values.length} readings`}>
        <polyline points={line} fill="none" stroke="currentColor" stroke-width="2" />
      </svg>
    </figure>
  );
}
