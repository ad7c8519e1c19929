// The agent view's state and reducer for the inference WebSocket (/ws, docs/PROTOCOL.md):
// the models on offer, the one loaded, and the live episode. Pure, like training.ts.
import { frameProblem, normalizeFrame, worldFrame, type Frame } from './frame';
import { parseWorld, type World } from './world';

export interface ModelInfo {
  name: string;
  episode: number | null;
  score: number | null;
}

export interface AgentState {
  /** The job whose checkpoints the session loads (PROTOCOL.md §7.1 `job`; '' = not said). */
  job: string;
  models: ModelInfo[];
  model: ModelInfo | null;
  playing: boolean;
  followLatest: boolean;
  /** Steps per second while playing (PROTOCOL.md §7). */
  speed: number;
  untrained: boolean;
  maxSteps: number;
  actions: string[];
  frame: Frame | null;
  /** The config's world from `connected` (PROTOCOL.md §5.1), null when absent. */
  world: World | null;
  /** The world's layout as a Frame, laid under steps that carry only the agent. */
  layout: Frame | null;
  frameSeq: number;
  /** Recent agent cells, oldest first, for the trail. */
  trail: { x: number; y: number }[];
  episodes: number;
  lastEnd: { steps: number; totalReward: number; reason: string } | null;
  /** The session's finished episodes, newest first (at most RECENT_LEN). */
  recent: { episode: number; steps: number; totalReward: number; reason: string; model: string }[];
  ended: boolean;
  error: string;
  info: string;
}

export const TRAIL_LEN = 8;
export const RECENT_LEN = 8;

export function newAgentState(): AgentState {
  return {
    job: '',
    models: [],
    model: null,
    playing: false,
    followLatest: false,
    speed: 10,
    untrained: false,
    maxSteps: 0,
    actions: [],
    frame: null,
    world: null,
    layout: null,
    frameSeq: 0,
    trail: [],
    episodes: 0,
    lastEnd: null,
    recent: [],
    ended: false,
    error: '',
    info: '',
  };
}

type J = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function model(v: unknown): ModelInfo | null {
  if (typeof v === 'string') return { name: v, episode: null, score: null };
  if (!v || typeof v !== 'object') return null;
  const o = v as J;
  const name = typeof o.name === 'string' ? o.name : '';
  if (!name) return null;
  return { name, episode: num(o.episode), score: num(o.score) };
}

function models(v: unknown): ModelInfo[] | null {
  if (!Array.isArray(v)) return null;
  const out: ModelInfo[] = [];
  for (const x of v) {
    const mi = model(x);
    if (mi) out.push(mi);
  }
  return out;
}

function applyControl(s: AgentState, m: J): void {
  if (typeof m.playing === 'boolean') s.playing = m.playing;
  if (typeof m.follow_latest === 'boolean') s.followLatest = m.follow_latest;
  const sp = num(m.speed);
  if (sp !== null) s.speed = sp;
}

export function applyAgentMessage(s: AgentState, msg: unknown): boolean {
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return false;
  const m = msg as J;
  switch (m.type) {
    case 'connected':
    case 'models': {
      const list = models(m.models);
      if (list) s.models = list;
      if (typeof m.job === 'string') s.job = m.job;
      applyControl(s, m);
      if (Array.isArray(m.actions)) s.actions = m.actions.filter((a): a is string => typeof a === 'string');
      const ms = num(m.max_steps);
      if (ms !== null) s.maxSteps = ms;
      // connected carries the layout (and meter names) before the first step: the world
      // object when the server sends one, else its grid.
      const world = m.type === 'connected' ? parseWorld(m.world) : null;
      if (world) {
        s.world = world;
        if (!s.actions.length && world.actions.length) s.actions = world.actions;
        if (!s.maxSteps && world.maxSteps) s.maxSteps = world.maxSteps;
        s.layout = worldFrame(world);
        s.frame = s.layout;
        s.frameSeq++;
      } else if (m.type === 'connected') {
        const layout = normalizeFrame({ grid: m.grid }, s.frame);
        if (layout) {
          if (Array.isArray(m.meters) && m.meters.every((x) => typeof x === 'string')) layout.meterNames = m.meters as string[];
          s.frame = layout;
          s.frameSeq++;
        }
      }
      s.error = '';
      return true;
    }
    case 'model_loaded': {
      const mi = model(m.model);
      if (mi) {
        mi.episode = num(m.episode);
        mi.score = num(m.score);
      }
      s.model = mi;
      if (typeof m.job === 'string') s.job = m.job;
      s.untrained = m.untrained === true;
      const list = models(m.models);
      if (list) s.models = list;
      applyControl(s, m);
      s.trail = [];
      s.error = '';
      s.info = typeof m.reason === 'string' && m.reason ? m.reason : mi ? `loaded ${mi.name}` : 'untrained policy';
      return true;
    }
    case 'episode_start':
      s.trail = [];
      s.ended = false;
      s.episodes++;
      applyFrameMsg(s, m);
      return true;
    case 'state_update':
      applyFrameMsg(s, m);
      return true;
    case 'episode_end':
      s.ended = true;
      s.lastEnd = {
        steps: num(m.steps) ?? s.frame?.step ?? 0,
        totalReward: num(m.total_reward) ?? 0,
        reason: typeof m.reason === 'string' ? m.reason : '',
      };
      s.recent.unshift({ episode: num(m.episode) ?? s.episodes, ...s.lastEnd, model: s.model?.name ?? (s.untrained ? 'untrained' : '') });
      if (s.recent.length > RECENT_LEN) s.recent.pop();
      return true;
    case 'command_result': {
      applyControl(s, m);
      const cmd = typeof m.command === 'string' ? m.command : 'command';
      if (m.accepted !== true)
        s.error = `${cmd}: ${typeof m.error === 'string' ? m.error : 'rejected'}`;
      else {
        s.error = '';
        s.info = `${cmd} accepted`;
      }
      return true;
    }
    case 'error':
      s.error = typeof m.error === 'string' ? m.error : 'error';
      return true;
    default:
      return false;
  }
}

function applyFrameMsg(s: AgentState, m: J): void {
  const why = frameProblem(m);
  if (why) {
    s.error = why; // refused before anything is allocated from its sizes
    return;
  }
  const f = normalizeFrame(m, s.layout ?? s.frame);
  if (!f) return;
  s.frame = f;
  s.frameSeq++;
  if (f.agent) {
    const last = s.trail[s.trail.length - 1];
    if (!last || last.x !== f.agent.x || last.y !== f.agent.y) {
      s.trail.push({ x: f.agent.x, y: f.agent.y });
      if (s.trail.length > TRAIL_LEN) s.trail.shift();
    }
  }
}
