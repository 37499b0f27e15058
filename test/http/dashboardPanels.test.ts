import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePanel, readPanels } from '../../src/http/dashboardPanels.ts';
import { DEFAULT_PANELS_DIR } from '../../src/http/dashboards.ts';

// Panel files (README "Dashboard panels"): the header is parsed strictly, so a mistake is named on the page.

const header = (lines: string[], sql = 'select day, up from vote_daily') => `${lines.join('\n')}\n${sql}\n`;

describe('a panel file', () => {
  it('reads its header and keeps the SQL after it', () => {
    const panel = parsePanel(
      'up-rate',
      header(['-- title: Up-rate by day', '-- page: votes', '-- chart: line', '-- x: day', '-- y: up_rate, up']),
    );
    expect(panel).toEqual({
      name: 'up-rate',
      title: 'Up-rate by day',
      page: 'votes',
      chart: 'line',
      x: 'day',
      y: ['up_rate', 'up'],
      description: null,
      sql: 'select day, up from vote_daily',
    });
  });

  it('needs no x or y for a table, and refuses them there', () => {
    expect(parsePanel('t', header(['-- title: T', '-- page: ask', '-- chart: table'])).y).toEqual([]);
    expect(() => parsePanel('t', header(['-- title: T', '-- page: ask', '-- chart: table', '-- x: a']))).toThrow(
      /leave out x and y/,
    );
  });

  it.each([
    [['-- page: votes', '-- chart: line', '-- x: d', '-- y: n'], /needs "-- title: \.\.\."/],
    [['-- title: T', '-- page: home', '-- chart: line', '-- x: d', '-- y: n'], /page must be one of/],
    [['-- title: T', '-- page: votes', '-- chart: pie', '-- x: d', '-- y: n'], /chart must be one of/],
    [['-- title: T', '-- page: votes', '-- chart: line', '-- y: n'], /needs "-- x: \.\.\."/],
    [['-- title: T', '-- page: votes', '-- chart: bars', '-- x: d', '-- y: n; drop'], /x and y name result columns/],
    [['-- title: T', '-- title: U', '-- page: votes', '-- chart: table'], /"title" is given twice/],
    [['-- title: T', '-- colour: red', '-- page: votes', '-- chart: table'], /unknown header key "colour"/],
    [['-- title: T', '-- just a comment', '-- page: votes', '-- chart: table'], /line 2: a header line is/],
  ])('refuses a bad header: %j', (lines, message) => {
    expect(() => parsePanel('p', header(lines))).toThrow(message);
  });

  it('refuses a header without SQL', () => {
    expect(() => parsePanel('p', '-- title: T\n-- page: votes\n-- chart: table\n')).toThrow(/no SQL/);
  });
});

describe('the panels folder', () => {
  it('lists the good files and names the bad ones with the page they meant', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fw-panels-'));
    try {
      await writeFile(path.join(dir, 'a.sql'), header(['-- title: A', '-- page: experts', '-- chart: table']));
      await writeFile(path.join(dir, 'b.sql'), header(['-- title: B', '-- page: votes', '-- chart: line']));
      await writeFile(path.join(dir, 'Bad Name.sql'), 'select 1');
      await writeFile(path.join(dir, 'notes.txt'), 'not a panel');
      const list = await readPanels(dir);
      expect(list.panels.map((p) => p.name)).toEqual(['a']);
      expect(list.errors).toEqual([
        { file: 'Bad Name.sql', page: null, message: 'a panel file name is lowercase letters, digits, - and _' },
        { file: 'b.sql', page: 'votes', message: 'the header needs "-- x: ..."' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is empty when the folder does not exist', async () => {
    expect(await readPanels(path.join(tmpdir(), 'fw-no-such-panels-dir'))).toEqual({ panels: [], errors: [] });
  });

  it('ships example panels that all parse', async () => {
    const list = await readPanels(DEFAULT_PANELS_DIR);
    expect(list.errors).toEqual([]);
    expect(list.panels.length).toBeGreaterThanOrEqual(3);
  });
});
