// The Votes page (README "Dashboards"): up and down votes per period with the up-rate, one line per segment value
// when a segment is picked, unique voters, the top downvote reasons and the latest-vote totals.
import { fmtPct, startPage, tiles } from './shared.js';
import { figure } from './charts.js';

/** Segment values drawn as lines at most; the table and the CSV of the segment totals list them all. */
const MAX_LINES = 8;

const count = (name, label = name) => ({ name, label, numeric: true });
const rate = (name, label = name) => ({ name, label, numeric: true, scale: 'rate', format: fmtPct });

function segmentFigures(main, v, ctx, per) {
  const drawn = v.segments.slice(0, MAX_LINES);
  const periods = [...new Set(drawn.flatMap((s) => s.series.map((p) => p.period)))].sort();
  const byValue = drawn.map((s) => new Map(s.series.map((p) => [p.period, p.up_rate])));
  figure(main, {
    id: 'segment-up-rate',
    title: `Up-rate per ${per} by ${v.segment}`,
    kind: 'line',
    columns: [{ name: 'period' }, ...drawn.map((s) => ({ name: s.value, numeric: true, format: fmtPct }))],
    yRange: [0, 1],
    yPercent: true,
    rows: periods.map((p) => [p, ...byValue.map((m) => m.get(p) ?? null)]),
    empty: ctx.noData('votes'),
    note:
      v.segments.length > MAX_LINES
        ? `The ${MAX_LINES} ${v.segment} values with the most votes of ${v.segments.length}; pick one as a filter to see another.`
        : undefined,
  });
  figure(main, {
    id: 'segments',
    title: `Votes by ${v.segment}`,
    kind: 'table',
    columns: [
      { name: 'value', label: v.segment },
      count('up'),
      count('down'),
      count('conversations'),
      rate('up_rate', 'up-rate'),
    ],
    rows: v.segments.map((s) => [
      s.value,
      s.up,
      s.down,
      s.conversations,
      s.up + s.down > 0 ? s.up / (s.up + s.down) : null,
    ]),
    empty: ctx.noData('votes'),
  });
}

startPage({
  page: 'votes',
  defaultGranularity: 'day',
  withSegments: true,
  async load(ctx) {
    const { state } = ctx;
    const v = await ctx.rollup('/api/v1/rollups/votes', { segment: state.segment, ...state.filters });
    ctx.setSegments(v.segment_keys ?? [], v.values ?? {});
    if (!ctx.freshness(v.as_of)) return false;
    const main = ctx.main;
    const per = state.granularity;
    const filtered = Object.keys(v.filters ?? {}).length > 0;
    main.append(
      tiles([
        ['conversations (latest vote)', v.totals.conversations],
        ['latest vote up', v.totals.up],
        ['latest vote down', v.totals.down],
        ['latest up-rate', fmtPct(v.totals.up_rate)],
      ]),
    );
    // Before the analytics fields, the API had only day rows: the page still draws them.
    const series = v.series ?? v.daily.map((d) => ({ period: d.day, ...d }));
    figure(main, {
      id: 'votes',
      title: `Votes per ${per}${filtered ? ' (filtered)' : ''}`,
      kind: 'line',
      columns: [{ name: 'period' }, count('up'), count('down'), rate('up_rate', 'up-rate')],
      rows: series.map((p) => [p.period, p.up, p.down, p.up_rate]),
      yLabel: 'votes',
      empty: ctx.noData('votes'),
      description:
        'Every vote cast in the period (a changed vote counts on its own day); the up-rate on the right axis.',
    });
    if (v.segments) segmentFigures(main, v, ctx, per);
    if (series.length === 0 || 'voters' in series[0])
      figure(main, {
        id: 'voters',
        title: `Unique voters per ${per}`,
        kind: 'line',
        columns: [{ name: 'period' }, count('voters'), count('anonymous_votes', 'votes without an email')],
        rows: series.map((p) => [p.period, p.voters, p.anonymous_votes]),
        empty: ctx.noData('votes'),
        description: 'Distinct email pseudonyms among the period’s votes, and the votes sent without an email.',
      });
    figure(main, {
      id: 'reasons',
      title: 'Top downvote reasons',
      kind: 'bars',
      columns: [{ name: 'reason' }, count('count', 'down votes')],
      rows: v.top_downvote_reasons.map((r) => [r.reason, r.count]),
      empty: ctx.noData('down votes with a reason'),
    });
  },
});
