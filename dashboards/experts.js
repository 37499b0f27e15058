// The Experts page (README "Dashboards"): FAQ conversion as sorted bars with the table beside it, trust-weighted
// accuracy, agreement between experts (Krippendorff's alpha with the number of shared answers), review time.
import { el, fmtNum, fmtPct, startPage, tiles } from './shared.js';
import { figure } from './charts.js';

/** Below this many answers with two or more verdicts, alpha says little (README "Dashboards"). */
const MIN_SHARED_ANSWERS = 30;
/** Experts drawn in the review-time chart at most. */
const MAX_REVIEW_BARS = 15;

const num = (name, label = name, format) => ({ name, label, numeric: true, format });
const alphaText = (a) => (a === null || a === undefined ? '–' : a.toFixed(2));
const seconds = (s) => (s === null || s === undefined ? '–' : `${Math.round(s)} s`);
/** An expert as a person would recognise them: their user_ref, else the start of the id. */
const nameOf = (x) => x.user_ref ?? x.expert_id.slice(0, 8);

function agreementFigure(main, agreement, ctx) {
  const o = agreement.overall;
  const few = o.answers < MIN_SHARED_ANSWERS;
  const box = figure(main, {
    id: 'agreement',
    title: 'Agreement between experts, by category',
    kind: 'table',
    description: [
      `Krippendorff's alpha ${alphaText(o.alpha)} over ${o.answers} answers reviewed by two or more experts `,
      `(${o.verdicts} verdicts; pairwise agreement ${fmtPct(o.percent_agreement)}). `,
      'Alpha is 1 for perfect agreement and 0 for agreement no better than chance.',
    ],
    columns: [
      { name: 'category' },
      num('answers'),
      num('verdicts'),
      num('percent_agreement', 'agreement', fmtPct),
      num('alpha', 'alpha', alphaText),
    ],
    rows: agreement.by_category.map((c) => [c.category, c.answers, c.verdicts, c.percent_agreement, c.alpha]),
    empty: ctx.noData('answers with two or more verdicts'),
  });
  if (few)
    box.insertBefore(
      el(
        'p',
        { className: 'warning', role: 'note' },
        `Only ${o.answers} shared answers (fewer than ${MIN_SHARED_ANSWERS}): treat alpha as a rough hint. `,
        'Send the same answer_ref with several experts’ verdicts to get more.',
      ),
      box.children[1],
    );
}

startPage({
  page: 'experts',
  defaultGranularity: 'week',
  async load(ctx) {
    const { state } = ctx;
    const e = await ctx.rollup('/api/v1/rollups/experts');
    if (!ctx.freshness(e.as_of)) return false;
    const main = ctx.main;
    main.append(
      tiles([
        ['experts', e.experts.length],
        ['trust-weighted accuracy', fmtPct(e.trust_weighted_accuracy)],
        ['median review time', seconds(e.review_time?.p50)],
        ['agreement (alpha)', alphaText(e.agreement?.overall.alpha)],
      ]),
    );
    // Sorted by conversion, best first; experts with no correct verdict have no rate and come last in the table.
    const experts = [...e.experts].sort(
      (a, b) => (b.conversion_rate ?? -1) - (a.conversion_rate ?? -1) || b.feedback_count - a.feedback_count,
    );
    const side = el('div', { className: 'side-by-side' });
    main.append(side);
    figure(side, {
      id: 'conversion',
      title: 'FAQ conversion per expert',
      kind: 'bars',
      description:
        'FAQ entries made from the expert’s feedback (promoted correct verdicts and approved improved answers) per ' +
        'correct verdict, so it can pass 100%; the table also gives the correct verdicts promoted.',
      columns: [{ name: 'expert' }, num('conversion_rate', 'conversion', fmtPct)],
      rows: experts.filter((x) => x.conversion_rate !== null).map((x) => [nameOf(x), x.conversion_rate]),
      empty: ctx.noData('correct verdicts'),
    });
    figure(side, {
      id: 'experts',
      title: 'Experts',
      kind: 'table',
      columns: [
        { name: 'expert' },
        { name: 'credential_type', label: 'credential' },
        num('feedback_count', 'feedback'),
        num('correct_count', 'correct'),
        num('faq_count', 'FAQs'),
        num('conversion_rate', 'conversion', fmtPct),
        num('promoted_faq_count', 'promoted'),
        num('trust_score', 'trust', (t) => fmtNum(t, 2)),
        num('agreement_with_majority', 'with majority', fmtPct),
        num('review_p50_seconds', 'review p50', seconds),
      ],
      rows: experts.map((x) => [
        nameOf(x),
        x.credential_type ?? null,
        x.feedback_count,
        x.correct_count,
        x.faq_count,
        x.conversion_rate,
        x.promoted_faq_count ?? null,
        x.trust_score,
        x.agreement?.agreement_with_majority ?? null,
        x.time_spent_seconds?.p50 ?? null,
      ]),
      empty: ctx.noData('expert feedback'),
    });
    if (e.agreement) agreementFigure(main, e.agreement, ctx);
    if (e.series)
      figure(main, {
        id: 'verdicts',
        title: `Verdicts per ${state.granularity}`,
        kind: 'line',
        columns: [{ name: 'period' }, num('correct'), num('incomplete'), num('incorrect')],
        rows: e.series.map((p) => [p.period, p.correct, p.incomplete, p.incorrect]),
        empty: ctx.noData('expert feedback'),
      });
    // The slowest reviewers by median: where a review takes long is what this chart is for; all are in the table.
    const timed = e.experts
      .filter((x) => x.time_spent_seconds?.n > 0)
      .sort((a, b) => b.time_spent_seconds.p50 - a.time_spent_seconds.p50);
    if (e.review_time)
      figure(main, {
        id: 'review-time',
        title: 'Review time per expert (median and p90)',
        kind: 'bars',
        description: `Over all experts: median ${seconds(e.review_time.p50)}, p90 ${seconds(e.review_time.p90)} (${e.review_time.n} reviews with a time).`,
        columns: [{ name: 'expert' }, num('p50_seconds', 'median', seconds), num('p90_seconds', 'p90', seconds)],
        rows: timed
          .slice(0, MAX_REVIEW_BARS)
          .map((x) => [nameOf(x), x.time_spent_seconds.p50, x.time_spent_seconds.p90]),
        note:
          timed.length > MAX_REVIEW_BARS
            ? `The ${MAX_REVIEW_BARS} slowest of ${timed.length} experts with a review time; the Experts table has everyone's median.`
            : undefined,
        empty: ctx.noData('reviews with a time spent'),
      });
    if (e.confidence_histogram)
      figure(main, {
        id: 'confidence',
        title: 'Experts’ confidence in their verdicts',
        kind: 'bars',
        columns: [{ name: 'bin', label: 'confidence' }, num('count', 'verdicts')],
        rows: e.confidence_histogram.some((b) => b.count > 0)
          ? e.confidence_histogram.map((b) => [`${b.lo.toFixed(1)}-${b.hi.toFixed(1)}`, b.count])
          : [],
        empty: ctx.noData('verdicts with a confidence score'),
      });
  },
});
