import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import { migrateWarehouse, WAREHOUSE_SCHEMA_DIR } from '../../../src/warehouse/shared/warehouseSchema.ts';
import type { TestDatabase } from '../../helpers/db.ts';
import { duckRows, exportNow, onPublished } from '../export/compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from '../export/exportFixture.ts';

let db: TestDatabase;
let warehouse: ExportFixture['warehouse'];
let fixture: ExportFixture | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  ({ db, warehouse } = fixture);
});
afterAll(() => closeExportFixture(fixture));

async function onFile<T>(file: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(file);
  try {
    const conn = await instance.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

const columnsOf = async (conn: DuckDBConnection, table: string) =>
  (
    await duckRows(conn, `select column_name from duckdb_columns() where table_name = '${table}' order by column_index`)
  ).map((r) => r.column_name);

describe('the warehouse schema (sql/warehouse)', () => {
  it('creates the warehouse tables on an empty file, once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fw-schema-'));
    try {
      await onFile(path.join(dir, 'w.duckdb'), async (conn) => {
        expect(await migrateWarehouse(conn)).toEqual([1, 2, 3]);
        expect(await migrateWarehouse(conn)).toEqual([]);
        expect(await columnsOf(conn, 'export_runs')).toContain('snapshot');
        expect(await columnsOf(conn, 'rollup_state')).toEqual(['definitions']);
        const versions = await duckRows(conn, 'select version, name from schema_version order by version');
        expect(versions.map((v) => v.name)).toEqual([
          '0001_export_runs.sql',
          '0002_export_runs_snapshot.sql',
          '0003_rollup_state.sql',
        ]);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failing file leaves no trace: neither its changes nor its schema_version row', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fw-schema-'));
    try {
      const sqlDir = path.join(dir, 'sql');
      await mkdir(sqlDir);
      await writeFile(path.join(sqlDir, '0001_ok.sql'), 'create table a (x INTEGER);');
      await writeFile(path.join(sqlDir, '0002_bad.sql'), 'create table b (x INTEGER); select * from no_such_table;');
      await onFile(path.join(dir, 'w.duckdb'), async (conn) => {
        await expect(migrateWarehouse(conn, sqlDir)).rejects.toThrow(/0002_bad\.sql/);
        const tables = await duckRows(conn, `select table_name from duckdb_tables() order by table_name`);
        expect(tables.map((t) => t.table_name)).toEqual(['a', 'schema_version']);
        expect(await duckRows(conn, 'select version from schema_version')).toEqual([{ version: 1 }]);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('upgrades a warehouse of the first version: the next export works and keeps its history', async () => {
    await insertVotes(db.pool, 40, 'old-');
    await exportNow(db.pool, warehouse.dir);
    await insertVotes(db.pool, 5, 'old2-');
    await exportNow(db.pool, warehouse.dir);
    // Turn the published file into one written before the schema runner: export_runs as the first schema file
    // creates it (no snapshot column), no rollup_state, no schema_version.
    const firstVersion = await readFile(path.join(WAREHOUSE_SCHEMA_DIR, '0001_export_runs.sql'), 'utf8');
    const before = await onFile(publishedPath(warehouse.dir), async (conn) => {
      await conn.run('create table old_runs as select * exclude (snapshot) from export_runs');
      await conn.run('drop table export_runs');
      await conn.run(firstVersion);
      await conn.run('insert into export_runs select * from old_runs');
      await conn.run('drop table old_runs');
      await conn.run('drop table rollup_state');
      await conn.run('drop table schema_version');
      await conn.run('checkpoint');
      expect(await columnsOf(conn, 'export_runs')).not.toContain('snapshot');
      return duckRows(
        conn,
        'select run_id::varchar as run_id, watermark::varchar as w from export_runs order by run_id',
      );
    });
    expect(before).toHaveLength(2);

    await insertVotes(db.pool, 7, 'new-');
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.mode).toBe('incremental');
    expect(result.previousWatermark).toBe(before[1]!.w);
    await expectWarehouseEqual(db.pool, warehouse.dir);
    await onPublished(warehouse.dir, async (conn) => {
      const runs = await duckRows(
        conn,
        'select run_id::varchar as run_id, watermark::varchar as w, snapshot from export_runs order by run_id',
      );
      expect(runs.slice(0, 2)).toEqual(before.map((r) => ({ ...r, snapshot: null })));
      expect(runs).toHaveLength(3);
      expect(runs[2]!.snapshot).toMatch(/^\d+:\d+:/);
      expect(await duckRows(conn, 'select version from schema_version order by version')).toEqual([
        { version: 1 },
        { version: 2 },
        { version: 3 },
      ]);
      expect(await duckRows(conn, 'select count(*)::int as n from rollup_state')).toEqual([{ n: 1 }]);
    });
    // And the one after it reads the snapshot the upgraded file recorded.
    await insertVotes(db.pool, 3, 'newer-');
    expect((await exportNow(db.pool, warehouse.dir)).mode).toBe('incremental');
    await expectWarehouseEqual(db.pool, warehouse.dir);
  });
});
