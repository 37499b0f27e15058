// The Interviews page (README "Dashboards"): each score dimension's median per period with its p10-p90 band, the
// score histograms, the statistics over the range and the top knowledge gaps.
import { el, fmtNum, startPage } from './shared.js';
import { figure } from './charts.js';

const num = (name, label = name, format) => ({ name, label, numeric: true, format });
const dimensionName = (d) => d.replace(/_score$/, '').replace(/_/g, ' ');
const one = (x) => fmtNum(x, 1);

startPage({
  page: 'interviews',
  defaultGranularity: 'week',
  async load(ctx) {
    const { state } = ctx;
    const i = await ctx.rollup('/api/v1/rollups/interviews');
    if (!ctx.freshness(i.as_of)) return false;
    const main = ctx.main;
    // The API lists every dimension in `overall`, in order, even without data: the page names none of its own.
    const dimensions = i.overall.map((o) => o.dimension);
    const series = i.series ?? i.weekly;
    const per = i.series ? state.granularity : 'week';
    const grid = el('div', { className: 'grid' });
    main.append(grid);
    for (const dim of dimensions) {
      const rows = series.filter((s) => s.dimension === dim).sort((a, b) => (a.period < b.period ? -1 : 1));
      figure(grid, {
        id: `median-${dim.replace(/_/g, '-')}`,
        title: `${dimensionName(dim)}: median per ${per}, p10–p90 band`,
        kind: 'line',
        yRange: [0, 100],
        height: 200,
        columns: [
          { name: 'period' },
          { ...num('p10', 'p10', one), band: true },
          num('p50', 'median', one),
          { ...num('p90', 'p90', one), band: true },
        ],
        rows: rows.map((s) => [s.period, s.p10, s.p50, s.p90]),
        empty: ctx.noData('interview scores'),
      });
    }
    figure(main, {
      id: 'overall',
      title: 'Scores over the range',
      kind: 'table',
      columns: [
        { name: 'dimension' },
        num('n'),
        num('mean', 'mean', one),
        num('p10', 'p10', one),
        num('p50', 'median', one),
        num('p90', 'p90', one),
        num('min'),
        num('max'),
      ],
      rows: i.overall
        .filter((o) => o.n > 0)
        .map((o) => [dimensionName(o.dimension), o.n, o.mean, o.p10, o.p50, o.p90, o.min, o.max]),
      empty: ctx.noData('interview scores'),
    });
    if (i.histograms) {
      const hist = el('div', { className: 'grid' });
      main.append(hist);
      for (const h of i.histograms)
        figure(hist, {
          id: `histogram-${h.dimension.replace(/_/g, '-')}`,
          title: `${dimensionName(h.dimension)}: how scores spread`,
          kind: 'bars',
          columns: [{ name: 'scores' }, num('count', 'interviews')],
          rows: h.bins.some((b) => b.count > 0) ? h.bins.map((b) => [`${b.lo}-${b.hi}`, b.count]) : [],
          empty: ctx.noData('interview scores'),
        });
    }
    figure(main, {
      id: 'gaps',
      title: 'Top knowledge gaps',
      kind: 'bars',
      columns: [{ name: 'gap', label: 'knowledge gap' }, num('count', 'feedbacks')],
      rows: i.top_knowledge_gaps.map((g) => [g.gap, g.count]),
      empty: ctx.noData('knowledge gaps'),
    });
  },
});
