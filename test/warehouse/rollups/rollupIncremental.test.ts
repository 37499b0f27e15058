import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeRollups, rollupFiles } from '../../../src/warehouse/rollups/rollups.ts';
import { publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import type { ExportResult } from '../../../src/warehouse/export/exportTypes.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { compareWarehouse, exportNow, tempWarehouse } from '../export/compare.ts';
import { prng, seedFeedback } from './rollupFixture.ts';

/**
 * Incremental rollup maintenance (src/warehouse/rollups/rollupMaintenance.ts) must give exactly the tables a full
 * recomputation gives on the same snapshot. After each incremental export of a random round of changes (new votes,
 * flips, votes moved across UTC days and between conversations, changed reasons, deletes, erasures, re-inserts of
 * erased conversations, interview scores, weeks and gaps changed, feedback and sessions deleted, expert changes), the
 * published file is copied, every rollup table is read, recomputed in full on the copy (`create or replace table ...
 * as`), and read again: the two must be equal row by row.
 */

let db: TestDatabase;
let warehouse: { dir: string; remove: () => Promise<void> };
const rand = prng(4242);

beforeAll(async () => {
  db = await createTestDatabase();
  warehouse = await tempWarehouse();
  await seedFeedback(db.pool, { conversations: 120, sessions: 60 });
});
afterAll(async () => {
  await db?.drop();
  await warehouse?.remove();
});

const q = (sql: string, values: unknown[] = []) => db.pool.query(sql, values);
const int = (n: number) => Math.floor(rand() * n);

/** Every rollup table's rows, as text, in a stable order. */
async function rollupRows(conn: DuckDBConnection): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  for (const { table } of await rollupFiles()) {
    const reader = await conn.runAndReadAll(`select columns(*)::varchar from ${table} order by all`);
    out[table] = reader.getRowsJson() as string[][];
  }
  return out;
}

/** The published rollups as maintained, and the same tables recomputed in full on a copy of the same snapshot. */
async function maintainedAndFull(): Promise<{
  maintained: Record<string, string[][]>;
  full: Record<string, string[][]>;
}> {
  const copy = path.join(warehouse.dir, 'check.duckdb');
  await copyFile(publishedPath(warehouse.dir), copy);
  const instance = await DuckDBInstance.create(copy);
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`set TimeZone = 'UTC'`);
      const maintained = await rollupRows(conn);
      await computeRollups(conn);
      return { maintained, full: await rollupRows(conn) };
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

async function expectExact(result: ExportResult): Promise<void> {
  expect(result.mode).toBe('incremental');
  const { maintained, full } = await maintainedAndFull();
  for (const table of Object.keys(full)) expect(maintained[table], table).toEqual(full[table]);
  expect(maintained.latest_votes!.length).toBeGreaterThan(50);
  // And the raw tables equal Postgres, so "full" above is the truth of this snapshot.
  const { postgres, warehouse: duck } = await compareWarehouse(db.pool, warehouse.dir);
  expect(duck).toEqual(postgres);
}

const day = (d: number, time = '12:00:00') => `2024-03-${String(1 + d).padStart(2, '0')} ${time}+00`;
const TIMES = ['00:00:00', '23:59:59.999999', '12:00:00'];

/** One round of changes touching every rollup input. */
async function changeRound(round: number): Promise<void> {
  // New votes on existing, new and erased conversations, some at one instant (ties decided by id), some flipping.
  for (let i = 0; i < 25; i++) {
    const c = rand() < 0.2 ? `conv-new-${round}-${int(5)}` : rand() < 0.1 ? 'conv-3' : `conv-${int(120)}`;
    const t = day(int(20), TIMES[int(3)]);
    const n = 1 + int(3);
    for (let k = 0; k < n; k++)
      await q(
        `insert into votes (conversation_id, vote, reasons, created_at, metadata, email_hash)
         values ($1, $2, $3::text[], $4, $5::jsonb, case when $6::text is not null then md5($6) || md5($6 || 'x') end)`,
        [
          c,
          rand() < 0.5 ? 'down' : 'up',
          rand() < 0.3 ? [] : [`reason r${int(6)}`, `reason r${int(6)}`],
          t,
          JSON.stringify({ app: `app${int(3)}`, model: `v${int(4)}`, release: `r${int(80)}` }),
          rand() < 0.2 ? null : `voter-${int(50)}`,
        ],
      );
  }
  // Segment inputs changed: a vote's model, release (a rare one too) and voter; a key removed.
  await q(
    `update votes set metadata = metadata || jsonb_build_object('model', 'v' || $2::int, 'release', 'r' || $3::int)
            where id in (select id from votes order by md5(id::text || $1::text || 's') limit 6)`,
    [round, int(5), 60 + int(30)],
  );
  await q(
    `update votes set email_hash = case when email_hash is null then md5(id::text) || md5(id::text) end
            where id in (select id from votes order by md5(id::text || $1::text || 'e') limit 5)`,
    [round],
  );
  await q(
    `update votes set metadata = metadata - 'app'
            where id in (select id from votes order by md5(id::text || $1::text || 'k') limit 3)`,
    [round],
  );
  // Updates of existing votes: flip, move to another day, move to another conversation, change reasons.
  await q(
    `update votes set vote = case when vote = 'up' then 'down' else 'up' end
            where id in (select id from votes order by md5(id::text || $1::text) limit 8)`,
    [round],
  );
  await q(
    `update votes set created_at = created_at + interval '1 day' * $2::int
            where id in (select id from votes order by md5(id::text || $1::text || 'd') limit 6)`,
    [round, 1 + int(3)],
  );
  await q(
    `update votes set conversation_id = 'conv-' || $2::int
            where id in (select id from votes order by md5(id::text || $1::text || 'c') limit 4)`,
    [round, int(120)],
  );
  await q(
    `update votes set reasons = array['reason moved', 'reason moved']
            where id in (select id from votes where vote = 'down' order by md5(id::text || $1::text || 'r') limit 5)`,
    [round],
  );
  // An update no rollup reads (only the comment): must not disturb anything either.
  await q(
    `update votes set comment = 'seen ' || $1::text
            where id in (select id from votes order by md5(id::text || $1::text || 'm') limit 10)`,
    [round],
  );
  // Deletes: single votes (the latest of a conversation included) and whole conversations (erasure).
  await q(`delete from votes where id in (select id from votes order by md5(id::text || $1::text || 'x') limit 6)`, [
    round,
  ]);
  await q(
    `delete from votes where id in (select distinct on (conversation_id) id from votes
                                     order by conversation_id, created_at desc, id desc limit 3)`,
  );
  await q(`delete from votes where conversation_id = $1`, [`conv-${int(120)}`]);

  // Interviews: scores, week (created_at moved by days, across Monday boundaries) and gaps changed; a feedback
  // deleted; a session deleted (its feedback goes by cascade); feedback on sessions that had none.
  await q(
    `update interview_feedbacks set overall_score = (overall_score + 35) % 101, relevance_score = $2::int
            where id in (select id from interview_feedbacks order by md5(id::text || $1::text) limit 5)`,
    [round, 5 * int(21)],
  );
  await q(
    `update interview_feedbacks set created_at = created_at + interval '1 day' * $2::int
            where id in (select id from interview_feedbacks order by md5(id::text || $1::text || 'w') limit 4)`,
    [round, 1 + int(9)],
  );
  await q(
    `update interview_feedbacks set knowledge_gaps = $2::jsonb
            where id in (select id from interview_feedbacks order by md5(id::text || $1::text || 'g') limit 4)`,
    [round, JSON.stringify(rand() < 0.3 ? [] : [`gap ${int(4)}`, `gap ${int(4)}`, 'gap shared'])],
  );
  await q(
    `update interview_feedbacks set technical_feedback = 'reworded ' || $1::text
            where id in (select id from interview_feedbacks order by md5(id::text || $1::text || 't') limit 3)`,
    [round],
  );
  await q(
    `delete from interview_feedbacks
            where id in (select id from interview_feedbacks order by md5(id::text || $1::text || 'x') limit 2)`,
    [round],
  );
  await q(
    `delete from interview_sessions
            where id in (select session_id from interview_feedbacks order by md5(id::text || $1::text || 's') limit 1)`,
    [round],
  );
  await q(
    `insert into interview_feedbacks (session_id, technical_accuracy_score, communication_clarity_score,
       problem_solving_score, relevance_score, overall_score, technical_feedback, communication_feedback,
       problem_solving_feedback, relevance_feedback, knowledge_gaps, created_at)
     select s.id, 50, 55, 60, 65, $2::int, 'ok', 'ok', 'ok', 'ok', '["gap new"]', $3::timestamptz
       from interview_sessions s
      where not exists (select 1 from interview_feedbacks f where f.session_id = s.id)
      order by md5(s.id::text || $1::text) limit 2`,
    [round, 5 * int(21), `2024-03-${String(4 + int(20)).padStart(2, '0')} 23:59:59.999999+00`],
  );
  await q(`insert into interview_sessions (external_ref, title) values ($1, 'late session')`, [`ext-late-${round}`]);

  // Experts: a trust change and a new verdict.
  await q(
    `update expert_profiles set trust_score = $2::numeric
            where id = (select id from expert_profiles order by md5(id::text || $1::text) limit 1)`,
    [round, (int(100) / 100).toFixed(2)],
  );
}

describe('incremental rollup maintenance', () => {
  it('after rounds of flips across days, deletes, erasures and re-inserts, every rollup equals a full recomputation', async () => {
    const first = await exportNow(db.pool, warehouse.dir);
    expect(first.mode).toBe('full');
    expect(Object.values(first.rollups).every((m) => m === 'full')).toBe(true);

    for (let round = 1; round <= 4; round++) {
      await changeRound(round);
      const result = await exportNow(db.pool, warehouse.dir);
      expect(result.rollups).toMatchObject({
        latest_votes: 'incremental',
        vote_daily: 'incremental',
        vote_reasons_daily: 'incremental',
        interview_scores: 'incremental',
        interview_score_stats: 'incremental',
        knowledge_gap_daily: 'incremental',
        expert_faq_conversion: 'full',
      });
      await expectExact(result);
    }
  });

  it('an export with no change, or only changes no rollup reads, leaves the rollups as they are', async () => {
    const idle = await exportNow(db.pool, warehouse.dir);
    expect(Object.values(idle.rollups).every((m) => m === 'unchanged')).toBe(true);
    await expectExact(idle);

    await q(`update votes set comment = 'only a comment' where id in (select id from votes limit 20)`);
    await q(`update interview_feedbacks set overall_comments = 'only a comment'
              where id in (select id from interview_feedbacks limit 5)`);
    const cosmetic = await exportNow(db.pool, warehouse.dir);
    expect(cosmetic.rowsChanged).toBe(25);
    expect(cosmetic.rollups).toMatchObject({
      latest_votes: 'unchanged',
      vote_daily: 'unchanged',
      interview_scores: 'unchanged',
    });
    await expectExact(cosmetic);
  });

  it('a vote moved to a day of its own and then erased leaves no trace of that day', async () => {
    await q(`insert into votes (conversation_id, vote, reasons, created_at)
             values ('conv-lonely', 'down', array['lonely reason'], '2024-05-01 00:00:00+00')`);
    await expectExact(await exportNow(db.pool, warehouse.dir));
    await q(`update votes set created_at = '2024-05-02 23:59:59.999999+00' where conversation_id = 'conv-lonely'`);
    await expectExact(await exportNow(db.pool, warehouse.dir));
    await q(`delete from votes where conversation_id = 'conv-lonely'`);
    const result = await exportNow(db.pool, warehouse.dir);
    await expectExact(result);
    const { maintained } = await maintainedAndFull();
    expect(maintained.vote_daily!.filter((r) => r[0]!.startsWith('2024-05'))).toEqual([]);
    expect(maintained.latest_votes!.filter((r) => r[0] === 'conv-lonely')).toEqual([]);
  });

  it('a vote committed late with a lower id at the same instant as the latest one does not win the tie', async () => {
    // The first vote takes a high id; the second, at the same created_at, a lower one (as when its transaction took
    // its id before the first and committed after the export): the higher id stays the latest.
    await q(`insert into votes (id, conversation_id, vote, created_at) overriding system value
             values (900000000, 'conv-late', 'up', '2024-03-10 12:00:00+00')`);
    await expectExact(await exportNow(db.pool, warehouse.dir));
    await q(
      `insert into votes (conversation_id, vote, created_at) values ('conv-late', 'down', '2024-03-10 12:00:00+00')`,
    );
    await expectExact(await exportNow(db.pool, warehouse.dir));
    const { maintained } = await maintainedAndFull();
    expect(maintained.latest_votes!.find((r) => r[0] === 'conv-late')?.slice(0, 4)).toEqual([
      'conv-late',
      'up',
      '2024-03-10 12:00:00+00',
      '2',
    ]);
  });

  it('a release entering the top 50 (another one leaving it) recomputes the capped segment tables exactly', async () => {
    const top = async () =>
      (
        await q(
          `select coalesce(metadata->>'release', '(none)') as v from votes group by 1 order by count(*) desc, 1 limit 50`,
        )
      ).rows.map((r) => r.v as string);
    const before = await top();
    await q(
      `insert into votes (conversation_id, vote, created_at, metadata)
       select 'conv-surge-' || (i % 7), 'up', '2024-03-09 10:00:00+00', '{"release": "r-surge", "model": "v9"}'
         from generate_series(1, 40) as i`,
    );
    expect(await top()).not.toEqual(before);
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.rollups).toMatchObject({ vote_segment_cube: 'incremental', segment_top_values: 'full' });
    await expectExact(result);
  });

  it('a conversation and a voter voting under two tuples in a week, then under one again, keep exact counts', async () => {
    // The cube's delta maintenance (sql/rollups/incremental/vote_segment_cube.sql) moves a conversation or voter from
    // the single rows to multi rows and back. A top release and the common models keep the top 50 set unchanged.
    const release = (
      await q(
        `select metadata->>'release' as r from votes where metadata ? 'release' group by 1 order by count(*) desc limit 1`,
      )
    ).rows[0].r as string;
    const vote = (conversation: string, at: string, model: string, voter: string) =>
      q(
        `insert into votes (conversation_id, vote, created_at, metadata, email_hash)
         values ($1, 'up', $2, $3::jsonb, md5($4) || md5($4 || 'x')) returning id`,
        [conversation, at, JSON.stringify({ app: 'app0', model, release }), voter],
      );
    const multiIds = async (granularity: string) => {
      const { maintained } = await maintainedAndFull();
      return maintained
        .vote_segment_cube!.filter((r) => r[0] === granularity && r[12] !== null)
        .map((r) => r[13]!)
        .filter((id) => id.startsWith('conv-dual') || id === (voterHash as string));
    };
    const voterHash = (await q(`select md5('voter-dual') || md5('voter-dual' || 'x') as h`)).rows[0].h as string;

    // Tuesday and Wednesday of one ISO week: one conversation (two votes) and one voter (two conversations).
    await vote('conv-dual', '2024-03-12 10:00:00+00', 'v0', 'voter-dual');
    await vote('conv-dual-2', '2024-03-12 11:00:00+00', 'v0', 'voter-dual');
    await expectExact(await exportNow(db.pool, warehouse.dir));
    expect(await multiIds('week')).toEqual([]);

    const second = await vote('conv-dual', '2024-03-13 10:00:00+00', 'v1', 'voter-other');
    const third = await vote('conv-dual-2', '2024-03-13 11:00:00+00', 'v1', 'voter-dual');
    await expectExact(await exportNow(db.pool, warehouse.dir));
    expect((await multiIds('week')).sort()).toEqual(
      ['conv-dual', 'conv-dual', 'conv-dual-2', 'conv-dual-2', voterHash, voterHash].sort(),
    );
    expect(await multiIds('day')).toEqual([]);

    await q(`delete from votes where id = any($1::bigint[])`, [[second.rows[0].id, third.rows[0].id]]);
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.rollups).toMatchObject({ vote_segment_cube: 'incremental', segment_top_values: 'full' });
    await expectExact(result);
    expect(await multiIds('week')).toEqual([]);
  });

  it('a full export after incremental ones gives the same rollups', async () => {
    const before = await maintainedAndFull();
    const full = await exportNow(db.pool, warehouse.dir, { full: true });
    expect(full.mode).toBe('full');
    const after = await maintainedAndFull();
    expect(after.maintained).toEqual(before.maintained);
  });
});
