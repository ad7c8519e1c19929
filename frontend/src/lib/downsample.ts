// Chart data reduction. A chart is at most a few thousand pixels wide, so drawing 10,000+
// points per series wastes the frame budget; but plain decimation hides the spikes that
// matter in a training curve (a collapse, a lucky episode). minMaxIndices keeps, for each
// pixel-wide bucket of x, the first, minimum, maximum and last points, so the drawn line
// has the same envelope as the full data (the M4 reduction), in O(n) and without
// allocating per point beyond the result.

/** Indices (ascending) of the points to draw for `y` over sorted `x` in `buckets` buckets.
 * Points whose y is not finite are never chosen as min or max but may be first/last. */
export function minMaxIndices(x: ArrayLike<number>, y: ArrayLike<number>, buckets: number): number[] {
  const n = Math.min(x.length, y.length);
  if (n === 0) return [];
  buckets = Math.max(1, Math.floor(buckets));
  // Few enough points: draw them all.
  if (n <= buckets * 4) {
    const all = new Array<number>(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  const x0 = x[0];
  const span = x[n - 1] - x0;
  const out: number[] = [];
  let i = 0;
  while (i < n) {
    // Bucket b holds x in [x0 + b*span/buckets, x0 + (b+1)*span/buckets).
    const b = span > 0 ? Math.min(buckets - 1, Math.floor(((x[i] - x0) / span) * buckets)) : 0;
    const first = i;
    let lo = -1;
    let hi = -1;
    let j = i;
    for (; j < n; j++) {
      const bj = span > 0 ? Math.min(buckets - 1, Math.floor(((x[j] - x0) / span) * buckets)) : 0;
      if (bj !== b) break;
      const v = y[j];
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < y[lo]) lo = j;
      if (hi < 0 || v > y[hi]) hi = j;
    }
    const last = j - 1;
    // Emit the up-to-four distinct indices in ascending order.
    const pick = [first, lo, hi, last].filter((k) => k >= 0).sort((a, b2) => a - b2);
    let prev = -1;
    for (const k of pick) {
      if (k !== prev) out.push(k);
      prev = k;
    }
    i = j;
  }
  return out;
}

/** Gathers `src` at `idx` into a plain array (uPlot takes number arrays; null = gap). */
export function gather(src: ArrayLike<number>, idx: number[]): (number | null)[] {
  const out = new Array<number | null>(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const v = src[idx[k]];
    out[k] = Number.isFinite(v) ? v : null;
  }
  return out;
}

/** Exponential moving average with TensorBoard's debiasing, so the first points are not
 * dragged towards zero. weight in [0, 1): 0 = no smoothing. Non-finite inputs are carried
 * as NaN and do not disturb the average. */
export function emaSmooth(y: ArrayLike<number>, weight: number, out?: Float64Array): Float64Array {
  const n = y.length;
  const res = out && out.length >= n ? out : new Float64Array(n);
  const w = Math.min(Math.max(weight, 0), 0.999);
  let last = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      res[i] = NaN;
      continue;
    }
    last = last * w + (1 - w) * v;
    count++;
    const debias = w === 0 ? 1 : 1 - Math.pow(w, count);
    res[i] = last / debias;
  }
  return res;
}
