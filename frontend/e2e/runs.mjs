// Browser test of the Runs view against the real ./run_demo running a sweep: four seeds of
// the fast test config (e2e/curriculum.toml), two trainers at a time. The page opens on the
// Runs view by itself (the server has several jobs); its table shows 4 rows, 2 running
// while 2 wait, then all 4 completed; with every run ticked and the seed grouping off, the
// overlay draws 4 curves; with the grouping on (the default, as the runs differ only in
// their seed) one mean curve and its min–max band; the overlay grows while the runs
// train; every row shows its wall time; a click on a row opens that run's training view on
// /ws/training/{job}, whose controls act on that run; the agent view's model picker lists
// another run's checkpoints and plays one; a past run under the runs root (RD_RUNS_DIR) is
// listed on request and drawn from its series. Saves docs/screenshots/runs.png,
// runs-sweep.png (the 4 curves) and runs-agent.png (or RD_E2E_SHOTS).
// No timing is asserted: the waits are generous for a loaded two-core machine.
import fs from 'node:fs';
import path from 'node:path';
import { checker, runChecks, shotsDir, frontendDir, here, launchBrowser, startDemo, tmpDir, until, watchErrors } from './lib.mjs';

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
  // A past run under the runs root: a finished single run of 300 episodes from "last week".
  const runsRoot = tmpDir('rd-e2e-runs-');
  const PAST = 'e2e-curriculum:2026-11-29_101500';
  const pastDir = path.join(runsRoot, 'e2e-curriculum', '2026-11-29_101500');
  fs.mkdirSync(pastDir, { recursive: true });
  fs.writeFileSync(path.join(pastDir, 'metrics.jsonl'), Array.from({ length: 300 }, (_, i) => JSON.stringify({ episode: i + 1, steps: 40 + (i % 50), total_reward: 39 + (i % 50), eval_score: 60 + Math.floor(i / 10), timestamp: 1764400000 + 2 * i }) + '\n').join(''));
  fs.writeFileSync(path.join(pastDir, 'progress.json'), JSON.stringify({ status: 'completed', episode: 300, total: 300, steps_per_second: 5000 }));
  const demo = await startDemo({
    extraEnv: { RD_RUNS_DIR: runsRoot },
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
  // One run's training view and controls, opened from its row while it trains: Pause
  // reaches that run's trainer only (its row says paused, the other running one does not).
  const running = (await page.locator('[data-test=run-row][data-status=running]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job'))));
  if (running.length === 2) {
    const [mine, theirs] = running;
    await page.locator(`[data-test=run-row][data-job="${mine}"] .name`).click();
    const openedMine = await until(async () => (await page.locator('[data-test=training-job]').innerText().catch(() => '')) === mine, 10000);
    const canPause = openedMine && (await until(async () => page.locator('[data-test=pause]').isEnabled(), 10000));
    if (canPause) await page.locator('[data-test=pause]').click();
    const pausedHere = await until(async () => (await page.locator('[data-test=status]').innerText()).toLowerCase() === 'paused', 15000);
    await page.locator('[data-test=tab-runs]').click();
    const rowPaused = await until(async () => (await page.locator(`[data-test=run-row][data-job="${mine}"]`).getAttribute('data-status')) === 'paused', 10000);
    const otherStatus = await page.locator(`[data-test=run-row][data-job="${theirs}"]`).getAttribute('data-status');
    check(`Pause in ${mine}'s training view pauses that run only`, !!pausedHere && !!rowPaused && otherStatus !== 'paused', `view paused ${!!pausedHere}, row ${await page.locator(`[data-test=run-row][data-job="${mine}"]`).getAttribute('data-status')}, ${theirs} ${otherStatus}`);
    await page.locator(`[data-test=run-row][data-job="${mine}"] .name`).click();
    await until(async () => page.locator('[data-test=resume]').isEnabled(), 10000);
    await page.locator('[data-test=resume]').click();
    const resumedHere = await until(async () => (await page.locator('[data-test=status]').innerText()).toLowerCase() === 'running', 15000);
    check(`Resume continues ${mine}`, !!resumedHere, await page.locator('[data-test=results]').innerText());
    await page.locator('[data-test=tab-runs]').click();
  } else check('2 runs running to open one of them', false, running.join(' '));

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
  const walls = await page.locator('[data-test=run-wall]').allInnerTexts();
  check('every row shows its wall time', walls.length === 4 && walls.every((w) => /^(\d+h )?(\d+m )?\d+s$|^\d+h \d\dm$/.test(w.trim())), walls.join(' | '));

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
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(shotsDir, 'runs-sweep.png') });

  // Last week's run: listed on request (read-only, no controls), drawn once ticked.
  const pastToggle = await until(async () => (await page.locator('[data-test=show-past]').count()) === 1, 10000);
  check('past runs under the runs root are offered', !!pastToggle, await page.locator('[data-test=runs-view] .head').innerText());
  if (pastToggle) {
    await page.locator('[data-test=show-past]').check();
    const prow = page.locator(`[data-test=past-row][data-job="${PAST}"]`);
    const listed = await until(async () => (await prow.count()) === 1, 10000);
    check('a past run is listed with its status and progress', !!listed && (await prow.getAttribute('data-status')) === 'completed' && (await prow.locator('[data-test=run-progress]').innerText()).replace(/\s/g, '') === '300/300', listed ? await prow.innerText() : 'not listed');
    await prow.locator('[data-test=past-tick]').check();
    const five = await until(async () => (await rd(page)).runsCurves === 5, 15000);
    check("a ticked past run's series is fetched and overlaid with today's", !!five, JSON.stringify(await rd(page)));
    await prow.locator('[data-test=past-tick]').uncheck();
    await page.locator('[data-test=show-past]').uncheck();
  }

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
  // Its export is that run's: the server's CSV of its metrics.jsonl (?job=, every episode).
  const csvResp = page.waitForResponse((r) => r.url().includes('/api/metrics.csv?job='), { timeout: 15000 }).catch(() => null);
  await page.locator('[data-test=csv]').click();
  const cr = await csvResp;
  const csvRows = cr && cr.ok() ? (await cr.text()).trim().split('\n').length - 1 : -1;
  check("the run's CSV is its own, from the server (?job=)", csvRows === EPISODES && decodeURIComponent(cr.url()).includes(`job=${target}`), `${cr ? cr.url() : 'no request'}: ${csvRows} rows`);

  // The agent view's model picker spans runs: another run's checkpoint is listed and plays.
  await page.locator('[data-test=tab-agent]').click();
  const other = names.find((n) => n !== target) ?? names[0];
  const jobOpt = await until(async () => (await page.locator(`[data-test=model-job] option[value="${other}"]`).count()) === 1, 15000);
  check('the model picker lists every run', !!jobOpt, await page.locator('[data-test=model-job]').innerText().catch(() => 'no run picker'));
  let played = false;
  let loadedTxt = '';
  if (jobOpt) {
    await page.locator('[data-test=model-job]').selectOption(other);
    const models = await until(async () => {
      const vals = await page.locator('[data-test=model] option').evaluateAll((os) => os.map((o) => o.value));
      return vals.filter((v) => /^ep_/.test(v)).length ? vals : null;
    }, 15000);
    const pick = models ? models.filter((v) => /^ep_/.test(v)).at(-1) : null;
    check(`another run's (${other}) checkpoints are listed`, !!pick, models ? models.join(' ') : 'none');
    if (pick) {
      await page.locator('[data-test=model]').selectOption(pick);
      loadedTxt = await until(async () => {
        const t = await page.locator('[data-test=loaded]').innerText().catch(() => '');
        const j = await page.locator('[data-test=loaded-job]').innerText().catch(() => '');
        return t === pick && j === other ? `${t} of ${j}` : '';
      }, 15000);
      const n0 = await page.evaluate(() => window.__rd.agentSteps);
      played = !!(await until(async () => (await page.evaluate(() => window.__rd.agentSteps)) > n0 + 2, 15000));
      check(`${other}'s ${pick} is loaded and plays`, !!loadedTxt && played, `${loadedTxt || await page.locator('[data-test=loaded]').innerText()}; playing ${played}`);
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(shotsDir, 'runs-agent.png') });
    }
  }

  check('no console errors', errors.length === 0, errors.slice(0, 3).join(' | '));
  const r = await demo.stop(60000);
  check('run_demo exits after the sweep when asked', r.code === 0 || r.code === 130, JSON.stringify(r));
}

await runChecks(main, checks);
