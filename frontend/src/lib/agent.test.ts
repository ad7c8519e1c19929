import { describe, expect, it } from 'vitest';
import { applyAgentMessage, newAgentState, TRAIL_LEN } from './agent';
import { backoffMs, closeText } from './conn';
import { normalizeFrame } from './frame';

describe('agent reducer', () => {
  it('lists models, loads one and plays an episode', () => {
    const s = newAgentState();
    applyAgentMessage(s, { type: 'connected', models: [{ name: 'latest', episode: 500, score: 212.5 }, { name: 'best', episode: 400, score: 230 }, 'ep_0000500'] });
    expect(s.models.map((m) => m.name)).toEqual(['latest', 'best', 'ep_0000500']);
    expect(s.models[0].episode).toBe(500);
    applyAgentMessage(s, { type: 'model_loaded', model: 'latest', episode: 500, score: 212.5 });
    expect(s.model).toEqual({ name: 'latest', episode: 500, score: 212.5 });
    applyAgentMessage(s, { type: 'episode_start', agent: { x: 1, y: 1 }, grid: { width: 8, height: 8, affordances: [{ name: 'Bed', x: 1, y: 1 }] } });
    expect(s.episodes).toBe(1);
    for (let i = 0; i < 20; i++)
      applyAgentMessage(s, { type: 'state_update', step: i + 1, agent: [i % 8, 1], meters: { energy: 0.9, hygiene: 0.8, satiation: 0.7, money: 0.5, mood: 1, social: 0.2, health: 1, fitness: 1 }, q_values: [0, 1, 2, 3, 4, 5], action_masks: [true, true, false, true, false, true], action: 'right', cumulative_reward: i + 1 });
    expect(s.frame?.step).toBe(20);
    expect(s.frame?.cells[1 * 8 + 1]).toBe('Bed');
    expect(s.frame?.meters[5]).toBe(0.2);
    expect(s.frame?.masks).toEqual([true, true, false, true, false, true]);
    expect(s.trail.length).toBe(TRAIL_LEN);
    applyAgentMessage(s, { type: 'episode_end', steps: 20, total_reward: 20, reason: 'energy' });
    expect(s.lastEnd).toEqual({ steps: 20, totalReward: 20, reason: 'energy' });
    expect(s.recent[0]).toEqual({ episode: 1, steps: 20, totalReward: 20, reason: 'energy', model: 'latest' });
    for (let i = 0; i < 20; i++) applyAgentMessage(s, { type: 'episode_end', episode: i + 2, steps: 5, total_reward: 5, reason: 'health' });
    expect(s.recent.length).toBe(8);
    expect(s.recent[0].episode).toBe(21);
    expect(s.ended).toBe(true);
  });

  it('reads the connected message of PROTOCOL.md §7.1 (layout, names, pace)', () => {
    const s = newAgentState();
    applyAgentMessage(s, { type: 'connected', protocol: 1, session: 7, config: 'level1', models: [{ name: 'ep_0000500', episode: 500, score: 310.5, latest: true, best: false }], grid: { width: 8, height: 8, affordances: [{ name: 'Bed', x: 1, y: 1 }, { name: 'Job', x: 6, y: 6 }] }, actions: ['up', 'down', 'left', 'right', 'interact', 'wait'], meters: ['energy', 'hygiene', 'satiation', 'money', 'mood', 'social', 'health', 'fitness'], max_steps: 500, speed: 10, playing: false, follow_latest: false });
    expect(s.models[0]).toEqual({ name: 'ep_0000500', episode: 500, score: 310.5 });
    expect(s.frame?.cells[9]).toBe('Bed');
    expect(s.frame?.cells[54]).toBe('Job');
    expect(s.frame?.meterNames[0]).toBe('energy');
    expect(s.maxSteps).toBe(500);
    expect(s.speed).toBe(10);
    applyAgentMessage(s, { type: 'model_loaded', model: null, episode: 0, score: null, untrained: true, follow_latest: false, reason: 'no checkpoint yet: playing the untrained policy' });
    expect(s.model).toBeNull();
    expect(s.untrained).toBe(true);
    expect(s.info).toMatch(/untrained/);
    applyAgentMessage(s, { type: 'state_update', episode: 1, step: 1, grid: { width: 8, height: 8, agent: { x: 3, y: 4 } }, meters: { energy: 0.9, hygiene: 1, satiation: 1, money: 0.5, mood: 1, social: 1, health: 1, fitness: 1 }, action: 'up', q_values: [1, 2, 3, 4, 5, 6], action_masks: [true, true, true, true, false, true], reward: 1, cumulative_reward: 1, hour: null });
    expect(s.frame?.cells[9]).toBe('Bed');
    expect(s.frame?.agent).toEqual({ x: 3, y: 4 });
    applyAgentMessage(s, { type: 'command_result', command: 'load', accepted: false, error: "unknown model 'x'" });
    expect(s.error).toBe("load: unknown model 'x'");
  });

  it('uses the world of connected for the layout, names and length (PROTOCOL.md §5.1)', () => {
    const s = newAgentState();
    applyAgentMessage(s, { type: 'connected', protocol: 1, session: 1, config: 'level1', models: [], grid: { width: 8, height: 8, affordances: [] }, speed: 10, playing: false, follow_latest: false, world: { width: 8, height: 8, level: 1, max_steps: 500, meters: [{ name: 'energy', initial: 1, critical: 0.3 }], affordances: [{ name: 'Bed', x: 1, y: 1, cost: 5, open_hour: 0, close_hour: 24, ticks: 1, effects: { energy: 0.5 } }, { name: 'Hospital', x: 6, y: 1 }], actions: ['up', 'down', 'left', 'right', 'interact', 'wait'] } });
    expect(s.world?.level).toBe(1);
    expect(s.maxSteps).toBe(500);
    expect(s.actions[4]).toBe('interact');
    expect(s.frame?.cells[9]).toBe('Bed');
    expect(s.frame?.cells[14]).toBe('Hospital');
    applyAgentMessage(s, { type: 'state_update', step: 1, grid: { width: 8, height: 8, agent: { x: 0, y: 0 } } });
    expect(s.frame?.cells[14]).toBe('Hospital');
    expect(s.frame?.agent).toEqual({ x: 0, y: 0 });
  });

  it('shows errors', () => {
    const s = newAgentState();
    applyAgentMessage(s, { type: 'error', error: 'no such model: ep_9' });
    expect(s.error).toBe('no such model: ep_9');
  });

  it("follows the session's job across loads (PROTOCOL.md §7.1 job) and reads only protocol messages", () => {
    const s = newAgentState();
    applyAgentMessage(s, { type: 'connected', protocol: 1, session: 1, config: 'level1', job: 'sweep', models: [] });
    expect(s.job).toBe('sweep');
    applyAgentMessage(s, { type: 'model_loaded', job: 'seed=43', model: 'ep_0000100', episode: 100, score: 88.5, untrained: false, follow_latest: false, reason: null });
    expect(s.job).toBe('seed=43');
    expect(s.model).toEqual({ name: 'ep_0000100', episode: 100, score: 88.5 });
    // no ack, command_ack or status replies, no `ok` verdict, no models under other names
    for (const type of ['ack', 'command_ack', 'status', 'state']) expect(applyAgentMessage(s, { type, command: 'play', ok: true, playing: true })).toBe(false);
    expect(s.playing).toBe(false);
    applyAgentMessage(s, { type: 'command_result', command: 'load', ok: true });
    expect(s.error).toBe('load: rejected');
    applyAgentMessage(s, { type: 'connected', available_models: [{ name: 'ep_1' }], checkpoints: [{ name: 'ep_2' }] });
    expect(s.models).toEqual([]);
  });
});

describe('frame normaliser', () => {
  it('reads grids of indices and bit masks', () => {
    const f = normalizeFrame({ grid: [[0, -1], [-1, 5]], agent_x: 1, agent_y: 1, action_mask: 0b100101 });
    expect(f?.cells).toEqual(['Bed', '', '', 'Job']);
    expect(f?.agent).toEqual({ x: 1, y: 1 });
    expect(f?.masks).toEqual([true, false, true, false, false, true]);
  });

  it('keeps the layout when a frame only moves the agent', () => {
    const a = normalizeFrame({ grid: [['Bed', null], [null, null]], agent: { x: 0, y: 0 } });
    const b = normalizeFrame({ agent: { x: 1, y: 0 } }, a);
    expect(b?.cells).toEqual(['Bed', '', '', '']);
    expect(normalizeFrame({ nothing: 1 })).toBeNull();
  });
});

describe('connection helpers', () => {
  it('backs off exponentially to a cap, forever', () => {
    const mid = () => 0.5;
    expect(backoffMs(1, mid)).toBe(500);
    expect(backoffMs(2, mid)).toBe(1000);
    expect(backoffMs(10, mid)).toBe(10000);
    expect(backoffMs(1000, mid)).toBe(10000);
  });

  it('explains close codes', () => {
    expect(closeText(1013, 'too many clients')).toBe('server busy (too many clients), try again later: too many clients');
    expect(closeText(1008, '')).toMatch(/token/);
    expect(closeText(4321, '')).toBe('closed (code 4321)');
  });
});
