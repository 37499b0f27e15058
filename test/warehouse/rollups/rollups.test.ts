import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeRollups, rollupFiles } from '../../../src/warehouse/rollups/rollups.ts';
import {
  readExpertsRollup,
  readInterviewsRollup,
  readVotesRollup,
  snapshotAsOf,
} from '../../../src/warehouse/rollups/rollupReads.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { copyToDuckDB, duck, seedFeedback, truth } from './rollupFixture.ts';

// Every rollup is compared with the same figure computed directly in Postgres on the same data (docs/CONTRACT.md).
// The DuckDB session runs in a non-UTC time zone, to prove days and weeks are UTC by construction and not by the
// machine's default.

const AS_OF = '2024-05-01T10:20:30.123456Z';
let db: TestDatabase;
let dir: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let erased: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'fw-rollups-'));
  ({ erasedConversations: erased } = await seedFeedback(db.pool));
  instance = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'));
  conn = await instance.connect();
  await copyToDuckDB(db.pool, conn, dir, AS_OF);
  await conn.run(`set TimeZone = 'America/Los_Angeles'`);
  await computeRollups(conn);
});

afterAll(async () => {
  conn?.closeSync();
  instance?.closeSync();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Numbers that Postgres and DuckDB both compute in float8 arithmetic may differ in the last bits only. */
function expectClose(actual: unknown, expected: unknown): void {
  if (typeof expected === 'number' && typeof actual === 'number') expect(actual).toBeCloseTo(expected, 12);
  else expect(actual).toEqual(expected);
}

/**
 * Interpolated percentiles: both engines compute the same interpolation in float8, but DuckDB evaluates it as
 * lo * (1 - d) + hi * d and Postgres as lo + d * (hi - lo), so the last bit can differ (97.39999999999999 vs 97.4).
 * Everything else in the row (n, mean, min, max, keys) must be identical.
 */
function expectStats(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[]): void {
  const strip = (r: Record<string, unknown>) => ({ ...r, p10: null, p50: null, p90: null });
  expect(actual.map(strip)).toEqual(expected.map(strip));
  for (const [i, row] of actual.entries()) {
    for (const k of ['p10', 'p50', 'p90']) {
      const [a, e] = [row[k], expected[i]![k]];
      if (e === null) expect(a, `${String(row.dimension)} ${k}`).toBeNull();
      else
        expect(
          Math.abs((a as number) - (e as number)),
          `${String(row.dimension)} ${String(row.period)} ${k}`,
        ).toBeLessThanOrEqual(1e-10);
    }
  }
}

describe('computeRollups', () => {
  it('runs the rollup files in order and creates every rollup table', async () => {
    const files = await rollupFiles();
    expect(files.map((f) => f.table)).toEqual([
      'latest_votes',
      'latest_vote_totals',
      'vote_daily',
      'vote_reasons_daily',
      'expert_faq_conversion',
      'interview_scores',
      'interview_score_stats',
      'knowledge_gap_daily',
      'vote_segment_values_daily',
      'segment_top_values',
      'vote_segment_cube',
      'vote_reasons_by_segment',
      'vote_period_by_segment',
      'vote_daily_by_segment',
      'latest_vote_segment_totals',
      'vote_segment_conversations',
    ]);
    const tables = await duck(conn, `select table_name from duckdb_tables() order by table_name`);
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(files.map((f) => f.table)));
  });

  it('latest_votes has the latest vote per conversation (later created_at, then higher id), voted_at and vote_count', async () => {
    const actual = await duck(
      conn,
      `select conversation_id, vote, epoch_us(voted_at)::varchar as voted_at_us, vote_count
         from latest_votes order by conversation_id`,
    );
    const expected = await truth.latestVotes(db.pool);
    expect(actual.length).toBeGreaterThan(250);
    expect(actual).toEqual(expected);
    // Four votes at the same instant: the one inserted last (highest id) is authoritative.
    const tie = await db.pool.query(
      `select vote from votes where conversation_id = 'conv-tie' order by id desc limit 1`,
    );
    expect(actual.find((r) => r.conversation_id === 'conv-tie')).toMatchObject({
      vote: tie.rows[0].vote,
      vote_count: 4,
    });
    // Erased conversations are gone, and flips exist in the data (the test would be weak without them).
    expect(actual.filter((r) => erased.includes(r.conversation_id as string))).toEqual([]);
    const flips = await db.pool.query(
      `select count(*)::int as n from (select conversation_id from votes group by 1 having count(distinct vote) = 2) as f`,
    );
    expect(flips.rows[0].n).toBeGreaterThan(50);
  });

  it('vote_daily counts every vote cast on each UTC day, distinct conversations and the up rate', async () => {
    const actual = await duck(
      conn,
      `select strftime(day, '%Y-%m-%d') as day, up, down, conversations, up_rate from vote_daily order by day`,
    );
    const expected = await truth.voteDaily(db.pool);
    expect(actual).toHaveLength(20);
    expect(actual).toEqual(expected);
  });

  it('vote_reasons_daily counts down votes per reason and day, a repeated reason once per vote', async () => {
    const actual = await duck(
      conn,
      `select strftime(day, '%Y-%m-%d') as day, reason, down_votes from vote_reasons_daily order by day, reason`,
    );
    expect(actual).toEqual(await truth.voteReasonsDaily(db.pool));
    const repeated = await db.pool.query(
      `select count(*)::int as n from votes where vote = 'down' and cardinality(reasons) > (select count(distinct r) from unnest(reasons) r)`,
    );
    expect(repeated.rows[0].n).toBeGreaterThan(0);
  });

  it('expert_faq_conversion has every expert, null conversion without correct feedback, and trust as a number', async () => {
    const actual = await duck(
      conn,
      `select expert_id::varchar as expert_id, feedback_count, correct_count, faq_count, conversion_rate, trust_score, promoted_faq_count,
              user_ref, credential_type, is_active
         from expert_faq_conversion order by expert_id`,
    );
    const expected = await truth.expertFaqConversion(db.pool);
    expect(actual).toEqual(expected);
    expect(actual).toHaveLength(12);
    expect(actual.filter((r) => r.feedback_count === 0)).toHaveLength(3);
    expect(actual.filter((r) => (r.feedback_count as number) > 0 && r.correct_count === 0)).toEqual([
      expect.objectContaining({ conversion_rate: null, trust_score: 0 }),
    ]);
    // Approved candidates make faq_count exceed promoted_faq_count somewhere in this data.
    expect(actual.some((r) => (r.faq_count as number) > (r.promoted_faq_count as number))).toBe(true);
  });

  it('interview_score_stats matches percentile_cont per dimension and ISO week', async () => {
    const actual = await duck(
      conn,
      `select dimension, strftime(period, '%Y-%m-%d') as period, n, mean, p10, p50, p90, min, max
         from interview_score_stats
        order by period, list_position(['technical_accuracy_score', 'communication_clarity_score', 'problem_solving_score', 'relevance_score', 'overall_score'], dimension)`,
    );
    const expected = await truth.weeklyStats(db.pool);
    expect(actual).toHaveLength(8 * 5);
    expectStats(actual, expected);
    // Interpolated values really occur (an integer quantile_cont would round them).
    expect(actual.some((r) => !Number.isInteger(r.p10))).toBe(true);
  });

  it('knowledge_gap_daily counts feedbacks per gap and day, exact strings, empty arrays contributing nothing', async () => {
    const actual = await duck(
      conn,
      `select strftime(day, '%Y-%m-%d') as day, gap, feedbacks from knowledge_gap_daily order by day, gap`,
    );
    expect(actual).toEqual(await truth.knowledgeGapDaily(db.pool));
    const empty = await db.pool.query(`select count(*)::int as n from interview_feedbacks where knowledge_gaps = '[]'`);
    expect(empty.rows[0].n).toBeGreaterThan(0);
  });

  it('is idempotent: running it again on the same snapshot gives the same tables', async () => {
    const before = await duck(conn, `select count(*) as n, sum(vote_count)::bigint as s from latest_votes`);
    await computeRollups(conn);
    expect(await duck(conn, `select count(*) as n, sum(vote_count)::bigint as s from latest_votes`)).toEqual(before);
  });

  it('names the failing file when a source table is missing', async () => {
    const instance2 = await DuckDBInstance.create(':memory:');
    const conn2 = await instance2.connect();
    try {
      await expect(computeRollups(conn2)).rejects.toThrow(/segments\.sql.*votes/s);
    } finally {
      conn2.closeSync();
      instance2.closeSync();
    }
  });
});

describe('rollup reads (the figures GET /api/v1/rollups/* serves)', () => {
  const ranges: [string | null, string | null][] = [
    [null, null],
    ['2024-03-05', '2024-03-12'],
    ['2024-03-10', null],
    [null, '2024-03-01'],
    ['2024-03-17', '2024-03-17'],
    ['2030-01-01', '2030-12-31'],
  ];

  it('reads as_of from the latest export run', async () => {
    expect(await snapshotAsOf(conn)).toBe(AS_OF);
  });

  it.each(ranges)(
    'votes over [%s, %s]: latest-vote totals, the daily series, top downvote reasons',
    async (from, to) => {
      const actual = await readVotesRollup(conn, { from, to });
      const [totals] = await truth.voteTotals(db.pool);
      expect(actual.totals).toEqual(totals);
      expect(actual.daily).toEqual(await truth.voteDaily(db.pool, from, to));
      expect(actual.top_downvote_reasons).toEqual(await truth.topDownvoteReasons(db.pool, from, to));
      expect(actual.exported_rows).toBe(Number((await db.pool.query('select count(*) from votes')).rows[0].count));
    },
  );

  it('lists at most 20 reasons, most frequent first, ties by reason', async () => {
    const { top_downvote_reasons: top } = await readVotesRollup(conn, { from: null, to: null });
    expect(top).toHaveLength(20);
    for (let i = 1; i < top.length; i++) {
      const [a, b] = [top[i - 1]!, top[i]!];
      expect(
        (a.count as number) > (b.count as number) ||
          (a.count === b.count && (a.reason as string) < (b.reason as string)),
      ).toBe(true);
    }
  });

  it('experts: per-expert rows and the trust-weighted accuracy of AI answers', async () => {
    const actual = await readExpertsRollup(conn);
    const expected = await truth.expertFaqConversion(db.pool);
    const counts = actual.experts.map((e) => {
      const { confidence: _c, time_spent_seconds: _t, agreement: _a, ...rest } = e;
      return rest;
    });
    expect(counts.sort((a, b) => String(a.expert_id).localeCompare(String(b.expert_id)))).toEqual(
      expected.map(
        ({
          expert_id,
          feedback_count,
          correct_count,
          faq_count,
          promoted_faq_count,
          conversion_rate,
          trust_score,
          user_ref,
          credential_type,
          is_active,
        }) => ({
          user_ref,
          credential_type,
          is_active,
          expert_id,
          feedback_count,
          correct_count,
          faq_count,
          promoted_faq_count,
          conversion_rate,
          trust_score,
        }),
      ),
    );
    const accuracy = await truth.trustWeightedAccuracy(db.pool);
    expect(accuracy).not.toBeNull();
    // Postgres sums numeric exactly, DuckDB in float8: equal to 12 decimal places.
    expectClose(actual.trust_weighted_accuracy, accuracy);
    // It is weighted: an unweighted share differs on this data.
    const plain = await db.pool.query(`select avg((feedback_type = 'correct')::int)::float8 as a from expert_feedback`);
    expect(Math.abs(actual.trust_weighted_accuracy! - plain.rows[0].a)).toBeGreaterThan(1e-3);
  });

  it.each(ranges)(
    'interviews over [%s, %s]: exact overall stats, weekly rows, top knowledge gaps',
    async (from, to) => {
      const actual = await readInterviewsRollup(conn, { from, to });
      expectStats(actual.overall, await truth.overallStats(db.pool, from, to));
      expectStats(actual.weekly, await truth.weeklyStats(db.pool, from, to));
      expect(actual.top_knowledge_gaps).toEqual(await truth.topKnowledgeGaps(db.pool, from, to));
      expect(actual.exported_rows).toBe(
        Number((await db.pool.query('select count(*) from interview_feedbacks')).rows[0].count),
      );
    },
  );
});
