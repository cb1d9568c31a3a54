/** Growable sample of latencies in milliseconds, with exact percentiles. */
export class Samples {
  #values = new Float64Array(1 << 14);
  #n = 0;

  constructor(limit = 20_000_000) {
    this.limit = limit;
  }

  add(ms) {
    if (this.#n === this.#values.length) {
      if (this.#n >= this.limit) return;
      const grown = new Float64Array(Math.min(this.#values.length * 2, this.limit));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#n++] = ms;
  }

  get count() {
    return this.#n;
  }

  summary() {
    const sorted = this.#values.slice(0, this.#n).sort();
    const at = (q) => (sorted.length === 0 ? null : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]));
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: sorted.length,
      min: sorted.length === 0 ? null : round(sorted[0]),
      mean: sorted.length === 0 ? null : round(sum / sorted.length),
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted.length === 0 ? null : round(sorted[sorted.length - 1]),
    };
  }
}

export const round = (x, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? x : Number(x.toFixed(digits)));

export const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
