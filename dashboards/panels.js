// Dashboards as code (README "Dashboard panels"): the panel files of dashboards/panels/, listed by the server at
// /dashboards/panels.json, each run through POST /api/v1/query with the viewer's key and drawn like any other figure.
import { call } from './api.js';
import { figure } from './charts.js';
import { el } from './dom.js';

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL)/;
const TEMPORAL = /^(DATE|TIMESTAMP)/;
/** Rows a panel draws at most: a chart of more is not read by anyone. */
const PANEL_ROWS = 1000;

/** `{{from}}` and `{{to}}` in a panel's SQL become the page's range as DATE literals (open ends: far dates). */
export function panelSql(sql, range) {
  // The range comes from readState, which keeps only YYYY-MM-DD days, so the literal cannot carry anything else.
  return sql
    .replaceAll('{{from}}', `date '${range.from ?? '0001-01-01'}'`)
    .replaceAll('{{to}}', `date '${range.to ?? '9999-12-31'}'`);
}

function panelError(parent, title, message) {
  parent.append(
    el(
      'section',
      { className: 'figure panel-error', role: 'note' },
      el('h2', {}, title),
      el('p', { className: 'error' }, message),
    ),
  );
}

async function drawPanel(ctx, panel, parent) {
  const title = panel.title;
  let result;
  try {
    result = await call('/api/v1/query', ctx.key, {
      method: 'POST',
      body: JSON.stringify({ sql: panelSql(panel.sql, ctx.range), limit: PANEL_ROWS }),
    });
  } catch (error) {
    if (error.status === 403) return 'forbidden';
    return panelError(parent, title, `The panel's query failed (${panel.name}.sql): ${error.message}`);
  }
  const names = result.columns.map((c) => c.name);
  const wanted = panel.chart === 'table' ? names : [panel.x, ...panel.y];
  const missing = wanted.filter((c) => !names.includes(c));
  if (missing.length > 0)
    return panelError(
      parent,
      title,
      `${panel.name}.sql: its result has no column ${missing.join(', ')} (it has ${names.join(', ')}).`,
    );
  const idx = wanted.map((c) => names.indexOf(c));
  const types = idx.map((i) => result.columns[i].type);
  if (panel.chart === 'line' && !TEMPORAL.test(types[0]) && !NUMERIC.test(types[0]))
    return panelError(
      parent,
      title,
      `${panel.name}.sql: a line needs a date, time or number on x; ${panel.x} is ${types[0]}.`,
    );
  const nonNumeric = panel.chart === 'table' ? [] : wanted.slice(1).filter((c, k) => !NUMERIC.test(types[k + 1]));
  if (nonNumeric.length > 0)
    return panelError(parent, title, `${panel.name}.sql: y columns must be numbers; ${nonNumeric.join(', ')} is not.`);
  const columns = wanted.map((name, k) => ({ name, numeric: NUMERIC.test(types[k]) }));
  figure(parent, {
    id: `panel-${panel.name}`,
    title,
    description: panel.description ?? undefined,
    kind: panel.chart,
    xType: TEMPORAL.test(types[0]) ? 'time' : 'number',
    columns,
    rows: result.rows.map((row) => idx.map((i) => row[i])),
    empty: ctx.noData('rows'),
    note: result.truncated ? `Only the first ${result.row_count} rows are drawn.` : undefined,
  });
}

/** Draws the panels of `page` (and every panel file error) at the end of `parent`. */
export async function renderPanels(ctx, page, parent) {
  let list;
  try {
    const res = await fetch('/dashboards/panels.json');
    list = await res.json();
  } catch {
    return panelError(parent, 'Panels', 'The panel list could not be loaded.');
  }
  const errors = list.errors.filter((e) => e.page === null || e.page === page);
  const panels = list.panels.filter((p) => p.page === page);
  if (panels.length === 0 && errors.length === 0) return;
  const holder = el('div', { className: 'panels', id: 'panels' });
  parent.append(holder);
  for (const e of errors) panelError(holder, `Panel file ${e.file}`, `This panel file cannot be shown: ${e.message}.`);
  // One after the other: each is a query process on the server, and the page stays in file-name order. A key
  // without the query scope is told once, for all of them, and not sent again.
  for (const [i, panel] of panels.entries()) {
    if ((await drawPanel(ctx, panel, holder)) === 'forbidden') {
      const titles = panels.slice(i).map((p) => p.title);
      panelError(
        holder,
        titles.length === 1 ? titles[0] : `${titles.length} panels`,
        `${titles.join('; ')}: these panels run SQL and need a key with the query scope, which this key lacks.`,
      );
      return;
    }
  }
}
