import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readExpertAgreement,
  readExpertsRollup,
  readInterviewsRollup,
  readVotesRollup,
  SCORE_DIMENSIONS,
} from '../../../src/warehouse/rollups/rollupReads.ts';
import type { TestDatabase } from '../../helpers/db.ts';
import { approx, duck, pg, seededWarehouse, segmentTruth, type Granularity } from './rollupFixture.ts';

// The analytics figures (README "Rollups": segments, voters, granularity, distributions, expert agreement), each
// compared with the same figure computed directly in Postgres on the same data (count(distinct ...),
// percentile_cont, pairs of verdicts). The DuckDB session runs in a non-UTC time zone, as in rollups.test.ts.

let db: TestDatabase;
let conn: DuckDBConnection;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, conn, close: drop } = await seededWarehouse('Asia/Kolkata'));
});
afterAll(() => drop?.());

const GRANULARITIES: Granularity[] = ['day', 'week', 'month'];
const RANGES: [string | null, string | null][] = [
  [null, null],
  ['2024-03-06', '2024-03-13'],
];
const FILTERS: Record<string, string>[] = [{}, { model: 'v3' }, { app: 'web', model: 'v1' }, { release: '(other)' }];

describe('vote segments', () => {
  it('the fixture has what makes segments hard: over 50 values, several tuples per conversation, anonymous votes', async () => {
    const [facts] = await pg(
      db.pool,
      `select (select count(distinct coalesce(metadata->>'release', '(none)')) from votes)::int as releases,
              (select count(*) from (select conversation_id from votes group by conversation_id, (created_at at time zone 'UTC')::date
                 having count(distinct metadata->>'model') > 1) as m)::int as multi,
              (select count(*) from votes where email_hash is null)::int as anonymous`,
    );
    expect(facts!.releases).toBeGreaterThan(50);
    expect(facts!.multi).toBeGreaterThan(5);
    expect(facts!.anonymous).toBeGreaterThan(20);
  });

  for (const granularity of GRANULARITIES)
    for (const [from, to] of RANGES)
      for (const filters of FILTERS)
        it(`series, segments, totals, daily and reasons (${granularity}, [${from}, ${to}], ${JSON.stringify(filters)}) equal Postgres`, async () => {
          const q = { granularity, from, to, filters };
          const segment = filters.model ? 'release' : 'model';
          const actual = await readVotesRollup(conn, { from, to }, { granularity, segment, filters });
          expect(approx(actual.series)).toEqual(approx(await segmentTruth.series(db.pool, q)));
          expect(actual.series.length).toBeGreaterThan(0);
          expect(approx(actual.segments)).toEqual(approx(await segmentTruth.segments(db.pool, q, segment)));
          if (Object.keys(filters).length > 0) {
            expect(approx(actual.totals)).toEqual(approx((await segmentTruth.totals(db.pool, filters))[0]));
            expect(approx(actual.daily)).toEqual(approx(await segmentTruth.daily(db.pool, q)));
            expect(actual.top_downvote_reasons).toEqual(await segmentTruth.reasons(db.pool, q));
          }
        });

  it('segments cap each key to its top 50 values by volume, the rest as (other); values lists them', async () => {
    const actual = await readVotesRollup(
      conn,
      { from: null, to: null },
      { granularity: 'week', segment: 'release', filters: {} },
    );
    const values = await segmentTruth.values(db.pool);
    expect(actual.values).toEqual(values);
    expect(values.release).toHaveLength(51);
    expect(actual.segments!.map((s) => s.value)).toContain('(other)');
    expect(actual.segments!.length).toBeLessThanOrEqual(51);
    // Every vote is in exactly one value of the segment.
    const total = actual.segments!.reduce((n, s) => n + s.up + s.down, 0);
    expect(total).toBe(Number((await db.pool.query('select count(*) from votes')).rows[0].count));
  });

  it('a filter on a value outside the top 50 matches nothing; (none) is a value', async () => {
    const [rare] = await pg(
      db.pool,
      `select metadata->>'release' as v from votes group by 1 order by count(*) asc, 1 limit 1`,
    );
    const none = await readVotesRollup(
      conn,
      { from: null, to: null },
      {
        granularity: 'day',
        segment: null,
        filters: { release: String(rare!.v) },
      },
    );
    expect(none.series).toEqual([]);
    expect(none.totals).toEqual({ conversations: 0, up: 0, down: 0, up_rate: null });
    const missing = await readVotesRollup(
      conn,
      { from: null, to: null },
      {
        granularity: 'month',
        segment: null,
        filters: { app: '(none)' },
      },
    );
    expect(approx(missing.series)).toEqual(
      approx(
        await segmentTruth.series(db.pool, { granularity: 'month', from: null, to: null, filters: { app: '(none)' } }),
      ),
    );
    expect(missing.series.length).toBeGreaterThan(0);
  });

  it('numbers and booleans are their JSON text', async () => {
    const values = (await readVotesRollup(conn, { from: null, to: null })).values;
    expect(values.app).toContain('true');
    expect(values.model).toContain('4');
  });

  it('vote_daily_by_segment equals Postgres', async () => {
    const actual = await duck(
      conn,
      `select strftime(day, '%Y-%m-%d') as day, segment, value, up, down, conversations, up_rate
         from vote_daily_by_segment order by day, (select position from vote_segment_keys k where k.segment = vote_daily_by_segment.segment), value`,
    );
    expect(approx(actual)).toEqual(approx(await segmentTruth.voteDailyBySegment(db.pool)));
  });
});

/** Each expert's latest verdict per answer in the range, as Postgres computes it (distinct on). */
const LATEST_VERDICTS = `
  select distinct on (answer_ref, expert_id) answer_ref, expert_id, feedback_type as verdict, category
    from expert_feedback
   where answer_ref is not null
     and ($1::date is null or (created_at at time zone 'UTC')::date >= $1::date)
     and ($2::date is null or (created_at at time zone 'UTC')::date <= $2::date)
   order by answer_ref, expert_id, created_at desc, id::text desc`;

/**
 * Agreement in Postgres from explicit pairs of verdicts (independently of the per-unit sums of rollupReads.ts):
 * the coincidence matrix o_ck = sum over units of the ordered pairs (c, k) of different experts / (m_u - 1), and
 * alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k (Krippendorff 2011); percent agreement over the
 * unordered pairs.
 */
async function agreementTruth(from: string | null, to: string | null) {
  return pg(
    db.pool,
    `with v as (${LATEST_VERDICTS}),
     units as (select answer_ref, count(*) as m from v group by answer_ref having count(*) >= 2),
     unit_category as (
       select u.answer_ref, coalesce((select category from v where v.answer_ref = u.answer_ref and category is not null
                                       group by category order by count(*) desc, category collate "C" limit 1), '(none)') as category
         from units u),
     pairs as (
       select a.answer_ref, c.category, a.verdict as c1, b.verdict as c2, 1.0 / (u.m - 1) as w, a.expert_id < b.expert_id as unordered
         from v a join v b on a.answer_ref = b.answer_ref and a.expert_id <> b.expert_id
         join units u on u.answer_ref = a.answer_ref join unit_category c on c.answer_ref = a.answer_ref),
     grouped as (select category, c1, c2, w, unordered from pairs union all select null, c1, c2, w, unordered from pairs),
     coincidence as (select category, c1, c2, sum(w) as o from grouped group by category, c1, c2),
     marginals as (select category, c1, sum(o) as nc from coincidence group by category, c1),
     figures as (
       select g.category,
              sum(case when c1 <> c2 then o else 0 end) as disagree,
              (select sum(nc) from marginals m where m.category is not distinct from g.category) as n,
              (select sum(a.nc * b.nc) from marginals a join marginals b on a.c1 <> b.c1
                where a.category is not distinct from g.category and b.category is not distinct from g.category) as expected
         from coincidence g group by g.category),
     counts as (
       select c.category, count(*)::int as answers, sum(u.m)::int as verdicts from units u join unit_category c using (answer_ref)
        group by c.category
       union all select null, count(*)::int, sum(m)::int from units),
     pa as (
       select category, (count(*) filter (where unordered and c1 = c2))::float8 / count(*) filter (where unordered) as percent_agreement
         from grouped group by category)
     select k.category, k.answers, k.verdicts, pa.percent_agreement,
            case when f.expected = 0 then null else (1 - (f.n - 1) * f.disagree / f.expected)::float8 end as alpha
       from counts k join pa on pa.category is not distinct from k.category
       join figures f on f.category is not distinct from k.category
      order by k.category is not null, k.answers desc, k.category collate "C"`,
    [from, to],
  );
}

describe('experts', () => {
  for (const [from, to] of [...RANGES, ['2024-03-10', null] as [string, null]])
    it(`agreement, confidence, time spent, review time, series and histogram over [${from}, ${to}] equal Postgres`, async () => {
      const actual = await readExpertsRollup(conn, { from, to }, 'week');
      const truth = await agreementTruth(from, to);
      expect(approx({ ...actual.agreement.overall })).toEqual(approx((({ category: _c, ...rest }) => rest)(truth[0]!)));
      expect(approx(actual.agreement.by_category)).toEqual(approx(truth.slice(1)));
      expect(actual.agreement.overall.answers).toBeGreaterThan(2);
      if (from === null) expect(actual.agreement.by_category.map((c) => c.category)).toContain('(none)');

      const params = [from, to];
      const inRange = `($1::date is null or (created_at at time zone 'UTC')::date >= $1::date)
        and ($2::date is null or (created_at at time zone 'UTC')::date <= $2::date)`;
      const perExpert = await pg(
        db.pool,
        `with v as (${LATEST_VERDICTS}),
         units as (select answer_ref from v group by answer_ref having count(*) >= 2),
         counts as (select answer_ref, verdict, count(*) as n from v where answer_ref in (select answer_ref from units) group by 1, 2),
         majority as (
           select answer_ref, (array_agg(verdict order by n desc))[1] as verdict from counts c
            where n > all (select n from counts d where d.answer_ref = c.answer_ref and d.verdict <> c.verdict)
               or not exists (select 1 from counts d where d.answer_ref = c.answer_ref and d.verdict <> c.verdict)
            group by answer_ref),
         agreement as (
           select v.expert_id, count(*)::int as answers,
                  (count(*) filter (where v.verdict = m.verdict))::float8 / count(*) as agreement_with_majority
             from v join units using (answer_ref) left join majority m using (answer_ref) group by v.expert_id),
         stats as (
           select expert_id, count(confidence_score)::int as cn,
                  percentile_cont(0.5) within group (order by confidence_score::float8) as c50,
                  percentile_cont(0.9) within group (order by confidence_score::float8) as c90,
                  count(time_spent_seconds)::int as tn,
                  percentile_cont(0.5) within group (order by time_spent_seconds) as t50,
                  percentile_cont(0.9) within group (order by time_spent_seconds) as t90
             from expert_feedback where ${inRange} group by expert_id)
         select p.id::text as expert_id, p.user_ref, p.credential_type,
                json_build_object('n', coalesce(s.cn, 0), 'p50', s.c50, 'p90', s.c90) as confidence,
                json_build_object('n', coalesce(s.tn, 0), 'p50', s.t50, 'p90', s.t90) as time_spent_seconds,
                json_build_object('answers', coalesce(a.answers, 0), 'agreement_with_majority', a.agreement_with_majority) as agreement
           from expert_profiles p left join stats s on s.expert_id = p.id left join agreement a on a.expert_id = p.id
          order by p.id`,
        params,
      );
      const mine = actual.experts
        .map(({ expert_id, user_ref, credential_type, confidence, time_spent_seconds, agreement }) => ({
          expert_id,
          user_ref,
          credential_type,
          confidence,
          time_spent_seconds,
          agreement,
        }))
        .sort((a, b) => String(a.expert_id).localeCompare(String(b.expert_id)));
      expect(approx(mine)).toEqual(approx(perExpert));
      expect(mine.some((e) => (e.agreement as { answers: number }).answers > 0)).toBe(true);

      const [review] = await pg(
        db.pool,
        `select count(time_spent_seconds)::int as n, percentile_cont(0.5) within group (order by time_spent_seconds) as p50,
                percentile_cont(0.9) within group (order by time_spent_seconds) as p90
           from expert_feedback where ${inRange}`,
        params,
      );
      expect(approx(actual.review_time)).toEqual(approx(review));
      // Null confidence and time are left out: n counts only the values given.
      const [nulls] = await pg(
        db.pool,
        `select count(*)::int as n from expert_feedback where time_spent_seconds is null`,
      );
      expect(nulls!.n).toBeGreaterThan(0);

      const histogram = await pg(
        db.pool,
        `select b / 10.0::float8 as lo, (b + 1) / 10.0::float8 as hi, count(f.c)::int as count
           from generate_series(0, 9) as b
           left join (select confidence_score as c from expert_feedback where confidence_score is not null and ${inRange}) as f
             on least(floor(f.c * 10), 9) = b
          group by b order by b`,
        params,
      );
      expect(approx(actual.confidence_histogram)).toEqual(approx(histogram));
      expect(actual.confidence_histogram.at(-1)!.count).toBeGreaterThan(0); // 1.0 is in the last bin

      const series = await pg(
        db.pool,
        `select date_trunc('week', (created_at at time zone 'UTC')::date::timestamp)::date::text as period, count(*)::int as feedback,
                count(*) filter (where feedback_type = 'correct')::int as correct,
                count(*) filter (where feedback_type = 'incomplete')::int as incomplete,
                count(*) filter (where feedback_type = 'incorrect')::int as incorrect
           from expert_feedback
          where ($1::date is null or date_trunc('week', (created_at at time zone 'UTC')::date::timestamp)::date >= date_trunc('week', $1::date::timestamp)::date)
            and ($2::date is null or date_trunc('week', (created_at at time zone 'UTC')::date::timestamp)::date <= $2::date)
          group by 1 order by 1`,
        params,
      );
      expect(actual.series).toEqual(series);
    });

  it("Krippendorff's alpha reproduces the nominal worked example of Krippendorff (2011): 4 observers, 12 units, alpha = 0.743", async () => {
    // "Computing Krippendorff's Alpha-Reliability" (2011), section C, "nominal data, any number of observers,
    // missing data": observers A-D, units 1-12, values 1-5, '.' missing. Unit 12 has one value and is dropped.
    const table = [
      ['A', '1 2 3 3 2 1 4 1 2 . . .'],
      ['B', '1 2 3 3 2 2 4 1 2 5 . 3'],
      ['C', '. 3 3 3 2 3 4 2 2 5 1 .'],
      ['D', '1 2 3 3 2 4 4 1 2 5 1 .'],
    ] as const;
    const example = await DuckDBInstance.create(':memory:');
    const c = await example.connect();
    try {
      await c.run(
        `create table expert_feedback (id varchar, expert_id varchar, feedback_type varchar, category varchar,
           answer_ref varchar, created_at timestamptz)`,
      );
      for (const [observer, values] of table)
        for (const [unit, value] of values.split(' ').entries())
          if (value !== '.')
            await c.run(`insert into expert_feedback values ($1, $2, $3, null, $4, '2011-01-01 00:00:00+00')`, [
              `${observer}-${unit}`,
              observer,
              value,
              `unit-${unit + 1}`,
            ]);
      const { overall, by_category } = await readExpertAgreement(c, { from: null, to: null });
      expect(overall.answers).toBe(11);
      expect(overall.verdicts).toBe(40);
      expect((overall.alpha as number).toFixed(3)).toBe('0.743');
      expect(by_category).toEqual([{ category: '(none)', ...overall }]);
    } finally {
      c.closeSync();
      example.closeSync();
    }
  });
});

describe('interviews', () => {
  const SCORE = `case dimension ${SCORE_DIMENSIONS.map((x) => `when '${x}' then ${x}`).join(' ')} end`;
  const SCORES = `select (f.created_at at time zone 'UTC')::date as day, d.dimension, d.ord, ${SCORE} as score
    from interview_feedbacks f cross join (values ${SCORE_DIMENSIONS.map((d, i) => `('${d}', ${i})`).join(', ')}) as d(dimension, ord)`;

  for (const granularity of GRANULARITIES)
    for (const [from, to] of RANGES)
      it(`series (${granularity}, [${from}, ${to}]) and histograms equal Postgres`, async () => {
        const actual = await readInterviewsRollup(conn, { from, to }, granularity);
        const series = await pg(
          db.pool,
          `select dimension, date_trunc($3, day::timestamp)::date::text as period, count(*)::int as n, avg(score)::float8 as mean,
                  percentile_cont(0.1) within group (order by score) as p10, percentile_cont(0.5) within group (order by score) as p50,
                  percentile_cont(0.9) within group (order by score) as p90, min(score) as min, max(score) as max
             from (${SCORES}) as s
            where ($1::date is null or date_trunc($3, day::timestamp)::date >= date_trunc($3, $1::date::timestamp)::date)
              and ($2::date is null or date_trunc($3, day::timestamp)::date <= $2::date)
            group by dimension, ord, 2 order by 2, ord`,
          [from, to, granularity],
        );
        expect(approx(actual.series)).toEqual(approx(series));
        if (granularity === 'week') expect(actual.series).toEqual(actual.weekly);
        const bins = await pg(
          db.pool,
          `select d.dimension, b * 10 as lo, case when b = 9 then 100 else b * 10 + 9 end as hi, count(s.score)::int as count
             from (values ${SCORE_DIMENSIONS.map((d, i) => `('${d}', ${i})`).join(', ')}) as d(dimension, ord)
             cross join generate_series(0, 9) as b
             left join (select * from (${SCORES}) as x where ($1::date is null or day >= $1::date) and ($2::date is null or day <= $2::date)) as s
               on s.dimension = d.dimension and least(s.score / 10, 9) = b
            group by d.dimension, d.ord, b order by d.ord, b`,
          [from, to],
        );
        expect(actual.histograms).toEqual(
          SCORE_DIMENSIONS.map((dimension) => ({
            dimension,
            bins: bins.filter((b) => b.dimension === dimension).map(({ dimension: _d, ...bin }) => bin),
          })),
        );
      });
});
