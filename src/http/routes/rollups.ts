import { Type, type TSchema } from '@sinclair/typebox';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Nullable } from '../../feedback/schemaTypes.ts';
import {
  EXPERT_TABLES,
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

const Count = Type.Integer({ minimum: 0 });
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
});

const ExpertsRollupBody = Type.Object({
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
    }),
    { description: 'expert_faq_conversion: every expert, those without feedback included; most feedback first' },
  ),
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
    summary: 'Vote totals, the daily series and the top downvote reasons',
    description:
      'From the published warehouse (tables latest_votes, vote_daily, vote_reasons_daily). totals counts conversations by ' +
      'their latest vote over the whole snapshot; daily and top_downvote_reasons cover the UTC days [from, to].',
    scope: 'read',
    query: RangeQuery,
    responses: response('The vote rollups as of the last export', VotesRollupBody),
    async handle({ services, query }) {
      const range = dayRange(query);
      const body = await onSnapshot(services, VOTE_TABLES, (conn) => readVotesRollup(conn, range));
      return {
        status: 200,
        body: body
          ? { ...range, ...body }
          : {
              as_of: null,
              exported_rows: 0,
              ...range,
              totals: { conversations: 0, up: 0, down: 0, up_rate: null },
              daily: [],
              top_downvote_reasons: [],
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
    description: 'From the published warehouse (table expert_faq_conversion).',
    scope: 'read',
    responses: response('The expert rollups as of the last export', ExpertsRollupBody),
    async handle({ services }) {
      const body = await onSnapshot(services, EXPERT_TABLES, (conn) => readExpertsRollup(conn));
      return {
        status: 200,
        body: body ?? { as_of: null, exported_rows: 0, trust_weighted_accuracy: null, experts: [] },
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
    query: RangeQuery,
    responses: response('The interview rollups as of the last export', InterviewsRollupBody),
    async handle({ services, query }) {
      const range = dayRange(query);
      const body = await onSnapshot(services, INTERVIEW_TABLES, (conn) => readInterviewsRollup(conn, range));
      return {
        status: 200,
        body: body
          ? { ...range, ...body }
          : { as_of: null, exported_rows: 0, ...range, overall: emptyStats(), weekly: [], top_knowledge_gaps: [] },
      };
    },
  },
);
