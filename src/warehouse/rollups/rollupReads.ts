import { VARCHAR, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SCORE_FIELDS } from '../../feedback/interviews/schema.ts';

/**
 * The reads behind GET /api/v1/rollups/* (docs/decisions/0011): queries over the rollup tables of a published snapshot
 * (sql/rollups), plus the exact range statistics a rollup cannot combine (overall interview percentiles), computed
 * from the snapshot's interview_scores table. Every value is made JSON-safe here, deliberately:
 *  - BIGINT/HUGEINT counts become JSON numbers, checked to be exact (at most 2^53 - 1); a larger count throws
 *    rather than rounding silently (a table of 9 * 10^15 rows is far beyond this service);
 *  - DECIMAL never reaches JSON: the rollup SQL casts trust scores and rates to DOUBLE;
 *  - a DOUBLE that is NaN or +-Infinity becomes null (JSON has neither);
 *  - dates are `YYYY-MM-DD` (UTC days) and timestamps RFC 3339 UTC strings with microseconds, formatted in SQL.
 */

/** Inclusive UTC days; null leaves that end open. */
export interface DayRange {
  readonly from: string | null;
  readonly to: string | null;
}

export type JsonValue = string | number | boolean | null;
export type JsonRow = Record<string, JsonValue>;

/** The five interview score dimensions, in the order responses list them (the score column names). */
export const SCORE_DIMENSIONS = SCORE_FIELDS;

/** How many downvote reasons and knowledge gaps a response lists. */
export const TOP_N = 20;

/** A DuckDB value as JSON, by the rules above; anything else is a bug in the SQL and throws. */
export function jsonValue(value: unknown, column: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`${column} = ${value} is beyond the exact range of a JSON number`);
    }
    return Number(value);
  }
  throw new TypeError(
    `${column}: a ${Object.prototype.toString.call(value)} must be cast in SQL before it reaches JSON`,
  );
}

async function rows(conn: DuckDBConnection, sql: string, values?: Record<string, DuckDBValue>): Promise<JsonRow[]> {
  const types = values ? Object.fromEntries(Object.keys(values).map((k) => [k, VARCHAR])) : undefined;
  const reader = await conn.runAndReadAll(sql, values, types);
  return reader.getRowObjects().map((row) => {
    const out: JsonRow = {};
    for (const [column, value] of Object.entries(row)) out[column] = jsonValue(value, column);
    return out;
  });
}

function rangeParams(range: DayRange): Record<string, DuckDBValue> {
  return { from: range.from, to: range.to };
}

/** `day` within the inclusive range; open ends are null parameters. */
const IN_RANGE = `($from::date is null or day >= $from::date) and ($to::date is null or day <= $to::date)`;

/** The tables a snapshot must hold for the rollup reads; a snapshot exported before rollups existed lacks them. */
export async function missingRollupTables(conn: DuckDBConnection, tables: readonly string[]): Promise<string[]> {
  const present = await rows(conn, `select table_name from duckdb_tables() where schema_name = 'main'`);
  const names = new Set(present.map((r) => r.table_name));
  return tables.filter((t) => !names.has(t));
}

/** The watermark of the snapshot: the Postgres snapshot time its data reflects (export_runs.as_of), or null. */
export async function snapshotAsOf(conn: DuckDBConnection): Promise<string | null> {
  if ((await missingRollupTables(conn, ['export_runs'])).length > 0) return null;
  const [row] = await rows(
    conn,
    `select strftime(make_timestamp(epoch_us(max(as_of))), '%Y-%m-%dT%H:%M:%S.%fZ') as as_of from export_runs`,
  );
  return (row?.as_of as string | null | undefined) ?? null;
}

async function countRows(
  conn: DuckDBConnection,
  table: 'votes' | 'expert_feedback' | 'interview_feedbacks',
): Promise<number> {
  const [row] = await rows(conn, `select count(*) as n from ${table}`);
  return row!.n as number;
}

export const VOTE_TABLES = ['votes', 'latest_vote_totals', 'vote_daily', 'vote_reasons_daily'] as const;

export interface VotesRollup {
  readonly exported_rows: number;
  readonly totals: { conversations: number; up: number; down: number; up_rate: number | null };
  readonly daily: JsonRow[];
  readonly top_downvote_reasons: JsonRow[];
}

/** Latest-vote totals over the whole snapshot; the daily series and downvote reasons over the range. */
export async function readVotesRollup(conn: DuckDBConnection, range: DayRange): Promise<VotesRollup> {
  const [totals] = await rows(conn, `select conversations, up, down, up_rate from latest_vote_totals`);
  const daily = await rows(
    conn,
    `select strftime(day, '%Y-%m-%d') as day, up, down, conversations, up_rate
       from vote_daily where ${IN_RANGE} order by day`,
    rangeParams(range),
  );
  const reasons = await rows(
    conn,
    `select reason, sum(down_votes)::bigint as count
       from vote_reasons_daily where ${IN_RANGE}
      group by reason order by count desc, reason limit ${TOP_N}`,
    rangeParams(range),
  );
  return {
    exported_rows: await countRows(conn, 'votes'),
    totals: totals as VotesRollup['totals'],
    daily,
    top_downvote_reasons: reasons,
  };
}

export const EXPERT_TABLES = ['expert_feedback', 'expert_faq_conversion'] as const;

export interface ExpertsRollup {
  readonly exported_rows: number;
  readonly trust_weighted_accuracy: number | null;
  readonly experts: JsonRow[];
}

/**
 * Per-expert rows and the trust-weighted accuracy of the AI answers: each verdict weighted by its expert's current
 * trust_score, sum(trust * [correct]) / sum(trust) over all feedback, which per expert is
 * sum(trust * correct_count) / sum(trust * feedback_count). Null when there is no weight (no feedback, or only
 * experts of trust 0).
 */
export async function readExpertsRollup(conn: DuckDBConnection): Promise<ExpertsRollup> {
  const experts = await rows(
    conn,
    `select expert_id::varchar as expert_id, feedback_count, correct_count, faq_count, promoted_faq_count,
            conversion_rate, trust_score
       from expert_faq_conversion order by feedback_count desc, expert_id`,
  );
  const [weighted] = await rows(
    conn,
    `select case when coalesce(sum(trust_score * feedback_count), 0) = 0 then null
                else sum(trust_score * correct_count) / sum(trust_score * feedback_count) end as accuracy
       from expert_faq_conversion`,
  );
  return {
    exported_rows: await countRows(conn, 'expert_feedback'),
    trust_weighted_accuracy: (weighted?.accuracy as number | null | undefined) ?? null,
    experts,
  };
}

export const INTERVIEW_TABLES = [
  'interview_feedbacks',
  'interview_scores',
  'interview_score_stats',
  'knowledge_gap_daily',
] as const;

export interface InterviewsRollup {
  readonly exported_rows: number;
  readonly overall: JsonRow[];
  readonly weekly: JsonRow[];
  readonly top_knowledge_gaps: JsonRow[];
}

const DIMENSION_ORDER = `(values ${SCORE_DIMENSIONS.map((d, i) => `('${d}', ${i})`).join(', ')}) as d(dimension, ord)`;

/**
 * Overall statistics per dimension over the range (exact: computed from interview_scores, since weekly percentiles
 * cannot be combined; every dimension is listed, n = 0 with null statistics when it has no data), the weekly rows
 * of interview_score_stats for every ISO week that overlaps the range (whole weeks, as stored), and the most
 * frequent knowledge gaps over the range.
 */
export async function readInterviewsRollup(conn: DuckDBConnection, range: DayRange): Promise<InterviewsRollup> {
  const overall = await rows(
    conn,
    `with stats as (
       select dimension, count(score) as n, avg(score)::double as mean,
              quantile_cont(score::double, 0.1) as p10, quantile_cont(score::double, 0.5) as p50,
              quantile_cont(score::double, 0.9) as p90, min(score) as min, max(score) as max
         from interview_scores where ${IN_RANGE}
        group by dimension)
     select d.dimension, coalesce(s.n, 0)::bigint as n, s.mean, s.p10, s.p50, s.p90, s.min::integer as min, s.max::integer as max
       from ${DIMENSION_ORDER} left join stats s using (dimension)
      order by d.ord`,
    rangeParams(range),
  );
  const weekly = await rows(
    conn,
    `select s.dimension, strftime(s.period, '%Y-%m-%d') as period, s.n, s.mean, s.p10, s.p50, s.p90, s.min, s.max
       from interview_score_stats s join ${DIMENSION_ORDER} using (dimension)
      where ($from::date is null or s.period >= date_trunc('week', $from::date)::date)
        and ($to::date is null or s.period <= $to::date)
      order by s.period, d.ord`,
    rangeParams(range),
  );
  const gaps = await rows(
    conn,
    `select gap, sum(feedbacks)::bigint as count
       from knowledge_gap_daily where ${IN_RANGE}
      group by gap order by count desc, gap limit ${TOP_N}`,
    rangeParams(range),
  );
  return { exported_rows: await countRows(conn, 'interview_feedbacks'), overall, weekly, top_knowledge_gaps: gaps };
}
