// One training metric as a uPlot canvas chart: the raw per-episode values (thin, reduced
// to their min/max envelope per pixel column) under their smoothed trend (thick). Redraws
// only when asked (the view batches messages into one redraw per animation frame).
import uPlot from 'uplot';
import { emaSmooth, gather, minMaxIndices } from './downsample';

export interface ChartOptions {
  title: string;
  color: string;
  /** Fixed y range, e.g. [0, 1] for epsilon; otherwise automatic. */
  yRange?: [number, number];
  log?: boolean;
}

export class MetricChart {
  readonly plot: uPlot;
  private smoothBuf = new Float64Array(0);
  /** Points handed to uPlot by the last update (after reduction). */
  drawnPoints = 0;

  constructor(el: HTMLElement, opts: ChartOptions, width: number, height: number) {
    const raw = opts.color + '59'; // ~35 % alpha
    this.plot = new uPlot(
      {
        title: opts.title,
        width,
        height,
        cursor: { drag: { x: true, y: false } },
        // The title names the metric; a legend would cost a fifth of the chart's height.
        legend: { show: false },
        scales: {
          x: { time: false },
          y: opts.yRange ? { range: opts.yRange } : { distr: opts.log ? 3 : 1 },
        },
        axes: [
          { label: 'episode', size: 36, labelSize: 14 },
          { size: 56 },
        ],
        series: [
          { label: 'episode' },
          { label: 'value', stroke: raw, width: 1, points: { show: false }, spanGaps: false },
          { label: 'smoothed', stroke: opts.color, width: 2, points: { show: false }, spanGaps: true },
        ],
      },
      [[], [], []],
      el,
    );
  }

  /** Shows `y` over `x` (episode numbers, ascending), smoothed with EMA `weight`. */
  update(x: Float64Array, y: Float64Array, weight: number): void {
    const n = x.length;
    if (this.smoothBuf.length < n) this.smoothBuf = new Float64Array(Math.max(n, this.smoothBuf.length * 2, 1024));
    const smooth = emaSmooth(y, weight, this.smoothBuf);
    // One bucket per device-independent pixel of plot width keeps the envelope exact
    // while bounding the drawn points to about 4 × width whatever the history length.
    const buckets = Math.max(50, Math.floor(this.plot.bbox.width / (window.devicePixelRatio || 1)) || this.plot.width);
    const idx = minMaxIndices(x, y, buckets);
    const xs = gather(x, idx) as number[];
    this.drawnPoints = idx.length;
    this.plot.setData([xs, gather(y, idx), gather(smooth, idx)] as uPlot.AlignedData);
  }

  resize(width: number, height: number): void {
    this.plot.setSize({ width, height });
  }

  destroy(): void {
    this.plot.destroy();
  }
}
