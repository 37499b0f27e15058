import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Pool } from '../../../src/db/pool.ts';
import { jsonValue, SCORE_DIMENSIONS, type JsonRow } from '../../../src/warehouse/rollups/rollupReads.ts';
import { EXPORTED_TABLES } from '../../../src/warehouse/export/exportTypes.ts';

/**
 * Feedback data for the rollup tests, generated in Postgres with the awkward cases the issue names: equal
 * created_at inside a conversation (the higher id must win) and across conversations, vote flips, erased
 * conversations, empty and repeated reasons, timestamps on UTC day and ISO week boundaries, empty and repeated
 * knowledge gaps, experts without feedback or without correct feedback, trust 0 and 1, promoted, candidate and
 * deleted FAQs. Postgres truth for every figure is computed here with Postgres's own functions.
 */

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS = Array.from({ length: 30 }, (_, i) => `reason ${String.fromCharCode(97 + (i % 26))}${i}`);
const GAPS = Array.from({ length: 40 }, (_, i) => `gap ${i % 7 === 0 ? 'SQL' : 'sql'} ${i}`);
/** Times of day that sit on UTC day edges, and equal across rows so that ties happen often. */
const TIMES = ['00:00:00', '00:00:00.000001', '12:00:00', '23:59:59.999999'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function some<T>(rand: () => number, items: readonly T[], max: number): T[] {
  const n = Math.floor(rand() * (max + 1));
  return Array.from({ length: n }, () => pick(rand, items));
}

function timestamp(rand: () => number, firstDay: string, days: number): string {
  const day = new Date(`${firstDay}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + Math.floor(rand() * days));
  return `${day.toISOString().slice(0, 10)} ${pick(rand, TIMES)}+00`;
}

function shuffle<T>(rand: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface SeedOptions {
  readonly seed?: number;
  readonly conversations?: number;
  readonly sessions?: number;
}

/** Inserts votes, interviews and expert review data; returns what it erased, for the tests to check. */
export async function seedFeedback(pool: Pool, options: SeedOptions = {}): Promise<{ erasedConversations: string[] }> {
  const rand = prng(options.seed ?? 20240301);

  // Votes: 1-6 per conversation on 20 days (2024-03-01 is a Friday), times from TIMES so that equal created_at is
  // common. Rows are inserted in a shuffled order, so ids do not follow time.
  const votes: { c: string; v: string; r: string[]; t: string }[] = [];
  for (let c = 0; c < (options.conversations ?? 300); c++) {
    const n = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      const vote = rand() < 0.45 ? 'down' : 'up';
      const reasons = rand() < 0.2 ? [] : some(rand, REASONS.slice(0, vote === 'down' ? 30 : 5), 4);
      votes.push({ c: `conv-${c}`, v: vote, r: reasons, t: timestamp(rand, '2024-03-01', 20) });
    }
  }
  // A conversation with one vote per row of TIMES on the same instant: only the last inserted may win.
  for (const v of ['up', 'down', 'up', 'down'])
    votes.push({ c: 'conv-tie', v, r: ['tie'], t: '2024-03-05 12:00:00+00' });
  shuffle(rand, votes);
  await pool.query(
    `insert into votes (conversation_id, vote, reasons, created_at)
     select c, v, array(select jsonb_array_elements_text(r)), t
       from unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[]) with ordinality as x(c, v, r, t, ord)
      order by ord`,
    [votes.map((x) => x.c), votes.map((x) => x.v), votes.map((x) => JSON.stringify(x.r)), votes.map((x) => x.t)],
  );
  const erasedConversations = ['conv-3', 'conv-17', 'conv-42'];
  await pool.query('delete from votes where conversation_id = any($1::text[])', [erasedConversations]);

  // Interviews: feedback on 8 weeks from Monday 2024-03-04, with Sunday 23:59:59.999999 vs Monday 00:00 edges.
  const sessions = options.sessions ?? 250;
  const { rows: ids } = await pool.query<{ id: string }>(
    `insert into interview_sessions (external_ref, title)
     select 'ext-' || i, 'Session ' || i from generate_series(1, $1::int) as i returning id`,
    [sessions],
  );
  const feedback = ids
    .filter(() => rand() < 0.9)
    .map(({ id }) => ({
      id,
      // Multiples of 5 make equal scores (ties inside a percentile's interpolation) common.
      scores: Array.from({ length: 5 }, () => (rand() < 0.7 ? 5 * Math.floor(rand() * 21) : Math.floor(rand() * 101))),
      gaps: rand() < 0.25 ? [] : some(rand, GAPS, 5),
      t: timestamp(rand, '2024-03-04', 56),
    }));
  await pool.query(
    `insert into interview_feedbacks (session_id, technical_accuracy_score, communication_clarity_score,
       problem_solving_score, relevance_score, overall_score, technical_feedback, communication_feedback,
       problem_solving_feedback, relevance_feedback, knowledge_gaps, created_at)
     select id, s[1], s[2], s[3], s[4], s[5], 'ok', 'ok', 'ok', 'ok', g, t
       from unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::timestamptz[]) as x(id, sj, g, t),
            lateral (select array(select jsonb_array_elements_text(sj)::int) as s) as scores`,
    [
      feedback.map((f) => f.id),
      feedback.map((f) => JSON.stringify(f.scores)),
      feedback.map((f) => JSON.stringify(f.gaps)),
      feedback.map((f) => f.t),
    ],
  );
  // Deleting a session deletes its feedback (on delete cascade).
  await pool.query(`delete from interview_sessions where external_ref in ('ext-1', 'ext-2', 'ext-3')`);

  // Experts: trust 0 and 1 included; the last three never give feedback; expert 0 only gives incorrect feedback.
  const trusts = ['0', '1', '0.5', '0.25', '0.9', '0.333', '0.75', '0.1', '0.6', '0.95', '0.4', '0.05'];
  const { rows: experts } = await pool.query<{ id: string }>(
    `insert into expert_profiles (user_ref, credential_type, trust_score)
     select 'expert-' || i, 'avvocato', t::numeric from unnest($1::text[]) with ordinality as x(t, i) returning id`,
    [trusts],
  );
  const verdicts: { e: string; t: string }[] = [];
  for (let i = 0; i < 220; i++) {
    const e = Math.floor(rand() * (experts.length - 3));
    verdicts.push({
      e: experts[e]!.id,
      t: e === 0 ? 'incorrect' : pick(rand, ['correct', 'correct', 'incomplete', 'incorrect']),
    });
  }
  const { rows: fb } = await pool.query<{ id: string; feedback_type: string }>(
    `insert into expert_feedback (expert_id, query_text, original_answer, feedback_type, category, improved_answer,
       confidence_score, time_spent_seconds)
     select e, 'q', 'a', t, case when t = 'correct' then null else 'caso_mancante' end,
            case when t = 'correct' then null else 'better' end, 0.8, 60
       from unnest($1::uuid[], $2::text[]) as x(e, t)
     returning id, feedback_type`,
    [verdicts.map((v) => v.e), verdicts.map((v) => v.t)],
  );
  // Promote about half of the correct feedback and approve some candidates, then delete a few FAQs.
  for (const f of fb) {
    const promote = f.feedback_type === 'correct' ? rand() < 0.5 : rand() < 0.2;
    if (!promote) continue;
    await pool.query(
      `with faq as (
         insert into faq_entries (question, answer, origin, source_feedback_id, source_feedback_type)
         values ('q', 'a', $2::text, $1::uuid, $3::text) returning id)
       update expert_feedback set generated_faq_id = (select id from faq) where id = $1::uuid`,
      [f.id, f.feedback_type === 'correct' ? 'promoted' : 'candidate', f.feedback_type],
    );
  }
  await pool.query(`delete from faq_entries where id in (select id from faq_entries order by id limit 5)`);
  return { erasedConversations };
}

/** Postgres column types as the exporter maps them into DuckDB: numeric as DECIMAL, jsonb as JSON. */
function duckType(dataType: string, udt: string): string | null {
  switch (dataType) {
    case 'bigint':
      return 'BIGINT';
    case 'integer':
      return 'INTEGER';
    case 'text':
      return 'VARCHAR';
    case 'uuid':
      return 'UUID';
    case 'boolean':
      return 'BOOLEAN';
    case 'numeric':
      return 'DECIMAL(18,6)';
    case 'jsonb':
      return 'JSON';
    case 'timestamp with time zone':
      return 'TIMESTAMPTZ';
    case 'ARRAY':
      if (udt === '_text') return 'VARCHAR[]';
      throw new Error(`unexpected array type ${udt}`);
    case 'xid8':
      return null; // the export's own bookkeeping
    default:
      throw new Error(`unexpected column type ${dataType}`);
  }
}

/**
 * Copies the feedback tables from Postgres into DuckDB tables of the same names and columns, through
 * newline-delimited JSON (each row's row_to_json, so timestamps keep their microseconds), plus an export_runs row
 * with the given as_of: what the exporter produces, without depending on it.
 */
export async function copyToDuckDB(
  pool: Pool,
  conn: DuckDBConnection,
  dir: string,
  asOf: string,
  tables: readonly string[] = EXPORTED_TABLES,
): Promise<void> {
  for (const table of tables) {
    const { rows: columns } = await pool.query<{ column_name: string; data_type: string; udt_name: string }>(
      `select column_name, data_type, udt_name from information_schema.columns
        where table_schema = 'public' and table_name = $1 order by ordinal_position`,
      [table],
    );
    const typed = columns.flatMap((c) => {
      const type = duckType(c.data_type, c.udt_name);
      return type === null ? [] : [[c.column_name, type] as const];
    });
    const { rows } = await pool.query<{ j: string }>(`select row_to_json(t)::text as j from ${table} as t`);
    const file = path.join(dir, `${table}.ndjson`);
    await writeFile(file, rows.map((r) => r.j).join('\n') + '\n');
    const spec = typed.map(([name, type]) => `${name}: '${type}'`).join(', ');
    await conn.run(`create or replace table ${table} (${typed.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    if (rows.length > 0) {
      await conn.run(
        `insert into ${table} select ${typed.map(([n]) => n).join(', ')}
           from read_json('${file}', format = 'newline_delimited', columns = {${spec}})`,
      );
    }
  }
  await conn.run(
    `create or replace table export_runs (run_id bigint, started_at timestamptz, finished_at timestamptz,
       as_of timestamptz, mode varchar, rows_changed bigint, rows_deleted bigint, tables json)`,
  );
  await conn.run(`insert into export_runs values (1, now(), now(), '2000-01-01 00:00:00+00', 'full', 0, 0, '{}')`);
  await conn.run(`insert into export_runs values (2, now(), now(), $1::timestamptz, 'incremental', 0, 0, '{}')`, [
    asOf,
  ]);
}

/** Rows of a DuckDB query as JSON values (the API's conversion rules). */
export async function duck(conn: DuckDBConnection, sql: string): Promise<JsonRow[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader
    .getRowObjects()
    .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonValue(v, k)])));
}

/** Rows of a Postgres query; the SQL casts counts to int, floats to float8 and dates to text. */
export async function pg(pool: Pool, sql: string, values: unknown[] = []): Promise<JsonRow[]> {
  return (await pool.query(sql, values)).rows as JsonRow[];
}

const UTC_DAY = `(created_at at time zone 'UTC')::date`;
const RANGE = (col: string) => `($1::date is null or ${col} >= $1::date) and ($2::date is null or ${col} <= $2::date)`;
const DIMENSIONS = `(values ${SCORE_DIMENSIONS.map((d, i) => `('${d}', ${i})`).join(', ')})`;
const SCORES = `select f.id, ${UTC_DAY} as day, d.dimension, d.ord,
    case d.dimension ${SCORE_DIMENSIONS.map((d) => `when '${d}' then ${d}`).join(' ')} end as score
  from interview_feedbacks f cross join ${DIMENSIONS} as d(dimension, ord)`;
const STATS = `count(*)::int as n, avg(score)::float8 as mean,
  percentile_cont(0.1) within group (order by score) as p10, percentile_cont(0.5) within group (order by score) as p50,
  percentile_cont(0.9) within group (order by score) as p90, min(score) as min, max(score) as max`;

/** Every figure computed directly in Postgres, independently of the DuckDB SQL (distinct on, percentile_cont, ...). */
export const truth = {
  latestVotes: (pool: Pool) =>
    pg(
      pool,
      `select l.conversation_id, l.vote, (extract(epoch from l.created_at) * 1000000)::bigint::text as voted_at_us, c.n as vote_count
         from (select distinct on (conversation_id) conversation_id, vote, created_at from votes
                order by conversation_id, created_at desc, id desc) as l
         join (select conversation_id, count(*)::int as n from votes group by conversation_id) as c using (conversation_id)
        order by l.conversation_id collate "C"`,
    ),
  voteTotals: (pool: Pool) =>
    pg(
      pool,
      `select count(*)::int as conversations, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down,
              (count(*) filter (where vote = 'up'))::float8 / nullif(count(*), 0) as up_rate
         from (select distinct on (conversation_id) vote from votes order by conversation_id, created_at desc, id desc) as l`,
    ),
  voteDaily: (pool: Pool, from: string | null = null, to: string | null = null) =>
    pg(
      pool,
      `select day::text as day, count(*) filter (where vote = 'up')::int as up, count(*) filter (where vote = 'down')::int as down,
              count(distinct conversation_id)::int as conversations,
              (count(*) filter (where vote = 'up'))::float8 / count(*)::float8 as up_rate
         from (select ${UTC_DAY} as day, vote, conversation_id from votes) as v
        where ${RANGE('day')} group by day order by day`,
      [from, to],
    ),
  voteReasonsDaily: (pool: Pool) =>
    pg(
      pool,
      `select ${UTC_DAY}::text as day, r as reason, count(distinct id)::int as down_votes
         from votes cross join unnest(reasons) as r where vote = 'down'
        group by 1, 2 order by 1, r collate "C"`,
    ),
  topDownvoteReasons: (pool: Pool, from: string | null = null, to: string | null = null) =>
    pg(
      pool,
      `select r as reason, count(distinct id)::int as count
         from votes cross join unnest(reasons) as r where vote = 'down' and ${RANGE(UTC_DAY)}
        group by r order by count desc, r collate "C" limit 20`,
      [from, to],
    ),
  expertFaqConversion: (pool: Pool) =>
    pg(
      pool,
      `select p.id::text as expert_id, count(f.id)::int as feedback_count,
              count(f.id) filter (where f.feedback_type = 'correct')::int as correct_count,
              count(f.generated_faq_id)::int as faq_count,
              (count(f.generated_faq_id)::float8 / nullif(count(f.id) filter (where f.feedback_type = 'correct'), 0)) as conversion_rate,
              p.trust_score::float8 as trust_score,
              count(f.generated_faq_id) filter (where f.feedback_type = 'correct')::int as promoted_faq_count,
              p.user_ref, p.credential_type, p.is_active
         from expert_profiles p left join expert_feedback f on f.expert_id = p.id
        group by p.id order by p.id`,
    ),
  trustWeightedAccuracy: async (pool: Pool) =>
    (
      await pg(
        pool,
        `select (sum(p.trust_score * (f.feedback_type = 'correct')::int) / nullif(sum(p.trust_score), 0))::float8 as accuracy
           from expert_feedback f join expert_profiles p on p.id = f.expert_id`,
      )
    )[0]!.accuracy as number | null,
  weeklyStats: (pool: Pool, from: string | null = null, to: string | null = null) =>
    pg(
      pool,
      `select dimension, date_trunc('week', day::timestamp)::date::text as period, ${STATS}
         from (${SCORES}) as s
        where ($1::date is null or day >= date_trunc('week', $1::date::timestamp)::date) and ($2::date is null or date_trunc('week', day::timestamp)::date <= $2::date)
        group by dimension, ord, period order by period, ord`,
      [from, to],
    ),
  overallStats: (pool: Pool, from: string | null = null, to: string | null = null) =>
    pg(
      pool,
      `select d.dimension, coalesce(s.n, 0) as n, s.mean, s.p10, s.p50, s.p90, s.min, s.max
         from ${DIMENSIONS} as d(dimension, ord)
         left join (select dimension, ${STATS} from (${SCORES}) as s where ${RANGE('day')} group by dimension) as s using (dimension)
        order by d.ord`,
      [from, to],
    ),
  knowledgeGapDaily: (pool: Pool) =>
    pg(
      pool,
      `select ${UTC_DAY}::text as day, g as gap, count(distinct id)::int as feedbacks
         from interview_feedbacks cross join jsonb_array_elements_text(knowledge_gaps) as g
        group by 1, 2 order by 1, g collate "C"`,
    ),
  topKnowledgeGaps: (pool: Pool, from: string | null = null, to: string | null = null) =>
    pg(
      pool,
      `select g as gap, count(distinct id)::int as count
         from interview_feedbacks cross join jsonb_array_elements_text(knowledge_gaps) as g where ${RANGE(UTC_DAY)}
        group by g order by count desc, g collate "C" limit 20`,
      [from, to],
    ),
};
