import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { createApiKey } from '../../src/auth/keys.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import {
  computeRollups,
  DEFAULT_SEGMENT_KEYS,
  prepareSegments,
  rollupFiles,
} from '../../src/warehouse/rollups/rollups.ts';
import { startServe } from '../helpers/cli.ts';
import { EXPORTED_TABLES } from '../../src/warehouse/export/exportTypes.ts';
import { copyToDuckDB, duck } from '../warehouse/rollups/rollupFixture.ts';
import { withScratchDatabase } from './scratch.ts';

/**
 * `npm run bench -- rollups`: on VOTES votes, times the latest_votes + vote_daily recomputation in DuckDB
 * (the SQL files the exporter runs) against the same queries run directly on Postgres, in one run, and the median
 * latency of the rollup endpoints of a running `serve` over that warehouse. Targets: DuckDB >= 10x faster than
 * Postgres; endpoint median < 50 ms. Figures are printed, never asserted (README "Benchmarks"; docs/STYLE.md "Tests").
 */

const VOTES = Number(process.env.BENCH_VOTES ?? 5_000_000);
const CONVERSATIONS = 1_500_000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);

// The same deterministic rows on both sides: id i, conversation, vote, reasons and a created_at on whole seconds
// over 2024 (so equal timestamps occur), in Postgres through generate_series and in DuckDB through range().
const PG_SEED = `
  insert into votes (conversation_id, vote, reasons, created_at)
  select 'conv-' || ((i * 7919) % ${CONVERSATIONS}), case when (i * 31) % 7 < 3 then 'down' else 'up' end,
         case when (i * 31) % 7 < 3 then array['reason ' || (i % 13), 'reason ' || (i % 5)] else '{}' end,
         to_timestamp(1704067200 + (i * 104729) % 31536000)
    from generate_series(1::bigint, ${VOTES}) as i
   order by i`;
// DuckDB's rows also carry segment metadata and voters (README "Rollups"), which only the DuckDB rollups read: app
// and model per conversation (a tenth of the votes on another model, so conversations have several value tuples),
// release by the week of the vote (about 53 values, more than the top 50), an email pseudonym per conversation on
// 400 000 voters, a fifth of the votes anonymous.
const DUCK_SEED = `
  insert into votes (id, conversation_id, vote, reasons, created_at, metadata, email_hash)
  select i, 'conv-' || c, case when (i * 31) % 7 < 3 then 'down' else 'up' end,
         case when (i * 31) % 7 < 3 then ['reason ' || (i % 13), 'reason ' || (i % 5)] else []::varchar[] end,
         t,
         json_object('app', 'app' || (c % 4), 'model', 'v' || (case when i % 10 = 0 then i % 9 else c % 9 end),
                     'release', 'r' || (epoch(t)::bigint // 604800 % 60))::json,
         case when i % 5 = 0 then null else md5((c % 400000)::varchar) || md5((c % 400000)::varchar) end
    from (select i, (i * 7919) % ${CONVERSATIONS} as c, to_timestamp(1704067200 + (i * 104729) % 31536000) as t
            from range(1, ${VOTES + 1}) as r(i))`;

// What 01_latest_votes.sql and 02_vote_daily.sql compute, in the fastest Postgres form found (array_agg for arg_max;
// count(distinct) beats the two-level grouping on Postgres), with work_mem raised so sorts stay in memory.
const PG_ROLLUPS = [
  `create temp table latest_votes as
   select conversation_id, (array_agg(vote order by created_at desc, id desc))[1] as vote,
          max(created_at) as voted_at, count(*) as vote_count
     from votes group by conversation_id`,
  `create temp table vote_daily as
   select (created_at at time zone 'UTC')::date as day, count(*) filter (where vote = 'up') as up,
          count(*) filter (where vote = 'down') as down, count(distinct conversation_id) as conversations,
          (count(*) filter (where vote = 'up'))::float8 / count(*) as up_rate
     from votes group by 1`,
];

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
}

async function duckRollups(conn: DuckDBConnection): Promise<number> {
  const files = (await rollupFiles()).filter((f) => f.table === 'latest_votes' || f.table === 'vote_daily');
  await prepareSegments(conn, DEFAULT_SEGMENT_KEYS); // the macros latest_votes uses (its segment_values)
  const [, ms] = await timed(async () => {
    for (const f of files) await conn.run(f.sql);
  });
  return ms;
}

async function endpointLatency(url: string, key: string, route: string): Promise<{ p50: number; p95: number }> {
  const get = async () => {
    const started = performance.now();
    const res = await fetch(url + route, { headers: { authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 10; i++) await get(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) times.push(await get());
  return { p50: median(times), p95: percentile(times, 0.95) };
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fw-bench-rollups-'));
  try {
    await withScratchDatabase(async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const warehouseDir = path.join(dir, 'warehouse');
      await mkdir(warehouseDir);
      const instance = await DuckDBInstance.create(path.join(warehouseDir, 'warehouse.duckdb'));
      const conn = await instance.connect();
      let duckMs: number[];
      let pgMs: number;
      try {
        say(
          `rollups benchmark: ${VOTES.toLocaleString('en')} votes on ${CONVERSATIONS.toLocaleString('en')} conversations`,
        );
        // The snapshot's schema, copied while Postgres is still empty: every exported table and an export run, as the exporter leaves it.
        const pool = createPool({
          connectionString: url,
          max: 2,
          idleInTransactionTimeoutMs: 0,
          logger: createLogger('warn'),
        });
        try {
          await copyToDuckDB(pool, conn, dir, new Date().toISOString(), EXPORTED_TABLES);
        } finally {
          await pool.end();
        }

        const [, seedPg] = await timed(async () => {
          await client.query('set synchronous_commit = off');
          await client.query(PG_SEED);
          await client.query('vacuum analyze votes');
        });
        say(`seeded Postgres in ${seconds(seedPg)}`);

        const [, seedDuck] = await timed(() => conn.run(DUCK_SEED));
        say(`seeded DuckDB in ${seconds(seedDuck)}`);

        duckMs = [];
        for (let i = 0; i < 3; i++) duckMs.push(await duckRollups(conn));
        await client.query(`set work_mem = '256MB'`);
        const [, ms] = await timed(async () => {
          for (const sql of PG_ROLLUPS) await client.query(sql);
        });
        pgMs = ms;

        // Both engines computed the same figures: the whole daily series and the latest-vote totals agree.
        const pgDaily = (
          await client.query(
            `select day::text as day, up::int, down::int, conversations::int, up_rate from vote_daily order by day`,
          )
        ).rows;
        const duckDaily = await duck(
          conn,
          `select strftime(day, '%Y-%m-%d') as day, up, down, conversations, up_rate from vote_daily order by day`,
        );
        const pgLatest = (
          await client.query(
            `select vote, count(*)::int as n, sum(vote_count)::int as votes from latest_votes group by vote order by vote`,
          )
        ).rows;
        const duckLatest = await duck(
          conn,
          `select vote, count(*) as n, sum(vote_count)::bigint as votes from latest_votes group by vote order by vote`,
        );
        if (
          JSON.stringify(pgDaily) !== JSON.stringify(duckDaily) ||
          JSON.stringify(pgLatest) !== JSON.stringify(duckLatest)
        ) {
          throw new Error(
            `DuckDB and Postgres rollups differ: the benchmark would compare different work\n${JSON.stringify([pgDaily.slice(0, 2), duckDaily.slice(0, 2), pgLatest, duckLatest])}`,
          );
        }
        const [timings, allMs] = await timed(() => computeRollups(conn));
        say(`all rollups (sql/rollups/*.sql) in DuckDB: ${seconds(allMs)}`);
        say(`  per table: ${timings.map((t) => `${t.table} ${seconds(t.ms)}`).join(', ')}`);
        const sizes = await duck(
          conn,
          `select (select count(*) from vote_segment_cube) as cube_rows,
                  (select count(*) from vote_segment_cube where multi_kind is not null) as multi_rows,
                  (select count(*) from vote_segment_conversations) as conversation_rows`,
        );
        say(`  segment tables: ${JSON.stringify(sizes[0])}`);
      } finally {
        conn.closeSync();
        instance.closeSync();
        await client.end();
      }
      const ratio = pgMs / median(duckMs);
      say(
        `latest_votes + vote_daily: DuckDB ${seconds(median(duckMs))} (median of 3: ${duckMs.map(seconds).join(', ')}), ` +
          `Postgres ${seconds(pgMs)}; DuckDB is ${ratio.toFixed(1)}x faster (target >= 10x) ${ratio >= 10 ? 'OK' : 'BELOW TARGET'}`,
      );

      const keyPool = createPool({
        connectionString: url,
        max: 1,
        idleInTransactionTimeoutMs: 0,
        logger: createLogger('warn'),
      });
      const { key } = await createApiKey(keyPool, 'bench', ['read']);
      await keyPool.end();
      const server = await startServe(['--port', '0', '--no-jobs'], {
        DATABASE_URL: url,
        DATA_DIR: dir,
        WAREHOUSE_DIR: warehouseDir,
        LOG_LEVEL: 'warn',
      });
      try {
        for (const route of [
          '/api/v1/rollups/votes',
          '/api/v1/rollups/votes?from=2024-03-01&to=2024-03-31',
          '/api/v1/rollups/votes?model=v3',
          '/api/v1/rollups/votes?segment=release&model=v3',
          '/api/v1/rollups/votes?granularity=week&app=app1&from=2024-03-01&to=2024-05-31',
          '/api/v1/rollups/votes?granularity=month&segment=model&app=app2',
          '/api/v1/rollups/experts',
          '/api/v1/rollups/interviews',
        ]) {
          const { p50, p95 } = await endpointLatency(server.url, key, route);
          say(
            `GET ${route.padEnd(80)} p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms over ${REQUESTS} requests (target p50 < 50 ms) ${p50 < 50 ? 'OK' : 'ABOVE TARGET'}`,
          );
        }
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
