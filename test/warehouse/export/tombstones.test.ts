import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneTombstonesJob } from '../../../jobs/pruneTombstones.ts';
import { warehouseKey } from '../../../src/warehouse/export/exportState.ts';
import { pruneTombstones } from '../../../src/warehouse/export/tombstones.ts';
import { exportNow, tempWarehouse, until } from './compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from './exportFixture.ts';

let fixture: ExportFixture | undefined;
let stale: { dir: string; remove: () => Promise<void> } | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  stale = await tempWarehouse();
});
afterAll(async () => {
  await closeExportFixture(fixture);
  await stale?.remove();
});

const tombstoneCount = async (below?: string) =>
  (
    await fixture!.db.pool.query<{ n: number }>(
      `select count(*)::int as n from tombstones where $1::xid8 is null or txid < $1::xid8`,
      [below ?? null],
    )
  ).rows[0]!.n;

describe('prune-tombstones', () => {
  it('prunes nothing while no warehouse has exported', async () => {
    await fixture!.db.pool.query(`delete from votes where id in (select id from votes order by id limit 3)`);
    expect(await pruneTombstones(fixture!.db.pool)).toEqual({ deleted: 0, prunedBelow: null });
    expect(await tombstoneCount()).toBeGreaterThanOrEqual(3);
  });

  it('deletes the tombstones every recent warehouse has applied; a warehouse left behind exports in full, correctly', async () => {
    const { db, warehouse } = fixture!;
    await insertVotes(db.pool, 40, 'prune-');
    await exportNow(db.pool, warehouse.dir);
    await exportNow(db.pool, stale!.dir);
    // Deletes the live warehouse applies, and the stale one never sees as tombstones.
    const { rows: deleted } = await db.pool.query<{ xid: string }>(
      `with gone as (delete from votes where conversation_id in ('prune-1', 'prune-2') returning 1)
       select pg_current_xact_id()::text as xid from gone limit 1`,
    );
    // Other test files share the cluster, and a transaction of theirs open now would hold the next watermark at or
    // below the delete (tombstones at or above a watermark are kept, rightly). Wait until the cluster has moved past
    // it, so the live warehouse's watermark is above the stale one's.
    await until(async () => {
      const { rows } = await db.pool.query<{ passed: boolean }>(
        `select pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 as passed`,
        [deleted[0]!.xid],
      );
      return rows[0]!.passed;
    }, 'the cluster to move past the delete');
    const live = await exportNow(db.pool, warehouse.dir);
    expect(live.mode).toBe('incremental');
    // The second warehouse stopped exporting 40 days ago: it no longer holds tombstones back.
    await db.pool.query(`update export_state set updated_at = now() - interval '40 days' where warehouse = $1`, [
      warehouseKey(stale!.dir),
    ]);
    const prunable = await tombstoneCount(live.watermark);
    expect(prunable).toBeGreaterThan(0);
    const pruned = await pruneTombstonesJob.run({ pool: db.pool } as never);
    expect(pruned).toEqual({ rows: { tombstones: prunable }, detail: { pruned_below: live.watermark } });
    expect(await tombstoneCount(live.watermark)).toBe(0);

    // The live warehouse goes on incrementally; the stale one rebuilds in full and is right.
    expect((await exportNow(db.pool, warehouse.dir)).mode).toBe('incremental');
    const back = await exportNow(db.pool, stale!.dir);
    expect(back.mode).toBe('full');
    expect(back.reason).toMatch(/tombstones were pruned/);
    await expectWarehouseEqual(db.pool, stale!.dir);
    await expectWarehouseEqual(db.pool, warehouse.dir);
  });

  it('never lowers the horizon', async () => {
    const { db } = fixture!;
    const before = (await db.pool.query(`select pruned_below::text as h from tombstone_horizon`)).rows[0].h as string;
    await db.pool.query(`update export_state set watermark = '1'::xid8`);
    await pruneTombstones(db.pool);
    const after = (await db.pool.query(`select pruned_below::text as h from tombstone_horizon`)).rows[0].h as string;
    expect(after).toBe(before);
  });
});
