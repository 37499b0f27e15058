import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { runCli } from '../../helpers/cli.ts';
import { exportKilledAfter } from '../../helpers/exportKill.ts';
import { postgresDigests, warehouseDigests, type TableDigest } from './compare.ts';
import { prng } from '../rollups/rollupFixture.ts';

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'fw-kill-'));
});
afterAll(async () => {
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const TRIALS = 10;

const same = (a: Record<string, TableDigest>, b: Record<string, TableDigest>) =>
  JSON.stringify(a) === JSON.stringify(b);

/** A new committed state: inserts, updates, deletes. */
async function change(round: number): Promise<void> {
  await db.pool.query(
    `insert into votes (conversation_id, vote) select 'k-t${round}-' || g, 'up' from generate_series(1, 150) g`,
  );
  await db.pool.query(`update votes set comment = 'trial ${round}' where id % 97 = ${round}`);
  await db.pool.query(`delete from votes where id % 211 = ${round}`);
}

// Twelve CLI processes, each a fresh Node: about 30 s on an idle 2-core machine, more while other test files run.
// Every change() updates and deletes rows, so each of these exports also rebuilds the file before publishing it
// (src/warehouse/export/compaction.ts), and the kills land in that phase too: about 1 s more per export on a loaded machine.
describe('kill -9 during export', { timeout: 300_000 }, () => {
  it(`leaves a published warehouse that opens and equals a committed snapshot, ${TRIALS} random kills; the next export converges`, async () => {
    const env = { DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    const warehouseDir = path.join(dataDir, 'warehouse');
    await db.pool.query(
      `insert into votes (conversation_id, vote, response, reasons, metadata)
       select 'k-' || (g % 500), case when g % 3 = 0 then 'down' else 'up' end, repeat('r', 300) || g, array['a', 'b'], jsonb_build_object('g', g)
         from generate_series(1, 30000) g`,
    );
    const states: Record<string, TableDigest>[] = [await postgresDigests(db.pool)];
    const tables = Object.keys(states[0]!);
    const first = await runCli(['export'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(same(await warehouseDigests(warehouseDir, tables), states[0]!)).toBe(true);
    // The kills are timed on an export like the ones they hit: incremental. The first, full export takes several
    // times longer, and delays drawn from its duration mostly land after an incremental export has finished.
    await change(0);
    states.push(await postgresDigests(db.pool));
    const second = await runCli(['export'], env);
    expect(second.code, second.stderr).toBe(0);
    const { rows: secondRun } = await db.pool.query(
      `select extract(epoch from finished_at - started_at) * 1000 as ms, detail->>'mode' as mode
         from job_runs order by id desc limit 1`,
    );
    expect(secondRun[0].mode).toBe('incremental');
    const duration = Number(secondRun[0].ms);
    expect(same(await warehouseDigests(warehouseDir, tables), states[1]!)).toBe(true);

    const rand = prng(4242);
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await change(trial + 1);
      states.push(await postgresDigests(db.pool));
      const delay = Math.floor(duration * rand() * 1.1);
      const exit = await exportKilledAfter(db.pool, env, delay);
      expect(exit.started, `trial ${trial}: the export never started`).toBe(true);
      outcomes.push(exit.signal === 'SIGKILL' ? 'killed' : `exit ${exit.code}`);
      // The published warehouse opens and is exactly one of the committed states exported so far.
      const published = await warehouseDigests(warehouseDir, tables);
      expect(
        states.some((state) => same(state, published)),
        `trial ${trial} (${outcomes.at(-1)} after ${delay} ms)`,
      ).toBe(true);
    }
    // Most trials die mid-export; a few finish first (the delay may exceed the export), which is fine too.
    expect(outcomes.filter((o) => o === 'killed').length).toBeGreaterThanOrEqual(3);

    const last = await runCli(['export'], env);
    expect(last.code, last.stderr).toBe(0);
    expect(same(await warehouseDigests(warehouseDir, tables), await postgresDigests(db.pool))).toBe(true);
    // The dead exports' work directories are gone, and their runs are no longer "running".
    expect(await readdir(path.join(warehouseDir, '.export'))).toEqual([]);
    const { rows } = await db.pool.query(
      `select status, count(*)::int as n from job_runs where job_name = 'export' group by status`,
    );
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    expect(byStatus.running).toBeUndefined();
    expect(byStatus.succeeded).toBeGreaterThanOrEqual(2);
  });
});
