import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../helpers/browser.ts';
import { runCli, startServe } from '../helpers/cli.ts';
import { withScratchDatabase } from './scratch.ts';

/**
 * `npm run bench -- dashboards`: time to the first chart of each dashboard page on demo data (README "Dashboards").
 * `feedback-warehouse demo` fills a scratch database, `export` publishes it, `serve` answers; headless Chromium opens
 * each page LOADS times with a read,query key in the tab and reads the page's `fw-first-chart` performance mark
 * (set when its first chart or table is drawn, in ms since navigation start). The baseline, measured in the same
 * run, is the page's rollup call alone from Node. Target: every page's median under 1 s. Figures are printed, never
 * asserted (docs/STYLE.md "Tests").
 */

/** Conversations of demo data; unset: `demo`'s own default (18,000 conversations, about 20,000 votes). */
const CONVERSATIONS = process.env.BENCH_CONVERSATIONS;
const LOADS = Number(process.env.BENCH_LOADS ?? 7);
/**
 * DASHBOARD_SCREENSHOTS=DIR: also save each view's last load there, the top 1,500 px of a wide page and a 360 px view
 * as the phone shows it (the README's pictures come from this).
 */
const SHOTS = process.env.DASHBOARD_SCREENSHOTS;
/** Each view: its name (and screenshot file), the page with its state, the rollup call it makes, the viewport width. */
const VIEWS = [
  ['votes', 'votes.html?preset=all', '/api/v1/rollups/votes', 1280],
  [
    'votes-by-release',
    'votes.html?preset=all&granularity=week&segment=release',
    '/api/v1/rollups/votes?granularity=week&segment=release',
    1280,
  ],
  ['experts', 'experts.html?preset=all', '/api/v1/rollups/experts', 1280],
  ['interviews', 'interviews.html?preset=all', '/api/v1/rollups/interviews', 1280],
  ['interviews-360', 'interviews.html?preset=all', '/api/v1/rollups/interviews', 360],
] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const res = await runCli(args, env, 600_000);
  if (res.code !== 0) throw new Error(`feedback-warehouse ${args.join(' ')} failed:\n${res.stderr}`);
  return res.stdout;
}

export async function run(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'fw-bench-dash-'));
  try {
    await withScratchDatabase(async (url) => {
      const env = { DATABASE_URL: url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
      const started = performance.now();
      const demo = await cli(['demo', ...(CONVERSATIONS ? ['--conversations', CONVERSATIONS] : [])], env);
      await cli(['export'], env);
      const key = (await cli(['keys', 'create', '--name', 'bench-dash', '--scopes', 'read,query'], env))
        .trim()
        .split('\n')
        .pop()!;
      say(
        `dashboards benchmark: ${demo.trim().split('\n')[0]} exported in ${((performance.now() - started) / 1000).toFixed(1)} s; ${LOADS} loads per page`,
      );
      const serve = await startServe(['--no-jobs', '--port', '0'], env);
      const browser = await launchBrowser();
      try {
        for (const [name, view, api, width] of VIEWS) {
          const baseline: number[] = [];
          for (let i = 0; i < LOADS; i++) {
            const t = performance.now();
            const res = await fetch(serve.url + api, { headers: { authorization: `Bearer ${key}` } });
            await res.arrayBuffer();
            baseline.push(performance.now() - t);
          }
          const firstChart: number[] = [];
          for (let i = 0; i < LOADS; i++) {
            const context = await browser.newContext({ viewport: { width, height: width <= 360 ? 740 : 900 } });
            await context.addInitScript((k) => sessionStorage.setItem('fw-key', k), key);
            const tab = await context.newPage();
            await tab.goto(`${serve.url}/dashboards/${view}`);
            await tab.waitForSelector('body[data-loaded=true]', { timeout: 30_000 });
            const mark = await tab.evaluate(() => performance.getEntriesByName('fw-first-chart')[0]?.startTime ?? null);
            if (mark === null) throw new Error(`${name}: no chart was drawn`);
            firstChart.push(mark);
            if (SHOTS && i === LOADS - 1)
              await tab.screenshot({
                path: path.join(SHOTS, `${name}.png`),
                ...(width > 360 ? { fullPage: true, clip: { x: 0, y: 0, width, height: 1500 } } : {}),
              });
            await context.close();
          }
          const m = median(firstChart);
          say(
            `  ${name.padEnd(16)} first chart ${m.toFixed(0).padStart(5)} ms median (min ${Math.min(...firstChart).toFixed(0)}, max ${Math.max(...firstChart).toFixed(0)})` +
              `; rollup call alone ${median(baseline).toFixed(1)} ms; ratio ${(m / median(baseline)).toFixed(1)}x; ${m < 1000 ? 'under' : 'OVER'} 1 s`,
          );
        }
      } finally {
        await browser.close();
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
