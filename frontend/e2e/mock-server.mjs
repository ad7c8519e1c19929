// A stand-in for the C server, speaking docs/PROTOCOL.md (training broadcast, inference
// session, /api/models, static files), for developing and checking the frontend while the
// real programs are not available: `RD_E2E_MOCK=1 npm run e2e`. Not a test of the system;
// the real e2e runs ./run_demo. Plain Node (a minimal RFC 6455 text-frame codec), no deps.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const port = Number(arg('--port', '8766'));
const root = arg('--static', '');
const ACTIONS = ['up', 'down', 'left', 'right', 'interact', 'wait'];
const METERS = ['energy', 'hygiene', 'satiation', 'money', 'mood', 'social', 'health', 'fitness'];
const AFFS = [['Bed', 1, 1], ['LuxuryBed', 2, 1], ['Shower', 2, 2], ['HomeMeal', 1, 3], ['FastFood', 5, 6], ['Job', 6, 6], ['Labor', 7, 6], ['Gym', 7, 3], ['Bar', 7, 0], ['Park', 0, 4], ['Recreation', 0, 7], ['Therapist', 1, 7], ['Doctor', 5, 1], ['Hospital', 6, 1]].map(([name, x, y]) => ({ name, x, y }));
// The config's world as the real server sends it in hello and connected (PROTOCOL.md §5.1).
const WORLD = { width: 8, height: 8, level: 1, max_steps: 500, observability: 'full', view_radius: 2, day_cycle: false, day_length: 240, start_hour: 8, meters: METERS.map((name) => ({ name, initial: name === 'money' ? 0.5 : 1, critical: 0.3 })), affordances: AFFS.map((a) => ({ ...a, cost: 0, open_hour: 0, close_hour: 24, ticks: 1, effects: {} })), actions: ACTIONS };

function accept(req, sock) {
  const key = req.headers['sec-websocket-key'];
  const acc = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`);
  const ws = { open: true, onmsg: () => {}, onclose: () => {} };
  ws.send = (obj) => {
    if (!ws.open) return;
    const data = Buffer.from(JSON.stringify(obj));
    let hdr;
    if (data.length < 126) hdr = Buffer.from([0x81, data.length]);
    else if (data.length < 65536) { hdr = Buffer.alloc(4); hdr[0] = 0x81; hdr[1] = 126; hdr.writeUInt16BE(data.length, 2); }
    else { hdr = Buffer.alloc(10); hdr[0] = 0x81; hdr[1] = 127; hdr.writeBigUInt64BE(BigInt(data.length), 2); }
    sock.write(Buffer.concat([hdr, data]));
  };
  ws.close = (code = 1000, reason = '') => {
    if (!ws.open) return;
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length); p.writeUInt16BE(code, 0); r.copy(p, 2);
    sock.write(Buffer.concat([Buffer.from([0x88, p.length]), p]));
    ws.open = false;
    sock.end();
  };
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const masked = buf[1] & 0x80;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      if (op === 8) { ws.close(1000, 'bye'); return; }
      if (op === 9) { sock.write(Buffer.concat([Buffer.from([0x8a, payload.length]), payload])); continue; }
      if (op === 1) { try { ws.onmsg(JSON.parse(payload.toString())); } catch { ws.send({ type: 'error', error: 'invalid JSON' }); } }
    }
  });
  const gone = () => { if (ws.open || !ws.closed) { ws.open = false; ws.closed = true; ws.onclose(); } };
  sock.on('close', gone);
  sock.on('error', gone);
  return ws;
}

// The training job.
const job = { status: 'running', episode: 0, total: 100000, visual: false, speed: 1000, history: [], checkpoints: [] };
const viewers = new Set();
const broadcast = (m) => { for (const v of viewers) v.send(m); };
function record(ep) {
  const steps = Math.round(150 + 300 * (1 - Math.exp(-ep / 400)) + 60 * Math.sin(ep * 1.7) * Math.random());
  return { episode: ep, steps, total_reward: steps - 1, epsilon: Math.max(0.05, 1 - ep / 1000), loss: ep < 5 ? null : 0.5 / Math.sqrt(ep), steps_per_second: 850 + 30 * Math.random(), eta_seconds: (job.total - ep) * 0.3, best: 0, multiplier: 0.2, timestamp: Date.now() / 1000 };
}
for (let i = 0; i < 300; i++) { job.episode++; job.history.push(record(job.episode)); }
setInterval(() => {
  if (job.status !== 'running') return;
  job.episode++;
  const r = record(job.episode);
  job.history.push(r);
  broadcast({ type: 'episode', ...r });
}, 150);
let fstep = 0;
let agentPos = { x: 3, y: 3 };
function walk(p) {
  const a = Math.floor(Math.random() * 6);
  const q = { ...p };
  if (a === 0 && q.y > 0) q.y--; if (a === 1 && q.y < 7) q.y++; if (a === 2 && q.x > 0) q.x--; if (a === 3 && q.x < 7) q.x++;
  return [q, a];
}
function snapshot(p, step, a, withAffs) {
  const meters = Object.fromEntries(METERS.map((m, i) => [m, Math.max(0, 1 - ((step * (i + 1)) % 400) / 400)]));
  return { step, grid: { width: 8, height: 8, agent: p, ...(withAffs ? { affordances: AFFS } : {}) }, meters, action: ACTIONS[a], q_values: ACTIONS.map((_, i) => Math.sin(step + i) * 2), reward: 1 };
}
setInterval(() => {
  if (job.status !== 'running' || !job.visual) return;
  let a;
  [agentPos, a] = walk(agentPos);
  fstep++;
  broadcast({ type: 'frame', episode: job.episode + 1, ...snapshot(agentPos, fstep, a, fstep % 100 === 1) });
}, 8);

function trainingConn(ws) {
  viewers.add(ws);
  ws.onclose = () => viewers.delete(ws);
  ws.send({ type: 'hello', protocol: 1, job_id: 'mock', config: 'level1', status: job.status, trainer_connected: true, episode: job.episode, total_episodes: job.total, visual: job.visual, speed: job.speed, history: job.history.slice(-1000), history_total: job.history.length, history_downsampled: job.history.length > 1000, world: WORLD });
  ws.onmsg = (m) => {
    const res = (accepted, error = null) => ws.send({ type: 'command_result', command: m.command, accepted, error, id: m.id });
    const status = () => broadcast({ type: 'status', status: job.status, episode: job.episode, speed: job.speed, visual: job.visual });
    switch (m.command) {
      case 'pause': res(true); job.status = 'paused'; status(); break;
      case 'resume': case 'start': res(true); job.status = 'running'; status(); break;
      case 'stop': res(true); job.status = 'stopped'; status(); break;
      case 'set_speed': if (typeof m.speed !== 'number' || m.speed < 1 || m.speed > 1000) res(false, 'speed must be a number in [1, 1000]'); else { res(true); job.speed = m.speed; status(); } break;
      case 'set_mode': if (typeof m.visual !== 'boolean') res(false, 'visual must be a boolean'); else { res(true); job.visual = m.visual; status(); } break;
      case 'checkpoint': res(true); setTimeout(() => { const name = `ep_${String(job.episode).padStart(7, '0')}`; job.checkpoints.unshift({ name, episode: job.episode, score: 300, latest: true, best: false }); broadcast({ type: 'checkpoint', episode: job.episode, name, path: `checkpoints/${name}.ckpt`, best: false, score: 300 }); }, 200); break;
      default: res(false, `unknown command '${m.command}'`);
    }
  };
}

function inferenceConn(ws) {
  const s = { playing: false, speed: 10, model: null, ep: 0, step: 0, pos: { x: 2, y: 5 }, total: 0 };
  ws.send({ type: 'connected', protocol: 1, session: 1, config: 'level1', models: job.checkpoints, grid: { width: 8, height: 8, affordances: AFFS }, actions: ACTIONS, meters: METERS, max_steps: 500, speed: s.speed, playing: false, follow_latest: false, world: WORLD });
  const startEp = () => { s.ep++; s.step = 0; s.total = 0; ws.send({ type: 'episode_start', episode: s.ep, model: s.model, ...snapshot(s.pos, 0, 5, true) }); };
  const load = (name) => {
    const m = name === 'latest' || name === 'best' ? job.checkpoints[0] : job.checkpoints.find((c) => c.name === name);
    if (!m) { ws.send({ type: 'model_loaded', model: null, episode: 0, score: null, untrained: true, follow_latest: false, reason: 'no checkpoint yet: playing the untrained policy' }); }
    else { s.model = m.name; ws.send({ type: 'model_loaded', model: m.name, episode: m.episode, score: m.score, untrained: false, follow_latest: false, reason: null }); }
    startEp();
  };
  load('latest');
  const stepOnce = () => {
    let a; [s.pos, a] = walk(s.pos); s.step++; s.total++;
    ws.send({ type: 'state_update', episode: s.ep, ...snapshot(s.pos, s.step, a, false), action_masks: [s.pos.y > 0, s.pos.y < 7, s.pos.x > 0, s.pos.x < 7, false, true], cumulative_reward: s.total, hour: null });
    if (s.step >= 60) { ws.send({ type: 'episode_end', episode: s.ep, steps: s.step, total_reward: s.total, reason: 'energy' }); startEp(); }
  };
  let timer = null;
  const pace = () => { if (timer) clearInterval(timer); timer = s.playing ? setInterval(stepOnce, 1000 / s.speed) : null; };
  ws.onclose = () => timer && clearInterval(timer);
  ws.onmsg = (m) => {
    const res = (accepted, error = null) => ws.send({ type: 'command_result', command: m.command, accepted, error, id: m.id });
    switch (m.command) {
      case 'load': res(true); load(m.model); break;
      case 'play': res(true); s.playing = true; pace(); break;
      case 'pause': res(true); s.playing = false; pace(); break;
      case 'step': res(true); stepOnce(); break;
      case 'reset': res(true); ws.send({ type: 'episode_end', episode: s.ep, steps: s.step, total_reward: s.total, reason: 'reset' }); startEp(); break;
      case 'set_speed': res(true); s.speed = m.speed; pace(); break;
      case 'follow_latest': res(true); break;
      default: res(false, `unknown command '${m.command}'`);
    }
  };
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const json = (code, o) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(o)); };
  if (url.pathname === '/healthz') return json(200, { status: 'ok' });
  if (url.pathname === '/api/models') return json(200, { models: job.checkpoints, latest: job.checkpoints[0]?.name ?? null, best: null });
  if (url.pathname === '/api/status') return json(200, { protocol: 1, job: { id: 'mock', status: job.status, episode: job.episode } });
  if (!root) return json(404, { error: 'not found' });
  let p = path.join(root, path.normalize(url.pathname));
  if (!p.startsWith(root)) return json(403, { error: 'forbidden' });
  if (!path.extname(p)) p = path.join(root, 'index.html');
  fs.readFile(p, (err, data) => {
    if (err) return json(404, { error: 'not found' });
    res.writeHead(200, { 'Content-Type': types[path.extname(p)] ?? 'application/octet-stream' });
    res.end(data);
  });
});
server.on('upgrade', (req, sock) => {
  const p = new URL(req.url, 'http://x').pathname;
  if (p === '/ws/training' || p.startsWith('/ws/training/')) trainingConn(accept(req, sock));
  else if (p === '/ws') inferenceConn(accept(req, sock));
  else { sock.end('HTTP/1.1 404 Not Found\r\n\r\n'); }
});
server.listen(port, '127.0.0.1', () => console.log(`mock server on http://127.0.0.1:${port}/\nAll systems operational`));
process.on('SIGINT', () => { for (const v of viewers) v.close(1001, 'server shutting down'); server.close(); setTimeout(() => process.exit(130), 50); });
process.on('SIGTERM', () => process.exit(143));
