import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../src/config.ts';
import { rollupRoutes } from '../../src/http/routes/rollups.ts';
import { runExport } from '../../src/warehouse/export/exporter.ts';
import { computeRollups } from '../../src/warehouse/rollups/rollups.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { quietLogger } from '../helpers/db.ts';
import { approx, copyToDuckDB, seedFeedback, segmentTruth, truth } from '../warehouse/rollups/rollupFixture.ts';

// GET /api/v1/rollups/* over HTTP: auth, validation, the never-exported answer, and every figure against
// Postgres truth on a published snapshot (WAREHOUSE_DIR/warehouse.duckdb, docs/CONTRACT.md "Warehouse").

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

/** The body matches the 200 schema the OpenAPI document publishes, so the docs cannot drift from the answers. */
function expectDocumented(operationId: string, body: unknown): void {
  const route = rollupRoutes.find((r) => r.operationId === operationId)!;
  const validate = ajv.compile(route.responses[200]!.schema!);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

/** An expert row without the range statistics (compared with Postgres on their own in test/warehouse/rollups/rollupAnalytics.test.ts). */
function countsOnly(row: Record<string, unknown>): Record<string, unknown> {
  const { confidence: _c, time_spent_seconds: _t, agreement: _a, ...rest } = row;
  return rest;
}

/** Interpolated percentiles may differ from Postgres in the last bit (see test/warehouse/rollups/rollups.test.ts). */
function expectStats(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  const strip = (r: Record<string, unknown>) => ({ ...r, p10: null, p50: null, p90: null });
  expect(actual.map(strip)).toEqual(expected.map(strip));
  for (const [i, row] of actual.entries()) {
    for (const k of ['p10', 'p50', 'p90']) {
      const e = expected[i]![k] as number | null;
      if (e === null) expect(row[k]).toBeNull();
      else expect(Math.abs((row[k] as number) - e)).toBeLessThanOrEqual(1e-10);
    }
  }
}

describe('a warehouse that was never exported', () => {
  let app: TestApp;
  let read: string;
  beforeAll(async () => {
    app = await startTestApp();
    read = await app.key('read');
  });
  afterAll(() => app.close());

  it('answers 200 with as_of null and empty series on every rollup route', async () => {
    const votes = await app.request('GET', '/api/v1/rollups/votes', { key: read });
    expect(votes.status).toBe(200);
    expect(votes.json).toEqual({
      as_of: null,
      exported_rows: 0,
      from: null,
      to: null,
      totals: { conversations: 0, up: 0, down: 0, up_rate: null },
      daily: [],
      top_downvote_reasons: [],
      granularity: 'day',
      segment: null,
      filters: {},
      segment_keys: ['app', 'model', 'release'],
      series: [],
      segments: null,
      values: { app: [], model: [], release: [] },
    });
    expectDocumented('getVoteRollups', votes.json);

    const experts = await app.request('GET', '/api/v1/rollups/experts?granularity=month', { key: read });
    expect(experts.status).toBe(200);
    expect(experts.json).toMatchObject({
      as_of: null,
      exported_rows: 0,
      trust_weighted_accuracy: null,
      experts: [],
      agreement: { overall: { answers: 0, verdicts: 0, percent_agreement: null, alpha: null }, by_category: [] },
      review_time: { n: 0, p50: null, p90: null },
      series: [],
    });
    expect(experts.json.confidence_histogram).toHaveLength(10);
    expectDocumented('getExpertRollups', experts.json);

    const interviews = await app.request('GET', '/api/v1/rollups/interviews?from=2024-01-01&to=2024-01-31', {
      key: read,
    });
    expect(interviews.status).toBe(200);
    expect(interviews.json).toMatchObject({
      as_of: null,
      exported_rows: 0,
      from: '2024-01-01',
      to: '2024-01-31',
      weekly: [],
      top_knowledge_gaps: [],
    });
    expect(interviews.json.overall).toHaveLength(5);
    expect(interviews.json.overall.every((r: { n: number; mean: unknown }) => r.n === 0 && r.mean === null)).toBe(true);
    expectDocumented('getInterviewRollups', interviews.json);
  });

  it('needs a key with the read scope: 401 without one, 403 with an ingest-only key, 200 with admin', async () => {
    expect((await app.request('GET', '/api/v1/rollups/votes')).status).toBe(401);
    const ingest = await app.key('ingest');
    const forbidden = await app.request('GET', '/api/v1/rollups/experts', { key: ingest });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await app.request('GET', '/api/v1/rollups/interviews', { key: await app.key('admin') })).status).toBe(200);
  });

  it.each([
    ['an impossible date', '?from=2024-02-30', '/query/from'],
    ['a date-time instead of a day', '?to=2024-03-01T00:00:00Z', '/query/to'],
    ['a word', '?from=yesterday', '/query/from'],
    ['a backwards range', '?from=2024-03-10&to=2024-03-01', '/query/to'],
    ['an unknown parameter', '?form=2024-03-01', '/query/form'],
    ['a repeated parameter', '?from=2024-03-01&from=2024-03-02', '/query/from'],
  ])('refuses %s with 422 naming the parameter', async (_label, qs, pointer) => {
    for (const route of ['votes', 'interviews']) {
      const res = await app.request('GET', `/api/v1/rollups/${route}${qs}`, { key: read });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(pointer);
    }
  });

  it.each([
    ['a segment that is not a ROLLUP_SEGMENTS key', '?segment=color', '/query/segment'],
    ['a filter on a key that is not configured', '?color=red', '/query/color'],
    ['a granularity that does not exist', '?granularity=year', '/query/granularity'],
    ['a filter given twice', '?model=v1&model=v2', '/query/model'],
    ['an empty filter value', '?model=', '/query/model'],
  ])('votes refuses %s with 422 naming the parameter', async (_label, qs, pointer) => {
    const res = await app.request('GET', `/api/v1/rollups/votes${qs}`, { key: read });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(pointer);
  });

  it('experts and interviews take granularity, and no segment or filter', async () => {
    for (const route of ['experts', 'interviews']) {
      for (const [qs, pointer] of [
        ['?granularity=quarter', '/query/granularity'],
        ['?model=v1', '/query/model'],
      ] as const) {
        const res = await app.request('GET', `/api/v1/rollups/${route}${qs}`, { key: read });
        expect(res.status).toBe(422);
        expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(pointer);
      }
    }
  });

  it('a never-exported warehouse answers the filtered and segmented shape too', async () => {
    const res = await app.request('GET', '/api/v1/rollups/votes?granularity=month&segment=model&app=web', {
      key: read,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ granularity: 'month', segment: 'model', filters: { app: 'web' }, segments: [] });
    expectDocumented('getVoteRollups', res.json);
  });

  it('is in the OpenAPI document with its query parameters', async () => {
    const doc = (await app.request('GET', '/openapi.json')).json;
    for (const p of ['/api/v1/rollups/votes', '/api/v1/rollups/experts', '/api/v1/rollups/interviews'])
      expect(doc.paths[p]?.get).toBeDefined();
    const names = doc.paths['/api/v1/rollups/votes'].get.parameters.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['from', 'to', 'granularity', 'segment']));
  });
});

describe('a snapshot published before the rollups existed', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    await mkdir(app.config.warehouseDir, { recursive: true });
    const instance = await DuckDBInstance.create(path.join(app.config.warehouseDir, 'warehouse.duckdb'));
    const conn = await instance.connect();
    try {
      await conn.run(`create table votes (id bigint, conversation_id varchar, vote varchar, created_at timestamptz)`);
      await conn.run(`create table export_runs (run_id bigint, as_of timestamptz)`);
      await conn.run(`insert into export_runs values (1, now())`);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
  afterAll(() => app.close());

  it('answers 503 with Retry-After, naming the missing rollup tables, rather than a 500', async () => {
    const res = await app.request('GET', '/api/v1/rollups/votes', { key: await app.key('read') });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(res.json.detail).toMatch(/latest_vote_totals/);
  });
});

describe('a published snapshot', () => {
  const AS_OF = '2024-04-30T23:59:59.999999Z';
  let app: TestApp;
  let read: string;
  beforeAll(async () => {
    app = await startTestApp();
    read = await app.key('read');
    await seedFeedback(app.db.pool, { seed: 7 });
    // Build the snapshot beside the published path and rename it into place, as the exporter publishes.
    const build = await mkdtemp(path.join(tmpdir(), 'fw-rollups-http-'));
    const instance = await DuckDBInstance.create(path.join(build, 'next.duckdb'));
    const conn = await instance.connect();
    try {
      await copyToDuckDB(app.db.pool, conn, build, AS_OF);
      await computeRollups(conn);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
    await mkdir(app.config.warehouseDir, { recursive: true });
    await rename(path.join(build, 'next.duckdb'), path.join(app.config.warehouseDir, 'warehouse.duckdb'));
    await rm(build, { recursive: true, force: true });
  });
  afterAll(() => app.close());

  const count = async (table: string) =>
    Number((await app.db.pool.query(`select count(*) as n from ${table}`)).rows[0].n);

  it.each([
    ['', null, null],
    ['?from=2024-03-05&to=2024-03-12', '2024-03-05', '2024-03-12'],
    ['?from=2024-03-18', '2024-03-18', null],
    ['?to=2024-03-02', null, '2024-03-02'],
  ])('GET /api/v1/rollups/votes%s equals Postgres truth', async (qs, from, to) => {
    const res = await app.request('GET', `/api/v1/rollups/votes${qs}`, { key: read });
    expect(res.status).toBe(200);
    expectDocumented('getVoteRollups', res.json);
    expect(res.json).toMatchObject({
      as_of: AS_OF,
      exported_rows: await count('votes'),
      granularity: 'day',
      segment: null,
      segments: null,
      filters: {},
      segment_keys: ['app', 'model', 'release'],
      from,
      to,
      totals: (await truth.voteTotals(app.db.pool))[0],
      daily: await truth.voteDaily(app.db.pool, from, to),
      top_downvote_reasons: await truth.topDownvoteReasons(app.db.pool, from, to),
    });
    expect(res.json.daily.length).toBeGreaterThan(0);
  });

  it.each([
    ['?segment=release&model=v3', 'day', null, null, { model: 'v3' }, 'release'],
    ['?granularity=week&segment=model&from=2024-03-06&to=2024-03-13', 'week', '2024-03-06', '2024-03-13', {}, 'model'],
    ['?granularity=month&app=web&release=(other)', 'month', null, null, { app: 'web', release: '(other)' }, null],
  ] as const)(
    'GET /api/v1/rollups/votes%s: series, segments, totals, daily and reasons equal Postgres truth',
    async (qs, granularity, from, to, filters, segment) => {
      const res = await app.request('GET', `/api/v1/rollups/votes${qs.replace('(other)', '%28other%29')}`, {
        key: read,
      });
      expect(res.status).toBe(200);
      expectDocumented('getVoteRollups', res.json);
      const q = { granularity, from, to, filters } as const;
      expect(res.json).toMatchObject({ granularity, segment, filters, segment_keys: ['app', 'model', 'release'] });
      expect(approx(res.json.series)).toEqual(approx(await segmentTruth.series(app.db.pool, q)));
      expect(approx(res.json.segments)).toEqual(
        segment === null ? null : approx(await segmentTruth.segments(app.db.pool, q, segment)),
      );
      expect(res.json.values).toEqual(await segmentTruth.values(app.db.pool));
      if (Object.keys(filters).length > 0) {
        expect(approx(res.json.totals)).toEqual(approx((await segmentTruth.totals(app.db.pool, filters))[0]));
        expect(approx(res.json.daily)).toEqual(approx(await segmentTruth.daily(app.db.pool, q)));
        expect(res.json.top_downvote_reasons).toEqual(await segmentTruth.reasons(app.db.pool, q));
      }
    },
  );

  it('GET /api/v1/rollups/experts?granularity=month and interviews?granularity=day answer their documented shapes', async () => {
    const experts = await app.request('GET', '/api/v1/rollups/experts?granularity=month&from=2024-03-01', {
      key: read,
    });
    expect(experts.status).toBe(200);
    expectDocumented('getExpertRollups', experts.json);
    expect(experts.json.series.length).toBeGreaterThan(0);
    expect(experts.json.series.every((r: { period: string }) => r.period.endsWith('-01'))).toBe(true);
    expect(experts.json.agreement.overall.answers).toBeGreaterThan(0);
    expect(experts.json.experts[0]).toMatchObject({
      user_ref: expect.stringMatching(/^expert-/),
      credential_type: 'avvocato',
    });
    const interviews = await app.request('GET', '/api/v1/rollups/interviews?granularity=day&to=2024-03-20', {
      key: read,
    });
    expect(interviews.status).toBe(200);
    expectDocumented('getInterviewRollups', interviews.json);
    expect(interviews.json.granularity).toBe('day');
    expect(interviews.json.histograms).toHaveLength(5);
  });

  it('GET /api/v1/rollups/experts equals Postgres truth, with null conversion rates and the weighted accuracy', async () => {
    const res = await app.request('GET', '/api/v1/rollups/experts', { key: read });
    expect(res.status).toBe(200);
    expectDocumented('getExpertRollups', res.json);
    expect(res.json.as_of).toBe(AS_OF);
    expect(res.json.exported_rows).toBe(await count('expert_feedback'));
    const byId = (a: { expert_id: string }, b: { expert_id: string }) => a.expert_id.localeCompare(b.expert_id);
    expect([...res.json.experts].map(countsOnly).sort(byId as never)).toEqual(
      [...(await truth.expertFaqConversion(app.db.pool))].sort(byId as never),
    );
    expect(res.json.experts.some((e: { conversion_rate: unknown }) => e.conversion_rate === null)).toBe(true);
    expect(res.text).not.toMatch(/NaN|Infinity/);
    expect(res.json.trust_weighted_accuracy).toBeCloseTo((await truth.trustWeightedAccuracy(app.db.pool))!, 12);
  });

  it.each([
    ['', null, null],
    ['?from=2024-03-06&to=2024-03-20', '2024-03-06', '2024-03-20'],
    ['?from=2024-04-15', '2024-04-15', null],
  ])('GET /api/v1/rollups/interviews%s equals Postgres truth', async (qs, from, to) => {
    const res = await app.request('GET', `/api/v1/rollups/interviews${qs}`, { key: read });
    expect(res.status).toBe(200);
    expectDocumented('getInterviewRollups', res.json);
    expect(res.json).toMatchObject({ as_of: AS_OF, exported_rows: await count('interview_feedbacks'), from, to });
    expectStats(res.json.overall, await truth.overallStats(app.db.pool, from, to));
    expectStats(res.json.weekly, await truth.weeklyStats(app.db.pool, from, to));
    expect(res.json.top_knowledge_gaps).toEqual(await truth.topKnowledgeGaps(app.db.pool, from, to));
    expect(res.json.weekly.length).toBeGreaterThan(0);
  });
});

describe('end to end: Postgres -> export -> rollup API', () => {
  let app: TestApp;
  let read: string;
  beforeAll(async () => {
    app = await startTestApp();
    read = await app.key('read');
    await seedFeedback(app.db.pool, { seed: 99 });
  });
  afterAll(() => app.close());

  const get = async (route: string) => {
    const res = await app.request('GET', route, { key: read });
    expect(res.status).toBe(200);
    return res.json;
  };

  /** Every figure of the three routes equals Postgres truth now. */
  async function expectTruth(asOf: Date): Promise<void> {
    const pool = app.db.pool;
    const votes = await get('/api/v1/rollups/votes?from=2024-03-04');
    expect(Math.abs(Date.parse(votes.as_of) - asOf.getTime())).toBeLessThan(1);
    expect(votes.exported_rows).toBe(Number((await pool.query('select count(*) as n from votes')).rows[0].n));
    expect(votes.totals).toEqual((await truth.voteTotals(pool))[0]);
    expect(votes.daily).toEqual(await truth.voteDaily(pool, '2024-03-04', null));
    expect(votes.top_downvote_reasons).toEqual(await truth.topDownvoteReasons(pool, '2024-03-04', null));

    const experts = await get('/api/v1/rollups/experts');
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a.expert_id).localeCompare(String(b.expert_id));
    expect([...experts.experts].map(countsOnly).sort(byId)).toEqual(
      [...(await truth.expertFaqConversion(pool))].sort(byId),
    );
    expect(experts.trust_weighted_accuracy).toBeCloseTo((await truth.trustWeightedAccuracy(pool))!, 12);

    const interviews = await get('/api/v1/rollups/interviews?to=2024-04-07');
    expectStats(interviews.overall, await truth.overallStats(pool, null, '2024-04-07'));
    expectStats(interviews.weekly, await truth.weeklyStats(pool, null, '2024-04-07'));
    expect(interviews.top_knowledge_gaps).toEqual(await truth.topKnowledgeGaps(pool, null, '2024-04-07'));
  }

  it('serves the exported figures, and after erasures, flips and FAQ deletes the next export serves the new ones', async () => {
    const first = await runExport(app.db.pool, app.config.warehouseDir, quietLogger);
    await expectTruth(first.asOf);

    // Changes of every kind: an erased conversation, a flipped vote, a deleted FAQ, a deleted interview session.
    const admin = await app.key('admin');
    const ingest = await app.key('ingest');
    expect((await app.request('DELETE', '/api/v1/conversations/conv-10', { key: admin })).status).toBe(204);
    const { rows } = await app.db.pool.query(
      `select distinct on (conversation_id) conversation_id, vote from votes where conversation_id = 'conv-11'
        order by conversation_id, created_at desc, id desc`,
    );
    const flipped = rows[0].vote === 'up' ? 'down' : 'up';
    expect(
      (
        await app.request('POST', '/api/v1/votes', {
          key: ingest,
          body: { conversation_id: 'conv-11', vote: flipped, reasons: ['late'] },
        })
      ).status,
    ).toBe(201);
    await app.db.pool.query(`delete from faq_entries where id = (select id from faq_entries order by id desc limit 1)`);
    await app.db.pool.query(`delete from interview_sessions where external_ref = 'ext-20'`);

    const second = await runExport(app.db.pool, app.config.warehouseDir, quietLogger);
    expect(second.mode).toBe('incremental');
    expect(second.asOf.getTime()).toBeGreaterThan(first.asOf.getTime());
    await expectTruth(second.asOf);
    const votes = await get('/api/v1/rollups/votes');
    const lastDay = await app.db.pool.query(`select max((created_at at time zone 'UTC')::date)::text as d from votes`);
    expect(votes.daily.at(-1).day).toBe(lastDay.rows[0].d); // the new vote's day (today)

    // Rollups and raw tables come from the same publication: they agree inside the published file.
    const check = await app.services.warehouse.withConnection(
      async (conn) =>
        (
          await conn.runAndReadAll(
            `select (select count(*) from latest_votes) = (select count(distinct conversation_id) from votes)
              and (select sum(vote_count) from latest_votes) = (select count(*) from votes)
              and (select sum(up + down) from vote_daily) = (select count(*) from votes)
              and (select count(*) from latest_votes where conversation_id = 'conv-10') = 0 as consistent`,
          )
        ).getRowObjects()[0]!.consistent,
    );
    expect(check).toBe(true);
  });
});

describe('ROLLUP_SEGMENTS', () => {
  it.each([
    ['too many keys', 'a,b,c,d,e,f'],
    ['a repeated key', 'app,app'],
    ['a reserved name', 'app,segment'],
    ['not an identifier', 'App Name'],
    ['an empty key', 'app,,model'],
  ])('refuses %s at start, naming the variable', (_label, value) => {
    expect(() => configFromEnv({ ROLLUP_SEGMENTS: value })).toThrow(/ROLLUP_SEGMENTS/);
  });

  it('custom keys reach the export and the API: segment_keys, values, filters and 422 for the default keys', async () => {
    const app = await startTestApp({ ROLLUP_SEGMENTS: 'tier' });
    try {
      expect(app.config.rollupSegments).toEqual(['tier']);
      await app.db.pool.query(
        `insert into votes (conversation_id, vote, created_at, metadata)
         select 'c' || i, case when i % 3 = 0 then 'down' else 'up' end, '2024-03-04 10:00:00+00',
                case when i % 4 = 0 then '{}'::jsonb else jsonb_build_object('tier', case when i % 2 = 0 then 'gold' else 'free' end) end
           from generate_series(1, 20) as i`,
      );
      await runExport(app.db.pool, app.config.warehouseDir, quietLogger, { rollupSegments: app.config.rollupSegments });
      const read = await app.key('read');
      const res = await app.request('GET', '/api/v1/rollups/votes?segment=tier&tier=gold', { key: read });
      expect(res.status).toBe(200);
      expectDocumented('getVoteRollups', res.json);
      expect(res.json.segment_keys).toEqual(['tier']);
      expect(res.json.values).toEqual({ tier: ['free', '(none)', 'gold'] });
      const gold = await app.db.pool.query(`select count(*)::int as n from votes where metadata->>'tier' = 'gold'`);
      expect(res.json.series).toEqual([
        expect.objectContaining({ period: '2024-03-04', conversations: gold.rows[0].n }),
      ]);
      expect(res.json.segments.map((s: { value: string }) => s.value)).toEqual(['gold']);
      const refused = await app.request('GET', '/api/v1/rollups/votes?model=v1', { key: read });
      expect(refused.status).toBe(422);
      expect(refused.json.errors[0].path).toBe('/query/model');
    } finally {
      await app.close();
    }
  });
});
