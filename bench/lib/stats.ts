// Small statistics for the bench: medians across rounds, percentiles of recorded latencies.

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The q-quantile (0..1) of `values` by the nearest-rank method; NaN when there is none. */
export function percentile(values: Float64Array | readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Latencies in milliseconds, appended without reallocating on every response. */
export class LatencyLog {
  private values = new Float64Array(1 << 14);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length] = ms;
    this.length += 1;
  }

  get count(): number {
    return this.length;
  }

  percentile(q: number): number {
    return percentile(this.values.subarray(0, this.length), q);
  }
}
