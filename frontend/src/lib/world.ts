// What the frontend knows about the world, for labels only: the server's messages carry
// the numbers. Names follow DESIGN.md §4 (level 1); a message that carries its own names
// (meter_names, affordance names) wins over these.

export const METER_NAMES = ['energy', 'hygiene', 'satiation', 'money', 'mood', 'social', 'health', 'fitness'];
export const ACTION_NAMES = ['up', 'down', 'left', 'right', 'interact', 'wait'];
/** Level-1 affordances in config order, used when a grid gives indices instead of names. */
export const AFFORDANCE_NAMES = [
  'Bed', 'LuxuryBed', 'Shower', 'HomeMeal', 'FastFood', 'Job', 'Labor', 'Gym', 'Bar', 'Park',
  'Recreation', 'Therapist', 'Doctor', 'Hospital',
];
/** Below this a meter starts to hurt others (the cascades of DESIGN.md §4). */
export const CRITICAL = 0.3;

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
