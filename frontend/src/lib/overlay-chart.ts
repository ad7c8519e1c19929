// The Runs view's overlay: survival steps per episode of several runs (or seed groups) on
// one uPlot chart, a group as its mean with a shaded min–max band, each curve's greedy
// evaluations as points of its colour. The series change with the ticked runs, so the plot
// is built again when the set of curves changes and only fed new data otherwise.
import uPlot from 'uplot';
import { PlotBase } from './chart';
import type { Overlay } from './runs';
import { PALETTE } from './world';

// Okabe–Ito (colour-blind safe, without yellow on white); past eight, dashed.
const COLORS = [PALETTE.blue, PALETTE.orange, PALETTE.green, PALETTE.vermillion, PALETTE.purple, PALETTE.sky, PALETTE.black, PALETTE.grey];

export function curveStyle(i: number): { color: string; dash: number[] } {
  return { color: COLORS[i % COLORS.length], dash: i >= COLORS.length ? [6, 3] : [] };
}

/** A Float64Array with NaN as uPlot's gap (null). */
function gaps(a: Float64Array): (number | null)[] {
  const out = new Array<number | null>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number.isFinite(a[i]) ? a[i] : null;
  return out;
}

export class OverlayChart extends PlotBase {
  private sig = '';
  /** What the last update drew: curves and bands (the browser tests read them). */
  curves = 0;
  bands = 0;

  constructor(
    private el: HTMLElement,
    private width: number,
    private height: number,
  ) {
    super();
    this.build([]);
  }

  private build(shape: { band: boolean }[]): void {
    const series: uPlot.Series[] = [{ label: 'episode' }];
    const bands: uPlot.Band[] = [];
    shape.forEach((c, i) => {
      const { color, dash } = curveStyle(i);
      if (c.band) {
        const hi = series.length;
        series.push({ label: `max ${i}`, stroke: color + '55', width: 0.5, points: { show: false } });
        series.push({ label: `min ${i}`, stroke: color + '55', width: 0.5, points: { show: false } });
        bands.push({ series: [hi, hi + 1], fill: color + '26' });
      }
      series.push({ label: `curve ${i}`, stroke: color, width: 1.75, dash, points: { show: false }, spanGaps: true });
      series.push({ label: `eval ${i}`, stroke: color, width: 0, paths: () => null, points: { show: true, size: 8, fill: '#fff', stroke: color, width: 2 } });
    });
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot(
      {
        width: this.width,
        height: this.height,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [
          { label: 'episode', size: 36, labelSize: 14 },
          { label: 'survival steps (points: greedy evaluation)', size: 56, labelSize: 16 },
        ],
        series,
        bands,
      },
      [[], ...series.slice(1).map(() => [])] as unknown as uPlot.AlignedData,
      this.el,
    );
  }

  update(o: Overlay): void {
    const sig = o.curves.map((c) => (c.band ? 'b' : 'l')).join('');
    if (sig !== this.sig) {
      this.build(o.curves.map((c) => ({ band: c.band !== null })));
      this.sig = sig;
    }
    const data: (number | null)[][] = [Array.from(o.x)];
    for (const c of o.curves) {
      if (c.band) data.push(gaps(c.band.max), gaps(c.band.min));
      data.push(gaps(c.y), gaps(c.evals));
    }
    this.plot.setData(data as uPlot.AlignedData);
    this.curves = o.curves.length;
    this.bands = o.curves.filter((c) => c.band).length;
  }

  resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    super.resize(width, height);
  }
}
