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

export const VOTE_TABLES = [
  'votes',
  'latest_vote_totals',
  'vote_daily',
  'vote_reasons_daily',
  'vote_segment_keys',
  'vote_segment_values_daily',
  'segment_top_values',
  'vote_segment_cube',
  'vote_period_by_segment',
  'vote_reasons_by_segment',
  'latest_vote_segment_totals',
  'vote_segment_conversations',
] as const;

/** Periods of the series: UTC days, ISO weeks (period = the Monday), months (period = the first day). */
export type Granularity = 'day' | 'week' | 'month';
export const GRANULARITIES: readonly Granularity[] = ['day', 'week', 'month'];

/** What GET /api/v1/rollups/votes asks beyond the range: the series' granularity, a segment key, KEY=VALUE filters. */
export interface VotesQuery {
  readonly granularity: Granularity;
  readonly segment: string | null;
  readonly filters: Readonly<Record<string, string>>;
}

export interface VotesRollup {
  readonly exported_rows: number;
  readonly totals: { conversations: number; up: number; down: number; up_rate: number | null };
  readonly daily: JsonRow[];
  readonly top_downvote_reasons: JsonRow[];
  readonly series: JsonRow[];
  readonly segments: { value: string; up: number; down: number; conversations: number; series: JsonRow[] }[] | null;
  readonly values: Record<string, string[]>;
}

/**
 * Periods that overlap the range, whole: a distinct count of a period cannot be cut (a week or month starting
 * before `from` is listed with all its votes). For days this is exactly the range.
 */
const PERIOD_IN_RANGE = `($from::date is null or period >= date_trunc($granularity, $from::date)::date)
  and ($to::date is null or period <= $to::date)`;

/** The exact distinct counts of vote_segment_cube rows (sql/rollups/segments.sql explains the multi rows). */
const CUBE_COUNTS = `sum(up)::bigint as up, sum(down)::bigint as down,
  (sum(conversations) + count(distinct multi_id) filter (where multi_kind = 'conversation'))::bigint as conversations,
  sum(up)::double / (sum(up) + sum(down))::double as up_rate`;

/**
 * The filters as a SQL condition over the capped value columns v1..v5 of the segment tables (parameters $f0...),
 * by the keys' positions in the snapshot (vote_segment_keys); a key the snapshot has no column for (ROLLUP_SEGMENTS
 * changed since the export) matches nothing. '(other)' is a stored value like any other.
 */
function filterSql(
  positions: ReadonlyMap<string, number>,
  filters: Readonly<Record<string, string>>,
): { sql: string; params: Record<string, DuckDBValue> } {
  const parts: string[] = [];
  const params: Record<string, DuckDBValue> = {};
  for (const [i, [key, value]] of Object.entries(filters).entries()) {
    const position = positions.get(key);
    if (position === undefined) {
      parts.push('false');
      continue;
    }
    parts.push(`v${position} = $f${i}`);
    params[`f${i}`] = value;
  }
  return { sql: parts.length === 0 ? 'true' : parts.join(' and '), params };
}

/**
 * The rows of vote_period_by_segment that hold the figures of a request naming at most one value (no filter: the
 * position-0 rows of all votes; one filter: that value's rows), as a condition with its parameters; null when the
 * request names more (then vote_segment_cube answers). Parameter $single is the filter's value.
 */
function singleValueSql(
  positions: ReadonlyMap<string, number>,
  filters: Readonly<Record<string, string>>,
): { sql: string; params: Record<string, DuckDBValue> } | null {
  const entries = Object.entries(filters);
  if (entries.length === 0) return { sql: 'position = 0', params: {} };
  if (entries.length > 1) return null;
  const position = positions.get(entries[0]![0]);
  if (position === undefined) return null;
  return { sql: `position = ${position} and value = $single`, params: { single: entries[0]![1] } };
}

/** The same figures from vote_period_by_segment, whose rows already hold exact distinct counts. */
const PERIOD_COUNTS = `sum(up)::bigint as up, sum(down)::bigint as down, sum(conversations)::bigint as conversations,
  sum(up)::double / (sum(up) + sum(down))::double as up_rate`;

async function segmentPositions(conn: DuckDBConnection): Promise<Map<string, number>> {
  const keys = await rows(conn, `select segment, position from vote_segment_keys order by position`);
  return new Map(keys.map((k) => [String(k.segment), k.position as number]));
}

/**
 * The vote rollups. Without filters, totals, daily and the reasons come from the rollups of every vote; with
 * filters, from their per-tuple versions (latest_vote_segment_totals, vote_reasons_by_segment). The series, daily
 * and segments come from vote_period_by_segment when the request names at most one value (no filter or one), else
 * from vote_segment_cube, at the granularity; a segment's conversations over the whole range from
 * vote_segment_conversations (exact distinct counts, README "Rollups").
 */
export async function readVotesRollup(
  conn: DuckDBConnection,
  range: DayRange,
  query: VotesQuery = { granularity: 'day', segment: null, filters: {} },
): Promise<VotesRollup> {
  const positions = await segmentPositions(conn);
  const filtered = Object.keys(query.filters).length > 0;
  const filter = filterSql(positions, query.filters);
  const params = { ...rangeParams(range), ...filter.params };
  const [totals] = filtered
    ? await rows(
        conn,
        `select coalesce(sum(conversations), 0)::bigint as conversations, coalesce(sum(up), 0)::bigint as up,
                coalesce(sum(down), 0)::bigint as down,
                case when coalesce(sum(conversations), 0) = 0 then null
                     else sum(up)::double / sum(conversations)::double end as up_rate
           from latest_vote_segment_totals where ${filter.sql}`,
        filter.params,
      )
    : await rows(conn, `select conversations, up, down, up_rate from latest_vote_totals`);
  const single = singleValueSql(positions, query.filters);
  const daily = !filtered
    ? await rows(
        conn,
        `select strftime(day, '%Y-%m-%d') as day, up, down, conversations, up_rate
           from vote_daily where ${IN_RANGE} order by day`,
        rangeParams(range),
      )
    : single
      ? await rows(
          conn,
          `select strftime(period, '%Y-%m-%d') as day, ${PERIOD_COUNTS}
             from vote_period_by_segment
            where granularity = 'day' and ${single.sql} and ($from::date is null or period >= $from::date)
              and ($to::date is null or period <= $to::date)
            group by period order by period`,
          { ...rangeParams(range), ...single.params },
        )
      : await rows(
          conn,
          `select strftime(period, '%Y-%m-%d') as day, ${CUBE_COUNTS}
             from vote_segment_cube
            where granularity = 'day' and ($from::date is null or period >= $from::date)
              and ($to::date is null or period <= $to::date) and ${filter.sql}
            group by period order by period`,
          params,
        );
  const reasons = await rows(
    conn,
    `select reason, sum(down_votes)::bigint as count
       from ${filtered ? 'vote_reasons_by_segment' : 'vote_reasons_daily'} where ${IN_RANGE} and ${filter.sql}
      group by reason order by count desc, reason limit ${TOP_N}`,
    params,
  );
  const periodParams = { ...params, granularity: query.granularity };
  const series = single
    ? await rows(
        conn,
        `select strftime(period, '%Y-%m-%d') as period, ${PERIOD_COUNTS}, sum(voters)::bigint as voters,
                sum(anonymous_votes)::bigint as anonymous_votes
           from vote_period_by_segment
          where granularity = $granularity and ${PERIOD_IN_RANGE} and ${single.sql}
          group by period order by period`,
        { ...rangeParams(range), ...single.params, granularity: query.granularity },
      )
    : await rows(
        conn,
        `select strftime(period, '%Y-%m-%d') as period, ${CUBE_COUNTS},
                (sum(voters) + count(distinct multi_id) filter (where multi_kind = 'voter'))::bigint as voters,
                sum(anonymous_votes)::bigint as anonymous_votes
           from vote_segment_cube
          where granularity = $granularity and ${PERIOD_IN_RANGE} and ${filter.sql}
          group by period order by period`,
        periodParams,
      );
  return {
    exported_rows: await countRows(conn, 'votes'),
    totals: totals as VotesRollup['totals'],
    daily,
    top_downvote_reasons: reasons,
    series,
    segments: query.segment === null ? null : await readSegments(conn, range, query, positions, filter),
    values: await readSegmentValues(conn),
  };
}

/** Per value of the segment key (its top 50 by volume over all time, then '(other)'), ordered by volume in range. */
async function readSegments(
  conn: DuckDBConnection,
  range: DayRange,
  query: VotesQuery,
  positions: ReadonlyMap<string, number>,
  filter: { sql: string; params: Record<string, DuckDBValue> },
): Promise<NonNullable<VotesRollup['segments']>> {
  const position = positions.get(query.segment!);
  if (position === undefined) return [];
  const params = { ...rangeParams(range), ...filter.params, granularity: query.granularity };
  // Without filters, each value's rows of vote_period_by_segment; with filters, the cube.
  const unfiltered = Object.keys(query.filters).length === 0;
  const perPeriod = await rows(
    conn,
    unfiltered
      ? `select value, strftime(period, '%Y-%m-%d') as period, ${PERIOD_COUNTS}
           from vote_period_by_segment
          where granularity = $granularity and position = ${position} and ${PERIOD_IN_RANGE}
          group by value, period order by period`
      : `select v${position} as value, strftime(period, '%Y-%m-%d') as period, ${CUBE_COUNTS}
           from vote_segment_cube
          where granularity = $granularity and ${PERIOD_IN_RANGE} and ${filter.sql}
          group by value, period order by period`,
    params,
  );
  const overall = await rows(
    conn,
    `with counts as (
       select ${unfiltered ? 'value' : `v${position} as value`}, sum(up)::bigint as up, sum(down)::bigint as down
         from ${unfiltered ? `vote_period_by_segment where position = ${position}` : `vote_segment_cube where ${filter.sql}`}
          and granularity = 'day' and ($from::date is null or period >= $from::date)
          and ($to::date is null or period <= $to::date)
        group by value),
     conversations as (
       select v${position} as value, count(distinct conversation_id)::bigint as conversations
         from vote_segment_conversations where ${IN_RANGE} and ${filter.sql}
        group by value)
     select value, up, down, coalesce(conversations, 0)::bigint as conversations
       from counts left join conversations using (value)
      order by up + down desc, value = '(other)', value`,
    { ...rangeParams(range), ...filter.params },
  );
  const byValue = new Map<string, JsonRow[]>();
  for (const row of perPeriod) {
    const { value, ...rest } = row;
    const list = byValue.get(String(value)) ?? [];
    list.push(rest);
    byValue.set(String(value), list);
  }
  return overall.map((row) => ({
    value: String(row.value),
    up: row.up as number,
    down: row.down as number,
    conversations: row.conversations as number,
    series: byValue.get(String(row.value)) ?? [],
  }));
}

/** Per configured key of the snapshot: its top values by volume, then '(other)' when it has more than 50 values. */
async function readSegmentValues(conn: DuckDBConnection): Promise<Record<string, string[]>> {
  const values = await rows(
    conn,
    `select k.segment, t.value, t.rank
       from vote_segment_keys k join segment_top_values t using (position)
     union all
     select k.segment, '(other)', 51
       from vote_segment_keys k
      where (select count(distinct value) from vote_segment_values_daily d where d.position = k.position) > 50
     order by 1, 3`,
  );
  const out: Record<string, string[]> = {};
  for (const key of (await rows(conn, `select segment from vote_segment_keys order by position`)).map((r) =>
    String(r.segment),
  ))
    out[key] = [];
  for (const row of values) out[String(row.segment)]!.push(String(row.value));
  return out;
}

export const EXPERT_TABLES = ['expert_feedback', 'expert_faq_conversion'] as const;

export interface ExpertsRollup {
  readonly exported_rows: number;
  readonly trust_weighted_accuracy: number | null;
  readonly experts: Record<string, unknown>[];
  readonly agreement: { overall: JsonRow; by_category: JsonRow[] };
  readonly review_time: JsonRow;
  readonly series: JsonRow[];
  readonly confidence_histogram: JsonRow[];
}

/** The UTC day of a row's created_at within the inclusive range (open ends are null parameters). */
const CREATED_IN_RANGE = `($from::date is null or make_timestamp(epoch_us(created_at))::date >= $from::date)
  and ($to::date is null or make_timestamp(epoch_us(created_at))::date <= $to::date)`;

/** Rows whose period (at $granularity) overlaps the range: whole periods, as the vote series lists them. */
const PERIOD_OF_CREATED = `date_trunc($granularity, make_timestamp(epoch_us(created_at))::date)::date`;
const CREATED_PERIOD_IN_RANGE = `($from::date is null or ${PERIOD_OF_CREATED} >= date_trunc($granularity, $from::date)::date)
  and ($to::date is null or ${PERIOD_OF_CREATED} <= $to::date)`;

/**
 * Expert agreement over the answers (answer_ref) of the range's feedback (README "Rollups", docs/decisions/0020).
 * A unit is an answer; its values are each expert's latest verdict (feedback_type) on it, so an expert counts once per
 * answer; answers with fewer than two values are dropped. Per unit u with m_u values and n_uc values of verdict c:
 *   percent_agreement = sum_u sum_c n_uc (n_uc - 1) / sum_u m_u (m_u - 1)      (agreeing pairs among all pairs)
 *   alpha = 1 - (n - 1) * sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1) / (n^2 - sum_c n_c^2)
 * which is Krippendorff's alpha for nominal data in its coincidence-matrix form (Krippendorff 2011, "Computing
 * Krippendorff's Alpha-Reliability": o_ck = sum_u (pairs c-k in u) / (m_u - 1), n_c = sum_k o_ck, n = sum_c n_c;
 * alpha = 1 - (n - 1) sum_{c != k} o_ck / sum_{c != k} n_c n_k). alpha is null when the expected disagreement is 0
 * (one verdict value in all), percent_agreement when there are no answers. An answer's category is the most frequent
 * category of its values (ties: the first by name), '(none)' when they have none (every verdict correct).
 */
const AGREEMENT_UNITS = `
  verdicts as (
    -- One struct, so the category is the latest verdict's even when null (arg_max skips a null argument).
    select answer_ref, expert_id, latest.verdict, latest.category
      from (select answer_ref, expert_id,
                   arg_max({'verdict': feedback_type::varchar, 'category': category::varchar},
                           (created_at, id::varchar)) as latest
              from expert_feedback
             where answer_ref is not null and ${CREATED_IN_RANGE}
             group by answer_ref, expert_id)),
  units as (
    select answer_ref, count(*)::double as m from verdicts group by answer_ref having count(*) >= 2),
  unit_values as (
    select v.answer_ref, v.verdict, count(*)::double as n
      from verdicts v join units u using (answer_ref) group by v.answer_ref, v.verdict),
  unit_category as (
    select u.answer_ref,
           coalesce((select first(c.category order by c.k desc, c.category)
                       from (select category, count(*) as k from verdicts v
                              where v.answer_ref = u.answer_ref and category is not null group by category) c),
                    '(none)') as category
      from units u),
  per_unit as (
    select u.answer_ref, c.category, u.m, sum(v.n * v.n) as sq
      from units u join unit_values v using (answer_ref) join unit_category c using (answer_ref)
     group by u.answer_ref, c.category, u.m)`;

/** Agreement over the answers of the range, overall and per category (the formulas above). */
export async function readExpertAgreement(
  conn: DuckDBConnection,
  range: DayRange,
): Promise<ExpertsRollup['agreement']> {
  const groups = await rows(
    conn,
    `with ${AGREEMENT_UNITS},
     observed as (
       select category, grouping(category) as overall, count(*)::bigint as answers, sum(m)::bigint as verdicts,
              sum(sq - m) / sum(m * m - m) as percent_agreement, sum((m * m - sq) / (m - 1)) as disagreement
         from per_unit group by grouping sets ((category), ())),
     value_totals as (
       select c.category, grouping(c.category) as overall, v.verdict, sum(v.n) as nc
         from unit_values v join unit_category c using (answer_ref)
        group by grouping sets ((c.category, v.verdict), (v.verdict))),
     expected as (
       select category, overall, sum(nc) * sum(nc) - sum(nc * nc) as expected from value_totals group by category, overall)
     select o.category, o.overall::integer as overall, o.answers, o.verdicts, o.percent_agreement,
            case when e.expected = 0 then null else 1 - (o.verdicts - 1) * o.disagreement / e.expected end as alpha
       from observed o join expected e on e.overall = o.overall and e.category is not distinct from o.category
      order by o.overall desc, o.answers desc, o.category`,
    rangeParams(range),
  );
  const strip = ({ overall: _o, category: _c, ...rest }: JsonRow) => rest;
  const overall = groups.find((g) => g.overall === 1);
  return {
    overall: overall ? strip(overall) : { answers: 0, verdicts: 0, percent_agreement: null, alpha: null },
    by_category: groups.filter((g) => g.overall === 0).map((g) => ({ category: g.category ?? null, ...strip(g) })),
  };
}

/** n, p50 and p90 (interpolated like percentile_cont) of a column, null values left out. */
const spread = (column: string, prefix: string) =>
  `count(${column})::bigint as ${prefix}_n, quantile_cont(${column}::double, 0.5) as ${prefix}_p50,
   quantile_cont(${column}::double, 0.9) as ${prefix}_p90`;

/**
 * Per-expert rows and the trust-weighted accuracy of the AI answers: each verdict weighted by its expert's current
 * trust_score, sum(trust * [correct]) / sum(trust) over all feedback, which per expert is
 * sum(trust * correct_count) / sum(trust * feedback_count). Null when there is no weight (no feedback, or only
 * experts of trust 0). The counts of expert_faq_conversion cover the whole snapshot; confidence, time spent,
 * agreement, the series and the histogram cover the feedback created in the range.
 */
export async function readExpertsRollup(
  conn: DuckDBConnection,
  range: DayRange = { from: null, to: null },
  granularity: Granularity = 'week',
): Promise<ExpertsRollup> {
  const params = rangeParams(range);
  const experts = await rows(
    conn,
    `with ${AGREEMENT_UNITS},
     stats as (
       select expert_id, ${spread('confidence_score', 'c')}, ${spread('time_spent_seconds', 't')}
         from expert_feedback where ${CREATED_IN_RANGE} group by expert_id),
     majority as (
       select answer_ref, case when count(*) filter (where n = top) = 1 then arg_max(verdict, n) end as majority
         from (select *, max(n) over (partition by answer_ref) as top from unit_values)
        group by answer_ref),
     agreement as (
       select v.expert_id, count(*)::bigint as answers,
              count(*) filter (where v.verdict = m.majority)::double / count(*)::double as agreement_with_majority
         from verdicts v join majority m using (answer_ref) group by v.expert_id)
     select x.expert_id::varchar as expert_id, x.user_ref, x.credential_type, x.is_active, x.feedback_count,
            x.correct_count, x.faq_count, x.promoted_faq_count, x.conversion_rate, x.trust_score,
            coalesce(s.c_n, 0)::bigint as c_n, s.c_p50, s.c_p90, coalesce(s.t_n, 0)::bigint as t_n, s.t_p50, s.t_p90,
            coalesce(a.answers, 0)::bigint as a_answers, a.agreement_with_majority as a_majority
       from expert_faq_conversion x
       left join stats s on s.expert_id = x.expert_id
       left join agreement a on a.expert_id = x.expert_id
      order by x.feedback_count desc, x.user_ref, x.expert_id`,
    params,
  );
  const [weighted] = await rows(
    conn,
    `select case when coalesce(sum(trust_score * feedback_count), 0) = 0 then null
                else sum(trust_score * correct_count) / sum(trust_score * feedback_count) end as accuracy
       from expert_faq_conversion`,
  );
  const [review] = await rows(
    conn,
    `select ${spread('time_spent_seconds', 't')} from expert_feedback where ${CREATED_IN_RANGE}`,
    params,
  );
  const series = await rows(
    conn,
    `select strftime(${PERIOD_OF_CREATED}, '%Y-%m-%d') as period, count(*)::bigint as feedback,
            count(*) filter (where feedback_type = 'correct')::bigint as correct,
            count(*) filter (where feedback_type = 'incomplete')::bigint as incomplete,
            count(*) filter (where feedback_type = 'incorrect')::bigint as incorrect
       from expert_feedback where ${CREATED_PERIOD_IN_RANGE}
      group by all order by period`,
    { ...params, granularity },
  );
  const histogram = await rows(
    conn,
    `select (b.bin / 10)::double as lo, ((b.bin + 1) / 10)::double as hi, count(f.bin)::bigint as count
       from range(10) as b(bin)
       left join (select least(floor(round(confidence_score::double * 10, 9)), 9)::bigint as bin
                    from expert_feedback where confidence_score is not null and ${CREATED_IN_RANGE}) as f
         on f.bin = b.bin
      group by b.bin order by b.bin`,
    params,
  );
  return {
    exported_rows: await countRows(conn, 'expert_feedback'),
    trust_weighted_accuracy: (weighted?.accuracy as number | null | undefined) ?? null,
    experts: experts.map(({ c_n, c_p50, c_p90, t_n, t_p50, t_p90, a_answers, a_majority, ...rest }) => ({
      ...rest,
      confidence: { n: c_n, p50: c_p50, p90: c_p90 },
      time_spent_seconds: { n: t_n, p50: t_p50, p90: t_p90 },
      agreement: { answers: a_answers, agreement_with_majority: a_majority },
    })),
    agreement: await readExpertAgreement(conn, range),
    review_time: { n: review!.t_n!, p50: review!.t_p50!, p90: review!.t_p90! },
    series,
    confidence_histogram: histogram,
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
  readonly series: JsonRow[];
  readonly histograms: { dimension: string; bins: JsonRow[] }[];
}

const DIMENSION_ORDER = `(values ${SCORE_DIMENSIONS.map((d, i) => `('${d}', ${i})`).join(', ')}) as d(dimension, ord)`;

/**
 * Overall statistics per dimension over the range (exact: computed from interview_scores, since weekly percentiles
 * cannot be combined; every dimension is listed, n = 0 with null statistics when it has no data), the weekly rows
 * of interview_score_stats for every ISO week that overlaps the range (whole weeks, as stored), and the most
 * frequent knowledge gaps over the range.
 */
export async function readInterviewsRollup(
  conn: DuckDBConnection,
  range: DayRange,
  granularity: Granularity = 'week',
): Promise<InterviewsRollup> {
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
  // The series at any granularity, exact from interview_scores (for week it is `weekly`): whole periods that overlap.
  const series = await rows(
    conn,
    `with scored as (select dimension, date_trunc($granularity, day)::date as period, score from interview_scores)
     select s.dimension, strftime(s.period, '%Y-%m-%d') as period, count(s.score)::bigint as n,
            avg(s.score)::double as mean, quantile_cont(s.score::double, 0.1) as p10,
            quantile_cont(s.score::double, 0.5) as p50, quantile_cont(s.score::double, 0.9) as p90,
            min(s.score)::integer as min, max(s.score)::integer as max
       from scored s join ${DIMENSION_ORDER} using (dimension)
      where ($from::date is null or s.period >= date_trunc($granularity, $from::date)::date)
        and ($to::date is null or s.period <= $to::date)
      group by s.dimension, d.ord, s.period
      order by s.period, d.ord`,
    { ...rangeParams(range), granularity },
  );
  // Bins of 10 points: 0-9, ..., 80-89, then 90-100 (100 falls in the last bin); every bin listed, 0 when empty.
  const binned = await rows(
    conn,
    `select d.dimension, b.bin * 10 as lo, case when b.bin = 9 then 100 else b.bin * 10 + 9 end as hi,
            count(s.score)::bigint as count
       from ${DIMENSION_ORDER} cross join range(10) as b(bin)
       left join (select dimension, least(score // 10, 9) as bin, score from interview_scores where ${IN_RANGE}) as s
         on s.dimension = d.dimension and s.bin = b.bin
      group by d.dimension, d.ord, b.bin order by d.ord, b.bin`,
    rangeParams(range),
  );
  const histograms = SCORE_DIMENSIONS.map((dimension) => ({
    dimension,
    bins: binned.filter((b) => b.dimension === dimension).map(({ dimension: _d, ...bin }) => bin),
  }));
  return {
    exported_rows: await countRows(conn, 'interview_feedbacks'),
    overall,
    weekly,
    top_knowledge_gaps: gaps,
    series,
    histograms,
  };
}
