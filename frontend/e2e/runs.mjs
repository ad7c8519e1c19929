// Browser test of the Runs view against the real ./run_demo running a sweep: four seeds of
// the fast test config (e2e/curriculum.toml), two trainers at a time. The page opens on the
// Runs view by itself (the server has several jobs); its table shows 4 rows, 2 running
// while 2 wait, then all 4 completed; with every run ticked and the seed grouping off, the
// overlay draws 4 curves; with the grouping on (the default, as the runs differ only in
// their seed) one mean curve and its min–max band; the overlay grows while the runs
// train; a click on a row opens that run's training view on /ws/training/{job}. Saves
// docs/screenshots/runs.png (or RD_E2E_SHOTS).
// No timing is asserted: the waits are generous for a loaded two-core machine.
import fs from 'node:fs';
import path from 'node:path';
import { checker, runChecks, shotsDir, frontendDir, here, launchBrowser, startDemo, until, watchErrors } from './lib.mjs';

const checks = checker();
const { check } = checks;
const rd = (page) => page.evaluate(() => ({ runsRows: window.__rd.runsRows, runsCurves: window.__rd.runsCurves, runsBands: window.__rd.runsBands, overviewMessages: window.__rd.overviewMessages }));
const statuses = (page) => page.locator('[data-test=run-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));

async function main() {
  if (process.env.RD_E2E_MOCK === '1') {
    console.log('# runs.mjs needs the real run_demo (a sweep of trainers): skipped with RD_E2E_MOCK=1');
    return;
  }
  if (!fs.existsSync(path.join(frontendDir, 'dist', 'index.html'))) throw new Error('no frontend/dist: run `npm run build` first');
  const EPISODES = 500;
  // The browser first: launching it can take seconds on a busy machine, and the page must
  // be there while the first two runs train.
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = watchErrors(page);
  const demo = await startDemo({
    config: path.join(here, 'curriculum.toml'),
    episodes: EPISODES,
    extraArgs: ['--runs', '4', '--parallel', '2'],
    timeoutMs: 120000,
    log: process.env.RD_E2E_VERBOSE === '1',
  });
  await page.goto(demo.url, { waitUntil: 'load' });

  const onRuns = await until(async () => (await page.locator('[data-test=runs-view]').isVisible().catch(() => false)), 20000);
  check('a sweep opens on the Runs view', !!onRuns, page.url());
  const four = await until(async () => (await page.locator('[data-test=run-row]').count()) === 4, 30000);
  const names = await page.locator('[data-test=run-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));
  check('the table shows 4 rows, one per run', !!four && names.every((n) => /^seed=\d+$/.test(n)), names.join(' '));

  // Two trainers at a time: at some moment exactly 2 rows run while the other 2 have not
  // started (polled: the states are read from the page, never timed).
  let seen = [];
  const combos = new Set();
  const twoRunning = await until(async () => {
    seen = await statuses(page);
    combos.add([...seen].sort().join(' '));
    return seen.filter((s) => s === 'running').length === 2 && seen.filter((s) => s === 'waiting' || s === 'queued').length === 2;
  }, 60000, 100);
  check('2 running while 2 wait (--parallel 2)', !!twoRunning, [...combos].join(' / '));
  // The overlay follows the live records: its newest episode grows while the runs train.
  const e0 = await page.evaluate(() => window.__rd.runsLastEpisode);
  const grew = await until(async () => (await page.evaluate(() => window.__rd.runsLastEpisode)) > e0, 60000, 200);
  check('the overlay grows live while runs train', !!grew, `newest episode drawn ${e0} → ${await page.evaluate(() => window.__rd.runsLastEpisode)}`);

  const allDone = await until(async () => {
    seen = await statuses(page);
    return seen.length === 4 && seen.every((s) => s === 'completed');
  }, 300000, 500);
  check('then all 4 completed', !!allDone, seen.join(' '));
  const progress = await page.locator('[data-test=run-progress]').allInnerTexts();
  check('every row shows its progress at its target', progress.length === 4 && progress.every((p) => p.replace(/\s/g, '') === `${EPISODES}/${EPISODES}`), progress.join(' | '));
  const best = await page.locator('[data-test=run-best]').allInnerTexts();
  check('every row shows a best evaluation', best.length === 4 && best.every((b) => Number.isFinite(Number(b.replace(/,/g, '')))), best.join(' | '));

  // The runs differ only in their seed: grouped by default, one mean curve with its band.
  const grouped = await page.locator('[data-test=group-seeds]').isChecked();
  const g = await until(async () => {
    const s = await rd(page);
    return s.runsCurves === 1 && s.runsBands === 1 ? s : null;
  }, 10000);
  const legend1 = await page.locator('[data-test=legend-item]').allInnerTexts();
  check('seed grouping is on by default: one mean curve with a min–max band', grouped && !!g, `grouped ${grouped}; ${JSON.stringify(await rd(page))}; legend ${legend1.join(' | ')}`);
  await page.waitForTimeout(500);
  fs.mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, 'runs.png') });

  await page.locator('[data-test=group-seeds]').uncheck();
  const o = await until(async () => {
    const s = await rd(page);
    return s.runsCurves === 4 && s.runsBands === 0 ? s : null;
  }, 10000);
  const legend4 = await page.locator('[data-test=legend-item]').allInnerTexts();
  check('ungrouped: an overlay of 4 curves with a legend entry each', !!o && legend4.length === 4, `${JSON.stringify(await rd(page))}; legend ${legend4.join(' | ')}`);

  // Unticking a run takes its curve away.
  await page.locator('[data-test=run-tick]').first().uncheck();
  const three = await until(async () => (await rd(page)).runsCurves === 3, 10000);
  check('unticking a run removes its curve', !!three, JSON.stringify(await rd(page)));
  await page.locator('[data-test=run-tick]').first().check();

  // Sorting by name descending reverses the rows.
  await page.locator('[data-test=sort-id]').click();
  const desc = await page.locator('[data-test=run-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));
  check('a click on a column header sorts by it', desc.join() === [...names].reverse().join(), desc.join(' '));

  // A row opens that run's training view, on its own stream.
  const target = desc[0];
  await page.locator(`[data-test=run-row][data-job="${target}"] .name`).click();
  const opened = await until(async () => (await page.locator('[data-test=training-job]').innerText().catch(() => '')) === target, 10000);
  const ep = await until(async () => Number(await page.locator('[data-test=episode] b').innerText().catch(() => 'NaN')) === EPISODES, 30000);
  check("a click on a row opens that run's training view", !!opened && !!ep, `${page.url()}; episode ${await page.locator('[data-test=episode] b').innerText().catch(() => '?')}`);

  check('no console errors', errors.length === 0, errors.slice(0, 3).join(' | '));
  const r = await demo.stop(60000);
  check('run_demo exits after the sweep when asked', r.code === 0 || r.code === 130, JSON.stringify(r));
}

await runChecks(main, checks);
