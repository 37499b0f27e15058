import { Type, type TSchema } from '@sinclair/typebox';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Nullable } from '../../feedback/schemaTypes.ts';
import {
  EXPERT_TABLES,
  GRANULARITIES,
  INTERVIEW_TABLES,
  SCORE_DIMENSIONS,
  TOP_N,
  VOTE_TABLES,
  missingRollupTables,
  readExpertsRollup,
  readInterviewsRollup,
  readVotesRollup,
  snapshotAsOf,
  type DayRange,
  type Granularity,
  type VotesQuery,
} from '../../warehouse/rollups/rollupReads.ts';
import { problems } from '../problem.ts';
import { defineRoutes } from '../routeDef.ts';
import type { Services } from '../services.ts';

// GET /api/v1/rollups/* (docs/CONTRACT.md): precomputed figures from the published snapshot. Every answer carries
// as_of (the Postgres snapshot time the export reflects) and exported_rows (rows of the source table the figures
// summarise, in that snapshot); a warehouse never exported answers 200 with empty series and as_of null.

const day = (description: string) => Type.String({ format: 'date', description });
const Day = day('A UTC calendar day, YYYY-MM-DD');

const RangeQuery = Type.Object(
  {
    from: Type.Optional(day('First UTC day, inclusive (default: open)')),
    to: Type.Optional(day('Last UTC day, inclusive (default: open)')),
  },
  { additionalProperties: false },
);

const granularity = (byDefault: Granularity) =>
  Type.Optional(
    Type.Unsafe<Granularity>({
      type: 'string',
      enum: [...GRANULARITIES],
      description: `Period of the series: UTC day, ISO week (period = its Monday) or month (its first day); default ${byDefault}`,
    }),
  );

const RangeGranularityQuery = (byDefault: Granularity) =>
  Type.Object({ ...RangeQuery.properties, granularity: granularity(byDefault) }, { additionalProperties: false });

/** The segment filters are KEY=VALUE for the configured ROLLUP_SEGMENTS keys; the handler checks the names. */
const VotesQuerySchema = Type.Object(
  {
    ...RangeQuery.properties,
    granularity: granularity('day'),
    segment: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        description: 'A ROLLUP_SEGMENTS key (default app, model, release): segments lists the series per value',
      }),
    ),
  },
  {
    additionalProperties: Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'KEY=VALUE for a ROLLUP_SEGMENTS key (e.g. model=v3; "(other)": a value outside the top 50): narrows every figure',
    }),
  },
);

const Count = Type.Integer({ minimum: 0 });
const Period = day('The first UTC day of the period (a day, the Monday of an ISO week, the first of a month)');
const Spread = (what: string) =>
  Type.Object(
    { n: Count, p50: Nullable(Type.Number()), p90: Nullable(Type.Number()) },
    {
      description: `${what}: n values (nulls left out), p50 and p90 interpolated like percentile_cont; null when n = 0`,
    },
  );
const Rate = Nullable(Type.Number({ minimum: 0 }));

const Snapshot = {
  as_of: Nullable(
    Type.String({
      format: 'date-time',
      description: 'The export watermark: the Postgres snapshot time the figures reflect; null when never exported',
    }),
  ),
  exported_rows: Type.Integer({
    minimum: 0,
    description: 'Rows of the source table in the published snapshot (0 when never exported)',
  }),
};
const Range = {
  from: Nullable(Day),
  to: Nullable(Day),
};

const VotesRollupBody = Type.Object({
  ...Snapshot,
  ...Range,
  totals: Type.Object(
    { conversations: Count, up: Count, down: Count, up_rate: Rate },
    {
      description:
        'Conversations by their latest vote (later created_at, then higher id), over the whole snapshot; up_rate null when there are none',
    },
  ),
  daily: Type.Array(Type.Object({ day: Day, up: Count, down: Count, conversations: Count, up_rate: Type.Number() }), {
    description:
      'vote_daily over the range: every vote cast that UTC day (flips count on their own day); days without votes are absent',
  }),
  top_downvote_reasons: Type.Array(Type.Object({ reason: Type.String(), count: Count }), {
    description: `The ${TOP_N} reasons given by most down votes cast in the range (a reason counts once per vote), most frequent first`,
  }),
  granularity: Type.Unsafe<Granularity>({ type: 'string', enum: [...GRANULARITIES] }),
  segment: Nullable(Type.String()),
  filters: Type.Record(Type.String(), Type.String(), { description: 'The KEY=VALUE filters applied, {} when none' }),
  segment_keys: Type.Array(Type.String(), { description: 'The configured ROLLUP_SEGMENTS keys' }),
  series: Type.Array(
    Type.Object({
      period: Period,
      up: Count,
      down: Count,
      conversations: Type.Integer({ minimum: 0, description: 'Distinct conversations with a vote in the period' }),
      up_rate: Type.Number(),
      voters: Type.Integer({ minimum: 0, description: "Distinct email pseudonyms among the period's votes" }),
      anonymous_votes: Type.Integer({ minimum: 0, description: "The period's votes without an email" }),
    }),
    { description: 'One row per period with votes, in order; whole periods that overlap the range' },
  ),
  segments: Nullable(
    Type.Array(
      Type.Object({
        value: Type.String(),
        up: Count,
        down: Count,
        conversations: Type.Integer({ minimum: 0, description: 'Distinct conversations with this value in the range' }),
        series: Type.Array(
          Type.Object({ period: Period, up: Count, down: Count, conversations: Count, up_rate: Type.Number() }),
        ),
      }),
      {
        description:
          "Per value of the segment key (its top 50 by volume over all time, the rest as '(other)'; '(none)': votes without the key), most votes in the range first; null without segment",
      },
    ),
  ),
  values: Type.Record(Type.String(), Type.Array(Type.String()), {
    description: "Per configured key, its values over the whole snapshot (top 50, then '(other)' when there are more)",
  }),
});

const AgreementFigures = {
  answers: Count,
  verdicts: Count,
  percent_agreement: Nullable(
    Type.Number({
      minimum: 0,
      maximum: 1,
      description: 'Agreeing pairs among all pairs of verdicts on the same answer',
    }),
  ),
  alpha: Nullable(
    Type.Number({
      maximum: 1,
      description: "Krippendorff's alpha (nominal) over feedback_type; null when undefined (no disagreement possible)",
    }),
  ),
};

const ExpertsRollupBody = Type.Object({
  ...Range,
  ...Snapshot,
  trust_weighted_accuracy: Nullable(
    Type.Number({
      description:
        "Share of verdicts that found the AI answer correct, each verdict weighted by its expert's current trust_score; null when there is no weight",
    }),
  ),
  experts: Type.Array(
    Type.Object({
      expert_id: Type.String({ format: 'uuid' }),
      user_ref: Type.String({ description: "The expert's id in the client system (shown instead of the uuid)" }),
      credential_type: Type.String(),
      is_active: Type.Boolean(),
      feedback_count: Count,
      correct_count: Count,
      faq_count: Type.Integer({
        minimum: 0,
        description: "Existing FAQ entries made from this expert's feedback (promoted or approved candidates)",
      }),
      promoted_faq_count: Type.Integer({
        minimum: 0,
        description: 'The part of faq_count promoted from correct feedback',
      }),
      conversion_rate: Nullable(
        Type.Number({ minimum: 0, description: 'faq_count / correct_count; null when correct_count is 0' }),
      ),
      trust_score: Type.Number({ minimum: 0, maximum: 1 }),
      confidence: Spread("confidence_score of the expert's feedback in the range"),
      time_spent_seconds: Spread("time_spent_seconds of the expert's feedback in the range"),
      agreement: Type.Object(
        {
          answers: Type.Integer({
            minimum: 0,
            description: 'Answers this expert reviewed in the range that have verdicts of two or more experts',
          }),
          agreement_with_majority: Nullable(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description:
                "Share of those where the expert's verdict is the majority verdict (a tie is no majority); null when answers = 0",
            }),
          ),
        },
        { description: "Each expert's latest verdict on an answer counts" },
      ),
    }),
    { description: 'expert_faq_conversion: every expert, those without feedback included; most feedback first' },
  ),
  agreement: Type.Object(
    {
      overall: Type.Object(AgreementFigures),
      by_category: Type.Array(Type.Object({ category: Type.String(), ...AgreementFigures }), {
        description:
          "Per category of the answer (the most frequent category of its verdicts; '(none)' when all are correct)",
      }),
    },
    {
      description:
        'Over the answers (answer_ref) with verdicts of two or more experts in the range (README "Rollups", docs/decisions/0020)',
    },
  ),
  review_time: Spread('time_spent_seconds of all feedback in the range'),
  series: Type.Array(
    Type.Object({ period: Period, feedback: Count, correct: Count, incomplete: Count, incorrect: Count }),
    { description: 'Feedback per period (whole periods that overlap the range), in order' },
  ),
  confidence_histogram: Type.Array(Type.Object({ lo: Type.Number(), hi: Type.Number(), count: Count }), {
    description:
      'confidence_score of the feedback in the range in 10 bins of width 0.1 (lo inclusive; the last bin includes 1.0)',
  }),
});

const Stats = {
  n: Count,
  mean: Nullable(Type.Number()),
  p10: Nullable(Type.Number()),
  p50: Nullable(Type.Number()),
  p90: Nullable(Type.Number()),
  min: Nullable(Type.Integer()),
  max: Nullable(Type.Integer()),
};
const Dimension = Type.Unsafe<string>({ type: 'string', enum: [...SCORE_DIMENSIONS] });

const InterviewsRollupBody = Type.Object({
  ...Snapshot,
  ...Range,
  overall: Type.Array(Type.Object({ dimension: Dimension, ...Stats }), {
    description:
      'Per dimension over the range, exact (percentiles interpolated like percentile_cont); n = 0 and null statistics when there is no data',
  }),
  weekly: Type.Array(Type.Object({ dimension: Dimension, period: Day, ...Stats }), {
    description: 'interview_score_stats: per ISO week (period = its Monday, UTC) that overlaps the range, whole weeks',
  }),
  top_knowledge_gaps: Type.Array(Type.Object({ gap: Type.String(), count: Count }), {
    description: `The ${TOP_N} knowledge gaps named by most interview feedbacks created in the range, most frequent first`,
  }),
  granularity: Type.Unsafe<Granularity>({ type: 'string', enum: [...GRANULARITIES] }),
  series: Type.Array(Type.Object({ dimension: Dimension, period: Period, ...Stats }), {
    description:
      'Per dimension and period at the granularity (whole periods that overlap the range), exact; for week it equals weekly',
  }),
  histograms: Type.Array(
    Type.Object({ dimension: Dimension, bins: Type.Array(Type.Object({ lo: Count, hi: Count, count: Count })) }),
    { description: 'Per dimension over the range: 10 bins 0-9, 10-19, ..., 90-100 (lo and hi inclusive)' },
  ),
});

/** The range from a validated query; 422 when it is backwards. */
function dayRange(query: Record<string, unknown>): DayRange {
  const from = (query.from as string | undefined) ?? null;
  const to = (query.to as string | undefined) ?? null;
  if (from !== null && to !== null && from > to) {
    throw problems.validation(
      [{ path: '/query/to', message: 'must not be before from' }],
      'A query parameter is invalid.',
    );
  }
  return { from, to };
}

/**
 * The votes query beyond the range: granularity, segment (a configured key) and the KEY=VALUE filters (every other
 * parameter; the schema let them through as strings). Anything but a configured key is 422 at /query/<name>.
 */
function votesQuery(query: Record<string, unknown>, keys: readonly string[]): VotesQuery {
  const errors: { path: string; message: string }[] = [];
  const segment = (query.segment as string | undefined) ?? null;
  if (segment !== null && !keys.includes(segment))
    errors.push({
      path: '/query/segment',
      message: `must be one of: ${keys.map((k) => JSON.stringify(k)).join(', ')}`,
    });
  const filters: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (['from', 'to', 'granularity', 'segment'].includes(name)) continue;
    if (keys.includes(name)) filters[name] = value as string;
    else
      errors.push({ path: `/query/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: 'is not a known field' });
  }
  if (errors.length > 0) throw problems.validation(errors, 'A query parameter is invalid.');
  return { granularity: (query.granularity as Granularity | undefined) ?? 'day', segment, filters };
}

/**
 * Runs fn on the published snapshot with as_of; null when the warehouse was never exported. A snapshot published
 * before the rollups existed has no rollup tables: 503, they appear with the next export.
 */
async function onSnapshot<T>(
  services: Services,
  tables: readonly string[],
  fn: (conn: DuckDBConnection) => Promise<T>,
): Promise<(T & { as_of: string | null }) | null> {
  return services.warehouse.withConnection(async (conn) => {
    const missing = await missingRollupTables(conn, tables);
    if (missing.length > 0) {
      throw problems.unavailable(
        `The published warehouse has no ${missing.join(', ')} yet; they appear with the next export.`,
      );
    }
    return { as_of: await snapshotAsOf(conn), ...(await fn(conn)) };
  });
}

const emptyStats = () =>
  SCORE_DIMENSIONS.map((dimension) => ({
    dimension,
    n: 0,
    mean: null,
    p10: null,
    p50: null,
    p90: null,
    min: null,
    max: null,
  }));

const response = (description: string, schema: TSchema) => ({
  200: { description, schema },
  503: {
    description:
      'unavailable: the database is unreachable, or the published warehouse predates the rollup tables (they ' +
      'appear with the next export); retry after Retry-After seconds',
  },
});

export const rollupRoutes = defineRoutes(
  {
    operationId: 'getVoteRollups',
    method: 'GET',
    path: '/api/v1/rollups/votes',
    tag: 'rollups',
    summary: 'Vote totals, the series per day, week or month, per segment value, and the top downvote reasons',
    description:
      'From the published warehouse (tables latest_votes, vote_daily, vote_reasons_daily and the segment rollups, ' +
      'README "Rollups"). totals counts conversations by their latest vote over the whole snapshot; daily, series, ' +
      'segments and top_downvote_reasons cover the UTC days [from, to] (series: whole periods that overlap it). ' +
      'Besides from, to, granularity and segment, each configured ROLLUP_SEGMENTS key (default app, model, release) ' +
      'is a filter parameter KEY=VALUE ("(other)": the values outside its top 50) that narrows every figure; any ' +
      'other parameter is a 422.',
    scope: 'read',
    query: VotesQuerySchema,
    responses: response('The vote rollups as of the last export', VotesRollupBody),
    async handle({ services, query }) {
      const range = dayRange(query);
      const keys = services.config.rollupSegments;
      const votes = votesQuery(query, keys);
      const body = await onSnapshot(services, VOTE_TABLES, (conn) => readVotesRollup(conn, range, votes));
      const shape = {
        granularity: votes.granularity,
        segment: votes.segment,
        filters: votes.filters,
        segment_keys: keys,
      };
      return {
        status: 200,
        body: body
          ? { ...range, ...shape, ...body }
          : {
              as_of: null,
              exported_rows: 0,
              ...range,
              ...shape,
              totals: { conversations: 0, up: 0, down: 0, up_rate: null },
              daily: [],
              top_downvote_reasons: [],
              series: [],
              segments: votes.segment === null ? null : [],
              values: Object.fromEntries(keys.map((k) => [k, []])),
            },
      };
    },
  },
  {
    operationId: 'getExpertRollups',
    method: 'GET',
    path: '/api/v1/rollups/experts',
    tag: 'rollups',
    summary: 'Per-expert feedback and FAQ conversion, and the trust-weighted accuracy of AI answers',
    description:
      'From the published warehouse (tables expert_faq_conversion, expert_feedback). The per-expert counts and ' +
      'trust_weighted_accuracy cover the whole snapshot; confidence, time spent, agreement, review_time, series and ' +
      'confidence_histogram the feedback created in the UTC days [from, to].',
    scope: 'read',
    query: RangeGranularityQuery('week'),
    responses: response('The expert rollups as of the last export', ExpertsRollupBody),
    async handle({ services, query }) {
      const range = dayRange(query);
      const granularity = (query.granularity as Granularity | undefined) ?? 'week';
      const body = await onSnapshot(services, EXPERT_TABLES, (conn) => readExpertsRollup(conn, range, granularity));
      const empty = { answers: 0, verdicts: 0, percent_agreement: null, alpha: null };
      return {
        status: 200,
        body: body
          ? { ...range, ...body }
          : {
              as_of: null,
              exported_rows: 0,
              ...range,
              trust_weighted_accuracy: null,
              experts: [],
              agreement: { overall: empty, by_category: [] },
              review_time: { n: 0, p50: null, p90: null },
              series: [],
              confidence_histogram: Array.from({ length: 10 }, (_, i) => ({ lo: i / 10, hi: (i + 1) / 10, count: 0 })),
            },
      };
    },
  },
  {
    operationId: 'getInterviewRollups',
    method: 'GET',
    path: '/api/v1/rollups/interviews',
    tag: 'rollups',
    summary: 'Interview score statistics overall and per ISO week, and the top knowledge gaps',
    description:
      'From the published warehouse (tables interview_scores, interview_score_stats, knowledge_gap_daily). overall and ' +
      'top_knowledge_gaps cover the UTC days [from, to]; weekly lists the whole ISO weeks that overlap them.',
    scope: 'read',
    query: RangeGranularityQuery('week'),
    responses: response('The interview rollups as of the last export', InterviewsRollupBody),
    async handle({ services, query }) {
      const range = dayRange(query);
      const granularity = (query.granularity as Granularity | undefined) ?? 'week';
      const body = await onSnapshot(services, INTERVIEW_TABLES, (conn) =>
        readInterviewsRollup(conn, range, granularity),
      );
      return {
        status: 200,
        body: body
          ? { ...range, granularity, ...body }
          : {
              as_of: null,
              exported_rows: 0,
              ...range,
              granularity,
              overall: emptyStats(),
              weekly: [],
              top_knowledge_gaps: [],
              series: [],
              histograms: SCORE_DIMENSIONS.map((dimension) => ({
                dimension,
                bins: Array.from({ length: 10 }, (_, i) => ({ lo: i * 10, hi: i === 9 ? 100 : i * 10 + 9, count: 0 })),
              })),
            },
      };
    },
  },
);
