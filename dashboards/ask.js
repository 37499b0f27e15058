// "Ask the warehouse" (README "Dashboards"): one read-only SQL SELECT through POST /api/v1/query with the viewer's
// key (which then needs the query scope), its rows as a table with a CSV download, and the panel files of this page.
import { call } from './api.js';
import { el, startPage } from './shared.js';
import { figure } from './charts.js';

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U?(TINY|SMALL|BIG|HUGE)?INT|FLOAT|REAL|DOUBLE|DECIMAL)/;
const EXAMPLE = 'select day, up, down, round(up_rate, 3) as up_rate from vote_daily order by day desc limit 14';
/** A query result cell: JSON values as the endpoint sends them; lists and structs as JSON text. */
const cellText = (v) => (v === null ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));

async function run(ctx, text, status, out) {
  status.className = '';
  status.textContent = 'Running…';
  out.replaceChildren();
  try {
    const body = await call('/api/v1/query', ctx.key, { method: 'POST', body: JSON.stringify({ sql: text }) });
    const rows = `${body.row_count} row${body.row_count === 1 ? '' : 's'}`;
    status.textContent = `${rows}${body.truncated ? ' (truncated at the row cap)' : ''} in ${body.elapsed_ms} ms.`;
    figure(out, {
      id: 'sql-result',
      title: 'Result',
      kind: 'table',
      columns: body.columns.map((c) => ({ name: c.name, numeric: NUMERIC.test(c.type), format: cellText })),
      rows: body.rows,
      empty: 'No rows.',
    });
  } catch (error) {
    status.textContent =
      error.status === 403
        ? 'The query failed: 403, this key lacks the query scope (ask an operator for a key with read,query).'
        : `The query failed: ${error.message}`;
    status.className = 'error';
  } finally {
    document.body.dataset.sql = 'done';
  }
}

startPage({
  page: 'ask',
  defaultGranularity: 'week',
  async load(ctx) {
    ctx.status('Key in use: write a query and press Run.');
    const text = el('textarea', { id: 'sql-text', rows: 4, spellcheck: false, value: EXAMPLE });
    const status = el('p', { id: 'sql-status', role: 'status' });
    const out = el('div', { id: 'sql-out' });
    const form = el(
      'form',
      { id: 'sql-form' },
      el('label', { for: 'sql-text' }, 'SQL'),
      text,
      el('button', { type: 'submit' }, 'Run'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      delete document.body.dataset.sql;
      void run(ctx, text.value, status, out);
    });
    ctx.main.append(
      el(
        'section',
        { className: 'figure', id: 'sql' },
        el('h2', {}, 'Ask the warehouse'),
        el(
          'p',
          { className: 'hint' },
          'One read-only DuckDB ',
          el('code', {}, 'SELECT'),
          ' over the published warehouse (the feedback tables and the rollups), with the key’s ',
          el('code', {}, 'query'),
          ' scope. Every query is audited.',
        ),
        form,
        status,
        out,
      ),
    );
  },
});
