import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgLakeDigests } from '../helpers/lakeDigest.ts';
import { duckRows, exportNow, onPublished, tempWarehouse } from '../warehouse/export/compare.ts';
import {
  closeExportFixture,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from '../warehouse/export/exportFixture.ts';
import { clickhouse, clickhouseLakeDigests, clickhouseRollup } from './clickhouse.ts';

/**
 * ClickHouse reads the lake with its default settings (README "At scale"): every table equals Postgres, and the
 * rollups of sql/clickhouse/ equal the warehouse's rollup tables, after a full export and after incremental ones
 * with inserts, updates and erasures.
 */
let fixture: ExportFixture | undefined;
let lake: { dir: string; remove: () => Promise<void> } | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  lake = await tempWarehouse();
});
afterAll(async () => {
  await closeExportFixture(fixture);
  await lake?.remove();
});

interface RollupCheck {
  readonly key: readonly string[];
  /** The warehouse's rollup table, selected in the comparison form. */
  readonly duck: string;
  /** Columns the ClickHouse rows are selected with (from the rollup SQL as a subquery). */
  readonly clickhouse: string;
  /** Double columns compared to 1e-9 (the interpolated percentiles); every other column must be equal. */
  readonly approximate?: readonly string[];
  /** Double columns (the others are integers or text). */
  readonly doubles: readonly string[];
}

const ROLLUPS: Readonly<Record<string, RollupCheck>> = {
  latest_votes: {
    key: ['conversation_id'],
    duck: `select conversation_id, vote, strftime(voted_at, '%Y-%m-%d %H:%M:%S.%f') as voted_at, vote_count from latest_votes`,
    clickhouse: `conversation_id, vote, formatDateTime(voted_at, '%Y-%m-%d %H:%i:%S.%f') as voted_at, vote_count`,
    doubles: [],
  },
  vote_daily: {
    key: ['day'],
    duck: `select day::varchar as day, up, down, conversations, up_rate from vote_daily`,
    clickhouse: `toString(day) as day, up, down, conversations, up_rate`,
    doubles: ['up_rate'],
  },
  expert_faq_conversion: {
    key: ['expert_id'],
    duck: `select expert_id::varchar as expert_id, feedback_count, correct_count, faq_count, conversion_rate, trust_score,
             promoted_faq_count from expert_faq_conversion`,
    clickhouse: `expert_id, feedback_count, correct_count, faq_count, conversion_rate, trust_score, promoted_faq_count`,
    doubles: ['conversion_rate', 'trust_score'],
  },
  interview_score_stats: {
    key: ['dimension', 'period'],
    duck: `select dimension, period::varchar as period, n, mean, p10, p50, p90, min, max from interview_score_stats`,
    clickhouse: `dimension, toString(period) as period, n, mean, p10, p50, p90, min, max`,
    doubles: ['mean', 'p10', 'p50', 'p90'],
    approximate: ['p10', 'p50', 'p90'],
  },
};

/** Rows in a comparable form: integers and text as text, doubles as numbers, sorted by the key. */
function normalise(rows: readonly Record<string, unknown>[], check: RollupCheck): Record<string, unknown>[] {
  return rows
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v === null ? null : check.doubles.includes(k) ? Number(v) : String(v)]),
      ),
    )
    .sort((a, b) => {
      const ka = check.key.map((k) => a[k]).join('\u0000');
      const kb = check.key.map((k) => b[k]).join('\u0000');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
}

/** Each rollup computed by ClickHouse from the lake, against the warehouse's table: the differences found. */
async function rollupDifferences(): Promise<string[]> {
  const differences: string[] = [];
  for (const [name, check] of Object.entries(ROLLUPS)) {
    const sql = await clickhouseRollup(name, lake!.dir);
    const fromLake = normalise(await clickhouse(`select ${check.clickhouse} from (${sql})`), check);
    const warehouse = normalise(await onPublished(fixture!.warehouse.dir, (conn) => duckRows(conn, check.duck)), check);
    if (fromLake.length !== warehouse.length) {
      differences.push(`${name}: ${fromLake.length} rows from the lake, ${warehouse.length} in the warehouse`);
      continue;
    }
    expect(warehouse.length, name).toBeGreaterThan(0);
    warehouse.forEach((expected, i) => {
      const actual = fromLake[i]!;
      for (const [column, value] of Object.entries(expected)) {
        const got = actual[column];
        const same = check.approximate?.includes(column)
          ? value !== null && got !== null && Math.abs((value as number) - (got as number)) <= 1e-9
          : got === value;
        if (!same)
          differences.push(
            `${name} ${JSON.stringify(check.key.map((k) => expected[k]))} ${column}: lake ${got}, warehouse ${value}`,
          );
      }
    });
  }
  return differences;
}

async function expectLakeMatches(): Promise<void> {
  const postgres = await pgLakeDigests(fixture!.db.pool);
  expect(await clickhouseLakeDigests(fixture!.db.pool, lake!.dir)).toEqual(postgres);
  expect(await rollupDifferences()).toEqual([]);
}

const exportLake = () => exportNow(fixture!.db.pool, fixture!.warehouse.dir, { parquetDir: lake!.dir });

describe('ClickHouse (chdb) reads the lake', { timeout: 180_000 }, () => {
  it('with default settings: the types are the documented ones', async () => {
    // Metadata that ClickHouse's JSON type refuses (a duplicate path) and would change (a null member): it is text.
    await fixture!.db.pool.query(
      `insert into votes (conversation_id, vote, metadata) values ('ch-paths', 'up', '{"a.b": 1, "a": {"b": null}}')`,
    );
    await exportLake();
    const types = await clickhouse(`describe file('${lake!.dir}/interview_feedbacks/**/*.parquet', Parquet)`);
    const byName = Object.fromEntries(types.map((t) => [t.name, t.type]));
    expect(byName).toMatchObject({
      id: 'Nullable(String)',
      session_id: 'Nullable(String)',
      knowledge_gaps: 'Array(Nullable(String))',
      learning_recommendations: 'Array(Nullable(String))',
      overall_score: 'Nullable(Int64)',
      created_at: "Nullable(DateTime64(6, 'UTC'))",
    });
    const votes = await clickhouse(`describe file('${lake!.dir}/votes/**/*.parquet', Parquet)`);
    expect(Object.fromEntries(votes.map((t) => [t.name, t.type]))).toMatchObject({
      id: 'Nullable(Int64)',
      reasons: 'Array(Nullable(String))',
      metadata: 'Nullable(String)',
    });
  });

  it('after a full export, every table equals Postgres and the four rollups equal the warehouse', async () => {
    await expectLakeMatches();
  });

  it('after incremental exports with inserts, updates and erasures, still', async () => {
    const { pool } = fixture!.db;
    await insertVotes(pool, 40, 'ch-new-');
    await pool.query(`update votes set vote = 'down', created_at = created_at - interval '3 days'
                       where id in (select id from votes order by id limit 7)`);
    await pool.query(`delete from votes where conversation_id in ('conv-5', 'conv-6')`);
    await pool.query(`update interview_feedbacks set overall_score = 100 - overall_score, knowledge_gaps = '["joins", "locks"]'
                       where id in (select id from interview_feedbacks order by id limit 9)`);
    await pool.query(
      `delete from interview_sessions where id in (select session_id from interview_feedbacks order by id desc limit 4)`,
    );
    await pool.query(`update expert_feedback set feedback_type = 'correct', category = null, improved_answer = null
                       where id in (select id from expert_feedback where feedback_type = 'incomplete' and generated_faq_id is null order by id limit 5)`);
    await pool.query(
      `update expert_profiles set trust_score = 0.125 where id = (select id from expert_profiles order by id limit 1)`,
    );
    await pool.query(`delete from faq_entries where id in (select id from faq_entries order by id limit 2)`);
    const first = await exportLake();
    expect(first.mode).toBe('incremental');
    expect(first.lake!.rewrittenWhole).toEqual({});
    // Files retired for readers of the previous manifest are still there: only the manifest filter of the rollup
    // SQL keeps their rows from counting twice.
    expect(first.lake!.filesRetained).toBeGreaterThan(0);
    const [globbed] = await clickhouse(`select count() as n from file('${lake!.dir}/votes/**/*.parquet', Parquet)`);
    const { rows } = await pool.query('select count(*)::int as n from votes');
    expect(Number(globbed!.n)).toBeGreaterThan(rows[0].n);
    await expectLakeMatches();

    await insertVotes(pool, 15, 'ch-later-');
    await pool.query(`delete from votes where conversation_id = 'ch-new-3'`);
    await pool.query(
      `update interview_feedbacks set technical_accuracy_score = 0 where id = (select id from interview_feedbacks order by id limit 1)`,
    );
    const second = await exportLake();
    expect(second.mode).toBe('incremental');
    await expectLakeMatches();
  });
});
