import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { computeRollups } from '../../../src/warehouse/rollups/rollups.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
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
  // Segment metadata (README "Rollups"): app mostly fixed per conversation, model changing inside some conversations
  // (several value tuples per conversation and period), release over 70 skewed values (more than the top 50), keys
  // missing, a number and a boolean. Voters: an email pseudonym per conversation mostly, shared across
  // conversations, sometimes another one or none (anonymous votes).
  const votes: { c: string; v: string; r: string[]; t: string; m: Record<string, unknown>; e: string | null }[] = [];
  for (let c = 0; c < (options.conversations ?? 300); c++) {
    const n = 1 + Math.floor(rand() * 6);
    const app = pick(rand, ['web', 'ios', 'android', 'web', true]);
    const model = pick(rand, ['v1', 'v2', 'v3', 'v3', 4]);
    const voter = `voter-${c % 45}`;
    for (let i = 0; i < n; i++) {
      const vote = rand() < 0.45 ? 'down' : 'up';
      const reasons = rand() < 0.2 ? [] : some(rand, REASONS.slice(0, vote === 'down' ? 30 : 5), 4);
      const m: Record<string, unknown> = { release: `r${Math.floor(rand() * rand() * 70)}` };
      if (rand() < 0.9) m.app = app;
      if (rand() < 0.95) m.model = rand() < 0.15 ? pick(rand, ['v1', 'v2', 'v3']) : model;
      if (rand() < 0.05) m.model = null;
      const e = rand() < 0.15 ? null : rand() < 0.1 ? `voter-${Math.floor(rand() * 60)}` : voter;
      votes.push({ c: `conv-${c}`, v: vote, r: reasons, t: timestamp(rand, '2024-03-01', 20), m, e });
    }
  }
  // A conversation with one vote per row of TIMES on the same instant: only the last inserted may win.
  for (const v of ['up', 'down', 'up', 'down'])
    votes.push({ c: 'conv-tie', v, r: ['tie'], t: '2024-03-05 12:00:00+00', m: { app: 'web' }, e: null });
  shuffle(rand, votes);
  await pool.query(
    `insert into votes (conversation_id, vote, reasons, created_at, metadata, email_hash)
     select c, v, array(select jsonb_array_elements_text(r)), t, m,
            case when e is not null then encode(sha256(convert_to(e, 'UTF8')), 'hex') end
       from unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::jsonb[], $6::text[])
            with ordinality as x(c, v, r, t, m, e, ord)
      order by ord`,
    [
      votes.map((x) => x.c),
      votes.map((x) => x.v),
      votes.map((x) => JSON.stringify(x.r)),
      votes.map((x) => x.t),
      votes.map((x) => JSON.stringify(x.m)),
      votes.map((x) => x.e),
    ],
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
  // Verdicts on 40 answers (answer_ref; some none), so that several experts review the same answer; confidence on
  // bin edges (0, 0.3, 1) and time spent, each sometimes absent (null); created over six weeks.
  const CONFIDENCES = ['0', '0.3', '0.35', '0.5', '0.8', '0.85', '0.99', '1', null];
  const verdicts: {
    e: string;
    t: string;
    c: string | null;
    a: string | null;
    k: string;
    s: number | null;
    at: string;
  }[] = [];
  for (let i = 0; i < 220; i++) {
    const e = Math.floor(rand() * (experts.length - 3));
    const t = e === 0 ? 'incorrect' : pick(rand, ['correct', 'correct', 'incomplete', 'incorrect']);
    verdicts.push({
      e: experts[e]!.id,
      t,
      c: pick(rand, CONFIDENCES),
      a: rand() < 0.15 ? null : `ans-${Math.floor(rand() * 40)}`,
      k: pick(rand, ['caso_mancante', 'normativa_obsoleta', 'calcolo_sbagliato']),
      s: rand() < 0.1 ? null : Math.floor(rand() * 600),
      at: timestamp(rand, '2024-03-01', 42),
    });
  }
  const { rows: fb } = await pool.query<{ id: string; feedback_type: string }>(
    `insert into expert_feedback (expert_id, query_text, original_answer, feedback_type, category, improved_answer,
       confidence_score, time_spent_seconds, answer_ref, created_at)
     select e, 'q', 'a', t, case when t = 'correct' then null else k end,
            case when t = 'correct' then null else 'better' end, c::numeric, s, a, at
       from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[])
            as x(e, t, c, a, k, s, at)
     returning id, feedback_type`,
    [
      verdicts.map((v) => v.e),
      verdicts.map((v) => v.t),
      verdicts.map((v) => v.c),
      verdicts.map((v) => v.a),
      verdicts.map((v) => v.k),
      verdicts.map((v) => v.s),
      verdicts.map((v) => v.at),
    ],
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

/**
 * A test database seeded by seedFeedback, copied into a new DuckDB file whose session runs in `timeZone` (days and
 * weeks must be UTC by construction), with every rollup computed. `close` drops both.
 */
export async function seededWarehouse(
  timeZone: string,
): Promise<{ db: TestDatabase; conn: DuckDBConnection; close: () => Promise<void> }> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'fw-rollups-'));
  await seedFeedback(db.pool);
  const instance = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'));
  const conn = await instance.connect();
  await copyToDuckDB(db.pool, conn, dir, '2024-05-01T00:00:00Z');
  await conn.run(`set TimeZone = ${`'${timeZone}'`}`);
  await computeRollups(conn);
  return {
    db,
    conn,
    close: async () => {
      conn.closeSync();
      instance.closeSync();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Rates and percentiles computed in float8 by Postgres and DuckDB may differ in the last bits: compare rounded. */
export function approx(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value)) return Math.round(value * 1e9) / 1e9;
  if (Array.isArray(value)) return value.map(approx);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, approx(v)]));
  return value;
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

export type Granularity = 'day' | 'week' | 'month';

/** The segment keys of the fixture (the default ROLLUP_SEGMENTS) and how Postgres reads a vote's value for each. */
const SEGMENT_KEYS = ['app', 'model', 'release'] as const;
const VALUE = (key: string) => `coalesce(metadata->>'${key}', '(none)')`;

/**
 * Votes with their UTC day and their segment values capped to the top 50 per key by volume over all votes (ties:
 * the smaller value, in C collation), everything else '(other)': the Postgres definition of README "Rollups".
 */
const CAPPED_VOTES = `
  with raw as (
    select id, conversation_id, vote, reasons, email_hash, created_at, (created_at at time zone 'UTC')::date as day,
           ${SEGMENT_KEYS.map((k) => `${VALUE(k)} as raw_${k}`).join(', ')}
      from votes),
  ranked as (
    select key, value, row_number() over (partition by key order by count(*) desc, value collate "C") as rank
      from (${SEGMENT_KEYS.map((k) => `select '${k}' as key, raw_${k} as value from raw`).join(' union all ')}) as kv
     group by key, value)
  select raw.*, ${SEGMENT_KEYS.map(
    (k) =>
      `case when exists (select 1 from ranked r where r.key = '${k}' and r.value = raw.raw_${k} and r.rank <= 50)
            then raw_${k} else '(other)' end as ${k}`,
  ).join(', ')}
    from raw`;

export interface SegmentQuery {
  readonly granularity: Granularity;
  readonly from: string | null;
  readonly to: string | null;
  readonly filters?: Readonly<Record<string, string>>;
}

function filterSql(filters: Readonly<Record<string, string>> = {}, offset = 3): { sql: string; values: string[] } {
  const entries = Object.entries(filters);
  return {
    sql: entries.length === 0 ? 'true' : entries.map(([k], i) => `${k} = $${offset + i}`).join(' and '),
    values: entries.map(([, v]) => v),
  };
}

const PERIOD = `date_trunc($3::text, day::timestamp)::date`;
const PERIOD_OVERLAPS = `($1::date is null or ${PERIOD} >= date_trunc($3::text, $1::date::timestamp)::date)
  and ($2::date is null or ${PERIOD} <= $2::date)`;

/** The new figures of GET /api/v1/rollups/votes, computed in Postgres with count(distinct ...). */
export const segmentTruth = {
  series: (pool: Pool, q: SegmentQuery) => {
    const f = filterSql(q.filters, 4);
    return pg(
      pool,
      `select ${PERIOD}::text as period, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down, count(distinct conversation_id)::int as conversations,
              (count(*) filter (where vote = 'up'))::float8 / count(*) as up_rate,
              count(distinct email_hash)::int as voters, count(*) filter (where email_hash is null)::int as anonymous_votes
         from (${CAPPED_VOTES}) as v
        where ${PERIOD_OVERLAPS} and ${f.sql}
        group by 1 order by 1`,
      [q.from, q.to, q.granularity, ...f.values],
    );
  },
  /** Per value: totals over the exact range, and the per-period series; ordered by volume, '(other)' last on ties. */
  segments: async (pool: Pool, q: SegmentQuery, segment: string) => {
    const f = filterSql(q.filters, 4);
    const totals = await pg(
      pool,
      `select ${segment} as value, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down, count(distinct conversation_id)::int as conversations
         from (${CAPPED_VOTES}) as v
        where ($1::date is null or day >= $1::date) and ($2::date is null or day <= $2::date) and $3::text is not null
          and ${f.sql}
        group by 1 order by count(*) desc, ${segment} = '(other)', ${segment} collate "C"`,
      [q.from, q.to, q.granularity, ...f.values],
    );
    const series = await pg(
      pool,
      `select ${segment} as value, ${PERIOD}::text as period, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down, count(distinct conversation_id)::int as conversations,
              (count(*) filter (where vote = 'up'))::float8 / count(*) as up_rate
         from (${CAPPED_VOTES}) as v
        where ${PERIOD_OVERLAPS} and ${f.sql}
        group by 1, 2 order by 2`,
      [q.from, q.to, q.granularity, ...f.values],
    );
    return totals.map((t) => ({
      ...t,
      series: series.filter((s) => s.value === t.value).map(({ value: _v, ...rest }) => rest),
    }));
  },
  /** Latest-vote totals over the conversations whose latest vote matches the filters. */
  totals: (pool: Pool, filters: Readonly<Record<string, string>>) => {
    const f = filterSql(filters, 1);
    return pg(
      pool,
      `select count(*)::int as conversations, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down,
              (count(*) filter (where vote = 'up'))::float8 / nullif(count(*), 0) as up_rate
         from (select distinct on (conversation_id) * from (${CAPPED_VOTES}) as v
                order by conversation_id, created_at desc, id desc) as l
        where ${f.sql}`,
      f.values,
    );
  },
  daily: (pool: Pool, q: SegmentQuery) => {
    const f = filterSql(q.filters, 3);
    return pg(
      pool,
      `select day::text as day, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down, count(distinct conversation_id)::int as conversations,
              (count(*) filter (where vote = 'up'))::float8 / count(*) as up_rate
         from (${CAPPED_VOTES}) as v
        where ($1::date is null or day >= $1::date) and ($2::date is null or day <= $2::date) and ${f.sql}
        group by day order by day`,
      [q.from, q.to, ...f.values],
    );
  },
  reasons: (pool: Pool, q: SegmentQuery) => {
    const f = filterSql(q.filters, 3);
    return pg(
      pool,
      `select r as reason, count(distinct id)::int as count
         from (${CAPPED_VOTES}) as v cross join unnest(reasons) as r
        where vote = 'down' and ($1::date is null or day >= $1::date) and ($2::date is null or day <= $2::date)
          and ${f.sql}
        group by r order by count desc, r collate "C" limit 20`,
      [q.from, q.to, ...f.values],
    );
  },
  /** Per key: the top values by volume, then '(other)' when the key has more than 50. */
  values: async (pool: Pool) => {
    const out: Record<string, string[]> = {};
    for (const key of SEGMENT_KEYS) {
      const rows = await pg(
        pool,
        `select ${VALUE(key)} as value from votes group by 1 order by count(*) desc, ${VALUE(key)} collate "C"`,
      );
      const values = rows.map((r) => String(r.value));
      out[key] = values.length > 50 ? [...values.slice(0, 50), '(other)'] : values;
    }
    return out;
  },
  voteDailyBySegment: (pool: Pool) =>
    pg(
      pool,
      `select day::text as day, key as segment, value, count(*) filter (where vote = 'up')::int as up,
              count(*) filter (where vote = 'down')::int as down, count(distinct conversation_id)::int as conversations,
              (count(*) filter (where vote = 'up'))::float8 / count(*) as up_rate
         from (${CAPPED_VOTES}) as v
         cross join lateral (values ${SEGMENT_KEYS.map((k, i) => `('${k}', ${i}, v.${k})`).join(', ')}) as s(key, ord, value)
        group by day, key, ord, value order by day, ord, value collate "C"`,
    ),
};
