import { describe, expect, it } from 'vitest';
import { applyTrainingMessage, formatDuration, lastEpisode, meanSteps, newTrainingState, progress, shownFrame } from './training';

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

  it('reads the history only as PROTOCOL.md §5.1 has it: an array of records', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'hello', history: [{ episode: 1, steps: 10, loss: null }, { episode: 2, steps: 20, loss: 0.5 }] });
    expect(s.episode.length).toBe(2);
    expect(Number.isNaN(s.loss.view()[0])).toBe(true);
    expect(s.loss.view()[1]).toBe(0.5);
    // columns, or the history under another name, are no protocol: nothing is read
    const t = newTrainingState();
    applyTrainingMessage(t, { type: 'hello', history: { episode: [1, 2, 3], steps: [10, 20, 30] } });
    applyTrainingMessage(t, { type: 'hello', episodes_history: [{ episode: 1, steps: 1 }], recent: [{ episode: 1, steps: 1 }] });
    expect(t.episode.length).toBe(0);
    // nor fields of other names: survival_steps, reward, best_score, mode, episodes
    applyTrainingMessage(t, { type: 'episode', episode: 1, survival_steps: 5, reward: 4, best_score: 9 });
    expect(Number.isNaN(t.steps.last())).toBe(true);
    expect(Number.isNaN(t.reward.last())).toBe(true);
    expect(Number.isNaN(t.best)).toBe(true);
    applyTrainingMessage(t, { type: 'status', status: 'running', mode: 'visual', episodes: 70 });
    expect(t.visual).toBe(false);
    expect(t.totalEpisodes).toBe(0);
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
    expect(s.speed).toBe(40);
    expect(s.visual).toBe(true);
    applyTrainingMessage(s, { type: 'status', status: 'running', visual: false });
    expect(s.status).toBe('running');
    expect(s.visual).toBe(false);
  });

  it('marks completion and failure (completed and failed of PROTOCOL.md §5.1), never from an untyped notice', () => {
    const s = newTrainingState();
    expect(applyTrainingMessage(s, { status: 'completed', complete: true })).toBe(false);
    expect(applyTrainingMessage(s, { type: 'complete', status: 'completed', complete: true })).toBe(false);
    expect(s.status).toBe('unknown');
    expect(applyTrainingMessage(s, { type: 'completed', job_id: 'j', status: 'completed', complete: true, episode: 5 })).toBe(true);
    expect(s.status).toBe('completed');
    expect(s.complete).toBe(true);
    applyTrainingMessage(s, { type: 'failed', job_id: 'j', status: 'failed', complete: true, error: 'trainer reported: crashed' });
    expect(s.status).toBe('failed');
    expect(s.error).toBe('trainer reported: crashed');
  });

  it('records command acceptance and errors (command_result of PROTOCOL.md §5.2)', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'command_result', command: 'pause', accepted: true, error: null, id: 3 }, 1);
    applyTrainingMessage(s, { type: 'command_result', command: 'set_speed', accepted: false, error: 'speed must be a number in [1, 1000]' }, 2);
    expect(s.commands.pause).toEqual({ command: 'pause', ok: true, text: 'accepted', at: 1 });
    expect(s.commands.set_speed.ok).toBe(false);
    expect(s.commands.set_speed.text).toBe('speed must be a number in [1, 1000]');
    applyTrainingMessage(s, { type: 'error', error: 'invalid JSON' });
    expect(s.error).toBe('invalid JSON');
    // Only command_result answers a command: the server sends no ack, command_ack,
    // result or reply, and accepted is the only verdict (no ok, no success).
    for (const type of ['ack', 'command_ack', 'result', 'reply']) expect(applyTrainingMessage(s, { type, command: 'stop', ok: true, accepted: true, success: true }, 3)).toBe(false);
    applyTrainingMessage(s, { type: 'command_result', command: 'stop', ok: true, success: true }, 4);
    applyTrainingMessage(s, { type: 'command_result', cmd: 'start', accepted: true }, 5);
    expect(s.commands.stop).toBeUndefined();
    expect(s.commands.start).toBeUndefined();
  });

  it('follows the trainer link coming and going', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'hello', protocol: 1, job_id: 'j', status: 'waiting', trainer_connected: false, history: [], history_total: 0 });
    expect(s.status).toBe('waiting');
    expect(s.trainerConnected).toBe(false);
    applyTrainingMessage(s, { type: 'trainer_connected', job_id: 'j', config: 'level1', total_episodes: 50, resumed_from: 20 });
    expect(s.trainerConnected).toBe(true);
    expect(s.resumedFrom).toBe(20);
    expect(s.totalEpisodes).toBe(50);
    applyTrainingMessage(s, { type: 'trainer_disconnected', status: 'disconnected', code: 1006 });
    expect(s.status).toBe('disconnected');
    applyTrainingMessage(s, { type: 'completed', job_id: 'j', status: 'completed', complete: true, episode: 50 });
    expect(s.status).toBe('completed');
    expect(s.complete).toBe(true);
  });

  it('reads protocol frames whose affordances come only in the first frame of an episode', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'frame', episode: 3, step: 1, grid: { width: 8, height: 8, agent: { x: 3, y: 4 }, affordances: [{ name: 'Bed', x: 1, y: 1 }] }, meters: { energy: 0.9, hygiene: 1, satiation: 1, money: 0.5, mood: 1, social: 1, health: 1, fitness: 1 }, action: 'up', q_values: [1, 2, 3, 4, 5, 6], reward: 1 });
    applyTrainingMessage(s, { type: 'frame', episode: 3, step: 2, grid: { width: 8, height: 8, agent: { x: 3, y: 3 } }, meters: { energy: 0.8, hygiene: 1, satiation: 1, money: 0.5, mood: 1, social: 1, health: 1, fitness: 1 }, action: 'up', q_values: [1, 2, 3, 4, 5, 6], reward: 1 });
    expect(s.frame?.cells[9]).toBe('Bed');
    expect(s.frame?.agent).toEqual({ x: 3, y: 3 });
    expect(s.frame?.meters[0]).toBe(0.8);
    expect(s.frame?.step).toBe(2);
  });

  it('keeps the latest frame and checkpoint', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, { type: 'frame', step: 7, grid: [['Bed', null], [null, 'Job']], agent: { x: 1, y: 0 }, meters: [1, 1, 1, 0.5, 1, 1, 1, 1], q_values: [1, 2, 3, 4, 5, 6], action: 2, reward: 1 });
    expect(s.frameSeq).toBe(1);
    expect(s.frame?.cells).toEqual(['Bed', '', '', 'Job']);
    expect(s.frame?.action).toBe('left');
    applyTrainingMessage(s, { type: 'checkpoint', episode: 500, episode_step: 0, path: 'checkpoints/ep_0000500.ckpt', best: true });
    expect(s.lastCheckpoint).toEqual({ episode: 500, step: 0, path: 'checkpoints/ep_0000500.ckpt', best: true });
    // mid-episode: 123 steps into episode 501
    applyTrainingMessage(s, { type: 'checkpoint', episode: 500, episode_step: 123, path: 'checkpoints/ep_0000500_s00123.ckpt', best: false });
    expect(s.lastCheckpoint).toEqual({ episode: 500, step: 123, path: 'checkpoints/ep_0000500_s00123.ckpt', best: false });
  });

  it('rejects what it does not understand', () => {
    const s = newTrainingState();
    expect(applyTrainingMessage(s, null)).toBe(false);
    expect(applyTrainingMessage(s, [1, 2])).toBe(false);
    expect(applyTrainingMessage(s, { type: 'nonsense' })).toBe(false);
    expect(applyTrainingMessage(s, { type: 'episode' })).toBe(true);
    expect(s.episode.length).toBe(0);
  });

  it('keeps the newest evaluation and outcome, and the mean of the last 100', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, hello(150));
    expect(meanSteps(s)).toBeCloseTo(100 + (51 + 150) / 2);
    applyTrainingMessage(s, ep(151, { eval_score: 437.5, outcome: 'health' }));
    expect(s.lastEval).toEqual({ episode: 151, score: 437.5 });
    expect(s.lastOutcome).toBe('health');
  });

  it('draws the hello world layout at once for a viewer joining mid-episode (PROTOCOL.md §5.1)', () => {
    const world = {
      width: 8, height: 8, level: 3, max_steps: 720, observability: 'full', view_radius: 2, day_cycle: true, day_length: 240, start_hour: 8,
      meters: [{ name: 'energy', initial: 1, critical: 0.3 }, { name: 'mood', initial: 1, critical: 0.4 }],
      affordances: [
        { name: 'Bed', x: 1, y: 1, cost: 5, open_hour: 0, close_hour: 24, ticks: 4, effects: { energy: 0.5, health: 0.02 } },
        { name: 'Job', x: 6, y: 6, cost: 0, open_hour: 8, close_hour: 17, ticks: 4, effects: { money: 0.225 } },
        { name: 'Bar', x: 7, y: 0, cost: 15, open_hour: 18, close_hour: 2, ticks: 1, effects: {} },
        { name: 'broken' },
      ],
      actions: ['up', 'down', 'left', 'right', 'interact', 'wait'],
    };
    const s = newTrainingState();
    applyTrainingMessage(s, hello(3, { world }));
    // Before any frame: the layout, no agent.
    expect(s.frame).toBeNull();
    const l = shownFrame(s);
    expect(l?.width).toBe(8);
    expect(l?.cells[1 * 8 + 1]).toBe('Bed');
    expect(l?.cells[6 * 8 + 6]).toBe('Job');
    expect(l?.agent).toBeNull();
    expect(s.world?.affordances.length).toBe(3);
    expect(s.world?.affordances[1]).toMatchObject({ openHour: 8, closeHour: 17, ticks: 4 });
    expect(s.world?.meters[1]).toEqual({ name: 'mood', critical: 0.4 });
    expect(s.world?.maxSteps).toBe(720);
    // Mid-episode frames carry only the agent: the layout stays under them.
    applyTrainingMessage(s, { type: 'frame', episode: 9, step: 40, grid: { width: 8, height: 8, agent: { x: 3, y: 4 } }, meters: { energy: 0.5 }, action: 'up', q_values: [1, 2, 3, 4, 5, 6], reward: 1 });
    expect(s.frame?.cells[9]).toBe('Bed');
    expect(s.frame?.cells[7]).toBe('Bar');
    expect(s.frame?.agent).toEqual({ x: 3, y: 4 });
    expect(shownFrame(s)).toBe(s.frame);
  });

  it('falls back to what frames carry when the hello has no world, and fixes a blank grid on a later hello', () => {
    const s = newTrainingState();
    applyTrainingMessage(s, hello(1));
    expect(s.world).toBeNull();
    expect(shownFrame(s)).toBeNull();
    applyTrainingMessage(s, { type: 'frame', step: 5, grid: { width: 8, height: 8, agent: { x: 2, y: 2 } } });
    expect(s.frame?.cells.every((c) => c === '')).toBe(true);
    applyTrainingMessage(s, { type: 'frame', step: 6, grid: { width: 8, height: 8, agent: { x: 2, y: 3 }, affordances: [{ name: 'Gym', x: 7, y: 3 }] } });
    expect(s.frame?.cells[3 * 8 + 7]).toBe('Gym');
    // A reconnection whose hello has the world lays it under the frame kept so far.
    const t = newTrainingState();
    applyTrainingMessage(t, { type: 'frame', step: 5, grid: { width: 8, height: 8, agent: { x: 2, y: 2 } } });
    applyTrainingMessage(t, hello(1, { world: { width: 8, height: 8, affordances: [{ name: 'Bed', x: 1, y: 1 }] } }));
    expect(t.frame?.cells[9]).toBe('Bed');
    expect(t.frame?.agent).toEqual({ x: 2, y: 2 });
    // A world without a usable size is ignored.
    const u = newTrainingState();
    applyTrainingMessage(u, hello(1, { world: { width: 0, height: 8 } }));
    expect(u.world).toBeNull();
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(NaN)).toBe('—');
  });
});
