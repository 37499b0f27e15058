import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../helpers/db.ts';
import { duckRows, exportNow, onPublished } from './compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from './exportFixture.ts';

// A transaction held open in one session while others write and export: a real Postgres server only (on embedded
// PGlite every other connection waits for that transaction to end).

let db: TestDatabase;
let warehouse: ExportFixture['warehouse'];
let fixture: ExportFixture | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  ({ db, warehouse } = fixture);
  // As in export.test.ts, where this ran after the first exports: the export during the transaction is incremental.
  await insertVotes(db.pool, 50, 'first-');
  await exportNow(db.pool, warehouse.dir);
});
afterAll(() => closeExportFixture(fixture));

const votes = (n: number, prefix: string) => insertVotes(db.pool, n, prefix);
const expectEqual = (tables?: readonly string[]) => expectWarehouseEqual(db.pool, warehouse.dir, tables);

describe('export', () => {
  it('never misses a row committed late by a long transaction, and reports the lag', async () => {
    const open = await db.pool.connect();
    try {
      await open.query('begin');
      await open.query(`insert into votes (conversation_id, vote) values ('late', 'up')`);
      const { rows: xid } = await open.query(`select pg_current_xact_id()::text as x`);
      // Work that starts after the long transaction and commits before the export.
      await votes(3, 'meanwhile-');
      const during = await exportNow(db.pool, warehouse.dir);
      // The open transaction holds the watermark back, and the export says how long it has been open.
      expect(BigInt(during.watermark)).toBeLessThanOrEqual(BigInt(xid[0].x));
      expect(during.lagSeconds).not.toBeNull();
      expect(during.lagSeconds!).toBeGreaterThanOrEqual(0);
      const [seen] = await onPublished(warehouse.dir, (conn) =>
        duckRows(
          conn,
          `select count(*) filter (where conversation_id = 'late')::int as late,
                  count(*) filter (where conversation_id like 'meanwhile-%')::int as meanwhile from votes`,
        ),
      );
      // Committed work is not held back by the open transaction; the open transaction's row is not there yet.
      expect(seen).toEqual({ late: 0, meanwhile: 3 });
      await open.query('commit');
    } finally {
      open.release();
    }
    const after = await exportNow(db.pool, warehouse.dir);
    expect(after.mode).toBe('incremental');
    // Only the late row is read again: the rows the previous export saw are not re-copied although they were written
    // after its watermark (the open transaction held it back).
    expect(after.tables.find((t) => t.table === 'votes')!.changed).toBe(1);
    const rows = await onPublished(warehouse.dir, (conn) =>
      duckRows(conn, `select count(*)::int as n from votes where conversation_id = 'late'`),
    );
    expect(rows[0]!.n).toBe(1);
    await expectEqual();
  });
});
