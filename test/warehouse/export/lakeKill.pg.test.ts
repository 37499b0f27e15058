import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal } from '../../../src/warehouse/shared/sqlText.ts';
import { BIN, cliEnv, runCli } from '../../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { exportKilledAfter } from '../../helpers/exportKill.ts';
import { duckLakeDigests, pgLakeDigests, readLakeManifest } from '../../helpers/lakeDigest.ts';
import { prng, seedFeedback } from '../rollups/rollupFixture.ts';
import { tempWarehouse } from './compare.ts';

/**
 * kill -9 of `feedback-warehouse export` (LAKE_DIR set, as the scheduled export runs) at random points: after each
 * kill the lake's manifest is a complete, readable set (every file it lists is there, whole, with the rows it says),
 * and one more export makes the lake equal Postgres with nothing a killed export left behind.
 */
const TRIALS = 8;
const SEED = 1808;

let db: TestDatabase | undefined;
let dataDir: { dir: string; remove: () => Promise<void> } | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await tempWarehouse();
  await seedFeedback(db.pool, { conversations: 200, sessions: 80 });
  // Enough rows over 30 days that the lake write takes a while, so that kills land in it too.
  await db.pool.query(
    `insert into votes (conversation_id, vote, query, reasons, created_at)
     select 'kill-' || (g % 3000), case when g % 3 = 0 then 'down' else 'up' end, repeat('q', g % 300),
            array['r' || (g % 11)], timestamptz '2024-04-01' + (g % 30) * interval '1 day' + (g % 86400) * interval '1 second'
       from generate_series(1, 60000) g`,
  );
});
afterAll(async () => {
  await db?.drop();
  await dataDir?.remove();
});

/** Every file the manifest lists exists, has the size it says and the rows it says (read from its footer). */
async function expectManifestWhole(lakeDir: string, label: string): Promise<number> {
  const manifest = await readLakeManifest(lakeDir);
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const conn = await instance.connect();
    try {
      for (const table of Object.values(manifest.tables)) {
        for (const file of table.files) {
          const full = path.join(lakeDir, file.path);
          expect((await stat(full)).size, `${label}: ${file.path}`).toBe(file.bytes);
          const reader = await conn.runAndReadAll(
            `select count(*)::integer as n from read_parquet(${literal(full)}, hive_partitioning = false)`,
          );
          expect(Number(reader.getRowObjects()[0]!.n), `${label}: ${file.path}`).toBe(file.rows);
        }
      }
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  return manifest.export_id;
}

/** `feedback-warehouse export`, SIGKILLed `delayMs` after it published the warehouse (so inside its lake write). */
async function exportKilledAfterPublication(
  env: Record<string, string>,
  before: string | null,
  delayMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; started: boolean }> {
  const child = spawn(process.execPath, [BIN, 'export'], { env: cliEnv(env), stdio: 'ignore' });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  let started = false;
  while (!done && !started) {
    started = (await publishedWatermark()) !== before;
    if (!started) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (started) setTimeout(() => child.kill('SIGKILL'), delayMs);
  return { ...(await exited), started };
}

/** The watermark of the warehouse last published (export_state, recorded right after the publication). */
async function publishedWatermark(): Promise<string | null> {
  const { rows } = await db!.pool.query(`select max(watermark::text) as w from export_state`);
  return rows[0]?.w ?? null;
}

describe('kill -9 during an export that keeps a lake', () => {
  it(
    `leaves a complete manifest after ${TRIALS} random kills (seed ${SEED}); one more export equals Postgres`,
    { timeout: 300_000 },
    async () => {
      const { pool } = db!;
      const lakeDir = path.join(dataDir!.dir, 'lake');
      const env = { DATABASE_URL: db!.url, DATA_DIR: dataDir!.dir, LAKE_DIR: lakeDir };
      const first = await runCli(['export'], env);
      expect(first.code, first.stderr).toBe(0);
      const rand = prng(SEED);
      const outcomes: string[] = [];
      let exportId = await expectManifestWhole(lakeDir, 'first export');
      for (let trial = 0; trial < TRIALS; trial++) {
        // Inserts, updates and an erasure for the export to carry, spread over the days.
        await pool.query(
          `insert into votes (conversation_id, vote, created_at)
         select 'kill-new-' || $1::int || '-' || g, 'up', timestamptz '2024-04-01' + (g % 30) * interval '1 day'
           from generate_series(1, 200) g`,
          [trial],
        );
        await pool.query(`update votes set vote = 'down' where id in (select id from votes order by id desc limit 50)`);
        await pool.query(`delete from votes where conversation_id = $1`, [`kill-${trial * 7}`]);
        // Half the kills are timed over a whole export's duration (the last one that finished), half over its lake
        // write: once the warehouse is published, within the lake write's duration, where a kill must leave the
        // previous manifest valid.
        const { rows } = await pool.query<{ ms: number; phases: Record<string, number> }>(
          `select extract(epoch from finished_at - started_at) * 1000 as ms, detail->'phases_ms' as phases from job_runs
          where job_name = 'export' and status = 'succeeded' order by id desc limit 1`,
        );
        const published = await publishedWatermark();
        const inLakeWrite = trial % 2 === 1;
        const delay = Math.floor((inLakeWrite ? (rows[0]!.phases.lake ?? 0) : Number(rows[0]!.ms) * 1.2) * rand());
        const exit = inLakeWrite
          ? await exportKilledAfterPublication(env, published, delay)
          : await exportKilledAfter(pool, env, delay);
        expect(exit.started, `trial ${trial}: the export never started`).toBe(true);
        const label = `trial ${trial} (${exit.signal ?? `exit ${exit.code}`} after ${delay} ms)`;
        const id = await expectManifestWhole(lakeDir, label);
        const inLake = (await publishedWatermark()) !== published && id === exportId;
        outcomes.push(
          `${exit.signal === 'SIGKILL' ? 'killed' : `exit ${exit.code}`}${inLake ? ' in the lake write' : ''}${id === exportId ? '' : ', lake published'}`,
        );
        exportId = id;
      }
      console.log(`lake export kills: ${JSON.stringify(outcomes)}`);
      expect(outcomes.filter((o) => o.startsWith('killed')).length).toBeGreaterThanOrEqual(4);
      expect(outcomes.filter((o) => o.includes('in the lake write')).length).toBeGreaterThanOrEqual(2);
      const last = await runCli(['export'], env);
      expect(last.code, last.stderr).toBe(0);
      await expectManifestWhole(lakeDir, 'last export');
      expect(await duckLakeDigests(pool, lakeDir)).toEqual(await pgLakeDigests(pool));
      // Nothing a killed export wrote is left: no temporary file, no staging directory, no unlisted part.
      const manifest = await readLakeManifest(lakeDir);
      const listed = new Set([
        ...Object.values(manifest.tables).flatMap((t) => t.files.map((f) => f.path)),
        ...manifest.retired.map((r) => r.path),
      ]);
      const onDisk = (await readdir(lakeDir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => path.relative(lakeDir, path.join(e.parentPath, e.name)))
        .filter((f) => f !== '_manifest.json');
      expect(onDisk.filter((f) => !listed.has(f))).toEqual([]);
    },
  );
});
