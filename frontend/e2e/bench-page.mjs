// Benchmark of the page that teaches (printed, never asserted): what the training view's
// live-agent panel costs the trainer (its steps/s with the page closed and open, phases
// alternated, the trainer's own 5-second rate sampled once a second, medians), the size of
// the recorded evaluation episodes on disk, and the time from "Replay" to the replay drawn.
// Real ./run_demo with configs/level1.toml (RD_E2E_CONFIG) and Debian's Chromium.
import path from 'node:path';
import { cleanup, launchBrowser, repoDir, sleep, startDemo, until } from './lib.mjs';

const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN; };
const rounds = Number(process.env.RD_BENCH_RUNS || 3);
const phaseMs = Number(process.env.RD_BENCH_PHASE_MS || 10000);

async function status(base) {
  const r = await fetch(new URL('/api/status', base));
  return r.json();
}

/** The trainer's steps/s (its 5 s window) sampled once a second over the last 5 s of a phase. */
async function samplePhase(base) {
  await sleep(Math.max(0, phaseMs - 5000));
  const out = [];
  for (let i = 0; i < 5; i++) {
    const j = await status(base).catch(() => null);
    const v = j?.job?.last_episode?.steps_per_second;
    if (typeof v === 'number') out.push(v);
    await sleep(1000);
  }
  return median(out);
}

async function main() {
  const config = process.env.RD_E2E_CONFIG || path.join(repoDir, 'configs', 'level1.toml');
  const demo = await startDemo({ config });
  const ctx = await launchBrowser();
  // Warm-up: past learning_starts and the first evaluation, so both phases see a learning trainer.
  await until(async () => ((await status(demo.url)).job.episode ?? 0) >= 300, 120000, 500);
  // Three phases per round: no page; the training view without its live-agent panel
  // (?live=0); the training view with it. The panel's cost is the difference of the last two.
  const none = [];
  const noPanel = [];
  const panel = [];
  let liveSteps = 0;
  // The trainer's rate drifts as its replay fills, so the phases run in the opposite order
  // every other round (none, view, view+panel; then view+panel, view, none): a steady
  // drift then weighs on every phase alike instead of on the last one.
  const phases = [
    { out: none, url: null },
    { out: noPanel, url: '/?live=0' },
    { out: panel, url: '/' },
  ];
  for (let r = 0; r < rounds; r++) {
    for (const ph of r % 2 ? [...phases].reverse() : phases) {
      if (!ph.url) {
        ph.out.push(await samplePhase(demo.url));
        continue;
      }
      const page = await ctx.newPage();
      await page.goto(new URL(ph.url, demo.url).href, { waitUntil: 'load' });
      ph.out.push(await samplePhase(demo.url));
      if (ph.out === panel) liveSteps += await page.evaluate(() => window.__rd.liveSteps);
      await page.close();
    }
  }
  const [a, b, c] = [median(none), median(noPanel), median(panel)];
  const pct = (x, y) => `${(((y - x) / x) * 100).toFixed(1)} %`;
  console.log(`live-agent panel: trainer ${c.toFixed(0)} steps/s with the training view and its panel open, ${b.toFixed(0)} with the view open without the panel (${pct(b, c)}; target: no more than 2 % slower); the panel played ${liveSteps} steps`);
  console.log(`  for scale: ${a.toFixed(0)} steps/s with no page open (the whole view: ${pct(a, b)}); ${rounds} rounds of ${phaseMs / 1000} s per phase, medians of the trainer's own 5 s rate`);
  console.log(`  per round, none / view / view+panel: ${none.map((x, i) => `${x.toFixed(0)}/${noPanel[i].toFixed(0)}/${panel[i].toFixed(0)}`).join('  ')}`);

  const recs = (await (await fetch(new URL('/api/recordings', demo.url))).json()).recordings;
  const bytes = recs.map((x) => x.bytes);
  console.log(`recordings: ${recs.length} on disk, ${median(bytes)} bytes median, ${Math.max(...bytes)} max (${recs.map((x) => `${x.steps} steps`).slice(0, 5).join(', ')}; target <= 65536)`);

  const page = await ctx.newPage();
  await page.goto(new URL('#agent', demo.url).href, { waitUntil: 'load' });
  await until(async () => (await page.locator('[data-test=recordings] option').count()) > 0, 20000);
  const opens = [];
  for (let i = 0; i < Math.max(5, rounds); i++) {
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const close = document.querySelector('[data-test=replay-close]');
      if (close) close.click();
      setTimeout(() => {
        const t0 = performance.now();
        document.querySelector('[data-test=replay-open]').click();
        const poll = () => (document.querySelector('[data-test=replay-step]') ? resolve(performance.now() - t0) : requestAnimationFrame(poll));
        requestAnimationFrame(poll);
      }, 100);
    }));
    opens.push(ms);
  }
  const parse = await page.evaluate(() => window.__rd.replayOpenMs);
  console.log(`replay: opens (fetch, check, first draw) in ${median(opens).toFixed(1)} ms median of ${opens.length} (fetch + parse alone ${parse.toFixed(1)} ms last time; target <= 100 ms)`);
  await ctx.close();
  await demo.stop(45000);
}

try {
  await main();
} catch (e) {
  console.log(`bench-page failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
