import { describe, expect, it } from 'vitest';
import { parseRecording, recordingFrame, recordingTrail, REC_HEADER, REC_STEP } from './recording';

// A recording as trainer/record.c writes it (PROTOCOL.md §8).
function make(n: number, patch: (b: Uint8Array, dv: DataView) => void = () => {}): ArrayBuffer {
  const buf = new ArrayBuffer(REC_HEADER + n * REC_STEP);
  const b = new Uint8Array(buf);
  const dv = new DataView(buf);
  b.set([...'RDREC001'].map((c) => c.charCodeAt(0)));
  dv.setUint32(8, 500, true);
  dv.setUint16(12, n, true);
  dv.setUint16(14, n, true);
  b[16] = 8;
  b[17] = 8;
  b[18] = 8;
  b[19] = 6;
  b[20] = 2; // energy
  b[21] = 3;
  b[22] = 4;
  dv.setFloat32(24, 380.5, true);
  dv.setFloat32(28, n - 1, true);
  dv.setFloat32(32, 0.5, true);
  for (let m = 0; m < 8; m++) b[36 + m] = 255;
  for (let i = 0; i < n; i++) {
    const o = REC_HEADER + i * REC_STEP;
    b[o] = i % 6;
    b[o + 1] = i % 8;
    b[o + 2] = (i * 3) % 8;
    for (let m = 0; m < 8; m++) b[o + 4 + m] = 200 - i;
    dv.setFloat32(o + 12, 1, true);
    for (let a = 0; a < 6; a++) dv.setFloat32(o + 16 + 4 * a, a + i / 10, true);
  }
  patch(b, dv);
  return buf;
}

describe('recordings', () => {
  it('parses a recording and gives the frame of any step', () => {
    const r = parseRecording(make(5));
    if (typeof r === 'string') throw new Error(r);
    expect([r.episode, r.steps, r.width, r.height, r.outcome, r.score]).toEqual([500, 5, 8, 8, 'energy', 380.5]);
    const f0 = recordingFrame(r, 0, null);
    expect(f0.agent).toEqual({ x: 3, y: 4 });
    expect(f0.meters[0]).toBe(1);
    const f3 = recordingFrame(r, 3, null);
    expect(f3.agent).toEqual({ x: 2, y: 6 });
    expect(f3.action).toBe('left');
    expect(f3.cumulativeReward).toBe(3);
    expect(f3.qValues[1]).toBeCloseTo(1.2);
    expect(recordingFrame(r, 99, null).step).toBe(5);
    expect(recordingTrail(r, 2)).toEqual([{ x: 3, y: 4 }, { x: 0, y: 0 }, { x: 1, y: 3 }]);
  });

  it('at level 3 the replay tells the hour (the world clock of env_hour)', () => {
    const r = parseRecording(make(5));
    if (typeof r === 'string') throw new Error(r);
    const world = { width: 8, height: 8, level: 3, maxSteps: 720, dayCycle: true, dayLength: 240, startHour: 22, meters: [], affordances: [], actions: [] };
    expect(recordingFrame(r, 0, null, world).hour).toBe(22);
    expect(recordingFrame(r, 5, null, world).hour).toBe(22.5);
    expect(recordingFrame(r, 5, null, { ...world, dayCycle: false }).hour).toBe(null);
    expect(recordingFrame(r, 5, null).hour).toBe(null);
  });

  it('NaN q-values (a diverged network) are kept and flagged', () => {
    const r = parseRecording(make(2, (_b, dv) => dv.setFloat32(REC_HEADER + 16, NaN, true)));
    if (typeof r === 'string') throw new Error(r);
    expect(recordingFrame(r, 1, null).diverged).toBe(true);
    expect(recordingFrame(r, 2, null).diverged).toBe(false);
  });

  it('refuses hostile files: magic, sizes, counts, positions, actions', () => {
    expect(parseRecording(new ArrayBuffer(10))).toMatch(/too short/);
    expect(parseRecording(new ArrayBuffer(70000))).toMatch(/too large/);
    expect(parseRecording(make(2, (b) => (b[0] = 0)))).toMatch(/magic/);
    expect(parseRecording(make(2, (b) => (b[16] = 200)))).toMatch(/grid/);
    expect(parseRecording(make(2, (_b, dv) => dv.setUint16(12, 3, true)))).toMatch(/length|step count/);
    expect(parseRecording(make(2, (b) => (b[REC_HEADER + 1] = 8)))).toMatch(/step 1/);
    expect(parseRecording(make(2, (b) => (b[REC_HEADER + REC_STEP] = 6)))).toMatch(/step 2/);
    expect(parseRecording(make(2, (b) => (b[21] = 9)))).toMatch(/outside/);
  });

  it('random damage never throws, and what is accepted draws inside its grid', () => {
    const good = new Uint8Array(make(40));
    let x = 88172645463325252n;
    const next = () => {
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      return Number(x & 0xffffffffn);
    };
    let accepted = 0;
    for (let it = 0; it < 3000; it++) {
      const b = good.slice();
      for (let k = (next() % 8) + 1; k > 0; k--) b[next() % b.length] = next() & 255;
      const len = it % 4 === 0 ? next() % (b.length + 1) : b.length;
      const r = parseRecording(b.buffer.slice(0, len));
      if (typeof r === 'string') continue;
      accepted++;
      let inside = true;
      for (let i = 0; i < r.steps; i++) inside &&= r.x[i] < r.width && r.y[i] < r.height;
      expect(inside).toBe(true);
      for (const s of [0, r.steps >> 1, r.steps]) {
        const f = recordingFrame(r, s, null);
        expect(f.agent!.x).toBeLessThan(r.width);
        expect(f.agent!.y).toBeLessThan(r.height);
        expect(f.cells.length).toBe(r.width * r.height);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
