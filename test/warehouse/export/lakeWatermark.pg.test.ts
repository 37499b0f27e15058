import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckLakeDigests, pgLakeDigests } from '../../helpers/lakeDigest.ts';
import { exportNow, tempWarehouse } from './compare.ts';
import { closeExportFixture, openExportFixture, type ExportFixture } from './exportFixture.ts';

/**
 * Two exports in a row can have one watermark: an old transaction elsewhere holds the cluster's xmin back. A lake
 * that missed the first of them must still be rewritten whole by the second (its manifest names another export),
 * or the rows the first carried would never reach it.
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

describe('a lake that missed an export of the same watermark', () => {
  it('is rewritten whole and equals Postgres', async () => {
    const { pool } = fixture!.db;
    const dir = fixture!.warehouse.dir;
    await exportNow(pool, dir);
    const holder = await pool.connect();
    try {
      // An open transaction with an xid holds every later snapshot's xmin, hence the watermark, where it is.
      await holder.query('begin');
      await holder.query('select pg_current_xact_id()');
      const lakeExport = await exportNow(pool, dir, { parquetDir: lake!.dir });
      const missed = await exportNow(pool, dir);
      await pool.query(`insert into votes (conversation_id, vote) values ('same-watermark', 'down')`);
      const without = await exportNow(pool, dir);
      await pool.query(`insert into votes (conversation_id, vote) values ('same-watermark-2', 'up')`);
      const next = await exportNow(pool, dir, { parquetDir: lake!.dir });
      expect(next.previousWatermark).toBe(without.watermark);
      expect(without.watermark).toBe(missed.watermark);
      expect(missed.watermark).toBe(lakeExport.watermark);
      expect(next.lake!.rewrittenWhole.votes).toBe('the lake does not reflect the previous export');
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    expect(await duckLakeDigests(pool, lake!.dir)).toEqual(await pgLakeDigests(pool));
  });
});
