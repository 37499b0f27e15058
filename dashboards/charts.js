// One figure = a chart (uPlot lines, or HTML bars) + a table of the same numbers + "Download CSV" of exactly those
// numbers (README "Dashboards"). Series differ by dash pattern, marker size and lightness, not by hue alone, so they
// stay apart in greyscale and for colour-blind readers.
import { el } from './dom.js';

/** Dark to light, each with its own dash pattern: distinguishable in greyscale (docs/decisions/0021). */
export const STYLES = [
  { stroke: '#1c3d7a', dash: [], width: 2.5, points: 6 },
  { stroke: '#c2410c', dash: [9, 4], width: 2, points: 5 },
  { stroke: '#5f8f00', dash: [2, 3], width: 2.5, points: 7 },
  { stroke: '#7b2e8f', dash: [12, 3, 3, 3], width: 2, points: 4 },
  { stroke: '#6b7280', dash: [1, 5], width: 3, points: 8 },
  { stroke: '#0b7285', dash: [6, 2, 1, 2], width: 1.5, points: 5 },
  { stroke: '#343a40', dash: [14, 6], width: 1.5, points: 6 },
  { stroke: '#e67700', dash: [3, 8], width: 2.5, points: 6 },
];

const charts = [];
let resizeHooked = false;

/** A day (`YYYY-MM-DD`, UTC midnight) or a timestamp as the query endpoint sends it, in seconds. */
const toEpoch = (t) => (String(t).length === 10 ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t)) / 1000;

/** CSV text (RFC 4180): a header of column names, then the raw values; null is an empty field. */
export function csvOf(columns, rows) {
  const field = (v) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [columns.map((c) => field(c.name)), ...rows.map((r) => r.map(field))].map((r) => r.join(',')).join('\r\n') + '\r\n'
  );
}

function csvLink(name, columns, rows) {
  const url = URL.createObjectURL(new Blob([csvOf(columns, rows)], { type: 'text/csv' }));
  return el('a', { href: url, download: `${name}.csv`, className: 'csv' }, 'Download CSV');
}

function markFirstChart() {
  if (performance.getEntriesByName('fw-first-chart').length === 0) performance.mark('fw-first-chart');
}

/** A table of rows; `columns[i].format` turns a raw value into its text. */
export function dataTable(title, columns, rows) {
  return el(
    'div',
    { className: 'scroll', tabIndex: 0, role: 'region', ariaLabel: `${title}: table` },
    el(
      'table',
      {},
      el('caption', { className: 'visually-hidden' }, title),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...columns.map((c) => el('th', { scope: 'col', className: c.numeric ? 'num' : '' }, c.label ?? c.name)),
        ),
      ),
      el(
        'tbody',
        {},
        ...rows.map((r) =>
          el(
            'tr',
            {},
            ...r.map((v, i) =>
              el(
                'td',
                { className: columns[i].numeric ? 'num' : '' },
                columns[i].format ? columns[i].format(v) : v === null || v === undefined ? '–' : String(v),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function lineChart(holder, spec) {
  const time = spec.xType !== 'number';
  const xs = spec.rows.map((r) => (time ? toEpoch(r[0]) : Number(r[0])));
  const ys = spec.columns.slice(1);
  const drawn = ys.map((c, k) => ({ ...c, k }));
  const rate = drawn.some((c) => c.scale === 'rate');
  const data = [xs, ...drawn.map((c) => spec.rows.map((r) => r[c.k + 1]))];
  const series = [
    {},
    ...drawn.map((c, i) => {
      // Band edges are thin grey lines; the other series take the styles in order.
      const k = drawn.slice(0, i).filter((d) => !d.band).length;
      const style = STYLES[k % STYLES.length];
      return {
        label: c.label ?? c.name,
        stroke: c.band ? '#9aa5b1' : style.stroke,
        dash: c.band ? [4, 3] : style.dash,
        width: c.band ? 1 : style.width,
        points: c.band ? { show: false } : { size: style.points },
        spanGaps: true,
        scale: c.scale === 'rate' ? 'rate' : 'y',
        value: (u, v) => (v === null || v === undefined ? '–' : c.format ? c.format(v) : String(v)),
      };
    }),
  ];
  const bandIdx = drawn.map((c, i) => (c.band ? i + 1 : null)).filter((i) => i !== null);
  const width = Math.max(280, holder.clientWidth || 600);
  // The x axis spans the data with half a period of margin, so a single point still reads well.
  const pad = time ? 43200 : 0.5;
  const opts = {
    width,
    height: spec.height ?? 240,
    series,
    legend: { live: false },
    cursor: { points: { show: false } },
    scales: {
      x: { time, range: () => [xs[0] - pad, xs[xs.length - 1] + pad] },
      y: spec.yRange ? { range: spec.yRange } : { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      ...(rate ? { rate: { range: [0, 1] } } : {}),
    },
    axes: [
      { stroke: '#3b4250' },
      {
        stroke: '#3b4250',
        label: spec.yLabel,
        size: 52,
        ...(spec.yPercent ? { values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`) } : {}),
      },
      ...(rate
        ? [
            {
              side: 1,
              scale: 'rate',
              stroke: '#3b4250',
              grid: { show: false },
              values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`),
            },
          ]
        : []),
    ],
    ...(bandIdx.length === 2 ? { bands: [{ series: [bandIdx[1], bandIdx[0]], fill: 'rgba(28,61,122,0.12)' }] } : {}),
  };
  const chart = new uPlot(opts, data, holder);
  charts.push({ chart, holder });
  if (!resizeHooked) {
    resizeHooked = true;
    window.addEventListener('resize', () => {
      for (const c of charts)
        if (c.holder.isConnected)
          c.chart.setSize({ width: Math.max(280, c.holder.clientWidth), height: c.chart.height });
    });
  }
}

function barChart(holder, spec) {
  const ys = spec.columns.slice(1);
  const idx = ys.map((c) => spec.columns.indexOf(c));
  const max = Math.max(0, ...spec.rows.flatMap((r) => idx.map((i) => Number(r[i]) || 0)));
  const legend =
    ys.length > 1
      ? el(
          'p',
          { className: 'bar-legend' },
          ...ys.map((c, k) => el('span', {}, el('i', { className: `bar s${k}` }), c.label ?? c.name)),
        )
      : null;
  const rows = spec.rows.map((r) =>
    el(
      'div',
      { className: 'bar-row' },
      el('span', { className: 'bar-label', title: String(r[0]) }, String(r[0])),
      el(
        'span',
        { className: 'bar-track' },
        ...idx.map((i, k) => {
          const v = r[i];
          const width = v === null || v === undefined || max === 0 ? 0 : (Number(v) / max) * 100;
          return el('i', { className: `bar s${k}`, style: `width: ${width.toFixed(2)}%` });
        }),
      ),
      el(
        'span',
        { className: 'bar-value' },
        idx.map((i) => (spec.columns[i].format ? spec.columns[i].format(r[i]) : (r[i] ?? '–'))).join(' / '),
      ),
    ),
  );
  holder.replaceChildren(...[legend, ...rows].filter(Boolean));
}

/**
 * Draws a figure into `parent`: `{ id, title, kind: 'line'|'bars'|'table', columns: [{ name, label?, format?,
 * numeric?, scale?, band? }], rows: [[x, y...]], empty: [text or nodes], note? }`. The first column is the x axis
 * (a day, or a label for bars). Without rows it says `empty` and draws nothing. Returns the figure element.
 */
export function figure(parent, spec) {
  const box = el('section', {
    className: `figure ${spec.kind}`,
    id: `fig-${spec.id}`,
    ariaLabelledby: `fig-${spec.id}-title`,
  });
  box.append(el('h2', { id: `fig-${spec.id}-title` }, spec.title));
  if (spec.description) box.append(el('p', { className: 'hint' }, ...[].concat(spec.description)));
  parent.append(box);
  if (spec.rows.length === 0) {
    box.append(el('p', { className: 'empty' }, ...[].concat(spec.empty ?? 'No data in this range.')));
    return box;
  }
  if (spec.kind !== 'table') {
    const holder = el('div', {
      className: spec.kind === 'line' ? 'chart' : 'bars',
      role: 'img',
      ariaLabel: `${spec.title}; the same numbers are in the table below.`,
    });
    box.append(holder);
    if (spec.kind === 'line') lineChart(holder, spec);
    else barChart(holder, spec);
    markFirstChart();
  }
  if (spec.note) box.append(el('p', { className: 'hint' }, spec.note));
  const table = dataTable(spec.title, spec.columns, spec.rows);
  box.append(
    spec.kind === 'table' ? table : el('details', {}, el('summary', {}, 'Table of these numbers'), table),
    el('p', { className: 'downloads' }, csvLink(spec.id, spec.columns, spec.rows)),
  );
  if (spec.kind === 'table') markFirstChart();
  return box;
}
