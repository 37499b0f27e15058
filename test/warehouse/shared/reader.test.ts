import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseReader } from '../../../src/warehouse/shared/reader.ts';
import { publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { exportNow, tempWarehouse } from '../export/compare.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const count = (reader: WarehouseReader) =>
  reader.withConnection(async (conn) =>
    Number((await conn.runAndReadAll('select count(*)::int as n from votes')).getRowObjects()[0]!.n),
  );

describe('WarehouseReader', () => {
  it('answers null before the first export, and is ready', async () => {
    const warehouse = await tempWarehouse();
    const reader = new WarehouseReader(warehouse.dir);
    try {
      expect(await reader.withConnection(async () => 'opened')).toBeNull();
      await expect(reader.check()).resolves.toBeUndefined();
    } finally {
      await reader.close();
      await warehouse.remove();
    }
  });

  it('keeps answering during an export, sees only whole snapshots, and moves to the new one once published', async () => {
    const warehouse = await tempWarehouse();
    const reader = new WarehouseReader(warehouse.dir);
    try {
      await db.pool.query(
        `insert into votes (conversation_id, vote) select 'r-' || g, 'up' from generate_series(1, 1000) g`,
      );
      await exportNow(db.pool, warehouse.dir);
      expect(await count(reader)).toBe(1000);
      await db.pool.query(
        `insert into votes (conversation_id, vote, response) select 'r2-' || g, 'down', repeat('y', 500) from generate_series(1, 20000) g`,
      );
      // A query in flight on the old snapshot when the new one is published finishes on the old one.
      let releaseOld!: () => void;
      const held = reader.withConnection(async (conn) => {
        await new Promise<void>((resolve) => (releaseOld = resolve));
        return Number((await conn.runAndReadAll('select count(*)::int as n from votes')).getRowObjects()[0]!.n);
      });
      const seen = new Set<number>();
      let exporting = true;
      const exported = exportNow(db.pool, warehouse.dir).finally(() => (exporting = false));
      while (exporting) seen.add((await count(reader))!);
      await exported;
      seen.add((await count(reader))!);
      expect([...seen].every((n) => n === 1000 || n === 21000)).toBe(true);
      expect(await count(reader)).toBe(21000);
      releaseOld();
      expect(await held).toBe(1000);
    } finally {
      await reader.close();
      await warehouse.remove();
    }
  });

  it('runs concurrent calls on their own connections', async () => {
    const warehouse = await tempWarehouse();
    const reader = new WarehouseReader(warehouse.dir);
    try {
      await exportNow(db.pool, warehouse.dir);
      const results = await Promise.all(Array.from({ length: 8 }, () => count(reader)));
      expect(new Set(results).size).toBe(1);
    } finally {
      await reader.close();
      await warehouse.remove();
    }
  });

  it('is not ready when the published file cannot be opened', async () => {
    const warehouse = await tempWarehouse();
    const reader = new WarehouseReader(warehouse.dir);
    try {
      await writeFile(publishedPath(warehouse.dir), 'this is not a DuckDB file');
      await expect(reader.check()).rejects.toThrow();
    } finally {
      await reader.close();
      await warehouse.remove();
    }
  });
});
