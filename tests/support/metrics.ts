// Reading the agent's Prometheus metrics in tests: one scrape, one parser.
import assert from 'node:assert/strict';

/** The /metrics text of the agent at `url` (which must answer 200). */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200, `GET ${url}/metrics`);
  return res.text();
}

/** A sample's value in Prometheus text; undefined when absent. The given labels must all match. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(match[3]);
  }
  return undefined;
}

/** A sample's value, scraped now from the agent at `url`; 0 for a counter never incremented (absent). */
export async function readMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(url), name, labels) ?? 0;
}
