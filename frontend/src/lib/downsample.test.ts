import { describe, expect, it } from 'vitest';
import { emaSmooth, gather, minMaxIndices } from './downsample';

function series(n: number, f: (i: number) => number) {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = i + 1;
    y[i] = f(i);
  }
  return { x, y };
}

describe('minMaxIndices', () => {
  it('keeps every point when there are few', () => {
    const { x, y } = series(10, (i) => i);
    expect(minMaxIndices(x, y, 100)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reduces 10,000 points to at most four per bucket, ascending', () => {
    const { x, y } = series(10000, (i) => Math.sin(i / 50) * 100 + (i % 7));
    const idx = minMaxIndices(x, y, 500);
    expect(idx.length).toBeLessThanOrEqual(2000);
    expect(idx.length).toBeGreaterThan(500);
    for (let k = 1; k < idx.length; k++) expect(idx[k]).toBeGreaterThan(idx[k - 1]);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(9999);
  });

  it('keeps a single spike and a single dip that decimation would drop', () => {
    const { x, y } = series(20000, () => 5);
    y[12345] = 1000;
    y[777] = -1000;
    const idx = minMaxIndices(x, y, 300);
    const ys = gather(y, idx);
    expect(ys).toContain(1000);
    expect(ys).toContain(-1000);
    // The envelope is exact: the drawn min and max are the data's.
    expect(Math.max(...(ys as number[]))).toBe(1000);
    expect(Math.min(...(ys as number[]))).toBe(-1000);
  });

  it('skips non-finite values as extremes and gathers them as gaps', () => {
    const { x, y } = series(1000, (i) => i);
    y[500] = NaN;
    const idx = minMaxIndices(x, y, 10);
    const ys = gather(y, idx);
    expect(ys.every((v) => v === null || Number.isFinite(v))).toBe(true);
  });

  it('handles empty input and identical x', () => {
    expect(minMaxIndices([], [], 10)).toEqual([]);
    const x = new Array(100).fill(3);
    const y = Array.from({ length: 100 }, (_, i) => (i === 40 ? 9 : 1));
    const idx = minMaxIndices(x, y, 2);
    expect(gather(y, idx)).toContain(9);
  });
});

describe('emaSmooth', () => {
  it('is the identity at weight 0', () => {
    expect(Array.from(emaSmooth([1, 5, 3], 0))).toEqual([1, 5, 3]);
  });

  it('is debiased: a constant series stays constant', () => {
    const out = emaSmooth([4, 4, 4, 4], 0.9);
    for (const v of out) expect(v).toBeCloseTo(4, 10);
  });

  it('lags behind a step and carries NaN through', () => {
    const out = emaSmooth([0, 0, NaN, 10, 10], 0.5);
    expect(Number.isNaN(out[2])).toBe(true);
    expect(out[3]).toBeGreaterThan(0);
    expect(out[3]).toBeLessThan(10);
    expect(out[4]).toBeGreaterThan(out[3]);
  });
});
