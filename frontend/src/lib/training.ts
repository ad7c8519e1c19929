// The training view's state and the reducer that feeds it protocol messages from
// /ws/training (docs/PROTOCOL.md). Pure: no DOM, no socket, so Vitest drives it with
// recorded messages. The history is columnar (see columns.ts) so a 10,000-episode hello
// is absorbed without one object per point surviving it.
import { Column } from './columns';
import { deriveBands, type Band } from './curriculum';
import { addEval, type EvalPoint } from './evals';
import { frameProblem, normalizeFrame, worldFrame, type Frame } from './frame';
import { parseWorld, type World } from './world';

export type TrainingStatus =
  | 'unknown'
  | 'waiting'
  | 'running'
  | 'paused'
  | 'stopped'
  | 'completed'
  | 'failed'
  | 'disconnected';

export interface CommandResult {
  command: string;
  ok: boolean;
  text: string;
  at: number;
}

export interface TrainingState {
  jobId: string;
  config: string;
  status: TrainingStatus;
  totalEpisodes: number;
  resumedFrom: number;
  /** Visual-mode pace in steps per second (PROTOCOL.md §4.1 `speed`), 0 = not known. */
  speed: number;
  visual: boolean;
  trainerConnected: boolean;
  /** All records the server has seen, when its hello history is thinned. */
  historyTotal: number;
  historyDownsampled: boolean;
  stepsPerSecond: number;
  etaSeconds: number;
  best: number;
  error: string;
  complete: boolean;
  /** step > 0: written mid-episode, `step` steps into episode `episode + 1` */
  lastCheckpoint: { episode: number; step: number; path: string; best: boolean } | null;
  /** The newest greedy evaluation the trainer reported (episode field eval_score). */
  lastEval: { episode: number; score: number } | null;
  /** How the newest episode ended (outcome: energy, health, max_steps), when sent. */
  lastOutcome: string;
  frame: Frame | null;
  /** The config's world from the hello (PROTOCOL.md §5.1), null when the server sent none. */
  world: World | null;
  /** The world's layout as a Frame: drawn before the first frame, and laid under frames that
   * carry only the agent (all but an episode's first), so a late joiner sees every place. */
  layout: Frame | null;
  /** Bumped when a frame arrives, so a renderer can tell it has drawn the newest. */
  frameSeq: number;
  /** Bumped whenever the history columns change (replaced or appended). */
  historySeq: number;
  /** Bumped whenever the history is replaced (a hello). */
  helloSeq: number;
  episode: Column;
  steps: Column;
  reward: Column;
  loss: Column;
  epsilon: Column;
  /** Curriculum multiplier each episode ran at, and the stage chosen after it (NaN = absent). */
  multiplier: Column;
  stage: Column;
  /** Every greedy evaluation, oldest first (evals.ts). */
  evals: EvalPoint[];
  /** Bumped whenever evals changes. */
  evalSeq: number;
  /** A non-finite loss or evaluation score arrived (as null, PROTOCOL.md): the network diverged. */
  diverged: string;
  /** Why the newest frame was refused ('' = it was not). */
  frameError: string;
  commands: Record<string, CommandResult>;
}

export function newTrainingState(): TrainingState {
  return {
    jobId: '',
    config: '',
    status: 'unknown',
    totalEpisodes: 0,
    resumedFrom: 0,
    speed: 0,
    visual: false,
    trainerConnected: false,
    historyTotal: 0,
    historyDownsampled: false,
    stepsPerSecond: 0,
    etaSeconds: NaN,
    best: NaN,
    error: '',
    complete: false,
    lastCheckpoint: null,
    lastEval: null,
    lastOutcome: '',
    frame: null,
    world: null,
    layout: null,
    frameSeq: 0,
    historySeq: 0,
    helloSeq: 0,
    episode: new Column(),
    steps: new Column(),
    reward: new Column(),
    loss: new Column(),
    epsilon: new Column(),
    multiplier: new Column(),
    stage: new Column(),
    evals: [],
    evalSeq: 0,
    diverged: '',
    frameError: '',
    commands: {},
  };
}

type J = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const STATUSES: TrainingStatus[] = ['waiting', 'running', 'paused', 'stopped', 'completed', 'failed', 'disconnected'];

/** The episode number of the newest record, or 0 before any. */
export function lastEpisode(s: TrainingState): number {
  return s.episode.length ? s.episode.last() : 0;
}

function applyStatus(s: TrainingState, m: J): void {
  if (typeof m.status === 'string' && (STATUSES as string[]).includes(m.status)) s.status = m.status as TrainingStatus;
  const speed = num(m.speed);
  if (speed !== null) s.speed = speed;
  if (typeof m.trainer_connected === 'boolean') s.trainerConnected = m.trainer_connected;
  if (typeof m.visual === 'boolean') s.visual = m.visual;
  const total = num(m.total_episodes);
  if (total !== null) s.totalEpisodes = total;
  if (m.complete === true) s.complete = true;
  if (typeof m.error === 'string' && m.error) s.error = m.error;
  if (s.status === 'running' || s.status === 'paused') {
    s.complete = m.complete === true;
    if (!(typeof m.error === 'string' && m.error)) s.error = '';
  }
}

/** Appends one episode record; a record for an episode at or before the newest replaces
 * nothing and is ignored unless it is the newest itself (then it is overwritten), so a
 * relay that repeats itself never duplicates a point. */
function appendEpisode(s: TrainingState, m: J): void {
  const ep = num(m.episode);
  if (ep === null) return;
  const steps = num(m.steps) ?? NaN;
  const reward = num(m.total_reward) ?? NaN;
  const loss = num(m.loss) ?? NaN;
  const eps = num(m.epsilon) ?? NaN;
  const mult = num(m.multiplier) ?? NaN;
  const stage = num(m.stage) ?? NaN;
  const last = lastEpisode(s);
  if (s.episode.length && ep < last) return;
  if (s.episode.length && ep === last) {
    s.steps.setLast(steps);
    s.reward.setLast(reward);
    s.loss.setLast(loss);
    s.epsilon.setLast(eps);
    s.multiplier.setLast(mult);
    s.stage.setLast(stage);
  } else {
    // null where a number was before: the trainer sends non-finite values as null.
    if (m.loss === null && s.loss.length && Number.isFinite(s.loss.last())) s.diverged = `loss is not a number from episode ${ep}`;
    s.episode.push(ep);
    s.steps.push(steps);
    s.reward.push(reward);
    s.loss.push(loss);
    s.epsilon.push(eps);
    s.multiplier.push(mult);
    s.stage.push(stage);
  }
  if (addEval(s.evals, m)) {
    s.evalSeq++;
    const p = s.evals[s.evals.length - 1];
    if (!Number.isFinite(p.score)) s.diverged = `evaluation score is not a number at episode ${p.episode}`;
  }
  const ev = num(m.eval_score);
  if (ev !== null) s.lastEval = { episode: ep, score: ev };
  if (typeof m.outcome === 'string') s.lastOutcome = m.outcome;
  const sps = num(m.steps_per_second);
  if (sps !== null) s.stepsPerSecond = sps;
  const eta = num(m.eta_seconds);
  if (eta !== null) s.etaSeconds = eta;
  const best = num(m.best);
  if (best !== null) s.best = best;
  const total = num(m.total_episodes);
  if (total !== null) s.totalEpisodes = total;
}

function clearHistory(s: TrainingState): void {
  s.episode.clear();
  s.steps.clear();
  s.reward.clear();
  s.loss.clear();
  s.epsilon.clear();
  s.multiplier.clear();
  s.stage.clear();
  s.evals = [];
  s.evalSeq++;
  s.diverged = '';
}

/** The history of a hello (PROTOCOL.md §5.1): an array of episode records, oldest first. */
function loadHistory(s: TrainingState, h: unknown): void {
  if (!Array.isArray(h)) return;
  for (const r of h) if (r && typeof r === 'object') appendEpisode(s, r as J);
}

/** Records the server's answer to a command (PROTOCOL.md §5.2 `command_result`). */
function applyReply(s: TrainingState, m: J, now: number): void {
  if (typeof m.command !== 'string' || typeof m.accepted !== 'boolean') return;
  const ok = m.accepted;
  const text = (typeof m.error === 'string' && m.error) || (ok ? 'accepted' : 'rejected');
  s.commands[m.command] = { command: m.command, ok, text, at: now };
}

/** Feeds one parsed message to the state. Returns false when the message was not
 * understood (the caller may log it once). */
export function applyTrainingMessage(s: TrainingState, msg: unknown, now = Date.now()): boolean {
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return false;
  const m = msg as J;
  const type = typeof m.type === 'string' ? m.type : '';
  switch (type) {
    case 'hello': {
      if (typeof m.job_id === 'string') s.jobId = m.job_id;
      if (typeof m.config === 'string') s.config = m.config;
      s.historyTotal = num(m.history_total) ?? 0;
      s.historyDownsampled = m.history_downsampled === true;
      // A (re)connection replaces the history: the server sends all it keeps.
      clearHistory(s);
      loadHistory(s, m.history);
      applyStatus(s, m);
      s.helloSeq++;
      s.historySeq++;
      const world = parseWorld(m.world);
      if (world) {
        s.world = world;
        s.layout = worldFrame(world);
        // A frame kept from before (drawn without the affordances) gets the full layout.
        if (s.frame) s.frame = { ...s.frame, width: world.width, height: world.height, cells: s.layout.cells };
        s.frameSeq++;
      }
      return true;
    }
    case 'episode':
      appendEpisode(s, m);
      s.historySeq++;
      return true;
    case 'frame':
      applyFrame(s, m);
      return true;
    case 'status':
    case 'completed':
    case 'failed':
      applyStatus(s, m);
      if (type === 'completed') {
        s.status = 'completed';
        s.complete = true;
      }
      if (type === 'failed') {
        s.status = 'failed';
        s.complete = true;
      }
      return true;
    case 'trainer_connected': {
      s.trainerConnected = true;
      const rf = num(m.resumed_from);
      if (rf !== null) s.resumedFrom = rf;
      const total = num(m.total_episodes);
      if (total !== null) s.totalEpisodes = total;
      if (typeof m.config === 'string') s.config = m.config;
      if (s.status === 'disconnected' || s.status === 'waiting' || s.status === 'unknown') s.status = 'running';
      return true;
    }
    case 'trainer_disconnected':
      s.trainerConnected = false;
      s.status = 'disconnected';
      return true;
    case 'checkpoint': {
      const ep = num(m.episode) ?? 0;
      const step = num(m.episode_step) ?? 0;
      s.lastCheckpoint = { episode: ep, step, path: typeof m.path === 'string' ? m.path : '', best: m.best === true };
      return true;
    }
    case 'command_result':
      applyReply(s, m, now);
      return true;
    case 'error':
      s.error = typeof m.error === 'string' ? m.error : 'error';
      return true;
    default:
      return false;
  }
}

function applyFrame(s: TrainingState, raw: unknown): void {
  const why = frameProblem(raw);
  if (why) {
    s.frameError = why;
    return;
  }
  // The world's layout first: the previous frame may be one drawn before it was known.
  const f = normalizeFrame(raw, s.layout ?? s.frame);
  if (!f) return;
  s.frameError = '';
  s.frame = f;
  s.frameSeq++;
}

/** What the live grid draws: the newest frame, or the world's layout before any. */
export function shownFrame(s: TrainingState): Frame | null {
  return s.frame ?? s.layout;
}

/** Mean survival steps over the newest n records (NaN when there are none). */
export function meanSteps(s: TrainingState, n = 100): number {
  const v = s.steps.view();
  let sum = 0;
  let k = 0;
  for (let i = Math.max(0, v.length - n); i < v.length; i++) {
    if (Number.isFinite(v[i])) {
      sum += v[i];
      k++;
    }
  }
  return k ? sum / k : NaN;
}

/** Progress in [0, 1] of the run towards its target episode count. */
export function progress(s: TrainingState): number {
  if (!s.totalEpisodes) return 0;
  return Math.min(1, lastEpisode(s) / s.totalEpisodes);
}

/** "1h 02m", "3m 05s", "42s"; "—" when unknown. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '—';
  sec = Math.round(sec);
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The curriculum bands of the history (curriculum.ts), [] without a curriculum. */
export function bandsOf(s: TrainingState): Band[] {
  return deriveBands(s.episode.view(), s.multiplier.view(), s.stage.view());
}

/** The metrics as CSV, one row per episode record held (a header row first). */
export function metricsCsv(s: TrainingState): string {
  const cols: [string, Column][] = [
    ['episode', s.episode], ['steps', s.steps], ['total_reward', s.reward], ['loss', s.loss],
    ['epsilon', s.epsilon], ['multiplier', s.multiplier], ['stage', s.stage],
  ];
  const views = cols.map(([, c]) => c.view());
  const evalAt = new Map(s.evals.map((p) => [p.episode, p.score]));
  const lines = [[...cols.map(([n]) => n), 'eval_score'].join(',')];
  for (let i = 0; i < s.episode.length; i++) {
    const row = views.map((v) => (Number.isFinite(v[i]) ? String(v[i]) : ''));
    const ev = evalAt.get(views[0][i]);
    row.push(ev !== undefined && Number.isFinite(ev) ? String(ev) : '');
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}
