import { describe, expect, it } from 'vitest';
import { applyTrainingMessage, formatDuration, lastEpisode, newTrainingState, progress } from './training';

const ep = (n: number, extra: Record<string, unknown> = {}) => ({
  type: 'episode',
  episode: n,
  steps: 100 + n,
  total_reward: n * 0.5,
  epsilon: 1 - n / 1000,
  loss: 0.1,
  steps_per_second: 900,
  eta_seconds: 60,
  best: 200,
  timestamp: 1700000000 + n,
  ...extra,
});

const hello = (n: number, extra: Record<string, unknown> = {}) => ({
  type: 'hello',
  job_id: 'default',
  config: 'level1',
  total_episodes: 1000,
  resumed_from: 0,
  status: 'running',
  speed: 0,
  visual: false,
  history: Array.from({ length: n }, (_, i) => ep(i + 1)),
  ...extra,
});

describe('training reducer', () => {
  it('fills the history from hello and appends live episodes', () => {
    const s = newTrainingState();
    expect(applyTrainingMessage(s, hello(50))).toBe(true);
    expect(s.episode.length).toBe(50);
    expect(s.status).toBe('running');
    expect(s.totalEpisodes).toBe(1000);
    expect(s.config).toBe('level1');
    applyTrainingMessage(s, ep(51));
    expect(lastEpisode(s)).toBe(51);
    expect(s.steps.last()).toBe(151);
    expect(s.stepsPerSecond).toBe(900);
    expect(progress(s)).toBeCloseTo(0.051);
  });

  it('replaces the history on a second hello (reconnect) instead of duplicating it', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, hello(20));
    applyTrainingMessage(s, ep(21));
    applyTrainingMessage(s, hello(30));
    expect(s.episode.length).toBe(30);
    expect(Array.from(s.episode.view())).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(s.helloSeq).toBe(2);
  });

  it('ignores repeated or old episodes and overwrites a repeat of the newest', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, hello(5));
    applyTrainingMessage(s, ep(3));
    applyTrainingMessage(s, ep(5, { steps: 999 }));
    expect(s.episode.length).toBe(5);
    expect(s.steps.last()).toBe(999);
  });

  it('accepts a columnar history', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'hello', history: { episode: [1, 2, 3], steps: [10, 20, 30], total_reward: [1, 2, 3], loss: [null, 0.5, 0.4], epsilon: [1, 0.9, 0.8] } });
    expect(s.episode.length).toBe(3);
    expect(Number.isNaN(s.loss.view()[0])).toBe(true);
    expect(s.loss.view()[1]).toBe(0.5);
  });

  it('absorbs a 10,000-episode hello', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, hello(10000));
    expect(s.episode.length).toBe(10000);
    expect(lastEpisode(s)).toBe(10000);
  });

  it('follows status, speed and visual mode', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'status', status: 'paused', speed: 40, visual: true });
    expect(s.status).toBe('paused');
    expect(s.speedMs).toBe(40);
    expect(s.visual).toBe(true);
    applyTrainingMessage(s, { type: 'status', status: 'running', visual: false });
    expect(s.status).toBe('running');
    expect(s.visual).toBe(false);
  });

  it('marks completion and failure (untyped notices too)', () => {
    const s = newTrainingState();
    expect(applyTrainingMessage(s, { status: 'completed', complete: true })).toBe(true);
    expect(s.status).toBe('completed');
    expect(s.complete).toBe(true);
    applyTrainingMessage(s, { status: 'failed', error: 'trainer crashed', complete: true });
    expect(s.status).toBe('failed');
    expect(s.error).toBe('trainer crashed');
  });

  it('records command acceptance and errors', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'ack', command: 'pause', ok: true }, 1);
    applyTrainingMessage(s, { type: 'error', command: 'set_speed', error: 'speed out of range' }, 2);
    expect(s.commands.pause).toEqual({ command: 'pause', ok: true, text: 'accepted', at: 1 });
    expect(s.commands.set_speed.ok).toBe(false);
    expect(s.commands.set_speed.text).toBe('speed out of range');
  });

  it('keeps the latest frame and checkpoint', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'frame', step: 7, grid: [['Bed', null], [null, 'Job']], agent: { x: 1, y: 0 }, meters: [1, 1, 1, 0.5, 1, 1, 1, 1], q_values: [1, 2, 3, 4, 5, 6], action: 2, reward: 1 });
    expect(s.frameSeq).toBe(1);
    expect(s.frame?.cells).toEqual(['Bed', '', '', 'Job']);
    expect(s.frame?.action).toBe('left');
    applyTrainingMessage(s, { type: 'checkpoint', episode: 500, path: 'checkpoints/ep_0000500.ckpt', best: true });
    expect(s.lastCheckpoint).toEqual({ episode: 500, path: 'checkpoints/ep_0000500.ckpt', best: true });
  });

  it('rejects what it does not understand', () => {
    const s = newTrainingState();
    expect(applyTrainingMessage(s, null)).toBe(false);
    expect(applyTrainingMessage(s, [1, 2])).toBe(false);
    expect(applyTrainingMessage(s, { type: 'nonsense' })).toBe(false);
    expect(applyTrainingMessage(s, { type: 'episode' })).toBe(true);
    expect(s.episode.length).toBe(0);
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(NaN)).toBe('—');
  });
});
