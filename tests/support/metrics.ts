// Reading the agent's Prometheus metrics in tests: one scrape, one parser.
import assert from 'node:assert/strict';

/** The /metrics text of the agent at `url` (which must answer 200). */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200, `GET ${url}/metrics`);
  return res.text();
}

/** A sample's value in Prometheus text (the first whose labels include these); undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** A sample's value, scraped now from the agent at `url`; 0 for a counter never incremented (absent). */
export async function readMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(url), name, labels) ?? 0;
}

// The text exposition format read into samples: enough to tell which metric
// names and labels a running agent exports.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) throw new Error(`not a sample line: ${line}`);
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
        if (label === null) throw new Error(`bad label at ${at} in: ${line}`);
        at += label[0].length;
        let value = '';
        while (line[at] !== '"') {
          if (at >= line.length) throw new Error(`unterminated label value in: ${line}`);
          if (line[at] === '\\') {
            const escaped = line[at + 1];
            value += escaped === 'n' ? '\n' : escaped;
            at += 2;
          } else value += line[at++];
        }
        at++;
        labels[label[1]!] = value;
        if (line[at] === ',') at++;
      }
      at++;
    }
    const value = Number(line.slice(at).trim().split(/\s+/)[0]);
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Metric name → every label name seen on it. */
export function exportedLabels(samples: readonly Sample[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const sample of samples) {
    const labels = found.get(sample.name) ?? new Set<string>();
    for (const label of Object.keys(sample.labels)) labels.add(label);
    found.set(sample.name, labels);
  }
  return found;
}

/** The value of the one sample with this name whose labels include these; undefined when there is none. */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}
