// Curriculum stages as bands behind the charts (docs/PROTOCOL.md §4.1: every episode record
// carries the `multiplier` it ran at and the `stage` the curriculum chose after it). Pure:
// the training view draws what these return; Vitest checks the derivation.

export interface Band {
  /** First and last episode of the band (inclusive). */
  from: number;
  to: number;
  /** Decay multiplier the band's episodes ran at ("difficulty"). */
  multiplier: number;
  /** Curriculum stage (0 = easiest), NaN when the records carry none. */
  stage: number;
  /** Entered by moving to an easier stage (a lower multiplier) than the band before. */
  retreat: boolean;
}

/**
 * Bands of equal multiplier over the episodes `x` (ascending). A record's `stage` is the
 * stage chosen after its episode, so the stage an episode ran at is its predecessor's
 * (the first record's own for the first). Records without a finite multiplier continue the
 * band they are in. A run without a curriculum (every multiplier 1, every stage 0 or
 * absent) gets no bands.
 */
export function deriveBands(x: ArrayLike<number>, multiplier: ArrayLike<number>, stage: ArrayLike<number>): Band[] {
  const bands: Band[] = [];
  let curriculum = false;
  for (let i = 0; i < x.length; i++) {
    const m = multiplier[i];
    const stRaw = i > 0 ? stage[i - 1] : stage[i];
    const st = Number.isFinite(stRaw) ? stRaw : NaN;
    if ((Number.isFinite(m) && m !== 1) || (Number.isFinite(st) && st !== 0)) curriculum = true;
    const last = bands[bands.length - 1];
    if (!Number.isFinite(m)) {
      if (last) last.to = x[i];
      continue;
    }
    if (last && last.multiplier === m) {
      last.to = x[i];
      if (Number.isNaN(last.stage) && Number.isFinite(st)) last.stage = st;
      continue;
    }
    bands.push({ from: x[i], to: x[i], multiplier: m, stage: st, retreat: !!last && m < last.multiplier });
  }
  return curriculum ? bands : [];
}

/** "difficulty 0.5 from episode 201" (with "easier again:" for a retreat). */
export function bandLabel(b: Band, first: boolean): string {
  const d = `difficulty ${fmtMult(b.multiplier)}`;
  if (first) return `${d} from episode ${b.from}`;
  return b.retreat ? `easier again: ${d} from episode ${b.from}` : `${d} from episode ${b.from}`;
}

export function fmtMult(m: number): string {
  return Number.isFinite(m) ? String(Math.round(m * 100) / 100) : '—';
}
