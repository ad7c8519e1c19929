// The derivations behind the page that teaches: curriculum bands (a retreat included), the
// evaluation series, the CSV export, "diverged" from nulls, and refusing absurd frames.
import { describe, expect, it } from 'vitest';
import { bandLabel, deriveBands } from './curriculum';
import { addEval, bestEval, modelForEval, type EvalPoint } from './evals';
import { frameProblem, normalizeFrame } from './frame';
import { applyTrainingMessage, bandsOf, metricsCsv, newTrainingState } from './training';
import { parseWorld } from './world';

// Records as the trainer writes them: `multiplier` is what the episode ran at, `stage` the
// stage chosen after it (so the change of stage shows one record before the multiplier's).
function run(mults: number[], stageAfter: number[], extra: (i: number) => Record<string, unknown> = () => ({})) {
  return mults.map((m, i) => ({ type: 'episode', episode: i + 1, steps: 100, total_reward: 99, multiplier: m, stage: stageAfter[i], loss: 0.1, epsilon: 0.5, ...extra(i) }));
}

describe('curriculum bands', () => {
  it('one band per multiplier run, with the stage it ran at, and a retreat marked', () => {
    // 0.2 for episodes 1-3, 0.5 for 4-6, back to 0.2 for 7-8 (a retreat), 0.5 again at 9.
    const mults = [0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.2, 0.2, 0.5];
    const stage = [0, 0, 1, 1, 1, 0, 0, 1, 1];
    const x = mults.map((_, i) => i + 1);
    const b = deriveBands(x, mults, stage);
    expect(b.map((v) => [v.from, v.to, v.multiplier, v.stage, v.retreat])).toEqual([
      [1, 3, 0.2, 0, false],
      [4, 6, 0.5, 1, false],
      [7, 8, 0.2, 0, true],
      [9, 9, 0.5, 1, false],
    ]);
    expect(bandLabel(b[1], false)).toBe('difficulty 0.5 from episode 4');
    expect(bandLabel(b[2], false)).toMatch(/^easier again: difficulty 0.2 from episode 7$/);
  });

  it('no bands without a curriculum (multiplier 1, stage 0 throughout)', () => {
    expect(deriveBands([1, 2, 3], [1, 1, 1], [0, 0, 0])).toEqual([]);
    expect(deriveBands([1, 2, 3], [1, 1, 1], [NaN, NaN, NaN])).toEqual([]);
  });

  it('the starting band shows before any change when the curriculum starts easy', () => {
    expect(deriveBands([1, 2], [0.2, 0.2], [0, 0])).toHaveLength(1);
  });

  it('a record without a multiplier continues its band; the reducer keeps the columns', () => {
    const s = newTrainingState();
    const recs = run([0.2, 0.2, 0.5, 0.5], [0, 1, 1, 1]);
    delete (recs[1] as Record<string, unknown>).multiplier;
    applyTrainingMessage(s, { type: 'hello', history: recs.slice(0, 2) });
    for (const r of recs.slice(2)) applyTrainingMessage(s, r);
    const b = bandsOf(s);
    expect(b.map((v) => [v.from, v.to, v.multiplier])).toEqual([[1, 2, 0.2], [3, 4, 0.5]]);
  });
});

describe('evaluation series', () => {
  it('a point per evaluated record, equal scores included, with its recording', () => {
    const pts: EvalPoint[] = [];
    const recs = [
      { episode: 9, eval_score: 10 },
      { episode: 10, eval_score: 50, evaluated: true, recording: 'eval_0000010' },
      { episode: 11, eval_score: 50 },
      { episode: 20, eval_score: 50, evaluated: true },
      { episode: 30, eval_score: 80, evaluated: true, recording: '../../etc/passwd' },
    ];
    // The first record (no flag, a first score) reads as an evaluation (older trainers).
    recs.forEach((r) => addEval(pts, r));
    expect(pts.map((p) => [p.episode, p.score, p.recording])).toEqual([
      [9, 10, ''],
      [10, 50, 'eval_0000010'],
      [20, 50, ''],
      [30, 80, ''],
    ]);
    expect(bestEval(pts)).toBe(3);
  });

  it('without the flag, a change of the carried score is a new evaluation', () => {
    const pts: EvalPoint[] = [];
    [{ episode: 1 }, { episode: 250, eval_score: 100 }, { episode: 251, eval_score: 100 }, { episode: 500, eval_score: 90 }].forEach((r) => addEval(pts, r));
    expect(pts.map((p) => p.episode)).toEqual([250, 500]);
    expect(bestEval(pts)).toBe(0);
  });

  it('the checkpoint for an evaluation: its own, else the newest before it, never mid-episode', () => {
    const models = [
      { name: 'ep_0000030', episode: 30 },
      { name: 'ep_0000020_s00012', episode: 20 },
      { name: 'ep_0000010', episode: 10 },
    ];
    expect(modelForEval(models, 30)).toBe('ep_0000030');
    expect(modelForEval(models, 25)).toBe('ep_0000010');
    expect(modelForEval(models, 5)).toBe(null);
  });

  it('a null evaluation score (non-finite on the trainer) shows as diverged', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'episode', episode: 10, steps: 5, loss: 0.1, eval_score: null, evaluated: true });
    expect(s.evals).toHaveLength(1);
    expect(Number.isNaN(s.evals[0].score)).toBe(true);
    expect(s.diverged).toMatch(/evaluation score/);
  });

  it('a null loss after finite ones shows as diverged; a hello clears it', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'episode', episode: 1, steps: 5, loss: null });
    expect(s.diverged).toBe(''); // before learning starts the loss is null
    applyTrainingMessage(s, { type: 'episode', episode: 2, steps: 5, loss: 0.3 });
    applyTrainingMessage(s, { type: 'episode', episode: 3, steps: 5, loss: null });
    expect(s.diverged).toMatch(/loss/);
    applyTrainingMessage(s, { type: 'hello', history: [] });
    expect(s.diverged).toBe('');
  });
});

describe('CSV export', () => {
  it('one row per episode record, the evaluation on its own row', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'hello', history: run([0.2, 0.2, 0.5], [0, 1, 1], (i) => (i === 1 ? { eval_score: 42.5, evaluated: true } : {})) });
    const lines = metricsCsv(s).trim().split('\n');
    expect(lines[0]).toBe('episode,steps,total_reward,loss,epsilon,multiplier,stage,eval_score');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('2,100,99,0.1,0.5,0.2,1,42.5');
    expect(lines[3].endsWith(',')).toBe(true);
  });
});

describe('frames from outside', () => {
  it('q-values sent as null mark the frame diverged instead of failing', () => {
    const f = normalizeFrame({ grid: { width: 8, height: 8, agent: { x: 1, y: 1 } }, q_values: [1, null, 2, 3, 4, 5] });
    expect(f?.diverged).toBe(true);
    expect(normalizeFrame({ grid: { width: 8, height: 8, agent: { x: 1, y: 1 } }, q_values: [1, 2] })?.diverged).toBe(false);
  });

  it('a 20000×20000 grid, a huge flat grid or huge arrays are refused with a reason', () => {
    const big = { type: 'frame', grid: { width: 20000, height: 20000, agent: { x: 1, y: 1 } } };
    expect(frameProblem(big)).toMatch(/grid side of 20000/);
    expect(normalizeFrame(big)).toBe(null);
    expect(frameProblem({ grid: new Array(300).fill([]) })).toMatch(/rows/);
    expect(frameProblem({ grid: { width: 8, height: 8 }, q_values: new Array(5000).fill(0) })).toMatch(/5000 q_values/);
    expect(parseWorld({ width: 20000, height: 20000 })).toBe(null);
    const s = newTrainingState();
    applyTrainingMessage(s, big);
    expect(s.frame).toBe(null);
    expect(s.frameError).toMatch(/refused/);
    applyTrainingMessage(s, { type: 'frame', grid: { width: 8, height: 8, agent: { x: 1, y: 1 } } });
    expect(s.frame).not.toBe(null);
    expect(s.frameError).toBe('');
  });
});
