// Shared by the browser tests (run.mjs) and the browser benchmark (bench.mjs): free ports,
// starting the real ./run_demo (or, for developing the frontend alone, the protocol mock)
// in its own process group, launching Debian's Chromium through playwright-core, and
// cleaning up everything that was started, whatever happens.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const frontendDir = path.resolve(here, '..');
export const repoDir = path.resolve(frontendDir, '..');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port that was free a moment ago (bind 0, read it back, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Where the C programs are: $RD_BIN_DIR, else ../build/bin. */
export function binDir() {
  return process.env.RD_BIN_DIR ? path.resolve(process.env.RD_BIN_DIR) : path.join(repoDir, 'build', 'bin');
}

const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}
export async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
}
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (signalled) return;
    signalled = true;
    await cleanup();
    process.exit(130);
  });
}

export function tmpDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => fs.rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return d;
}

/**
 * Starts the system under test and resolves once it says "All systems operational".
 * Real: ./run_demo --no-browser --frontend static|dev --port P --frontend-port Q --episodes N
 * --config C --checkpoint-dir TMP [extraArgs…] (environment + extraEnv). With RD_E2E_MOCK=1, e2e/mock-server.mjs instead (for
 * working on the frontend while the C programs are not there). Returns
 * { url, child, lines, stop() } where stop() sends SIGINT and waits for the exit.
 */
export async function startDemo({ episodes = 100000, config, timeoutMs = 90000, log = false, frontend = 'static', extraArgs = [], extraEnv = {} } = {}) {
  const port = await freePort();
  const fport = await freePort();
  const work = tmpDir('rd-e2e-');
  let cmd;
  let args;
  const mock = process.env.RD_E2E_MOCK === '1';
  if (mock) {
    cmd = process.execPath;
    args = [path.join(here, 'mock-server.mjs'), '--port', String(port), '--static', path.join(frontendDir, 'dist')];
  } else {
    // The built orchestrator itself (./run_demo is a wrapper that would bootstrap).
    cmd = path.join(binDir(), 'run_demo');
    if (!fs.existsSync(cmd)) throw new Error(`no ${cmd}: build first (cmake --build build), or set RD_BIN_DIR`);
    args = ['--no-browser', '--frontend', frontend, '--port', String(port), '--frontend-port', String(fport),
      '--episodes', String(episodes), '--checkpoint-dir', path.join(work, 'run'), '--color', 'never'];
    if (config) args.push('--config', config);
    args.push(...extraArgs);
  }
  const env = { ...process.env, RD_BIN_DIR: binDir(), ...extraEnv };
  delete env.RD_PARENT_PID;
  // detached: its own process group, so the cleanup can reach every descendant.
  const child = spawn(cmd, args, { cwd: repoDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let exited = null;
  const exitP = new Promise((resolve) => child.on('exit', (code, sig) => { exited = { code, sig }; resolve(exited); }));
  onCleanup(async () => {
    if (exited) return;
    // An aborted run: ask run_demo to stop its children in order first; SIGKILL its group
    // only if that hangs. Its children live in process groups of their own and end by
    // their parent-death signal, so give them a moment before the temp dir goes.
    child.kill('SIGINT');
    if (await Promise.race([exitP, sleep(15000).then(() => null)])) return;
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    await Promise.race([exitP, sleep(3000)]);
    await sleep(1000);
  });
  let ready;
  const readyP = new Promise((r) => (ready = r));
  const take = (buf) => {
    for (const l of buf.toString().split('\n')) {
      if (!l) continue;
      lines.push(l);
      if (log) console.log(`  | ${l}`);
      if (l.includes('All systems operational')) ready(true);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const ok = await Promise.race([readyP, exitP.then(() => false), sleep(timeoutMs).then(() => false)]);
  if (!ok) {
    const why = exited ? `exited (${exited.code ?? exited.sig})` : `not ready after ${timeoutMs / 1000}s`;
    throw new Error(`${mock ? 'mock server' : 'run_demo'} ${why}; last output:\n${lines.slice(-25).join('\n')}`);
  }
  return {
    url: `http://127.0.0.1:${!mock && frontend === 'dev' ? fport : port}/`,
    port,
    child,
    lines,
    mock,
    /** SIGINT to run_demo, then wait (SIGKILL to the group after timeoutMs). */
    async stop(timeout = 30000) {
      if (exited) return exited;
      child.kill('SIGINT');
      const r = await Promise.race([exitP, sleep(timeout).then(() => null)]);
      if (r) return r;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      await exitP;
      return { code: null, sig: 'SIGKILL (after SIGINT timed out)' };
    },
  };
}

/** Headless Debian Chromium, never a downloaded browser, with a fresh profile. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const exe = process.env.RD_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe)) throw new Error(`no browser at ${exe} (apt-get install chromium)`);
  const profile = tmpDir('rd-chromium-');
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: exe,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  onCleanup(() => ctx.close());
  return ctx;
}

/** Collects console errors and uncaught exceptions of a page. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return errors;
}

/** Polls fn until it returns a truthy value or the time is up (then returns the last value). */
export async function until(fn, timeoutMs, stepMs = 200) {
  const end = Date.now() + timeoutMs;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(stepMs);
  }
}

/** The browser tests' checks: check(name, ok, detail) prints one line ("ok - ..." /
 * "not ok - ...") and records it. */
export function checker() {
  const results = [];
  const check = (name, ok, detail = '') => {
    results.push({ name, ok });
    console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
    return ok;
  };
  return { results, check };
}

/** Runs main() (an exception is one failed check), cleans up whatever was started, prints
 * "N passed, M failed" and exits 1 on any failure. */
/** Runs main, then prints the tally as the last line, which also names what did not run
 * (`notRun`, and the mock server when RD_E2E_MOCK=1): a skipped check never reads as passed. */
export async function runChecks(main, { results, check }, notRun = []) {
  let fatal = null;
  try {
    await main();
  } catch (e) {
    fatal = e;
    check('e2e run', false, e.message.split('\n')[0]);
    console.log(e.message.split('\n').slice(1).map((l) => `#   ${l}`).join('\n'));
  } finally {
    await cleanup();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  const notes = process.env.RD_E2E_MOCK === '1' ? ['MOCK server (RD_E2E_MOCK=1), not run_demo: the checks of the real system not run', ...notRun] : notRun;
  console.log(`${passed} passed, ${failed} failed${notes.length ? `; ${notes.join('; ')}` : ''}`);
  process.exit(failed || fatal ? 1 : 0);
}

/** Where the screenshots go: docs/screenshots (the README shows them), or RD_E2E_SHOTS. */
export const shotsDir = process.env.RD_E2E_SHOTS ? path.resolve(process.env.RD_E2E_SHOTS) : path.join(repoDir, 'docs', 'screenshots');
