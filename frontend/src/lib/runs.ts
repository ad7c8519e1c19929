import { emaSmooth } from './downsample';

// The Runs view's state and pure helpers (docs/PROTOCOL.md §5.4 /ws/jobs): every job's
// row and series from the overview hello, kept live by the tagged episode/status records;
// the seed grouping (runs whose names differ only in their `seed=` part) and the overlay
// data of ticked runs or groups, aligned by episode for one uPlot chart.

export interface RunSeries {
  episode: number[];
  steps: number[];
  /** Evaluation points: the episode a new score first appears on, and that score. */
  evalEpisode: number[];
  evalScore: number[];
}

export interface RunRow {
  id: string;
  /** The run's own job (§4 "Jobs": a sweep's is its directory, with no trainer of its own). */
  isDefault: boolean;
  /** A past run under the runs root (§4 "Past runs"): read-only, its series fetched on demand. */
  past: boolean;
  config: string;
  /** What the row shows: the trainer's status while one is linked, else the sweep file's
   * state of the run (queued, completed for done, failed, stopped), else the server's. */
  status: string;
  /** The server's `status` of the job (the trainer's last, waiting, disconnected). */
  jobStatus: string;
  /** The run's state in sweep.toml (§4 "The sweep file"), '' when the file does not name it. */
  sweepState: string;
  /** The run's Slurm task when the sweep runs on Slurm (§5.4 `slurm`), null otherwise. */
  slurm: SlurmTask | null;
  trainerConnected: boolean;
  episode: number;
  total: number;
  /** Best greedy evaluation score seen (-1: none yet). */
  bestEval: number;
  sps: number;
  /** Timestamp of the first episode record (NaN: none) and of the newest seen. */
  started: number;
  lastTs: number;
  /** Wall time in seconds (§5.4 `wall_seconds`, counted on by live records). */
  wallSeconds: number;
  /** A past run's series has been fetched (live jobs always have theirs). */
  seriesLoaded: boolean;
  series: RunSeries;
  /** Last eval_score seen (an evaluation point is recorded when it changes). */
  lastEval: number | null;
}

/** A run's Slurm task as the server's job row carries it (§5.4 `slurm`). */
export interface SlurmTask {
  state: string;
  job: string | null;
  node: string | null;
  reason: string | null;
}

export interface RunsState {
  runs: Map<string, RunRow>;
  /** Bumped on every change (the view redraws when it moved). */
  seq: number;
  /** Bumped when a run is added or removed (the table's rows). */
  listSeq: number;
}

/** Cap on the points one run's series keeps in the page (the server thins its hello to
 * 1,000; live records then grow it): beyond it every other point is dropped. */
export const MAX_POINTS = 20000;

export function newRunsState(): RunsState {
  return { runs: new Map(), seq: 0, listSeq: 0 };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);

/** A row with nothing known yet. */
export function newRunRow(id: string): RunRow {
  return { id, isDefault: false, past: false, config: '', status: 'waiting', jobStatus: 'waiting', sweepState: '', slurm: null, trainerConnected: false, episode: 0, total: 0, bestEval: -1, sps: 0, started: NaN, lastTs: NaN, wallSeconds: 0, seriesLoaded: true, series: { episode: [], steps: [], evalEpisode: [], evalScore: [] }, lastEval: null };
}

const SWEEP_SHOWN: Record<string, string> = { queued: 'queued', done: 'completed', failed: 'failed', stopped: 'stopped' };

/** The status a row shows (RunRow.status). */
export function rowStatus(r: Pick<RunRow, 'trainerConnected' | 'jobStatus' | 'sweepState'>): string {
  if (r.trainerConnected) return r.jobStatus;
  return SWEEP_SHOWN[r.sweepState] ?? r.jobStatus;
}

const strOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** A row's `slurm` (§5.4), or null when absent or not an object with a string state. */
export function slurmTask(v: unknown): SlurmTask | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const state = strOrNull(o.state);
  if (state === null) return null;
  return { state, job: strOrNull(o.job), node: strOrNull(o.node), reason: strOrNull(o.reason) };
}

/** What the Runs table says of a Slurm task: "pending (Resources)", "running on node-1",
 * "completed on node-1", with its job id. */
export function slurmLabel(t: SlurmTask): string {
  let s = `Slurm: ${t.state}`;
  if (t.state === 'pending' && t.reason) s += ` (${t.reason})`;
  else if (t.node) s += ` on ${t.node}`;
  if (t.job) s += ` · job ${t.job}`;
  return s;
}

/** Notes a record's timestamp: the first one starts the wall clock, each later one moves it. */
function noteTime(r: RunRow, ts: number | null) {
  if (ts === null) return;
  if (!Number.isFinite(r.started)) r.started = ts;
  if (!Number.isFinite(r.lastTs) || ts > r.lastTs) r.lastTs = ts;
  r.wallSeconds = Math.max(r.wallSeconds, r.lastTs - r.started);
}

function noteEval(r: RunRow, episode: number, score: number | null) {
  if (score === null) return;
  if (score > r.bestEval) r.bestEval = score;
  if (r.lastEval === score && r.series.evalEpisode.length) return;
  r.lastEval = score;
  r.series.evalEpisode.push(episode);
  r.series.evalScore.push(score);
}

function thin(s: RunSeries) {
  if (s.episode.length <= MAX_POINTS) return;
  const keep = (a: number[]) => a.filter((_, i) => i % 2 === 1 || i === a.length - 1);
  s.episode = keep(s.episode);
  s.steps = keep(s.steps);
}

/** A job row's fields (§5.4 table) onto r; the series is left alone. */
function applyRowFields(r: RunRow, j: Record<string, unknown>): void {
  r.isDefault = j.default === true;
  r.past = j.past === true;
  r.config = str(j.config, r.config);
  r.jobStatus = str(j.status, r.jobStatus);
  r.sweepState = typeof j.sweep_state === 'string' ? j.sweep_state : '';
  r.slurm = slurmTask(j.slurm);
  r.trainerConnected = j.trainer_connected === true;
  r.episode = Math.max(r.episode, num(j.episode) ?? 0);
  r.total = num(j.total_episodes) ?? r.total;
  r.sps = num(j.steps_per_second) ?? r.sps;
  const best = num(j.best_eval);
  if (best !== null && best > r.bestEval) r.bestEval = best;
  const started = num(j.started);
  if (started !== null) r.started = started;
  const wall = num(j.wall_seconds);
  if (wall !== null && wall >= 0) r.wallSeconds = Math.max(wall, Number.isFinite(r.lastTs) && Number.isFinite(r.started) ? r.lastTs - r.started : 0);
  r.status = rowStatus(r);
}

/** Fills r's series from §5.4 columns (the overview's `series`, or GET /api/series). */
export function applySeries(r: RunRow, s: unknown): void {
  const o = (s && typeof s === 'object' ? s : {}) as Record<string, unknown>;
  const ep = Array.isArray(o.episode) ? o.episode : [];
  const steps = Array.isArray(o.steps) ? o.steps : [];
  const ev = Array.isArray(o.eval_score) ? o.eval_score : [];
  r.series = { episode: [], steps: [], evalEpisode: [], evalScore: [] };
  r.lastEval = null;
  for (let i = 0; i < ep.length && i < MAX_POINTS; i++) {
    const e = num(ep[i]);
    if (e === null || (r.series.episode.length && e <= r.series.episode[r.series.episode.length - 1])) continue;
    r.series.episode.push(e);
    r.series.steps.push(num(steps[i]) ?? NaN);
    noteEval(r, e, num(ev[i]));
  }
  r.seriesLoaded = true;
}

function applyJob(st: RunsState, j: Record<string, unknown>): void {
  const id = str(j.id);
  if (!id) return;
  const r = newRunRow(id);
  applyRowFields(r, j);
  if (r.past) r.seriesLoaded = false;
  else applySeries(r, j.series);
  st.runs.set(id, r);
}

/** Applies one /ws/jobs message; returns whether anything changed. Hostile input (wrong
 * types, unknown jobs' odd fields) is ignored field by field. */
export function applyOverviewMessage(st: RunsState, msg: unknown): boolean {
  if (!msg || typeof msg !== 'object') return false;
  const m = msg as Record<string, unknown>;
  if (m.type === 'overview') {
    st.runs.clear();
    if (Array.isArray(m.jobs)) for (const j of m.jobs) if (j && typeof j === 'object') applyJob(st, j as Record<string, unknown>);
    st.seq++;
    st.listSeq++;
    return true;
  }
  const id = str(m.job);
  if (!id) return false;
  let r = st.runs.get(id);
  if (!r) {
    r = newRunRow(id);
    st.runs.set(id, r);
    st.listSeq++;
  }
  if (m.type === 'job') {
    if (!m.row || typeof m.row !== 'object') return false;
    applyRowFields(r, m.row as Record<string, unknown>);
  } else if (m.type === 'episode') {
    const e = num(m.episode);
    if (e === null) return false;
    const s = r.series;
    if (!s.episode.length || e > s.episode[s.episode.length - 1]) {
      s.episode.push(e);
      s.steps.push(num(m.steps) ?? NaN);
      thin(s);
    }
    r.episode = Math.max(r.episode, e);
    r.sps = num(m.steps_per_second) ?? r.sps;
    noteEval(r, e, num(m.eval_score));
    noteTime(r, num(m.timestamp));
    // An episode means a trainer runs it, whatever status came before.
    if (r.jobStatus === 'waiting' || r.jobStatus === 'disconnected') r.jobStatus = 'running';
    r.trainerConnected = true;
    r.status = rowStatus(r);
  } else if (m.type === 'status') {
    r.jobStatus = str(m.status, r.jobStatus);
    r.status = rowStatus(r);
    r.total = num(m.total_episodes) ?? r.total;
    const e = num(m.episode);
    if (e !== null) r.episode = Math.max(r.episode, e);
  } else return false;
  st.seq++;
  return true;
}

/** The rows the view lists: every job, except that a sweep's own job (the sweep
 * directory, which never gets a trainer) is left out while it has nothing to show and
 * other jobs exist; a single run's job is always listed. */
export function shownRuns(all: RunRow[], past = false): RunRow[] {
  const rows = all.filter((r) => past || !r.past);
  const live = rows.filter((r) => !r.past);
  if (live.length < 2) return rows;
  return rows.filter((r) => !(r.isDefault && !r.trainerConnected && r.series.episode.length === 0 && r.episode === 0));
}

// ---- seed grouping ----

/** The run name without its `seed=N` part (`agent.gamma=0.99,seed=3` → `agent.gamma=0.99`,
 * `seed=3` → ``). A name with no seed part is its own key. */
export function seedKey(name: string): string {
  const parts = name.split(',');
  const rest = parts.filter((p) => !/^seed=[^,]*$/.test(p));
  if (rest.length === parts.length) return name;
  return rest.join(',');
}

/** Whether a name has a `seed=` part. */
export function hasSeed(name: string): boolean {
  return name.split(',').some((p) => /^seed=[^,]*$/.test(p));
}

/** Runs grouped by seedKey, in the order of their first member. */
export function groupBySeed(names: string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const n of names) {
    const k = seedKey(n);
    const a = g.get(k);
    if (a) a.push(n);
    else g.set(k, [n]);
  }
  return g;
}

/** True when there are at least two runs and every one differs from the others only in its
 * seed: one group of several seeded runs (the default view of `--runs N`). */
export function onlySeedsDiffer(names: string[]): boolean {
  if (names.length < 2 || !names.every(hasSeed)) return false;
  return groupBySeed(names).size === 1;
}

/** A group's label: its common part with the seed as a wildcard, and how many runs. */
export function groupLabel(key: string, n: number): string {
  return `${key ? `${key},` : ''}seed=* (${n} runs: mean, min–max)`;
}

export interface Stat {
  mean: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/**
 * Mean, min and max across runs at each episode of `xs` (ascending). A run contributes at
 * episode x its value at the newest episode ≤ x of its own series (the series are thinned
 * differently, so an exact match is rare); a run that has not reached x yet (or has no
 * value there) does not contribute; NaN where no run does.
 */
export function groupStats(xs: ArrayLike<number>, runs: { x: ArrayLike<number>; y: ArrayLike<number> }[]): Stat {
  const n = xs.length;
  const mean = new Float64Array(n);
  const min = new Float64Array(n);
  const max = new Float64Array(n);
  const sum = new Float64Array(n);
  const cnt = new Uint32Array(n);
  min.fill(Infinity);
  max.fill(-Infinity);
  for (const r of runs) {
    const rn = r.x.length;
    if (!rn) continue;
    const last = r.x[rn - 1];
    let j = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      if (x < r.x[0] || x > last) continue;
      while (j + 1 < rn && r.x[j + 1] <= x) j++;
      const v = r.y[j];
      if (!Number.isFinite(v)) continue;
      sum[i] += v;
      cnt[i]++;
      if (v < min[i]) min[i] = v;
      if (v > max[i]) max[i] = v;
    }
  }
  for (let i = 0; i < n; i++) {
    if (cnt[i]) mean[i] = sum[i] / cnt[i];
    else mean[i] = min[i] = max[i] = NaN;
  }
  return { mean, min, max };
}

/** The sorted union of several ascending episode lists (the overlay's shared x). */
export function unionX(lists: ArrayLike<number>[]): Float64Array {
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const l of lists) for (let i = 0; i < l.length; i++) all[k++] = l[i];
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (w === 0 || all[i] !== all[w - 1]) all[w++] = all[i];
  return all.slice(0, w);
}

/** Downsamples an ascending x axis to about `n` evenly spaced picks (all when shorter). */
export function thinX(xs: Float64Array, n: number): Float64Array {
  if (xs.length <= n) return xs;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = xs[Math.round((i * (xs.length - 1)) / (n - 1))];
  return out;
}

export interface OverlayCurve {
  label: string;
  /** Run ids behind this curve (one, or a group's members). */
  members: string[];
  /** Value at each x (NaN: none). */
  y: Float64Array;
  /** The group's band (min, max), or null for a single run. */
  band: { min: Float64Array; max: Float64Array } | null;
  /** Evaluation points on the same x (NaN where none). */
  evals: Float64Array;
}

export interface Overlay {
  x: Float64Array;
  curves: OverlayCurve[];
}

/**
 * The overlay of the ticked runs: one curve per run, or with `grouped` one curve per seed
 * group (the mean of its members, with a min–max band). Every curve shares one x axis, the
 * union of the members' episodes thinned to at most `maxX` points; an evaluation point is
 * placed at the shared x nearest its episode (mean of the group's scores there). With
 * `smoothing` > 0 each run's steps are an exponential moving average of that weight.
 */
export function overlayData(runs: RunRow[], grouped: boolean, maxX = 2000, smoothing = 0): Overlay {
  const sets: { label: string; rows: RunRow[] }[] = [];
  if (grouped) {
    const g = groupBySeed(runs.map((r) => r.id));
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const [k, ids] of g) {
      const rows = ids.map((id) => byId.get(id)!);
      sets.push({ label: ids.length > 1 ? groupLabel(k, ids.length) : ids[0], rows });
    }
  } else for (const r of runs) sets.push({ label: r.id, rows: [r] });
  const x = thinX(unionX(runs.map((r) => r.series.episode)), maxX);
  const curves = sets.map(({ label, rows }) => {
    // Each run is smoothed on its own episodes (EMA, as the training view's charts), then aligned.
    const s = groupStats(x, rows.map((r) => ({ x: r.series.episode, y: smoothing > 0 ? emaSmooth(r.series.steps, smoothing) : r.series.steps })));
    const ev = evalsOn(x, rows);
    return { label, members: rows.map((r) => r.id), y: s.mean, band: rows.length > 1 ? { min: s.min, max: s.max } : null, evals: ev };
  });
  return { x, curves };
}

/** Evaluation scores placed on x: each at the first x ≥ its episode, the mean where several land. */
export function evalsOn(x: Float64Array, rows: RunRow[]): Float64Array {
  const sum = new Float64Array(x.length);
  const cnt = new Uint32Array(x.length);
  for (const r of rows) {
    const es = r.series.evalEpisode;
    let i = 0;
    for (let k = 0; k < es.length; k++) {
      while (i < x.length && x[i] < es[k]) i++;
      if (i >= x.length) break;
      sum[i] += r.series.evalScore[k];
      cnt[i]++;
    }
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = cnt[i] ? sum[i] / cnt[i] : NaN;
  return out;
}

// ---- the table ----

export type SortKey = 'id' | 'status' | 'progress' | 'bestEval' | 'sps' | 'wall';

const STATUS_ORDER: Record<string, number> = { running: 0, paused: 1, waiting: 2, queued: 2, disconnected: 3, stopped: 4, completed: 5, failed: 6 };

export function sortRuns(rows: RunRow[], key: SortKey, desc: boolean): RunRow[] {
  const val = (r: RunRow): number | string => {
    switch (key) {
      case 'id':
        return r.id;
      case 'status':
        return STATUS_ORDER[r.status] ?? 9;
      case 'progress':
        return r.total > 0 ? r.episode / r.total : r.episode;
      case 'bestEval':
        return r.bestEval;
      case 'sps':
        return r.sps;
      case 'wall':
        return r.wallSeconds;
    }
  };
  const out = rows.slice();
  out.sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    const c = typeof va === 'string' ? va.localeCompare(vb as string, undefined, { numeric: true }) : (va as number) - (vb as number);
    return (desc ? -c : c) || a.id.localeCompare(b.id, undefined, { numeric: true });
  });
  return out;
}
