// The greedy evaluations as a series (docs/PROTOCOL.md §4.1): a record with `evaluated`
// true is one evaluation (its `eval_score`, and its `recording` when one was written).
// Records from a trainer that does not send `evaluated` carry the newest score forward on
// every record; there a change of score marks a new evaluation (equal consecutive scores
// then read as one point, the best that can be done). Pure.

export interface EvalPoint {
  episode: number;
  score: number;
  recording: string;
}

type J = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const NAME = /^eval_[0-9]{7}$/;

/** Adds the evaluation a record carries, if any, to `out` (ascending episodes; a record
 * for an episode at or before the newest point is not added again). Returns true when a
 * point was added. */
export function addEval(out: EvalPoint[], rec: J): boolean {
  const ep = num(rec.episode);
  const score = num(rec.eval_score);
  if (ep === null || score === null) {
    // A non-finite score (sent as null) from an evaluation is still an evaluation: NaN.
    if (ep === null || rec.evaluated !== true || rec.eval_score !== null) return false;
  }
  const last = out[out.length - 1];
  if (last && ep <= last.episode) return false;
  const s = score ?? NaN;
  if (rec.evaluated === true || (rec.evaluated === undefined && (!last || !(last.score === s)))) {
    const recording = typeof rec.recording === 'string' && NAME.test(rec.recording) ? rec.recording : '';
    out.push({ episode: ep, score: s, recording });
    return true;
  }
  return false;
}

/** Index of the best (highest finite score; the earliest of equals), -1 when none. */
export function bestEval(points: EvalPoint[]): number {
  let b = -1;
  for (let i = 0; i < points.length; i++) if (Number.isFinite(points[i].score) && (b < 0 || points[i].score > points[b].score)) b = i;
  return b;
}

/** The checkpoint to load for an evaluation at `episode`: the model of that episode if
 * listed, else the newest one before it, else null. */
export function modelForEval(models: { name: string; episode: number | null }[], episode: number): string | null {
  let pick: { name: string; episode: number } | null = null;
  for (const m of models) {
    if (m.episode === null || m.episode > episode || /_s[0-9]+$/.test(m.name)) continue;
    if (!pick || m.episode > pick.episode) pick = { name: m.name, episode: m.episode };
  }
  return pick ? pick.name : null;
}
