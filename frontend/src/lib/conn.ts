// A WebSocket that reconnects forever with capped exponential backoff and jitter, and
// says why it is not connected. URLs are relative to the page's origin (the Vite proxy in
// development, the C server itself with --frontend static); a ?token= in the page URL is
// passed on, since the server may require it off loopback.

export type ConnPhase = 'connecting' | 'open' | 'closed';

export interface ConnState {
  phase: ConnPhase;
  /** Why the last connection ended, in words (code and reason). */
  reason: string;
  attempts: number;
  retryAt: number;
}

export function pageToken(search = typeof location !== 'undefined' ? location.search : ''): string {
  return new URLSearchParams(search).get('token') ?? '';
}

/** ws(s)://<this origin><path>[?token=…] */
export function wsUrl(path: string, token = pageToken()): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = token ? `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : '';
  return `${proto}//${location.host}${path}${q}`;
}

/** The stream of one job: run names are of safe characters (`agent.gamma=0.99,seed=3`)
 * and go into the path as they are, as docs/PROTOCOL.md §5 writes them; anything else is
 * percent-encoded. */
export function jobPath(job: string): string {
  return `/ws/training/${/^[A-Za-z0-9._=,+-]+$/.test(job) ? job : encodeURIComponent(job)}`;
}

/** A relative API URL with the token. */
export function apiUrl(path: string, token = pageToken()): string {
  return token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
}

/** Delay before attempt n (1-based): 0.5 s doubling to a 10 s cap, ±20 % jitter. */
export function backoffMs(n: number, rand = Math.random): number {
  const base = Math.min(10000, 500 * Math.pow(2, Math.max(0, n - 1)));
  return Math.round(base * (0.8 + 0.4 * rand()));
}

/** Words for a close event: RFC 6455 codes people meet here. */
export function closeText(code: number, reason: string): string {
  const known: Record<number, string> = {
    1000: 'closed normally',
    1001: 'server going away',
    1006: 'connection lost or refused',
    1008: 'refused by policy (bad token or origin?)',
    1011: 'server error',
    1012: 'server restarting',
    1013: 'server busy (too many clients), try again later',
    4001: 'unauthorized (token)',
    4004: 'unknown job',
    4008: 'closed for being too slow',
    4029: 'refused: too many clients',
  };
  const what = known[code] ?? `closed (code ${code})`;
  return reason ? `${what}: ${reason}` : what;
}

/** Why a WebSocket upgrade failed before opening (the browser hides the HTTP status of a
 * refused upgrade behind code 1006): asks the server's status endpoint the same way. */
export async function diagnoseRefusal(fetchFn: typeof fetch = fetch, token = pageToken()): Promise<string> {
  try {
    const r = await fetchFn(apiUrl('/api/status', token), { cache: 'no-store' });
    if (r.status === 401) return token ? 'refused: the token in the page URL is wrong' : 'refused: this server needs ?token=… in the page URL';
    if (r.status === 403) return 'refused: origin or path not allowed';
    if (!r.ok) return `server answered HTTP ${r.status}`;
    return 'connection refused or lost (the server is up: origin not allowed, or too busy?)';
  } catch {
    return 'server unreachable';
  }
}

/** How long a connection must stay open to count as a success for the backoff. */
export const STABLE_MS = 3000;

export class Conn {
  state: ConnState = { phase: 'closed', reason: '', attempts: 0, retryAt: 0 };
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private openedAt = 0;

  constructor(
    private url: () => string,
    private onMessage: (data: unknown) => void,
    private onChange: (s: ConnState) => void,
    private onOpen: () => void = () => {},
    private diagnose: (() => Promise<string>) | null = null,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
  }

  /** Sends a JSON message; false (and nothing sent) when not connected. */
  send(obj: unknown): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Skips the remaining backoff wait. */
  retryNow(): void {
    if (this.state.phase !== 'closed' || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  private set(p: Partial<ConnState>): void {
    this.state = { ...this.state, ...p };
    this.onChange(this.state);
  }

  private connect(): void {
    this.set({ phase: 'connecting', attempts: this.state.attempts + 1 });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleRetry(`cannot connect: ${(e as Error).message}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.openedAt = Date.now();
      this.set({ phase: 'open', reason: '' });
      this.onOpen();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        return; // A malformed message is the server's bug; one bad line must not stop the view.
      }
      this.onMessage(parsed);
    };
    // onerror always precedes onclose; the close event carries the information.
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      this.ws = null;
      // A connection that lived a while was a success: start the backoff afresh. One
      // closed at once (too many clients, bad token) keeps backing off, so a refusing
      // server is not hammered every half second.
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.state = { ...this.state, attempts: 1 };
      const neverOpened = this.openedAt === 0;
      this.openedAt = 0;
      if (this.stopped) return;
      this.scheduleRetry(closeText(ev.code, ev.reason));
      if (ev.code === 1006 && neverOpened && this.diagnose) {
        const attempt = this.state.attempts;
        this.diagnose().then((why) => {
          // Only if nothing happened since: a new attempt has news of its own.
          if (this.state.phase === 'closed' && this.state.attempts === attempt) this.set({ reason: why });
        });
      }
    };
  }

  private scheduleRetry(reason: string): void {
    const delay = backoffMs(Math.max(1, this.state.attempts));
    this.set({ phase: 'closed', reason, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
