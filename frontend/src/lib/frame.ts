// Normalises the grid-world snapshots that arrive as training `frame` messages and
// inference `state_update` messages into one shape the canvas draws. The protocol
// document fixes the fields; the normaliser also accepts the obvious alternative shapes
// (a 2-D grid of names or indices, or a list of affordances with positions) so that a
// small change on the server side degrades a label, not the whole view.
import { ACTION_NAMES, AFFORDANCE_NAMES, METER_NAMES, type World } from './world';

export interface Frame {
  step: number;
  width: number;
  height: number;
  agent: { x: number; y: number } | null;
  /** Affordance name per cell, row-major (y * width + x), '' for none. */
  cells: string[];
  meters: number[];
  meterNames: string[];
  action: string | null;
  qValues: number[];
  /** true = the action is allowed. */
  masks: boolean[];
  reward: number | null;
  cumulativeReward: number | null;
  hour: number | null;
  /** Some Q-value is not a finite number (sent as null, PROTOCOL.md): the network diverged. */
  diverged: boolean;
}

/** The largest grid side and array a frame may carry. The server's worlds are at most
 * 32×32 with 8 meters and 6 actions; anything far beyond is refused (with a reason the
 * views show) rather than allocated: a 20000×20000 grid would take the tab down. */
export const FRAME_LIMITS = { side: 256, items: 1024 };

/** Why a frame was refused, or '' when its sizes are sane. Looks only at lengths and
 * numbers, never allocates from them. */
export function frameProblem(raw: unknown): string {
  if (!raw || typeof raw !== 'object') return '';
  let m = raw as J;
  for (const k of ['frame', 'state']) {
    const inner = m[k];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) m = { ...m, ...(inner as J) };
  }
  const g = m.grid && typeof m.grid === 'object' && !Array.isArray(m.grid) ? (m.grid as J) : {};
  for (const v of [g.width, g.height, g.size, m.width, m.height, m.grid_size])
    if (typeof v === 'number' && (v > FRAME_LIMITS.side || v < 0 || !Number.isInteger(v)))
      return `refused a frame with a grid side of ${v} (at most ${FRAME_LIMITS.side})`;
  const rows = Array.isArray(m.grid) ? (m.grid as unknown[]) : Array.isArray(g.cells) ? (g.cells as unknown[]) : Array.isArray(g.grid) ? (g.grid as unknown[]) : null;
  if (rows && rows.length > FRAME_LIMITS.side * FRAME_LIMITS.side) return `refused a frame of ${rows.length} cells`;
  if (rows && rows.length > FRAME_LIMITS.side && Array.isArray(rows[0])) return `refused a frame of ${rows.length} rows`;
  if (rows && Array.isArray(rows[0]) && (rows[0] as unknown[]).length > FRAME_LIMITS.side) return `refused a frame of ${(rows[0] as unknown[]).length} columns`;
  for (const k of ['affordances', 'meters', 'q_values', 'q', 'action_masks', 'masks']) {
    const a = (k === 'affordances' ? g[k] ?? m[k] : m[k]) as unknown;
    if (Array.isArray(a) && a.length > FRAME_LIMITS.items) return `refused a frame with ${a.length} ${k}`;
  }
  if (m.meters && typeof m.meters === 'object' && !Array.isArray(m.meters) && Object.keys(m.meters).length > FRAME_LIMITS.items)
    return 'refused a frame with too many meters';
  return '';
}

type J = Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function point(v: unknown): { x: number; y: number } | null {
  if (Array.isArray(v) && v.length >= 2 && num(v[0]) !== null && num(v[1]) !== null)
    return { x: v[0] as number, y: v[1] as number };
  if (v && typeof v === 'object') {
    const o = v as J;
    const x = num(o.x);
    const y = num(o.y);
    if (x !== null && y !== null) return { x, y };
  }
  return null;
}

function affName(v: unknown, names: string[]): string {
  if (typeof v === 'string') return v === '.' || v === '-' || v === 'empty' ? '' : v;
  if (typeof v === 'number') return v >= 0 && v < names.length ? names[v] : '';
  if (v && typeof v === 'object') {
    const n = (v as J).name ?? (v as J).affordance ?? (v as J).type;
    return typeof n === 'string' ? n : '';
  }
  return '';
}

/** Builds a Frame from a message (or its `state`/`frame` member); null when it holds no grid
 * information at all. `layout` is an earlier Frame whose cells are reused when this message
 * only moves the agent. */
export function normalizeFrame(raw: unknown, layout?: Frame | null): Frame | null {
  if (!raw || typeof raw !== 'object') return null;
  if (frameProblem(raw)) return null;
  let m = raw as J;
  for (const k of ['frame', 'state']) {
    const inner = m[k];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) m = { ...m, ...(inner as J) };
  }
  const names = Array.isArray(m.affordance_names) ? (m.affordance_names as string[]) : AFFORDANCE_NAMES;
  let grid = m.grid as unknown;
  let gobj: J = {};
  if (grid && typeof grid === 'object' && !Array.isArray(grid)) {
    gobj = grid as J;
    grid = gobj.cells ?? gobj.grid ?? null;
  }
  let width = num(gobj.width) ?? num(m.width) ?? num(gobj.size) ?? num(m.grid_size) ?? 0;
  let height = num(gobj.height) ?? num(m.height) ?? num(gobj.size) ?? num(m.grid_size) ?? 0;
  let cells: string[] = [];
  if (Array.isArray(grid) && grid.length > 0 && Array.isArray(grid[0])) {
    // Rows of cells: grid[y][x].
    height = grid.length;
    width = (grid[0] as unknown[]).length;
    cells = new Array(width * height).fill('');
    for (let y = 0; y < height; y++) {
      const row = grid[y] as unknown[];
      for (let x = 0; x < width; x++) cells[y * width + x] = affName(row[x], names);
    }
  } else if (Array.isArray(grid) && width > 0 && height > 0 && grid.length === width * height) {
    cells = (grid as unknown[]).map((c) => affName(c, names));
  }
  const affs = (gobj.affordances ?? m.affordances) as unknown;
  if (Array.isArray(affs)) {
    if (!width) width = 8;
    if (!height) height = 8;
    if (cells.length !== width * height) cells = new Array(width * height).fill('');
    for (const a of affs) {
      const p = point(a) ?? point((a as J)?.position) ?? point((a as J)?.pos);
      const n = affName(a, names);
      if (p && n && p.x >= 0 && p.y >= 0 && p.x < width && p.y < height) cells[p.y * width + p.x] = n;
    }
  }
  if (cells.length === 0 && layout && layout.cells.length) {
    width = layout.width;
    height = layout.height;
    cells = layout.cells;
  }
  const agent =
    point(gobj.agent) ?? point(m.agent) ?? point(m.agent_pos) ?? point(m.agent_position) ?? point(m.position) ??
    (num(m.agent_x) !== null && num(m.agent_y) !== null ? { x: m.agent_x as number, y: m.agent_y as number } : null);
  if (cells.length === 0 && !agent) return null;
  if (!width || !height) {
    width = layout?.width || 8;
    height = layout?.height || 8;
    if (cells.length !== width * height) cells = new Array(width * height).fill('');
  }

  let meters: number[] = [];
  let meterNames = METER_NAMES;
  const mv = m.meters;
  if (Array.isArray(mv) && mv.every((v) => typeof v === 'string')) meterNames = mv as string[];
  else if (Array.isArray(mv)) meters = mv.map((v) => num(v) ?? 0);
  else if (mv && typeof mv === 'object') {
    const o = mv as J;
    const keys = METER_NAMES.every((k) => k in o) ? METER_NAMES : Object.keys(o);
    meterNames = keys;
    meters = keys.map((k) => num(o[k]) ?? 0);
  }
  if (Array.isArray(m.meter_names)) meterNames = m.meter_names as string[];

  const qv = m.q_values ?? m.q;
  const qValues = Array.isArray(qv) ? qv.map((v) => num(v) ?? NaN) : [];
  // null (or anything not finite) among the Q-values: PROTOCOL.md sends non-finite as null.
  const diverged = Array.isArray(qv) && qValues.some((v) => !Number.isFinite(v));
  const mk = m.action_masks ?? m.action_mask ?? m.masks ?? m.mask;
  let masks: boolean[] = [];
  if (Array.isArray(mk)) masks = mk.map((v) => v === true || v === 1);
  else if (typeof mk === 'number') masks = ACTION_NAMES.map((_, i) => ((mk >> i) & 1) === 1);
  let action: string | null = null;
  if (typeof m.action === 'string') action = m.action;
  else if (typeof m.action === 'number') action = ACTION_NAMES[m.action] ?? String(m.action);

  return {
    step: num(m.step) ?? num(m.steps) ?? 0,
    width,
    height,
    agent,
    cells,
    meters,
    meterNames,
    action,
    qValues,
    masks,
    reward: num(m.reward),
    cumulativeReward: num(m.cumulative_reward) ?? num(m.total_reward),
    hour: num(m.hour),
    diverged,
  };
}

/** A Frame holding only the world's layout (no agent, no values yet): what a view draws
 * before the first frame arrives, and the layout later frames that carry only the agent
 * are laid over. */
export function worldFrame(w: World): Frame {
  const cells = new Array(w.width * w.height).fill('');
  for (const a of w.affordances)
    if (a.x >= 0 && a.y >= 0 && a.x < w.width && a.y < w.height) cells[a.y * w.width + a.x] = a.name;
  return {
    step: 0,
    width: w.width,
    height: w.height,
    agent: null,
    cells,
    meters: [],
    meterNames: w.meters.length ? w.meters.map((m) => m.name) : METER_NAMES,
    action: null,
    qValues: [],
    masks: [],
    reward: null,
    cumulativeReward: null,
    hour: null,
    diverged: false,
  };
}
