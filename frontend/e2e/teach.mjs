// Browser tests of the page that teaches, against the real ./run_demo with a curriculum
// that moves within a few dozen episodes (e2e/curriculum.toml): the curriculum bands and
// the stage label appear; the evaluation chart gets points and a click on one loads that
// checkpoint in the agent view; the live-agent panel's step counter advances without any
// click, and so does the agent view's; "train more" raises the total and training goes on
// to it; a recorded episode replays and the scrubber moves the agent; the CSV has one row
// per episode; the charts download as PNG. Saves docs/screenshots/{teach-training,
// teach-replay}.png (or RD_E2E_SHOTS). Prints one line per check, "N passed, M failed".
import fs from 'node:fs';
import path from 'node:path';
import { checker, runChecks, shotsDir, frontendDir, here, launchBrowser, repoDir, sleep, startDemo, tmpDir, until, watchErrors } from './lib.mjs';

const checks = checker();
const { check } = checks;
const rd = (page) => page.evaluate(() => ({ ...window.__rd, injectTraining: undefined, historyCheck: undefined, evalPointAt: undefined, evalRecording: undefined }));
const text = (page, sel) => page.locator(sel).first().innerText().catch(() => '');
const episodeOf = async (page) => Number(await page.locator('[data-test=episode] b').innerText().catch(() => 'NaN'));
const totalOf = async (page) => Number((/of (\d+)/.exec(await text(page, '[data-test=episode]')) ?? [])[1]);

async function main() {
  if (process.env.RD_E2E_MOCK === '1') {
    console.log('# teach.mjs needs the real trainer (curriculum, evaluations, recordings): skipped with RD_E2E_MOCK=1');
    return;
  }
  if (!fs.existsSync(path.join(frontendDir, 'dist', 'index.html'))) throw new Error('no frontend/dist: run `npm run build` first');
  const EPISODES = 60;
  const demo = await startDemo({ config: path.join(here, 'curriculum.toml'), episodes: EPISODES, log: process.env.RD_E2E_VERBOSE === '1' });
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = watchErrors(page);
  await page.goto(demo.url, { waitUntil: 'load' });

  // The live agent plays from the first second: its step counter moves with no click.
  const l0 = await until(async () => (await rd(page)).liveSteps > 0, 20000);
  const s0 = await text(page, '[data-test=live-step]');
  const n0 = (await rd(page)).liveSteps;
  const l1 = await until(async () => (await rd(page)).liveSteps > n0 + 5 && (await text(page, '[data-test=live-step]')) !== s0, 20000);
  check('live-agent panel plays without any click', !!l0 && !!l1, `step ${s0} → ${await text(page, '[data-test=live-step]')}, ${(await rd(page)).liveSteps} steps received`);

  // The run completes quickly; bands, stage label, evaluation points.
  const done = await until(async () => (await episodeOf(page)) >= EPISODES, 90000, 300);
  check('training reaches its target', !!done, `episode ${await episodeOf(page)} of ${await totalOf(page)}`);
  const bands = await until(async () => ((await rd(page)).bands >= 2 ? (await rd(page)).bands : 0), 10000);
  check('curriculum bands drawn behind the charts', bands >= 2, `${bands} bands`);
  const stage = await text(page, '[data-test=stage]');
  check('stage and difficulty shown in the header', /stage \d+ · difficulty ×[0-9.]+/.test(stage), stage);
  // The config's curriculum retreats from its hardest stage (a fixed seed: every run alike).
  const retreats = (await rd(page)).retreats;
  check('a retreat is drawn as its own band and counted in the header', retreats >= 1 && /retreat/.test(stage), `${retreats} retreat bands; header: ${stage}`);
  const evals = (await rd(page)).evalPoints;
  check('evaluation chart gets a point per evaluation', evals >= Math.floor(EPISODES / 10) - 1, `${evals} points`);

  // Exports: the CSV has one row per episode; a chart downloads as PNG.
  const dl = tmpDir('rd-e2e-dl-');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=csv]').click()]);
  const csvPath = path.join(dl, 'metrics.csv');
  await csv.saveAs(csvPath);
  const rows = fs.readFileSync(csvPath, 'utf8').trim().split('\n');
  const nEp = await episodeOf(page);
  const epCol = rows.slice(1).map((r) => Number(r.split(',')[0]));
  check('CSV download has one row per episode', rows[0].startsWith('episode,') && rows.length - 1 === nEp && epCol.every((e, i) => e === i + 1), `${rows.length - 1} rows for ${nEp} episodes`);
  const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=png-steps]').click()]);
  const pngPath = path.join(dl, 'steps.png');
  await png.saveAs(pngPath);
  const head = fs.readFileSync(pngPath).subarray(0, 8);
  check('a chart downloads as PNG', head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${fs.statSync(pngPath).size} bytes`);

  fs.mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, 'teach-training.png') });

  // Train more: the total rises at once and training continues to it.
  const before = await totalOf(page);
  await page.locator('[data-test=extend-n]').fill('30');
  await page.locator('[data-test=extend]').click();
  const raised = await until(async () => (await totalOf(page)) === before + 30, 15000);
  check('"train more" raises the total', !!raised, `${before} → ${await totalOf(page)}; ${await text(page, '[data-test=results]')}`);
  const cont = await until(async () => (await episodeOf(page)) >= before + 30, 60000, 300);
  const status = (await text(page, '[data-test=status]')).toLowerCase();
  check('training continues to the new total', !!cont, `episode ${await episodeOf(page)}, status ${status}`);

  // A click on the best evaluation point watches that checkpoint in the agent view.
  const best = (await rd(page)).bestEval;
  const pos = await page.evaluate((i) => window.__rd.evalPointAt(i), best);
  if (pos) {
    await page.mouse.move(pos.x, pos.y);
    await sleep(150);
    await page.mouse.click(pos.x, pos.y);
  }
  const toAgent = await until(async () => (await page.locator('[data-test=tab-agent]').getAttribute('class'))?.includes('on'), 10000);
  const loaded = await until(async () => { const t = await text(page, '[data-test=loaded]'); return /^ep_/.test(t) ? t : ''; }, 15000);
  check('a click on an evaluation point loads that checkpoint in the agent view', !!pos && !!toAgent && !!loaded, `best point ${best}, loaded ${loaded || 'nothing'}`);
  // ... and offers that evaluation's recorded episode for replay.
  const want = await page.evaluate((i) => window.__rd.evalRecording(i), best);
  const offered = await until(async () => (await page.locator('[data-test=recordings]').inputValue().catch(() => '')) === want, 10000);
  check("the evaluation's recording is offered for replay", !!want && !!offered, `${want || 'no recording'} → ${await page.locator('[data-test=recordings]').inputValue().catch(() => '')}`);

  // The agent view opens playing.
  const a0 = Number(await text(page, '[data-test=agent-step]'));
  const ag = await until(async () => (await rd(page)).agentSteps > 3, 15000);
  check('the agent view opens playing (no click on Play)', !!ag, `step ${a0} → ${await text(page, '[data-test=agent-step]')}`);

  // Replay a recorded episode; the scrubber moves the agent. A greedy agent may spend a
  // whole episode on one cell (interacting, waiting): take the first recording in which it
  // moves, so that the scrubber has a move to show.
  await until(async () => (await page.locator('[data-test=recordings] option').count()) > 0, 15000);
  const names = await page.locator('[data-test=recordings] option').evaluateAll((os) => os.map((o) => o.value));
  let opened = false;
  let st1 = false;
  let openMs = 0;
  for (const name of names.slice(0, 8)) {
    await page.locator('[data-test=recordings]').selectOption(name);
    const t0 = Date.now();
    await page.locator('[data-test=replay-open]').click();
    opened = !!(await until(async () => (await page.locator('[data-test=replay]').count()) > 0 && (await rd(page)).replayStep >= 0, 10000, 50));
    openMs = Date.now() - t0;
    st1 = !!(await until(async () => Number(await text(page, '[data-test=replay-step]')) > 3, 10000));
    if ((await rd(page)).replayCells >= 2) break;
  }
  check('a recorded episode opens and plays', opened && st1, `step ${await text(page, '[data-test=replay-step]')}; opened in ${openMs} ms (page ${(await rd(page)).replayOpenMs.toFixed(1)} ms)`);
  const max = Number(await page.locator('[data-test=scrub]').getAttribute('max'));
  const seen = new Set();
  let stepsOk = true;
  for (let j = 0; j <= 12; j++) {
    const k = Math.round((max * j) / 12);
    await page.locator('[data-test=scrub]').fill(String(k));
    await sleep(60);
    const r = await rd(page);
    if (r.replayStep !== k) stepsOk = false;
    if (r.replayAgent) seen.add(`${r.replayAgent.x},${r.replayAgent.y}`);
  }
  const cellsIn = (await rd(page)).replayCells;
  check('the scrubber moves the agent', stepsOk && seen.size >= 2, `${seen.size} distinct cells at 13 scrubber positions over ${max} steps; the recording visits ${cellsIn}`);
  await page.locator('[data-test=scrub]').fill('10');
  await page.locator('[data-test=replay-fwd]').click();
  const fwd = Number(await text(page, '[data-test=replay-step]'));
  await page.locator('[data-test=replay-back]').click();
  await page.locator('[data-test=replay-back]').click();
  const back = Number(await text(page, '[data-test=replay-step]'));
  check('step forward and back', fwd === 11 && back === 9, `10 → ${fwd} → ${back}`);
  await page.screenshot({ path: path.join(shotsDir, 'teach-replay.png') });

  // Hostile or broken input through the page's own message path: a 20000×20000 frame is
  // refused with a visible message (the tab survives), and a null loss after finite ones
  // shows "diverged" instead of a frozen chart.
  await page.locator('[data-test=tab-training]').click();
  const last = await episodeOf(page);
  const injected = await page.evaluate((ep) => {
    window.__rd.injectTraining(JSON.stringify({ type: 'frame', episode: ep + 1, step: 1, grid: { width: 20000, height: 20000, agent: { x: 1, y: 1 } } }));
    window.__rd.injectTraining(JSON.stringify({ type: 'episode', episode: ep + 1, steps: 10, total_reward: 9, loss: null, epsilon: 0.1, multiplier: 0.8, stage: 2 }));
    return true;
  }, last);
  const refused = await until(async () => /refused a frame with a grid side of 20000/.test(await text(page, '[data-test=frame-error]')), 5000);
  check('an absurd frame is refused with a visible message', injected && !!refused, await text(page, '[data-test=frame-error]'));
  const diverged = await until(async () => (await page.locator('[data-test=diverged]').count()) > 0, 5000);
  check('a null loss after finite ones shows "diverged"', !!diverged, await text(page, '[data-test=diverged-text]'));
  const alive = await until(async () => (await rd(page)).chartLastEpisode >= last + 1, 5000);
  check('the page keeps drawing after both', !!alive, `charts at episode ${(await rd(page)).chartLastEpisode}`);

  check('no console errors', errors.length === 0, errors.slice(0, 5).join(' | '));
  await ctx.close();
  const exit = await demo.stop(45000);
  const san = demo.lines.filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:/.test(l));
  check('no sanitizer reports', san.length === 0, san.slice(0, 3).join(' | '));
  const summary = demo.lines.findIndex((l) => /Summary/.test(l));
  const resume = demo.lines.find((l) => /resume with +\.\/run_demo --checkpoint-dir /.test(l));
  check('run_demo exits after SIGINT with a summary and the resume command', exit.code === 130 && summary >= 0 && !!resume, `exit ${exit.code ?? exit.sig}; ${resume ?? 'no resume line'}`);
}

await runChecks(main, checks);
