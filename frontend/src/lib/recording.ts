// Recorded evaluation episodes (docs/PROTOCOL.md §8): the binary file the server serves
// from /api/recordings/NAME, checked here again before anything is drawn (the file came
// from disk; the server's check is not trusted to have happened), and the Frame of any
// step for the replay's scrubber. Pure.
import type { Frame } from './frame';
import { ACTION_NAMES, hourAt, METER_NAMES, type World } from './world';

export const REC_HEADER = 64;
export const REC_STEP = 40;
export const REC_MAX_BYTES = 65536;
const OUTCOMES = ['running', 'health', 'energy', 'max_steps'];

export interface Recording {
  episode: number;
  steps: number;
  realSteps: number;
  width: number;
  height: number;
  outcome: string;
  score: number;
  totalReward: number;
  multiplier: number;
  start: { x: number; y: number; meters: number[] };
  /** Per step: action, position and meters after it, reward, the q-values it was chosen from. */
  action: Uint8Array;
  x: Uint8Array;
  y: Uint8Array;
  meters: Float32Array; // steps × 8
  reward: Float32Array;
  q: Float32Array; // steps × 6 (NaN/±inf possible: the network diverged)
}

/** The recording in buf, or a string saying why it is refused. */
export function parseRecording(buf: ArrayBuffer): Recording | string {
  if (buf.byteLength < REC_HEADER) return `recording too short (${buf.byteLength} bytes)`;
  if (buf.byteLength > REC_MAX_BYTES) return `recording too large (${buf.byteLength} bytes)`;
  const b = new Uint8Array(buf);
  const dv = new DataView(buf);
  const magic = String.fromCharCode(...b.subarray(0, 8));
  if (magic !== 'RDREC001') return 'not a recording (bad magic)';
  const n = dv.getUint16(12, true);
  const real = dv.getUint16(14, true);
  const w = b[16];
  const h = b[17];
  if (w < 1 || h < 1 || w > 64 || h > 64) return `recording has a ${w}×${h} grid`;
  if (b[18] !== 8 || b[19] !== 6) return 'recording has unexpected meter or action counts';
  if (b[20] > 3) return 'recording has an unknown outcome';
  if (n > real || buf.byteLength !== REC_HEADER + n * REC_STEP) return 'recording length does not match its step count';
  if (b[21] >= w || b[22] >= h) return 'recording starts outside its grid';
  const r: Recording = {
    episode: dv.getUint32(8, true),
    steps: n,
    realSteps: real,
    width: w,
    height: h,
    outcome: OUTCOMES[b[20]],
    score: dv.getFloat32(24, true),
    totalReward: dv.getFloat32(28, true),
    multiplier: dv.getFloat32(32, true),
    start: { x: b[21], y: b[22], meters: Array.from(b.subarray(36, 44), (v) => v / 255) },
    action: new Uint8Array(n),
    x: new Uint8Array(n),
    y: new Uint8Array(n),
    meters: new Float32Array(n * 8),
    reward: new Float32Array(n),
    q: new Float32Array(n * 6),
  };
  for (let i = 0; i < n; i++) {
    const o = REC_HEADER + i * REC_STEP;
    if (b[o] >= 6 || b[o + 1] >= w || b[o + 2] >= h) return `recording step ${i + 1} is out of range`;
    r.action[i] = b[o];
    r.x[i] = b[o + 1];
    r.y[i] = b[o + 2];
    for (let m = 0; m < 8; m++) r.meters[i * 8 + m] = b[o + 4 + m] / 255;
    r.reward[i] = dv.getFloat32(o + 12, true);
    for (let a = 0; a < 6; a++) r.q[i * 6 + a] = dv.getFloat32(o + 16 + 4 * a, true);
  }
  return r;
}

/** The Frame after `step` steps (0 = the start), laid over `layout`'s cells when it fits;
 * with the world, the hour of day at level 3. */
export function recordingFrame(r: Recording, step: number, layout: Frame | null, world: World | null = null): Frame {
  const i = Math.max(0, Math.min(r.steps, Math.round(step)));
  const cells = layout && layout.width === r.width && layout.height === r.height ? layout.cells : new Array(r.width * r.height).fill('');
  let cum = 0;
  for (let k = 0; k < i; k++) cum += r.reward[k];
  const q = i > 0 ? Array.from(r.q.subarray((i - 1) * 6, i * 6)) : [];
  return {
    step: i,
    width: r.width,
    height: r.height,
    agent: i > 0 ? { x: r.x[i - 1], y: r.y[i - 1] } : { x: r.start.x, y: r.start.y },
    cells,
    meters: i > 0 ? Array.from(r.meters.subarray((i - 1) * 8, i * 8)) : r.start.meters,
    meterNames: layout?.meterNames?.length === 8 ? layout.meterNames : METER_NAMES,
    action: i > 0 ? ACTION_NAMES[r.action[i - 1]] : null,
    qValues: q,
    masks: [],
    reward: i > 0 ? r.reward[i - 1] : null,
    cumulativeReward: cum,
    hour: hourAt(world, i),
    diverged: q.some((v) => !Number.isFinite(v)),
  };
}

/** The last few positions up to `step`, oldest first, for the trail. */
export function recordingTrail(r: Recording, step: number, len = 8): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const i = Math.max(0, Math.min(r.steps, Math.round(step)));
  for (let k = Math.max(0, i - len); k <= i; k++) out.push(k === 0 ? { x: r.start.x, y: r.start.y } : { x: r.x[k - 1], y: r.y[k - 1] });
  return out;
}
