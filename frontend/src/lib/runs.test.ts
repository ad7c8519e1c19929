import { describe, expect, it } from 'vitest';
import { applyOverviewMessage, applySeries, rowStatus, shownRuns, groupBySeed, groupStats, newRunsState, onlySeedsDiffer, overlayData, seedKey, slurmLabel, sortRuns, unionX, type RunRow } from './runs';

const hello = {
  type: 'overview',
  protocol: 1,
  jobs: [
    { id: 'seed=42', config: 'level1', status: 'running', trainer_connected: true, episode: 3, total_episodes: 10, steps_per_second: 900,
      series: { episode: [1, 2, 3], steps: [10, 20, 30], total_reward: [9, 19, 29], eval_score: [null, 50, 50] } },
    { id: 'seed=43', config: 'level1', status: 'waiting', trainer_connected: false, episode: 0, total_episodes: 10, series: { episode: [], steps: [], total_reward: [], eval_score: [] } },
  ],
};

describe('seed grouping', () => {
  it('strips the seed part of a run name', () => {
    expect(seedKey('seed=3')).toBe('');
    expect(seedKey('agent.gamma=0.99,seed=3')).toBe('agent.gamma=0.99');
    expect(seedKey('seed=3,agent.gamma=0.99')).toBe('agent.gamma=0.99');
    expect(seedKey('agent.gamma=0.99')).toBe('agent.gamma=0.99');
    // "seed" inside another key is not the seed.
    expect(seedKey('env.seedling=2,seed=1')).toBe('env.seedling=2');
    expect(seedKey('2026-12-06_210000')).toBe('2026-12-06_210000');
  });
  it('groups names that differ only in the seed', () => {
    const g = groupBySeed(['a=1,seed=1', 'a=2,seed=1', 'a=1,seed=2', 'a=2,seed=2']);
    expect([...g.entries()]).toEqual([['a=1', ['a=1,seed=1', 'a=1,seed=2']], ['a=2', ['a=2,seed=1', 'a=2,seed=2']]]);
    expect(onlySeedsDiffer(['seed=42', 'seed=43', 'seed=44'])).toBe(true);
    expect(onlySeedsDiffer(['a=1,seed=42', 'a=1,seed=43'])).toBe(true);
    expect(onlySeedsDiffer(['a=1,seed=42', 'a=2,seed=43'])).toBe(false);
    expect(onlySeedsDiffer(['seed=42'])).toBe(false);
    expect(onlySeedsDiffer(['run', 'run2'])).toBe(false);
  });
});

describe('group statistics', () => {
  it('mean, min and max across runs aligned by episode', () => {
    const s = groupStats([1, 2, 3, 4], [
      { x: [1, 2, 3, 4], y: [10, 20, 30, 40] },
      { x: [1, 2, 3], y: [0, 40, 60] },
    ]);
    expect([...s.mean]).toEqual([5, 30, 45, 40]);
    expect([...s.min]).toEqual([0, 20, 30, 40]);
    expect([...s.max]).toEqual([10, 40, 60, 40]);
  });
  it('a thinned run contributes its newest value at or before each episode', () => {
    const s = groupStats([1, 2, 3, 4, 5], [{ x: [1, 3, 5], y: [1, 3, 5] }, { x: [2, 3, 4, 5], y: [2, 3, 4, 5] }]);
    expect([...s.mean]).toEqual([1, 1.5, 3, 3.5, 5]);
    expect([...s.min]).toEqual([1, 1, 3, 3, 5]);
  });
  it('NaN where no run has reached the episode; NaN values are skipped', () => {
    const s = groupStats([1, 2, 9], [{ x: [1, 2], y: [NaN, 4] }]);
    expect(s.mean[0]).toBeNaN();
    expect(s.mean[1]).toBe(4);
    expect(s.max[2]).toBeNaN();
  });
  it('union of episode lists is sorted and distinct', () => {
    expect([...unionX([[1, 3, 5], [2, 3, 10], []])]).toEqual([1, 2, 3, 5, 10]);
  });
});

describe('overview messages', () => {
  it('hello builds one row per job with its series and evaluations', () => {
    const st = newRunsState();
    expect(applyOverviewMessage(st, hello)).toBe(true);
    expect([...st.runs.keys()]).toEqual(['seed=42', 'seed=43']);
    const r = st.runs.get('seed=42')!;
    expect(r.series.episode).toEqual([1, 2, 3]);
    expect(r.series.evalEpisode).toEqual([2]);
    expect(r.bestEval).toBe(50);
    expect(st.runs.get('seed=43')!.status).toBe('waiting');
  });
  it('tagged episodes and statuses update their job; duplicates and junk are ignored', () => {
    const st = newRunsState();
    applyOverviewMessage(st, hello);
    applyOverviewMessage(st, { job: 'seed=43', type: 'episode', episode: 1, steps: 7, steps_per_second: 500 });
    applyOverviewMessage(st, { job: 'seed=43', type: 'episode', episode: 1, steps: 8 });
    applyOverviewMessage(st, { job: 'seed=43', type: 'episode', episode: 2, steps: 9, eval_score: 77 });
    const r = st.runs.get('seed=43')!;
    expect(r.series.steps).toEqual([7, 9]);
    expect(r.status).toBe('running');
    expect(r.bestEval).toBe(77);
    expect(r.sps).toBe(500);
    applyOverviewMessage(st, { job: 'seed=43', type: 'status', status: 'completed', episode: 10, total_episodes: 10 });
    expect(r.status).toBe('completed');
    expect(r.episode).toBe(10);
    expect(applyOverviewMessage(st, { job: 'seed=43', type: 'episode', episode: 'x' })).toBe(false);
    expect(applyOverviewMessage(st, { type: 'episode', episode: 3 })).toBe(false);
    expect(applyOverviewMessage(st, null)).toBe(false);
    expect(applyOverviewMessage(st, { type: 'overview', jobs: [1, { id: 5 }, { id: 'ok', series: { episode: 'no' } }] })).toBe(true);
    expect([...st.runs.keys()]).toEqual(['ok']);
  });
  it('a record for a job the hello did not list adds a row', () => {
    const st = newRunsState();
    applyOverviewMessage(st, hello);
    const l = st.listSeq;
    applyOverviewMessage(st, { job: 'seed=44', type: 'episode', episode: 1, steps: 3 });
    expect(st.runs.size).toBe(3);
    expect(st.listSeq).toBe(l + 1);
  });
});

function row(id: string, ep: number[], steps: number[], evals: [number, number][] = []): RunRow {
  return { id, isDefault: false, past: false, config: '', status: 'running', jobStatus: 'running', sweepState: '', slurm: null, trainerConnected: true, started: NaN, lastTs: NaN, wallSeconds: 0, seriesLoaded: true, episode: ep[ep.length - 1] ?? 0, total: 10, bestEval: -1, sps: 0, lastEval: null,
    series: { episode: ep, steps, evalEpisode: evals.map((e) => e[0]), evalScore: evals.map((e) => e[1]) } };
}

describe('overlay data', () => {
  const runs = [row('seed=1', [1, 2, 3], [10, 20, 30], [[2, 100]]), row('seed=2', [1, 2, 3], [30, 40, 50], [[2, 200]]), row('a=1,seed=1', [1, 2], [5, 5])];
  it('one curve per run, evaluations on the shared x', () => {
    const o = overlayData(runs, false);
    expect([...o.x]).toEqual([1, 2, 3]);
    expect(o.curves.map((c) => c.label)).toEqual(['seed=1', 'seed=2', 'a=1,seed=1']);
    expect([...o.curves[1].y]).toEqual([30, 40, 50]);
    expect(o.curves[0].band).toBeNull();
    expect(o.curves[0].evals[1]).toBe(100);
    expect(o.curves[2].y[2]).toBeNaN();
  });
  it('grouped: mean curve with a min–max band per seed group', () => {
    const o = overlayData(runs, true);
    expect(o.curves.length).toBe(2);
    expect(o.curves[0].members).toEqual(['seed=1', 'seed=2']);
    expect([...o.curves[0].y]).toEqual([20, 30, 40]);
    expect([...o.curves[0].band!.min]).toEqual([10, 20, 30]);
    expect([...o.curves[0].band!.max]).toEqual([30, 40, 50]);
    expect(o.curves[0].evals[1]).toBe(150);
    expect(o.curves[1].band).toBeNull();
    expect(o.curves[1].label).toBe('a=1,seed=1');
    expect(o.curves[0].label).toBe('seed=* (2 runs: mean, min–max)');
    expect(overlayData([runs[2], row('a=1,seed=2', [1], [1])], true).curves[0].label).toBe('a=1,seed=* (2 runs: mean, min–max)');
  });
  it('smoothing averages each run on its own episodes before the group statistics', () => {
    const o = overlayData([row('seed=1', [1, 2], [0, 10]), row('seed=2', [1, 2], [0, 10])], true, 2000, 0.5);
    // EMA 0.5 with debiasing: 0, then (0.5*0 + 0.5*10) / (1 - 0.25) = 6.67.
    expect(o.curves[0].y[0]).toBe(0);
    expect(o.curves[0].y[1]).toBeCloseTo(20 / 3, 6);
    expect(o.curves[0].band!.max[1]).toBeCloseTo(20 / 3, 6);
    expect([...overlayData([row('seed=1', [1, 2], [0, 10])], false).curves[0].y]).toEqual([0, 10]);
  });
  it('the shared x is thinned to maxX points, keeping both ends', () => {
    const ep = Array.from({ length: 10000 }, (_, i) => i + 1);
    const o = overlayData([row('seed=1', ep, ep)], false, 100);
    expect(o.x.length).toBe(100);
    expect(o.x[0]).toBe(1);
    expect(o.x[99]).toBe(10000);
    expect(o.curves[0].y[99]).toBe(10000);
  });
});

describe('shown runs', () => {
  it("leaves out a sweep's own idle job, never a single run's", () => {
    const own = row('sweep', [], []);
    own.isDefault = true;
    own.trainerConnected = false;
    own.episode = 0;
    const a = row('seed=1', [1], [1]);
    expect(shownRuns([own, a]).map((r) => r.id)).toEqual(['seed=1']);
    expect(shownRuns([own]).map((r) => r.id)).toEqual(['sweep']);
    own.series.episode = [1];
    expect(shownRuns([own, a]).length).toBe(2);
  });
  it('the hello marks the default job', () => {
    const st = newRunsState();
    applyOverviewMessage(st, { type: 'overview', jobs: [{ id: 'sweep', default: true, status: 'waiting' }, { id: 'seed=1', default: false }] });
    expect(shownRuns([...st.runs.values()]).map((r) => r.id)).toEqual(['seed=1']);
  });
});

describe('table sort', () => {
  it('sorts by a column, names numerically, ties by name', () => {
    const a = row('seed=10', [1], [1]);
    const b = row('seed=9', [1, 2], [1, 1]);
    a.sps = 5;
    b.sps = 5;
    expect(sortRuns([a, b], 'id', false).map((r) => r.id)).toEqual(['seed=9', 'seed=10']);
    expect(sortRuns([a, b], 'progress', true).map((r) => r.id)).toEqual(['seed=9', 'seed=10']);
    expect(sortRuns([b, a], 'sps', true).map((r) => r.id)).toEqual(['seed=9', 'seed=10']);
  });
});

describe('rows of runs with no trainer, wall time, past runs (PROTOCOL.md §5.4)', () => {
  it("shows the sweep file's state while no trainer is linked, the trainer's status while one is", () => {
    expect(rowStatus({ trainerConnected: false, jobStatus: 'waiting', sweepState: 'queued' })).toBe('queued');
    expect(rowStatus({ trainerConnected: false, jobStatus: 'disconnected', sweepState: 'done' })).toBe('completed');
    expect(rowStatus({ trainerConnected: false, jobStatus: 'disconnected', sweepState: 'failed' })).toBe('failed');
    expect(rowStatus({ trainerConnected: false, jobStatus: 'waiting', sweepState: 'slurm_pending' })).toBe('waiting');
    expect(rowStatus({ trainerConnected: true, jobStatus: 'paused', sweepState: 'running' })).toBe('paused');
    const st = newRunsState();
    applyOverviewMessage(st, { type: 'overview', jobs: [{ id: 'seed=1', status: 'waiting', sweep_state: 'queued', trainer_connected: false }] });
    expect(st.runs.get('seed=1')!.status).toBe('queued');
    // its trainer links: the job message carries the whole row
    applyOverviewMessage(st, { job: 'seed=1', type: 'job', row: { id: 'seed=1', status: 'running', sweep_state: 'running', trainer_connected: true, total_episodes: 50 } });
    expect(st.runs.get('seed=1')!.status).toBe('running');
    expect(st.runs.get('seed=1')!.total).toBe(50);
    applyOverviewMessage(st, { job: 'seed=1', type: 'job', row: { id: 'seed=1', status: 'completed', sweep_state: 'done', trainer_connected: false } });
    expect(st.runs.get('seed=1')!.status).toBe('completed');
    expect(applyOverviewMessage(st, { job: 'seed=1', type: 'job', row: 'junk' })).toBe(false);
  });

  it("carries a run's Slurm task from its row and says it in words (PROTOCOL.md §5.4 slurm)", () => {
    const st = newRunsState();
    applyOverviewMessage(st, { type: 'overview', jobs: [
      { id: 'seed=1', status: 'waiting', sweep_state: 'queued', trainer_connected: false, slurm: { state: 'pending', job: '41_0', node: null, reason: 'Resources' } },
      { id: 'seed=2', status: 'waiting', trainer_connected: false, slurm: null },
      { id: 'seed=3', status: 'waiting', trainer_connected: false, slurm: { state: 7 } },
    ] });
    const t = st.runs.get('seed=1')!.slurm!;
    expect(t).toEqual({ state: 'pending', job: '41_0', node: null, reason: 'Resources' });
    expect(slurmLabel(t)).toBe('Slurm: pending (Resources) · job 41_0');
    expect(st.runs.get('seed=2')!.slurm).toBeNull();
    expect(st.runs.get('seed=3')!.slurm).toBeNull();
    applyOverviewMessage(st, { job: 'seed=1', type: 'job', row: { id: 'seed=1', status: 'running', trainer_connected: true, slurm: { state: 'running', job: '41_0', node: 'node-1', reason: null } } });
    expect(slurmLabel(st.runs.get('seed=1')!.slurm!)).toBe('Slurm: running on node-1 · job 41_0');
    expect(slurmLabel({ state: 'timeout', job: null, node: 'n2', reason: null })).toBe('Slurm: timeout on n2');
  });

  it('counts the wall time from the row and on with the records it sees', () => {
    const st = newRunsState();
    applyOverviewMessage(st, { type: 'overview', jobs: [{ id: 'seed=1', trainer_connected: true, status: 'running', started: 1000, wall_seconds: 30, series: { episode: [1], steps: [5] } }] });
    const r = st.runs.get('seed=1')!;
    expect(r.wallSeconds).toBe(30);
    applyOverviewMessage(st, { job: 'seed=1', type: 'episode', episode: 2, steps: 6, timestamp: 1045.5 });
    expect(r.wallSeconds).toBe(45.5);
    applyOverviewMessage(st, { job: 'seed=1', type: 'episode', episode: 3, steps: 6, timestamp: 1040 }); // clock never runs back
    expect(r.wallSeconds).toBe(45.5);
    const a = row('a', [1], [1]);
    const b = row('b', [1], [1]);
    a.wallSeconds = 5;
    b.wallSeconds = 50;
    expect(sortRuns([a, b], 'wall', true).map((x) => x.id)).toEqual(['b', 'a']);
  });

  it('lists past runs only when asked, with their series loaded on demand', () => {
    const st = newRunsState();
    applyOverviewMessage(st, { type: 'overview', jobs: [{ id: 'seed=1', series: { episode: [1], steps: [1] } }, { id: 'seed=2' }, { id: 'level1:2026-11-29_101500', past: true, status: 'completed', episode: 300, total_episodes: 300, wall_seconds: 61 }] });
    const all = [...st.runs.values()];
    expect(shownRuns(all).map((r) => r.id)).toEqual(['seed=1', 'seed=2']);
    expect(shownRuns(all, true).length).toBe(3);
    const p = st.runs.get('level1:2026-11-29_101500')!;
    expect(p.seriesLoaded).toBe(false);
    expect(p.status).toBe('completed');
    applySeries(p, { episode: [100, 200, 300], steps: [50, 'x', 70], eval_score: [null, 90, 95] });
    expect(p.seriesLoaded).toBe(true);
    expect(p.series.episode).toEqual([100, 200, 300]);
    expect(Number.isNaN(p.series.steps[1])).toBe(true);
    expect(p.bestEval).toBe(95);
    expect(p.series.evalEpisode).toEqual([200, 300]);
  });
});
