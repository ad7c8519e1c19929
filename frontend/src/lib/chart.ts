// One training metric as a uPlot canvas chart: the raw per-episode values (thin, reduced
// to their min/max envelope per pixel column) under their smoothed trend (thick). Redraws
// only when asked (the view batches messages into one redraw per animation frame).
import uPlot from 'uplot';
import { bandLabel, type Band } from './curriculum';
import { emaSmooth, gather, minMaxIndices } from './downsample';
import type { EvalPoint } from './evals';

// Band shades alternate so that neighbours differ; a retreat is hatched in vermillion.
const BAND_FILL = ['rgba(86,180,233,0.10)', 'rgba(230,159,0,0.12)'];
const RETREAT_FILL = 'rgba(213,94,0,0.16)';

/** Draws the curriculum bands behind a plot's series: a shade per band, a marker line and
 * a label at each change. Called from uPlot's drawClear hook (before the series). */
function drawBands(u: uPlot, bands: Band[]): void {
  if (!bands.length) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const [x0, x1] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  const dpr = window.devicePixelRatio || 1;
  ctx.font = `${Math.round(11 * dpr)}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  // Labels on two rows; each goes on the first row where it does not overlap the one before.
  const rowEnd = [-Infinity, -Infinity];
  bands.forEach((b, i) => {
    if (b.to + 0.5 < x0 || b.from - 0.5 > x1) return;
    const a = u.valToPos(b.from - 0.5, 'x', true);
    const z = u.valToPos(b.to + 0.5, 'x', true);
    ctx.fillStyle = b.retreat ? RETREAT_FILL : BAND_FILL[i % 2];
    ctx.fillRect(a, top, z - a, height);
    if (i > 0) {
      ctx.strokeStyle = b.retreat ? '#D55E00' : '#0072B2';
      ctx.lineWidth = dpr * 1.5;
      ctx.setLineDash(b.retreat ? [4 * dpr, 3 * dpr] : []);
      ctx.beginPath();
      ctx.moveTo(a, top);
      ctx.lineTo(a, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const text = bandLabel(b, i === 0);
    const tw = ctx.measureText(text).width;
    const tx = Math.min(Math.max(a, left) + 3 * dpr, left + width - tw - 2 * dpr);
    const row = rowEnd.findIndex((e) => tx > e);
    if (row < 0) return;
    ctx.fillStyle = b.retreat ? '#a2400a' : '#1a3a5a';
    ctx.fillText(text, tx, top + 3 * dpr + row * 13 * dpr);
    rowEnd[row] = tx + tw + 4 * dpr;
  });
  ctx.restore();
}

export interface ChartOptions {
  title: string;
  color: string;
  /** Fixed y range, e.g. [0, 1] for epsilon; otherwise automatic. */
  yRange?: [number, number];
  log?: boolean;
}

/** What both charts share: the uPlot instance, its size, its PNG, its end. */
export class PlotBase {
  // Assigned by the subclass constructor (uPlot needs the subclass's options first).
  plot!: uPlot;

  resize(width: number, height: number): void {
    this.plot.setSize({ width, height });
  }

  /** The plot as a PNG data URL (axes and series; uPlot's title is HTML, not on the canvas). */
  png(): string {
    return this.plot.ctx.canvas.toDataURL('image/png');
  }

  destroy(): void {
    this.plot.destroy();
  }
}

export class MetricChart extends PlotBase {
  private smoothBuf = new Float64Array(0);
  private bands: Band[] = [];
  /** Points handed to uPlot by the last update (after reduction). */
  drawnPoints = 0;

  constructor(el: HTMLElement, opts: ChartOptions, width: number, height: number) {
    super();
    const raw = opts.color + '59'; // ~35 % alpha
    this.plot = new uPlot(
      {
        title: opts.title,
        width,
        height,
        cursor: { drag: { x: true, y: false } },
        hooks: { drawClear: [(u: uPlot) => drawBands(u, this.bands)] },
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

  /** The curriculum bands to draw behind the series ([] for none); redraws when changed. */
  setBands(bands: Band[]): void {
    const same = bands.length === this.bands.length && bands.every((b, i) => b.from === this.bands[i].from && b.to === this.bands[i].to && b.multiplier === this.bands[i].multiplier);
    this.bands = bands;
    if (!same) this.plot.redraw(false);
  }
}

/** The greedy evaluation scores as points joined by a line, the best one ringed; a click
 * on a point calls onPick with it. */
export class EvalChart extends PlotBase {
  private points: EvalPoint[] = [];
  private bands: Band[] = [];

  constructor(el: HTMLElement, color: string, width: number, height: number, onPick: (p: EvalPoint) => void) {
    super();
    this.plot = new uPlot(
      {
        title: 'Greedy evaluation (mean survival steps) — click a point to watch that checkpoint',
        width,
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 10 } },
        hooks: { drawClear: [(u: uPlot) => drawBands(u, this.bands)] },
        scales: { x: { time: false } },
        axes: [{ label: 'episode', size: 36, labelSize: 14 }, { size: 56 }],
        series: [
          { label: 'episode' },
          { label: 'score', stroke: color, width: 1.5, points: { show: true, size: 7, fill: color }, spanGaps: true },
          { label: 'best', stroke: 'transparent', width: 0, points: { show: true, size: 14, stroke: '#D55E00', fill: 'rgba(0,0,0,0)', width: 2.5 }, spanGaps: false },
        ],
      },
      [[], [], []],
      el,
    );
    this.plot.over.addEventListener('click', () => {
      const i = this.plot.cursor.idx;
      if (i !== null && i !== undefined && this.points[i]) onPick(this.points[i]);
    });
    this.plot.over.style.cursor = 'pointer';
  }

  /** Client coordinates of point i (for the browser tests' real click), null if unshown. */
  pointAt(i: number): { x: number; y: number } | null {
    const p = this.points[i];
    if (!p || !Number.isFinite(p.score)) return null;
    const r = this.plot.over.getBoundingClientRect();
    return { x: r.left + this.plot.valToPos(p.episode, 'x'), y: r.top + this.plot.valToPos(p.score, 'y') };
  }

  update(points: EvalPoint[], best: number, bands: Band[]): void {
    this.points = points;
    this.bands = bands;
    const x = points.map((p) => p.episode);
    const y = points.map((p) => (Number.isFinite(p.score) ? p.score : null));
    const b = points.map((p, i) => (i === best ? p.score : null));
    this.plot.setData([x, y, b] as uPlot.AlignedData);
  }
}
