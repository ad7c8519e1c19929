import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Conn, STABLE_MS, apiUrl, diagnoseRefusal, jobPath, wsUrl } from './conn';

// A stand-in for the browser's WebSocket that the test opens and closes by hand.
class FakeWS {
  static OPEN = 1;
  static all: FakeWS[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(public url: string) {
    FakeWS.all.push(this);
  }
  send(s: string) {
    this.sent.push(s);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

beforeEach(() => {
  FakeWS.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeWS);
  vi.stubGlobal('location', { protocol: 'http:', host: '127.0.0.1:8766', search: '?token=s3cr%20t' });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('Conn', () => {
  it('passes the page token on and builds same-origin URLs', () => {
    expect(wsUrl('/ws/training')).toBe('ws://127.0.0.1:8766/ws/training?token=s3cr%20t');
    expect(apiUrl('/api/models')).toBe('/api/models?token=s3cr%20t');
    expect(wsUrl('/ws', '')).toBe('ws://127.0.0.1:8766/ws');
  });

  it('reconnects forever with growing delays while refused, and says why', () => {
    const msgs: unknown[] = [];
    const c = new Conn(() => wsUrl('/ws/training', ''), (m) => msgs.push(m), () => {});
    c.start();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const ws = FakeWS.all[FakeWS.all.length - 1];
      ws.open();
      ws.drop(4029, 'too many clients'); // accepted, then closed at once
      expect(c.state.phase).toBe('closed');
      expect(c.state.reason).toBe('refused: too many clients: too many clients');
      delays.push(c.state.retryAt - Date.now());
      vi.advanceTimersByTime(c.state.retryAt - Date.now());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    expect(FakeWS.all.length).toBe(9);
    c.stop();
  });

  it('starts the backoff afresh after a connection that lasted, and delivers messages', () => {
    const msgs: unknown[] = [];
    let opens = 0;
    const c = new Conn(() => 'ws://x/ws', (m) => msgs.push(m), () => {}, () => opens++);
    c.start();
    FakeWS.all[0].drop(1006);
    vi.advanceTimersByTime(500);
    FakeWS.all[1].drop(1006);
    expect(c.state.retryAt - Date.now()).toBe(1000);
    vi.advanceTimersByTime(1000);
    const ws = FakeWS.all[2];
    ws.open();
    expect(opens).toBe(1);
    ws.onmessage?.({ data: '{"type":"hello"}' });
    ws.onmessage?.({ data: 'not json' });
    expect(msgs).toEqual([{ type: 'hello' }]);
    expect(c.send({ command: 'pause' })).toBe(true);
    expect(ws.sent).toEqual(['{"command":"pause"}']);
    vi.advanceTimersByTime(STABLE_MS);
    ws.drop(1001, 'server shutting down');
    expect(c.state.reason).toBe('server going away: server shutting down');
    expect(c.state.retryAt - Date.now()).toBe(500);
    expect(c.send({ command: 'pause' })).toBe(false);
    c.stop();
    vi.advanceTimersByTime(60000);
    expect(FakeWS.all.length).toBe(3);
  });
});

describe('diagnoseRefusal', () => {
  const answer = (status: number) => (async () => ({ status, ok: status < 400 })) as unknown as typeof fetch;
  it('names a missing or wrong token, and an unreachable server', async () => {
    expect(await diagnoseRefusal(answer(401), '')).toMatch(/needs \?token=/);
    expect(await diagnoseRefusal(answer(401), 'x')).toMatch(/token in the page URL is wrong/);
    expect(await diagnoseRefusal(answer(500), '')).toBe('server answered HTTP 500');
    expect(await diagnoseRefusal((async () => { throw new Error('down'); }) as unknown as typeof fetch, '')).toBe('server unreachable');
  });

  it('replaces the reason of a refused upgrade', async () => {
    const c = new Conn(() => 'ws://x/ws', () => {}, () => {}, () => {}, async () => 'server unreachable');
    c.start();
    FakeWS.all[0].drop(1006);
    expect(c.state.reason).toBe('connection lost or refused');
    await Promise.resolve();
    await Promise.resolve();
    expect(c.state.reason).toBe('server unreachable');
    c.stop();
  });
});

describe('jobPath', () => {
  it('puts a run name into the path as the protocol writes it, escaping anything else', () => {
    expect(jobPath('agent.gamma=0.99,seed=3')).toBe('/ws/training/agent.gamma=0.99,seed=3');
    expect(jobPath('seed=42')).toBe('/ws/training/seed=42');
    expect(jobPath('a/../b c')).toBe('/ws/training/a%2F..%2Fb%20c');
  });
});
