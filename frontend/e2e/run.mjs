// Browser tests of the frontend against the real system: starts ./run_demo (built
// orchestrator, trainer and server; the server serves frontend/dist), drives Debian's
// Chromium headless through playwright-core, and checks what a person would: the page
// loads without console errors, the charts fill and grow, pause stops the episode counter
// and resume restarts it, a checkpoint can be taken, the agent view loads `latest` and
// plays. Saves docs/screenshots/{training,agent}.png. Ends run_demo with SIGINT and waits.
// Prints one line per check and "N passed, M failed"; exit status 1 on any failure.
import fs from 'node:fs';
import path from 'node:path';
import { checker, runChecks, shotsDir, frontendDir, launchBrowser, repoDir, sleep, startDemo, until, watchErrors } from './lib.mjs';

const checks = checker();
const { check } = checks;

const episodeOf = (page) => page.locator('[data-test=episode] b').innerText().then(Number).catch(() => NaN);
const statusOf = (page) => page.locator('[data-test=status]').innerText().catch(() => '');
const rd = (page) => page.evaluate(() => ({ ...window.__rd, injectTraining: undefined }));

async function main() {
  if (!fs.existsSync(path.join(frontendDir, 'dist', 'index.html'))) throw new Error('no frontend/dist: run `npm run build` first');
  const config = process.env.RD_E2E_CONFIG || path.join(repoDir, 'configs', 'level1.toml');
  const t0 = Date.now();
  const demo = await startDemo({ config, log: process.env.RD_E2E_VERBOSE === '1' });
  console.log(`# ${demo.mock ? 'mock server' : 'run_demo'} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s at ${demo.url}`);
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = watchErrors(page);

  await page.goto(demo.url, { waitUntil: 'load' });
  check('page loads (title)', (await page.title()).includes('run_demo'));
  const connected = await until(async () => (await page.locator('[data-test=conn]').first().getAttribute('class'))?.includes('open'), 15000);
  check('training WebSocket connects', !!connected);

  // Charts fill: the history and live episodes reach the charts, and keep growing.
  const e1 = await until(async () => { const e = (await rd(page)).chartLastEpisode; return e > 0 ? e : 0; }, 60000);
  const s1 = await rd(page);
  check('training charts fill', e1 > 0 && s1.chartPoints > 0, `charts reach episode ${e1}, ${s1.chartPoints} points drawn`);
  await until(async () => (await rd(page)).chartLastEpisode > e1, 30000);
  const s2 = await rd(page);
  check('training charts grow', s2.chartLastEpisode > e1 && (await episodeOf(page)) >= s2.chartLastEpisode, `charts reach episode ${e1} → ${s2.chartLastEpisode}`);

  // Pause: the status says so and the counter stops.
  await page.locator('[data-test=pause]').click();
  const paused = await until(async () => (await statusOf(page)).toLowerCase() === 'paused', 15000);
  check('pause is accepted and the status shows it', !!paused, await page.locator('[data-test=results]').innerText());
  const ep = await episodeOf(page);
  await sleep(3000);
  const epLater = await episodeOf(page);
  check('pause stops the episode counter', paused && ep === epLater, `${ep} → ${epLater} over 3 s`);
  await page.locator('[data-test=resume]').click();
  const resumed = await until(async () => (await episodeOf(page)) > epLater, 30000);
  check('resume restarts the episode counter', !!resumed && (await statusOf(page)).toLowerCase() === 'running', `now ${await episodeOf(page)}`);

  // The same from the keyboard: Space pauses and resumes.
  await page.keyboard.press(' ');
  const kp = await until(async () => (await statusOf(page)).toLowerCase() === 'paused', 15000);
  await page.keyboard.press(' ');
  const kr = await until(async () => (await statusOf(page)).toLowerCase() === 'running', 15000);
  check('Space pauses and resumes', !!kp && !!kr);

  // Visual mode: frames reach the live grid.
  await page.locator('[data-test=visual]').click();
  const frames = await until(async () => (await rd(page)).framesDrawn > 5, 20000);
  check('visual mode shows the live grid', !!frames, `${(await rd(page)).framesDrawn} frames drawn`);
  await sleep(500);

  // Figures, not assertions (the full benchmark is npm run bench): grid frames drawn per
  // second at the current trainer speed.
  const f0 = await rd(page);
  await sleep(2000);
  const f1 = await rd(page);
  console.log(`# bench: visual mode at the trainer's speed: ${((f1.framesReceived - f0.framesReceived) / 2).toFixed(0)} frames/s received, ${((f1.framesDrawn - f0.framesDrawn) / 2).toFixed(1)} drawn`);
  fs.mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, 'training.png') });
  await page.locator('[data-test=visual]').click();

  // A checkpoint now, so that `latest` exists for the agent view.
  await page.locator('[data-test=checkpoint]').click();
  const ck = await until(async () => /checkpoint: accepted/.test(await page.locator('[data-test=results]').innerText()), 15000);
  check('checkpoint now is accepted', !!ck, await page.locator('[data-test=results]').innerText());

  // Agent view: loads latest, plays, the step counter advances.
  await page.locator('[data-test=tab-agent]').click();
  const agentOpen = await until(async () => (await page.locator('[data-test=conn]').nth(1).getAttribute('class').catch(() => ''))?.includes('open'), 15000);
  check('agent WebSocket connects', !!agentOpen);
  // Wait for the checkpoint file to be listed, then load latest explicitly.
  await until(async () => (await page.locator('[data-test=model] option').count()) > 2, 20000, 500);
  await page.locator('[data-test=model]').selectOption('latest');
  const loaded = await until(async () => {
    const t = await page.locator('[data-test=loaded]').innerText();
    return t && t !== '—' && t !== 'untrained policy' ? t : '';
  }, 20000);
  check('agent view loads latest', !!loaded, `loaded ${loaded || 'nothing'}`);
  const stepOf = () => page.locator('[data-test=agent-step]').innerText().then(Number);
  // The view opens playing: no click on Play (a click would pause it).
  const n0 = (await rd(page)).agentSteps;
  const advanced = await until(async () => (await rd(page)).agentSteps > n0 + 2 && (await stepOf()) > 0, 15000);
  check('agent step counter advances while playing', !!advanced, `${(await rd(page)).agentSteps - n0} steps since the load, now step ${await stepOf()}`);
  await sleep(300);
  await page.screenshot({ path: path.join(shotsDir, 'agent.png') });

  // Follow latest: a new checkpoint (C works from every view) is loaded by itself.
  await page.locator('[data-test=follow]').check();
  await sleep(500);
  await page.keyboard.press('c');
  const followed = await until(async () => {
    const t = await page.locator('[data-test=loaded]').innerText();
    return t !== loaded && /^ep_/.test(t) ? t : '';
  }, 20000, 250);
  check('follow latest loads the newer checkpoint', !!followed, `${loaded} → ${followed || (await page.locator('[data-test=loaded]').innerText())}`);

  // Keyboard: space pauses the agent, ? opens the help.
  await page.keyboard.press('?');
  check('? opens the shortcut help', await page.locator('[data-test=help-overlay]').isVisible());
  await page.keyboard.press('Escape');

  check('no console errors', errors.length === 0, errors.slice(0, 5).join(' | '));

  // Reconnection: the server dies (SIGKILL to the pid it reports), run_demo restarts it,
  // the page reconnects by itself and the history is replaced, not appended twice.
  if (!demo.mock) {
    await page.locator('[data-test=tab-training]').click();
    const before = await page.evaluate(() => window.__rd.historyCheck());
    const pid = await page.evaluate(() => fetch('/api/status').then((r) => r.json()).then((j) => j.server.pid)).catch(() => 0);
    if (pid > 0) {
      process.kill(pid, 'SIGKILL');
      const down = await until(async () => !(await page.locator('[data-test=conn]').first().getAttribute('class'))?.includes('open'), 10000, 100);
      const back = await until(async () => {
        const h = await page.evaluate(() => window.__rd.historyCheck());
        return h.hellos > before.hellos && (await page.locator('[data-test=conn]').first().getAttribute('class'))?.includes('open') ? h : null;
      }, 60000, 250);
      check('reconnects after the server is killed and restarted', !!down && !!back, back ? `${before.hellos} → ${back.hellos} hellos` : 'no new hello within 60 s');
      const h = back ?? (await page.evaluate(() => window.__rd.historyCheck()));
      // Records and newest episode from the same snapshot: the chart's own last episode is
      // drawn an animation frame later and may lag an episode that has just arrived.
      const last = h.newest ?? (await rd(page)).chartLastEpisode;
      check('history replaced, not duplicated, on reconnection', h.increasing && h.records <= last, `${h.records} records, newest episode ${last}`);
    } else {
      check('reconnects after the server is killed and restarted', false, 'no server pid in /api/status');
    }
  }

  await benchHistory(page).catch((e) => console.log(`# bench: history render failed: ${e.message}`));
  await ctx.close();
  const exit = await demo.stop(45000);
  const code = exit.code ?? exit.sig;
  const san = demo.lines.filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:/.test(l));
  check('no sanitizer reports in the output of run_demo and its children', san.length === 0, san.slice(0, 3).join(' | '));
  check('run_demo exits after SIGINT', demo.mock ? exit.code !== null || exit.sig === 'SIGINT' : exit.code === 130, `exit ${code}`);

  // The development setup: run_demo starts `npm run dev`, whose proxy carries /api and both
  // WebSockets to the server (RD_SERVER_PORT), Origin check included.
  if (!demo.mock && process.env.RD_E2E_DEV !== '0') await devMode(config);
}

/** Prints the time to render a 10,000-episode hello (parse, reduce, four charts drawn),
 * fed through the page's own message path. Replaces the page's history, so it runs last. */
async function benchHistory(page) {
  const ms = await page.evaluate(async (n) => {
    const hist = [];
    for (let e = 1; e <= n; e++) hist.push({ episode: e, steps: 200 + (e % 97), total_reward: 199 + (e % 97), epsilon: Math.max(0.05, 1 - e / 5000), loss: 0.5 / Math.sqrt(e), steps_per_second: 900, eta_seconds: 0, best: 480 });
    window.__rd.lastHistoryRenderMs = -1;
    window.__rd.injectTraining(JSON.stringify({ type: 'hello', status: 'running', total_episodes: n, history: hist }));
    for (let k = 0; k < 200 && window.__rd.lastHistoryRenderMs < 0; k++) await new Promise((r) => setTimeout(r, 10));
    return window.__rd.lastHistoryRenderMs;
  }, 10000);
  console.log(`# bench: first render of a 10,000-episode history: ${ms.toFixed(1)} ms`);
}

async function devMode(config) {
  const demo = await startDemo({ config, frontend: 'dev', log: process.env.RD_E2E_VERBOSE === '1' });
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = watchErrors(page);
  await page.goto(demo.url, { waitUntil: 'load' });
  const t = await until(() => page.evaluate(() => !!window.__rd && window.__rd.trainingMessages > 2), 30000);
  check('dev server (--frontend dev): training stream through the proxy', !!t);
  await page.locator('[data-test=tab-agent]').click();
  const a = await until(() => page.evaluate(() => window.__rd.agentSteps + window.__rd.agentMessages > 2), 20000);
  const models = await page.evaluate(() => fetch('/api/models').then((r) => r.status)).catch(() => 0);
  check('dev server: inference session and /api through the proxy', !!a && models === 200, `/api/models ${models}`);
  check('dev server: no console errors', errors.length === 0, errors.slice(0, 3).join(' | '));
  await ctx.close();
  const exit = await demo.stop(45000);
  check('run_demo (dev) exits after SIGINT', exit.code === 130, `exit ${exit.code ?? exit.sig}`);
}

// Checks that did not run are said in the last line, never counted as passed.
await runChecks(main, checks, process.env.RD_E2E_DEV === '0' && process.env.RD_E2E_MOCK !== '1' ? ['dev-server checks not run (RD_E2E_DEV=0)'] : []);
