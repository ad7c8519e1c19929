// Browser-side benchmark of the frontend (its targets: docs/benchmarks.md): the bundle size gzipped; the
// time from a 10,000-episode `hello` arriving to the four charts drawn; and, with the real
// trainer at full speed in visual mode, the frames per second the page receives and draws
// and its animation-frame rate. Prints medians of several runs. Uses ./run_demo like the
// e2e (RD_E2E_MOCK=1 for the protocol mock); the history is injected through the page's
// own message path (window.__rd.injectTraining), parse included, since a real trainer
// cannot produce 10,000 episodes in a benchmark's time. Last, the Runs view's overlay of
// 16 runs × 10,000 episodes, from series built in the page (window.__rd.runsBench).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { cleanup, frontendDir, launchBrowser, repoDir, sleep, startDemo, until } from './lib.mjs';

const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN; };
const runs = Number(process.env.RD_BENCH_RUNS || 5);

function bundleSize() {
  const dist = path.join(frontendDir, 'dist');
  let raw = 0;
  let gz = 0;
  const walk = (d) => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (/\.(js|css|html)$/.test(f.name)) {
        const b = fs.readFileSync(p);
        raw += b.length;
        gz += zlib.gzipSync(b, { level: 9 }).length;
      }
    }
  };
  walk(dist);
  return { raw, gz };
}

async function main() {
  const { raw, gz } = bundleSize();
  console.log(`bundle: ${(gz / 1024).toFixed(1)} KiB gzipped (${(raw / 1024).toFixed(1)} KiB raw; target <= 200 KiB gzipped)`);

  const config = process.env.RD_E2E_CONFIG || path.join(repoDir, 'configs', 'level1.toml');
  const demo = await startDemo({ config });
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(demo.url, { waitUntil: 'load' });
  await until(() => page.evaluate(() => window.__rd.trainingMessages > 0), 20000);

  // Frames with the trainer at full speed in visual mode.
  await page.evaluate(() => { const s = document.querySelector('[data-test=speed]'); s.value = '0'; s.dispatchEvent(new Event('input')); });
  await sleep(400);
  const visual = page.locator('[data-test=visual]');
  if (!(await visual.isChecked())) await visual.click();
  await until(() => page.evaluate(() => window.__rd.framesDrawn > 10), 20000);
  const recv = [];
  const drawn = [];
  const rafs = [];
  for (let i = 0; i < runs; i++) {
    const r = await page.evaluate(async () => {
      const a = { ...window.__rd };
      let frames = 0;
      let on = true;
      const loop = () => { frames++; if (on) requestAnimationFrame(loop); };
      requestAnimationFrame(loop);
      const t0 = performance.now();
      await new Promise((res) => setTimeout(res, 2000));
      on = false;
      const dt = (performance.now() - t0) / 1000;
      const b = window.__rd;
      return { recv: (b.framesReceived - a.framesReceived) / dt, drawn: (b.framesDrawn - a.framesDrawn) / dt, raf: frames / dt };
    });
    recv.push(r.recv);
    drawn.push(r.drawn);
    rafs.push(r.raf);
  }
  console.log(`visual mode, full speed: frames received ${median(recv).toFixed(0)}/s, grid frames drawn ${median(drawn).toFixed(1)}/s, page animation frames ${median(rafs).toFixed(1)}/s (median of ${runs} × 2 s; target 60/s drawn)`);
  await visual.click();

  // First render of a 10,000-episode history.
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ms = await page.evaluate(async (n) => {
      const hist = [];
      for (let e = 1; e <= n; e++) {
        const steps = Math.round(150 + 300 * (1 - Math.exp(-e / 2000)) + 80 * Math.sin(e * 1.7));
        hist.push({ episode: e, steps, total_reward: steps - 1, epsilon: Math.max(0.05, 1 - e / 5000), loss: 0.5 / Math.sqrt(e), steps_per_second: 850, eta_seconds: 0, best: 480, multiplier: 0.2, timestamp: 1764106080 + e });
      }
      const text = JSON.stringify({ type: 'hello', protocol: 1, job_id: 'bench', config: 'level1', status: 'running', trainer_connected: true, episode: n, total_episodes: n, visual: false, speed: 1000, history: hist, history_total: n, history_downsampled: false });
      window.__rd.lastHistoryRenderMs = -1;
      window.__rd.injectTraining(text);
      for (let k = 0; k < 100 && window.__rd.lastHistoryRenderMs < 0; k++) await new Promise((r) => setTimeout(r, 10));
      return window.__rd.lastHistoryRenderMs;
    }, 10000);
    times.push(ms);
    await sleep(300);
  }
  const pts = await page.evaluate(() => window.__rd.chartPoints);
  console.log(`10,000-episode history: first render ${median(times).toFixed(1)} ms (median of ${runs}: ${times.map((t) => t.toFixed(1)).join(' ')}; parse + reduce + 4 charts drawn, ${pts} points per chart after min/max reduction; target <= 200 ms)`);

  // The Runs view's overlay of 16 runs × 10,000 episodes (synthetic series in the page):
  // building the overlay data (shared axis, group statistics) and uPlot's draw, each run's
  // curve drawn apart and then as one seed group with its band.
  await page.locator('[data-test=tab-runs]').click();
  await until(async () => page.evaluate(() => typeof window.__rd.runsBench === 'function'), 10000);
  for (const group of [false, true]) {
    const ms = await page.evaluate(([g, n]) => window.__rd.runsBench(16, 10000, n, g), [group, Math.max(5, runs)]);
    // The first render builds the plot's series; the rest only feed it data.
    console.log(`runs overlay, 16 runs x 10,000 episodes${group ? ', one seed group (mean + min-max band)' : ', 16 curves'}: ${median(ms).toFixed(1)} ms median of ${ms.length} (${ms.map((t) => t.toFixed(1)).join(' ')}; data + draw; target <= 500 ms)`);
  }

  await ctx.close();
  await demo.stop(45000);
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`bench: ${e.message}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
