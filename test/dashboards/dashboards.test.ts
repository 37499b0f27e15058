import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { quietLogger } from '../helpers/db.ts';
import { launchBrowser } from '../helpers/browser.ts';

let app: TestApp;
let browser: Browser;
let readKey: string;

beforeAll(async () => {
  app = await startTestApp();
  readKey = await app.key('read');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('the dashboards in a browser', () => {
  it('load with a read key and say plainly when the warehouse was never exported', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${app.url}/dashboards/`);
    await page.fill('#key', readKey);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.textContent('#freshness')).toMatch(/not been exported/);
    expect(await page.textContent('#reasons')).toMatch(/No data/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('chart demo data after an export, with its freshness', async () => {
    const ingest = await app.key('admin');
    await runDemo(async (path, body) => {
      const res = await app.request('POST', path, { key: ingest, body });
      return { status: res.status, json: res.json };
    }, 120);
    await runExport(app.db.pool, app.config.warehouseDir, quietLogger);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${app.url}/dashboards/`);
    await page.fill('#key', readKey);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.textContent('#freshness')).toMatch(/Data as of .* UTC \(0 min ago\)/);
    // Two uPlot charts (votes per day, interview medians) and filled tables.
    expect(await page.locator('.uplot').count()).toBe(2);
    expect(await page.textContent('#vote-tiles')).toMatch(/120\s*conversations/);
    expect(await page.locator('#expert-table tr').count()).toBeGreaterThan(3);
    expect(await page.locator('#gaps tr').count()).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    if (process.env.DASHBOARD_SCREENSHOT)
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('answer an ad-hoc SQL question with a query key, and show the problem without one', async () => {
    const analyst = await app.key('read', 'query');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}/dashboards/`);
    await page.fill('#key', analyst);
    await page.fill('#sql-text', 'select vote, count(*) as n from votes group by vote order by vote');
    await page.click('#sql-form button[type=submit]');
    await page.waitForSelector('body[data-sql=done]');
    expect(await page.textContent('#sql-status')).toMatch(/^2 rows in [\d.]+ ms\.$/);
    expect(await page.locator('#sql-result th').allTextContents()).toEqual(['vote', 'n']);
    const cells = await page.locator('#sql-result td').allTextContents();
    expect(cells.filter((_, i) => i % 2 === 0)).toEqual(['down', 'up']);
    expect(cells.filter((_, i) => i % 2 === 1).reduce((sum, n) => sum + Number(n), 0)).toBeGreaterThan(0);

    // A read-only key may look at the charts but not ask its own questions; a write is refused by the sandbox.
    await page.fill('#key', readKey);
    await page.click('#sql-form button[type=submit]');
    await page.waitForSelector('body[data-sql=done]');
    expect(await page.textContent('#sql-status')).toMatch(/The query failed: 403/);
    await page.fill('#key', analyst);
    await page.fill('#sql-text', 'delete from votes');
    await page.click('#sql-form button[type=submit]');
    await page.waitForSelector('body[data-sql=done]');
    expect(await page.textContent('#sql-status')).toMatch(/The query failed: 422 .*(DELETE|SELECT)/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('show the problem when the key is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/dashboards/`);
    await page.fill('#key', 'fw_wrong');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#freshness')?.className === 'error');
    expect(await page.textContent('#freshness')).toMatch(/401/);
    await page.close();
  });
});
