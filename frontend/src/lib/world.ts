// What the frontend knows about the world, for labels only: the server's messages carry
// the numbers. Names follow docs/design/world.md (level 1); a message that carries its own names
// (meter_names, affordance names) wins over these.

export const METER_NAMES = ['energy', 'hygiene', 'satiation', 'money', 'mood', 'social', 'health', 'fitness'];
export const ACTION_NAMES = ['up', 'down', 'left', 'right', 'interact', 'wait'];
/** Level-1 affordances in config order, used when a grid gives indices instead of names. */
export const AFFORDANCE_NAMES = [
  'Bed', 'LuxuryBed', 'Shower', 'HomeMeal', 'FastFood', 'Job', 'Labor', 'Gym', 'Bar', 'Park',
  'Recreation', 'Therapist', 'Doctor', 'Hospital',
];
/** Below this a meter starts to hurt others (the cascades of docs/design/world.md); the server's
 * `world` gives each meter its own value from the config. */
export const CRITICAL = 0.3;

export interface WorldAffordance {
  name: string;
  x: number;
  y: number;
  cost: number;
  openHour: number;
  closeHour: number;
  ticks: number;
  effects: Record<string, number>;
}

/** The `world` object of the training hello and the inference connected
 * (docs/PROTOCOL.md §5.1): the config's fixed layout, known before any frame. */
export interface World {
  width: number;
  height: number;
  level: number;
  maxSteps: number;
  dayCycle: boolean;
  /** Level 3's clock: steps per 24 h and the hour of an episode's first step. */
  dayLength: number;
  startHour: number;
  meters: { name: string; critical: number }[];
  affordances: WorldAffordance[];
  actions: string[];
}

type J = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads a `world` object; null when it is absent or has no usable grid size. Entries it
 * cannot read are skipped, so one odd affordance costs a label, not the layout. */
export function parseWorld(raw: unknown): World | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const o = raw as J;
  const width = num(o.width);
  const height = num(o.height);
  // Sides beyond FRAME_LIMITS are refused (a hostile size would allocate the tab away).
  if (!width || !height || width < 1 || height < 1 || width > 256 || height > 256 || !Number.isInteger(width) || !Number.isInteger(height)) return null;
  const meters: World['meters'] = [];
  if (Array.isArray(o.meters))
    for (const m of o.meters.slice(0, 1024)) {
      if (typeof m === 'string') meters.push({ name: m, critical: CRITICAL });
      else if (m && typeof m === 'object' && typeof (m as J).name === 'string')
        meters.push({ name: (m as J).name as string, critical: num((m as J).critical) ?? CRITICAL });
    }
  const affordances: WorldAffordance[] = [];
  if (Array.isArray(o.affordances))
    for (const a of o.affordances.slice(0, 1024)) {
      if (!a || typeof a !== 'object') continue;
      const r = a as J;
      const x = num(r.x);
      const y = num(r.y);
      if (typeof r.name !== 'string' || x === null || y === null) continue;
      const effects: Record<string, number> = {};
      if (r.effects && typeof r.effects === 'object')
        for (const [k, v] of Object.entries(r.effects as J)) if (num(v) !== null) effects[k] = v as number;
      affordances.push({
        name: r.name,
        x,
        y,
        cost: num(r.cost) ?? 0,
        openHour: num(r.open_hour) ?? 0,
        closeHour: num(r.close_hour) ?? 24,
        ticks: num(r.ticks) ?? 1,
        effects,
      });
    }
  const actions = Array.isArray(o.actions) ? o.actions.filter((a): a is string => typeof a === 'string') : [];
  return {
    width,
    height,
    level: num(o.level) ?? 1,
    maxSteps: num(o.max_steps) ?? 0,
    dayCycle: o.day_cycle === true,
    dayLength: num(o.day_length) ?? 240,
    startHour: num(o.start_hour) ?? 8,
    meters,
    affordances,
    actions,
  };
}

/** Two-or-three-letter labels that fit in a cell at 1280×720. */
export function affordanceLabel(name: string): string {
  const known: Record<string, string> = {
    Bed: 'Bed', LuxuryBed: 'LBd', Shower: 'Shw', HomeMeal: 'Mea', FastFood: 'FF', Job: 'Job',
    Labor: 'Lab', Gym: 'Gym', Bar: 'Bar', Park: 'Prk', Recreation: 'Rec', Therapist: 'Thr',
    Doctor: 'Doc', Hospital: 'Hsp',
  };
  return known[name] ?? name.slice(0, 3);
}

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = {
  blue: '#0072B2',
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
  grey: '#999999',
};

/** The hour of day after `step` steps of an episode (the world's clock, common/env.c
 * env_hour), or null without a day cycle. */
export function hourAt(w: World | null | undefined, step: number): number | null {
  if (!w || !w.dayCycle || !(w.dayLength >= 1)) return null;
  const start = ((Math.floor(w.startHour) % 24) + 24) % 24;
  const h = start + ((step % w.dayLength) * 24) / w.dayLength;
  return h >= 24 ? h - 24 : h;
}
