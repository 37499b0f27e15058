import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXPORTED_TABLES } from '../../src/warehouse/export/exportTypes.ts';
import { runCli } from '../helpers/cli.ts';
import { exportKilledAfter } from '../helpers/exportKill.ts';
import { onPublished, postgresDigests, warehouseDigests } from '../warehouse/export/compare.ts';
import { prng } from '../warehouse/rollups/rollupFixture.ts';
import { describeCrashes, startFaultService, watchCrashes, type FaultService } from './harness.ts';
import { createExpert, ok, steadyLoad, tally, writeOnce, WRITE_PATHS, type Attempt } from './load.ts';

const TRIALS = 6;
const SEED = 8080;

let service: FaultService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Row counts of every exported table in the published warehouse, opened READ_ONLY as any reader would. */
async function publishedCounts(warehouseDir: string): Promise<Record<string, number>> {
  return onPublished(warehouseDir, async (conn) => {
    const out: Record<string, number> = {};
    for (const table of EXPORTED_TABLES) {
      const reader = await conn.runAndReadAll(`select count(*)::integer as n from "${table}"`);
      out[table] = Number(reader.getRowObjects()[0]!.n);
    }
    return out;
  });
}

describe('kill -9 during export under concurrent writers', () => {
  it(`leaves a published warehouse that always opens, ${TRIALS} random kills (seed ${SEED}); one more export equals Postgres`, async () => {
    const crashes = watchCrashes();
    try {
      service = await startFaultService();
      const { url, keys, check, env } = service;
      const warehouseDir = path.join(service.dataDir, 'warehouse');
      const ctx = { url, key: keys.app, expertId: await createExpert(url, keys.app), timeoutMs: 10_000 };
      let stopped = false;
      // Writers on every write path through the service, for the whole test.
      const load = steadyLoad<Attempt>({
        workers: WRITE_PATHS.length,
        step: (worker) => writeOnce(ctx, WRITE_PATHS[worker % WRITE_PATHS.length]!),
        stopped: () => stopped,
        maxSteps: 50_000,
        deadline: Date.now() + 180_000,
        pauseMs: 20,
      });
      try {
        const first = await runCli(['export'], env);
        expect(first.code, first.stderr).toBe(0);
        // The kills are timed on an incremental export under the same writers.
        const second = await runCli(['export'], env);
        expect(second.code, second.stderr).toBe(0);
        const lastSucceeded = async () => {
          const { rows } = await check.query(
            `select extract(epoch from finished_at - started_at) * 1000 as ms, detail->>'mode' as mode
               from job_runs where job_name = 'export' and status = 'succeeded' order by id desc limit 1`,
          );
          return { ms: Number(rows[0].ms), mode: rows[0].mode as string };
        };
        expect((await lastSucceeded()).mode).toBe('incremental');
        // The delays follow the latest finished export's duration: the second export on a fresh warehouse is slower
        // than those after it.
        let duration = (await lastSucceeded()).ms;
        const durations = [duration];

        const rand = prng(SEED);
        const outcomes: string[] = [];
        let previous = await publishedCounts(warehouseDir);
        for (let trial = 0; trial < TRIALS; trial++) {
          const delay = Math.floor(duration * rand());
          const exit = await exportKilledAfter(check, env, delay);
          expect(exit.started, `trial ${trial}: the export never started`).toBe(true);
          outcomes.push(exit.signal === 'SIGKILL' ? 'killed' : `exit ${exit.code}`);
          // The published warehouse opens; the writers only add rows, so no table shrinks from one published
          // warehouse to the next, and none holds more than Postgres.
          const counts = await publishedCounts(warehouseDir);
          const { rows: pgRows } = await check.query<{ n: number }>(`select count(*)::int as n from votes`);
          const label = `trial ${trial} (${outcomes.at(-1)} after ${delay} ms)`;
          for (const table of EXPORTED_TABLES)
            expect(counts[table], `${label}: ${table}`).toBeGreaterThanOrEqual(previous[table]!);
          expect(counts.votes, label).toBeLessThanOrEqual(pgRows[0]!.n);
          previous = counts;
          if (exit.signal !== 'SIGKILL') durations.push((duration = (await lastSucceeded()).ms));
        }
        console.log(
          `export kills under writers: ${JSON.stringify(outcomes)} (incremental exports ${durations.map(Math.round).join(', ')} ms)`,
        );
        expect(outcomes.filter((o) => o === 'killed').length).toBeGreaterThanOrEqual(3);
      } finally {
        stopped = true;
      }
      const attempts = await load;
      const last = await runCli(['export'], env);
      expect(last.code, last.stderr).toBe(0);
      const postgres = await postgresDigests(check);
      expect(await warehouseDigests(warehouseDir, Object.keys(postgres))).toEqual(postgres);
      expect(await readdir(path.join(warehouseDir, '.export'))).toEqual([]);
      const { rows: runs } = await check.query(
        `select count(*)::int as n from job_runs where job_name = 'export' and status = 'running'`,
      );
      expect(runs[0].n).toBe(0);
      // The writers were served throughout: every answer a 2xx (no fault here but the kills).
      const summary = JSON.stringify(tally(attempts));
      console.log(`writers during the kills: ${attempts.length} requests ${summary}`);
      expect(attempts.filter((a) => !ok(a)).length, summary).toBe(0);
      expect(crashes.errors, describeCrashes(crashes.errors)).toEqual([]);
    } finally {
      crashes.stop();
    }
  });
});
