import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { quietLogger } from '../helpers/db.ts';
import { launchBrowser } from '../helpers/browser.ts';

// The dashboards in real headless Chromium (README "Dashboards"): each page on an empty warehouse and on demo data,
// URL state, CSV downloads against the API, panel files, 360 px, axe-core, and no console errors.

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SHOTS = path.resolve('test-artifacts/screenshots');
const PAGES = ['votes', 'experts', 'interviews', 'ask'] as const;

let app: TestApp;
let browser: Browser;
let readKey: string;
let analystKey: string;
let panelsDir: string;

beforeAll(async () => {
  // A copy of the shipped panels, so a test can add a file without touching the repository.
  panelsDir = await mkdtemp(path.join(tmpdir(), 'fw-panels-'));
  await cp(path.resolve('dashboards/panels'), panelsDir, { recursive: true });
  app = await startTestApp({ DASHBOARD_PANELS_DIR: panelsDir });
  readKey = await app.key('read');
  analystKey = await app.key('read', 'query');
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (panelsDir) await rm(panelsDir, { recursive: true, force: true });
});

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  close(): Promise<void>;
}

/** A fresh tab (its own sessionStorage) on `pathAndQuery`, with `key` pasted when given, loaded. */
async function open(pathAndQuery: string, key?: string, width = 1280, height = 900): Promise<Opened> {
  const context = await browser.newContext({
    viewport: { width, height },
    acceptDownloads: true,
    // axe-core is injected as an inline script, which the pages' Content-Security-Policy rightly refuses.
    bypassCSP: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${app.url}/dashboards/${pathAndQuery}`);
  await page.waitForSelector('body[data-loaded]');
  if (key) {
    await page.fill('#key', key);
    await page.click('#use-key');
    await page.waitForSelector('body[data-loaded]:not([data-loaded=nokey])');
  }
  return { page, errors, close: () => context.close() };
}

async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // @ts-expect-error axe is the global the injected script defines
    const r = await window.axe.run(document);
    return r.violations as { id: string; impact: string; nodes: { target: string[] }[] }[];
  });
  return result
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Nothing wider than the phone: the page does not scroll sideways (tables scroll inside their own box). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

async function downloadedCsv(page: Page, figureId: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#fig-${figureId} a.csv`)]);
  return readFile((await download.path())!, 'utf8');
}

describe('the dashboards on an empty warehouse', () => {
  it.each(PAGES)('%s: without a key, say which key to paste', async (name) => {
    const { page, errors, close } = await open(`${name}.html`);
    expect(await page.textContent('main')).toMatch(/Paste a key with the read scope/);
    expect(await page.getAttribute(`#nav-${name}`, 'aria-current')).toBe('page');
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  });

  it.each(PAGES.filter((p) => p !== 'ask'))('%s: with a key, say that no export ran yet', async (name) => {
    const { page, errors, close } = await open(`${name}.html`, readKey, 360, 740);
    expect(await page.getAttribute('body', 'data-loaded')).toBe('true');
    expect(await page.textContent('#status')).toMatch(/not been exported/);
    expect(await page.textContent('main')).toMatch(/run feedback-warehouse export/);
    expect(await page.locator('.uplot').count()).toBe(0);
    expect(await overflow(page)).toBeLessThanOrEqual(360);
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, `${name}-empty-360.png`), fullPage: true });
    await close();
  });

  it('the landing page redirects to Votes with the view kept, and a wrong key is named', async () => {
    const { page, close } = await open('?preset=7', 'fw_wrong');
    expect(new URL(page.url()).pathname).toBe('/dashboards/votes.html');
    expect(new URL(page.url()).searchParams.get('preset')).toBe('7');
    expect(await page.textContent('#status')).toMatch(/401/);
    expect(await page.textContent('main')).toMatch(/key was not accepted/);
    await close();
    // The pages' shared shell is only served filled in, as one of the four pages.
    expect((await app.request('GET', '/dashboards/page.html')).status).toBe(404);
    expect((await app.request('GET', '/dashboards/experts.html')).text).toMatch(/<title>Experts · feedback-warehouse/);
  });
});

describe('the dashboards on demo data', () => {
  beforeAll(async () => {
    const ingest = await app.key('admin');
    await runDemo(async (p, body) => {
      const res = await app.request('POST', p, { key: ingest, body });
      return { status: res.status, json: res.json };
    }, 120);
    await runExport(app.db.pool, app.config.warehouseDir, quietLogger);
  });

  it.each([
    ['votes', 2],
    ['experts', 1],
    ['interviews', 5],
  ] as const)('%s: charts, their tables, freshness, axe, no console errors', async (name, minCharts) => {
    const { page, errors, close } = await open(`${name}.html?preset=all`, analystKey);
    expect(await page.textContent('#status')).toMatch(/Data as of .* UTC \(0 min ago\)/);
    expect(await page.locator('.uplot').count()).toBeGreaterThanOrEqual(minCharts);
    // Every drawn figure comes with its table and its CSV; none is an empty box.
    const figures = page.locator('.figure:not(.panel-error)');
    const n = await figures.count();
    expect(n).toBeGreaterThan(2);
    for (let i = 0; i < n; i++) {
      const fig = figures.nth(i);
      if ((await fig.locator('.empty').count()) > 0) continue;
      expect(await fig.locator('.scroll table').count()).toBe(1);
      expect(await fig.locator('a.csv[download]').count()).toBe(1);
    }
    expect(await page.locator('.panel-error').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    await close();
  });

  it('votes: the latest-vote totals and a range without votes that says to try All', async () => {
    const { page, close } = await open('votes.html?preset=all', readKey);
    expect(await page.textContent('.tiles')).toMatch(/120\s*conversations/);
    await page.fill('#from', '2001-01-01');
    await page.fill('#to', '2001-01-31');
    await page.click('#apply');
    await page.waitForSelector('body[data-loaded=true]');
    expect(new URL(page.url()).search).toBe('?from=2001-01-01&to=2001-01-31');
    expect(await page.textContent('#fig-votes')).toMatch(/No votes between 2001-01-01 and 2001-01-31; try All\./);
    expect(await page.locator('.uplot').count()).toBe(0);
    await page.click('#fig-votes a.try-all');
    await page.waitForSelector('body[data-loaded=true] #fig-votes .uplot');
    expect(new URL(page.url()).searchParams.get('preset')).toBe('all');
    await close();
  });

  it('the view lives in the URL: presets, back and forward, and a pasted link', async () => {
    const { page, close } = await open('votes.html?preset=7', readKey);
    expect(await page.getAttribute('[data-preset="7"]', 'aria-pressed')).toBe('true');
    await page.click('[data-preset="90"]');
    await page.waitForSelector('body[data-loaded=true]');
    expect(new URL(page.url()).search).toBe('?preset=90');
    await page.click('[data-preset="all"]');
    await page.waitForSelector('body[data-loaded=true]');
    expect(new URL(page.url()).search).toBe('?preset=all');
    expect(await page.inputValue('#from')).toBe('');
    await page.goBack();
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.getAttribute('[data-preset="90"]', 'aria-pressed')).toBe('true');
    expect(await page.inputValue('#from')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await page.goBack();
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.getAttribute('[data-preset="7"]', 'aria-pressed')).toBe('true');
    await page.goForward();
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.getAttribute('[data-preset="90"]', 'aria-pressed')).toBe('true');
    // The other pages' links carry the range; the key is in no URL.
    expect(await page.getAttribute('#nav-experts', 'href')).toBe('experts.html?preset=90');
    expect(page.url()).not.toContain(readKey);
    await close();

    // A colleague pastes the link: the same view, once they use their own key.
    const pasted = await open('votes.html?from=2001-01-01&to=2001-01-31', readKey);
    expect(await pasted.page.inputValue('#from')).toBe('2001-01-01');
    expect(await pasted.page.inputValue('#to')).toBe('2001-01-31');
    expect(await pasted.page.locator('[aria-pressed=true]').count()).toBe(0);
    // "Forget key" clears it from the tab.
    await pasted.page.click('#forget-key');
    await pasted.page.waitForSelector('body[data-loaded=nokey]');
    expect(await pasted.page.evaluate(() => sessionStorage.length)).toBe(0);
    await pasted.close();
  });

  it('granularity: weeks and months in the URL, the titles and the CSV, back and forward', async () => {
    const { page, errors, close } = await open('votes.html?preset=all&granularity=week', analystKey);
    expect(await page.inputValue('#granularity')).toBe('week');
    expect(await page.textContent('#fig-votes h2')).toBe('Votes per week');
    const api = (await app.request('GET', '/api/v1/rollups/votes?granularity=week', { key: readKey })).json;
    expect(api.series.every((p: { period: string }) => new Date(p.period).getUTCDay() === 1)).toBe(true);
    const csv = await downloadedCsv(page, 'voters');
    expect(csv.trimEnd().split('\r\n')).toEqual([
      'period,voters,anonymous_votes',
      ...api.series.map(
        (p: { period: string; voters: number; anonymous_votes: number }) =>
          `${p.period},${p.voters},${p.anonymous_votes}`,
      ),
    ]);
    await page.selectOption('#granularity', 'month');
    await page.waitForSelector('body[data-loaded=true]');
    expect(new URL(page.url()).search).toBe('?preset=all&granularity=month');
    expect(await page.textContent('#fig-votes h2')).toBe('Votes per month');
    await page.goBack();
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.inputValue('#granularity')).toBe('week');
    expect(await page.textContent('#fig-votes h2')).toBe('Votes per week');
    // The page links keep the range but not the granularity: each page has its own default.
    expect(await page.getAttribute('#nav-interviews', 'href')).toBe('interviews.html?preset=all');
    expect(errors).toEqual([]);
    await close();

    // Interviews by month: the median line's CSV is the API's series for that dimension.
    const interviews = await open('interviews.html?preset=all&granularity=month', readKey);
    const months = (await app.request('GET', '/api/v1/rollups/interviews?granularity=month', { key: readKey })).json;
    const dim = months.overall[0].dimension as string;
    const lines = (await downloadedCsv(interviews.page, `median-${dim.replace(/_/g, '-')}`)).trimEnd().split('\r\n');
    expect(lines).toEqual([
      'period,p10,p50,p90',
      ...months.series
        .filter((s: { dimension: string }) => s.dimension === dim)
        .map(
          (s: { period: string; p10: number; p50: number; p90: number }) => `${s.period},${s.p10},${s.p50},${s.p90}`,
        ),
    ]);
    await interviews.close();
  });

  it('votes: the segment picker draws one line per value, and a filter narrows every figure', async () => {
    const { page, errors, close } = await open('votes.html?preset=all', analystKey);
    expect(await page.locator('#segment option').allTextContents()).toEqual(['none', 'app', 'model', 'release']);
    await page.selectOption('#segment', 'model');
    await page.waitForSelector('body[data-loaded=true] #fig-segment-up-rate .uplot');
    expect(new URL(page.url()).search).toBe('?preset=all&segment=model');
    const api = (await app.request('GET', '/api/v1/rollups/votes?segment=model', { key: readKey })).json;
    const values = api.segments.map((s: { value: string }) => s.value) as string[];
    expect(values.length).toBeGreaterThan(1);
    const legend = await page.locator('#fig-segment-up-rate .u-legend .u-series .u-label').allTextContents();
    expect(legend.filter((l) => l !== 'Time')).toEqual(values.slice(0, 8));
    const totals = (await downloadedCsv(page, 'segments')).trimEnd().split('\r\n');
    expect(totals).toEqual([
      'value,up,down,conversations,up_rate',
      ...api.segments.map(
        (s: { value: string; up: number; down: number; conversations: number }) =>
          `${s.value},${s.up},${s.down},${s.conversations},${s.up / (s.up + s.down)}`,
      ),
    ]);

    // A filter: the URL says it, and the votes series is the API's for that value alone.
    const value = values[0]!;
    await page.selectOption('#filter-model', value);
    await page.waitForSelector('body[data-loaded=true]');
    expect(new URL(page.url()).searchParams.get('model')).toBe(value);
    expect(await page.textContent('#fig-votes h2')).toBe('Votes per day (filtered)');
    const filtered = (
      await app.request('GET', `/api/v1/rollups/votes?segment=model&model=${encodeURIComponent(value)}`, {
        key: readKey,
      })
    ).json;
    const csv = (await downloadedCsv(page, 'votes')).trimEnd().split('\r\n');
    expect(csv.slice(1)).toEqual(
      filtered.series.map(
        (p: { period: string; up: number; down: number; up_rate: number }) =>
          `${p.period},${p.up},${p.down},${p.up_rate}`,
      ),
    );
    expect(filtered.series.length).toBeGreaterThan(0);
    // Back: the segment without the filter; none: no segment figures.
    await page.goBack();
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.inputValue('#filter-model')).toBe('');
    await page.selectOption('#segment', '');
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.locator('#fig-segment-up-rate').count()).toBe(0);
    expect(new URL(page.url()).search).toBe('?preset=all');
    expect(errors).toEqual([]);
    await close();
  });

  it('votes: the CSV download holds exactly the numbers the API answered', async () => {
    const { page, close } = await open('votes.html?preset=all', readKey);
    const csv = await downloadedCsv(page, 'votes');
    const api = (await app.request('GET', '/api/v1/rollups/votes', { key: readKey })).json;
    const rows: { period: string; up: number; down: number; up_rate: number }[] =
      api.series ?? api.daily.map((d: { day: string }) => ({ ...d, period: d.day }));
    expect(rows.length).toBeGreaterThan(0);
    const expected = ['period,up,down,up_rate', ...rows.map((r) => `${r.period},${r.up},${r.down},${r.up_rate}`)];
    expect(csv.trimEnd().split('\r\n')).toEqual(expected);
    const reasons = await downloadedCsv(page, 'reasons');
    expect(reasons.trimEnd().split('\r\n')).toEqual([
      'reason,count',
      ...api.top_downvote_reasons.map((r: { reason: string; count: number }) => `${r.reason},${r.count}`),
    ]);
    await close();
  });

  it('a panel file added to the panels folder shows up; a bad header is reported, never a broken page', async () => {
    await writeFile(
      path.join(panelsDir, 'votes-by-kind.sql'),
      '-- title: Votes by kind (test panel)\n-- page: votes\n-- chart: bars\n-- x: vote\n-- y: n\n' +
        'select vote, count(*) as n from votes group by vote order by vote\n',
    );
    await writeFile(path.join(panelsDir, 'broken.sql'), '-- title: Broken\n-- page: votes\n-- chart: pie\nselect 1\n');
    try {
      const { page, errors, close } = await open('votes.html?preset=all', analystKey);
      await page.waitForSelector('#fig-panel-votes-by-kind');
      expect(await page.textContent('#fig-panel-votes-by-kind h2')).toBe('Votes by kind (test panel)');
      const labels = await page.locator('#fig-panel-votes-by-kind .bar-label').allTextContents();
      expect(labels).toEqual(['down', 'up']);
      const csv = await downloadedCsv(page, 'panel-votes-by-kind');
      const sum = csv
        .trimEnd()
        .split('\r\n')
        .slice(1)
        .reduce((s, line) => s + Number(line.split(',')[1]), 0);
      const all = (await app.request('GET', '/api/v1/rollups/votes', { key: readKey })).json;
      expect(sum).toBe(all.daily.reduce((s: number, d: { up: number; down: number }) => s + d.up + d.down, 0));
      expect(await page.textContent('.panel-error')).toMatch(/broken\.sql.*chart must be one of line, bars, table/);
      // The shipped example panels of this page draw too.
      expect(await page.locator('#fig-panel-conversations-per-day .uplot').count()).toBe(1);
      expect(await page.locator('#fig-panel-up-rate-by-model .bar-row').count()).toBeGreaterThan(0);
      const segmentRows = await page.locator('#fig-panel-segment-values tbody tr').allTextContents();
      expect(segmentRows.some((r) => r.startsWith('model'))).toBe(true);
      expect(errors).toEqual([]);
      await close();

      // With a read-only key the panels say what is missing instead of failing.
      const readOnly = await open('votes.html?preset=all', readKey);
      expect(await readOnly.page.locator('.panel-error').count()).toBe(2);
      expect(await readOnly.page.textContent('#panels')).toMatch(
        /broken\.sql[\s\S]*Conversations with a vote per day; Every segment value over the range; Up-rate by model over the range; Votes by kind \(test panel\): these panels run SQL and need a key with the query scope/,
      );
      await readOnly.close();
    } finally {
      await rm(path.join(panelsDir, 'votes-by-kind.sql'));
      await rm(path.join(panelsDir, 'broken.sql'));
    }
  });

  it.each(PAGES)('%s at 360 px: nothing cut off or overflowing', async (name) => {
    const { page, errors, close } = await open(`${name}.html?preset=all`, analystKey, 360, 740);
    expect(await overflow(page)).toBeLessThanOrEqual(360);
    const wide = await page.evaluate(() =>
      Array.from(document.querySelectorAll('main *, header *'))
        .filter((e) => !e.closest('.scroll') && e.getBoundingClientRect().right > 361)
        .map((e) => `${e.tagName}.${e.className}`),
    );
    expect(wide).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, `${name}-360.png`), fullPage: true });
    await close();
  });

  it('ask: answer an ad-hoc SQL question with a query key, and show the problem without one', async () => {
    const { page, errors, close } = await open('ask.html', analystKey);
    await page.fill('#sql-text', 'select vote, count(*) as n from votes group by vote order by vote');
    await page.click('#sql-form button[type=submit]');
    await page.waitForSelector('body[data-sql=done]');
    expect(await page.textContent('#sql-status')).toMatch(/^2 rows in [\d.]+ ms\.$/);
    expect(await page.locator('#fig-sql-result th').allTextContents()).toEqual(['vote', 'n']);
    const csv = await downloadedCsv(page, 'sql-result');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('vote,n');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['down', 'up']);
    await page.fill('#sql-text', 'delete from votes');
    await page.click('#sql-form button[type=submit]');
    await page.waitForSelector('body[data-sql=done]');
    expect(await page.textContent('#sql-status')).toMatch(/The query failed: 422 .*(DELETE|SELECT)/);
    expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
    await close();

    const reader = await open('ask.html', readKey);
    await reader.page.click('#sql-form button[type=submit]');
    await reader.page.waitForSelector('body[data-sql=done]');
    expect(await reader.page.textContent('#sql-status')).toMatch(
      /The query failed: 403, this key lacks the query scope/,
    );
    await reader.close();
  });
});
