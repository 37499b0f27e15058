import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import { EXPORTED_TABLES } from '../../../src/warehouse/export/exportTypes.ts';
import type { TestDatabase } from '../../helpers/db.ts';
import { compareWarehouse, duckRows, existingTables, exportNow, onPublished } from './compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from './exportFixture.ts';

let db: TestDatabase;
let warehouse: ExportFixture['warehouse'];
let fixture: ExportFixture | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  ({ db, warehouse } = fixture);
});
afterAll(() => closeExportFixture(fixture));

const votes = (n: number, prefix: string) => insertVotes(db.pool, n, prefix);
const expectEqual = (tables?: readonly string[]) => expectWarehouseEqual(db.pool, warehouse.dir, tables);

describe('export', () => {
  it('the first export is full: every feedback table, the same column names, the same rows', async () => {
    await votes(50, 'first-');
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.mode).toBe('full');
    expect(result.reason).toBe('first export');
    const present = await existingTables(db.pool);
    expect(result.tables.map((t) => t.table)).toEqual(present);
    expect(present).toContain('votes');
    for (const table of present) {
      const { rows } = await db.pool.query<{ c: string }>(
        `select column_name as c from information_schema.columns where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
        [table],
      );
      const duckColumns = await onPublished(warehouse.dir, (conn) =>
        duckRows(
          conn,
          `select column_name as c from information_schema.columns where table_name = '${table}' order by ordinal_position`,
        ),
      );
      expect(
        duckColumns.map((r) => r.c),
        table,
      ).toEqual(rows.map((r) => r.c));
    }
    await expectEqual();
  });

  it('records the run in export_runs inside the warehouse: as_of, mode, counts, watermark', async () => {
    const [run] = await onPublished(warehouse.dir, (conn) =>
      duckRows(
        conn,
        `select run_id, mode, rows_changed, rows_deleted, as_of, watermark, tables from export_runs order by finished_at desc limit 1`,
      ),
    );
    const { rows } = await db.pool.query('select count(*)::int as n from votes');
    expect(run).toMatchObject({ mode: 'full', rows_deleted: '0' });
    expect(JSON.parse(run!.tables as string).votes).toMatchObject({
      mode: 'full',
      rows: rows[0].n,
      changed: rows[0].n,
    });
    expect(Number(run!.watermark)).toBeGreaterThan(0);
    expect(new Date(String(run!.as_of)).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('the second export copies only what changed: inserts, updates and deletes', async () => {
    await votes(5, 'second-');
    const { rowCount: updated } = await db.pool.query(
      `update votes set comment = 'edited' where conversation_id = 'first-1'`,
    );
    const { rowCount: deleted } = await db.pool.query(`delete from votes where conversation_id = 'first-2'`);
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.mode).toBe('incremental');
    const table = result.tables.find((t) => t.table === 'votes')!;
    const { rows } = await db.pool.query('select count(*)::int as n from votes');
    // Exactly the rows written since the first export, even when a transaction open elsewhere in the cluster (another
    // test file) held that export's watermark back.
    expect(table).toMatchObject({ mode: 'incremental', changed: 5 + updated!, deleted: deleted!, rows: rows[0].n });
    for (const other of result.tables.filter((t) => t.table !== 'votes')) expect(other.deleted, other.table).toBe(0);
    await expectEqual();
  });

  it('deletes in every table reach the warehouse: a deleted FAQ entry and cascades', async () => {
    const present = await existingTables(db.pool, ['faq_entries', 'interview_sessions']);
    expect(present).toEqual(['faq_entries', 'interview_sessions']);
    const { rows: faqs } = await db.pool.query<{ id: string }>('select id from faq_entries limit 1');
    expect(faqs.length).toBe(1);
    await db.pool.query('delete from faq_entries where id = $1', [faqs[0]!.id]);
    // A session's feedback goes with it (on delete cascade): both tables get tombstones.
    const { rows: sessions } = await db.pool.query<{ session_id: string }>(
      'select session_id from interview_feedbacks limit 1',
    );
    await db.pool.query('delete from interview_sessions where id = $1', [sessions[0]!.session_id]);
    const result = await exportNow(db.pool, warehouse.dir);
    expect(result.tables.find((t) => t.table === 'faq_entries')!.deleted).toBe(1);
    expect(result.tables.find((t) => t.table === 'interview_feedbacks')!.deleted).toBe(1);
    const gone = await onPublished(warehouse.dir, (conn) =>
      duckRows(conn, `select count(*)::int as n from faq_entries where id = '${faqs[0]!.id}'`),
    );
    expect(gone[0]!.n).toBe(0);
    await expectEqual();
  });

  it('--full rebuilds every table and keeps the export history', async () => {
    const result = await exportNow(db.pool, warehouse.dir, { full: true });
    expect(result.mode).toBe('full');
    expect(result.reason).toMatch(/requested/);
    expect(result.tables.every((t) => t.mode === 'full')).toBe(true);
    const runs = await onPublished(warehouse.dir, (conn) =>
      duckRows(conn, `select count(*)::int as n from export_runs`),
    );
    expect(runs[0]!.n).toBeGreaterThan(1);
    await expectEqual();
  });

  it('exports in full when the Postgres cluster changed (system_identifier differs)', async () => {
    // Pretend the published warehouse came from another cluster.
    const instance = await DuckDBInstance.create(publishedPath(warehouse.dir));
    try {
      const conn = await instance.connect();
      try {
        await conn.run(`update export_runs set system_identifier = '1'`);
        await conn.run('checkpoint');
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
    const result = await exportNow(db.pool, warehouse.dir);
    if (result.systemIdentifier === null) {
      // pg_control_system() is unreadable here: the database identity still guards the warehouse.
      expect(result.mode).toBe('incremental');
    } else {
      expect(result.mode).toBe('full');
      expect(result.reason).toMatch(/system_identifier/);
    }
    await expectEqual();
  });

  it('writes Parquet partitioned by UTC day that DuckDB reads back', async () => {
    const parquet = path.join(warehouse.dir, 'lake');
    await exportNow(db.pool, warehouse.dir, { parquetDir: parquet });
    expect(await readdir(path.join(parquet, 'votes'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^day=\d{4}-\d{2}-\d{2}$/)]),
    );
    const instance = await DuckDBInstance.create(':memory:');
    try {
      const conn = await instance.connect();
      try {
        await conn.run(`set TimeZone = 'UTC'`);
        const [lake] = await duckRows(
          conn,
          `select count(*)::int as n, count(*) filter (where day <> cast(created_at as date))::int as wrong_day
             from read_parquet('${parquet}/votes/*/*.parquet', hive_partitioning = true)`,
        );
        const { rows } = await db.pool.query('select count(*)::int as n from votes');
        expect(lake).toEqual({ n: rows[0].n, wrong_day: 0 });
        for (const table of await existingTables(db.pool)) {
          const { rows: pg } = await db.pool.query(`select count(*)::int as n from ${table}`);
          if (pg[0].n === 0) continue; // an empty table has no partition files
          const [t] = await duckRows(
            conn,
            `select count(*)::int as n from read_parquet('${parquet}/${table}/**/*.parquet', hive_partitioning = true)`,
          );
          expect(t!.n, table).toBe(pg[0].n);
        }
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  });

  it('skips tables that do not exist in Postgres yet', async () => {
    const result = await exportNow(db.pool, warehouse.dir, { tables: [...EXPORTED_TABLES, 'not_yet_migrated'] });
    expect(result.tables.map((t) => t.table)).not.toContain('not_yet_migrated');
    await expectEqual();
  });

  it('maps every Postgres column type to a sensible DuckDB type, values intact', async () => {
    await db.pool.query(`
      create type fw_test_mood as enum ('happy', 'sad');
      create table fw_types (
        id uuid primary key default gen_random_uuid(),
        t text, vc varchar(20), b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
        n numeric, n54 numeric(5,4), j json, jb jsonb, ts timestamptz, tsn timestamp, d date,
        ta text[], ia integer[], ua uuid[], e fw_test_mood, by bytea,
        created_at timestamptz not null default now(), updated_at timestamptz not null default now(),
        txid xid8 not null default pg_current_xact_id());
      create trigger fw_types_touch before update on fw_types for each row execute function fw_touch();
      create trigger fw_types_tombstone after delete on fw_types for each row execute function fw_tombstone();
      insert into fw_types (t, vc, b, i2, i4, i8, f4, f8, n, n54, j, jb, ts, tsn, d, ta, ia, ua, e, by) values
        (E'line\\none, "two", \\\\back', 'short', true, -32768, 2147483647, 9007199254740993, 1.5, 0.1, 12345.678901,
         0.9999, '{"b": 1, "a": [true, null]}', '{"z": {"y": "é ✓"}}', '2024-02-29 23:59:59.999999+00', '2024-01-01 00:00:00',
         '2024-12-31', array['x,y', '"q"', '', null], array[1, null, 3], array[gen_random_uuid()], 'happy', '\\x00ff10'),
        ('', null, false, 0, 0, 0, 0, 0, 0, 0, '[]', '[]', '1970-01-01 00:00:00+00', null, null, '{}', '{}', '{}', 'sad', ''),
        (null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);`);
    const tables = [...EXPORTED_TABLES, 'fw_types'];
    const first = await exportNow(db.pool, warehouse.dir, { tables });
    expect(first.tables.find((t) => t.table === 'fw_types')).toMatchObject({ mode: 'full', rows: 3 });
    const types = await onPublished(warehouse.dir, (conn) =>
      duckRows(
        conn,
        `select column_name, data_type from information_schema.columns where table_name = 'fw_types' order by ordinal_position`,
      ),
    );
    expect(Object.fromEntries(types.map((r) => [r.column_name, r.data_type]))).toEqual({
      id: 'UUID',
      t: 'VARCHAR',
      vc: 'VARCHAR',
      b: 'BOOLEAN',
      i2: 'SMALLINT',
      i4: 'INTEGER',
      i8: 'BIGINT',
      f4: 'FLOAT',
      f8: 'DOUBLE',
      n: 'DOUBLE',
      n54: 'DECIMAL(5,4)',
      j: 'JSON',
      jb: 'JSON',
      ts: 'TIMESTAMP WITH TIME ZONE',
      tsn: 'TIMESTAMP',
      d: 'DATE',
      ta: 'VARCHAR[]',
      ia: 'INTEGER[]',
      ua: 'UUID[]',
      e: 'VARCHAR',
      by: 'BLOB',
      created_at: 'TIMESTAMP WITH TIME ZONE',
      updated_at: 'TIMESTAMP WITH TIME ZONE',
      txid: 'UBIGINT',
    });
    const [row] = await onPublished(warehouse.dir, (conn) =>
      duckRows(conn, `select t, i8::varchar as i8, ta, ia, jb, hex("by") as "by" from fw_types where b`),
    );
    expect(row).toEqual({
      t: 'line\none, "two", \\back',
      i8: '9007199254740993',
      ta: ['x,y', '"q"', '', null],
      ia: [1, null, 3],
      jb: '{"z": {"y": "é ✓"}}',
      by: '00FF10',
    });
    await db.pool.query(`update fw_types set t = 'changed' where b`);
    await db.pool.query(`delete from fw_types where b = false`);
    const second = await exportNow(db.pool, warehouse.dir, { tables });
    expect(second.tables.find((t) => t.table === 'fw_types')).toMatchObject({
      mode: 'incremental',
      deleted: 1,
      rows: 2,
    });
    const { postgres, warehouse: duck } = await compareWarehouse(db.pool, warehouse.dir, ['fw_types']);
    expect(duck).toEqual(postgres);
  });

  it('reloads a table whose columns changed (a migration added one)', async () => {
    await db.pool.query(`alter table fw_types add column added integer default 7`);
    const result = await exportNow(db.pool, warehouse.dir, { tables: [...EXPORTED_TABLES, 'fw_types'] });
    expect(result.tables.find((t) => t.table === 'fw_types')!.mode).toBe('full');
    expect(result.tables.find((t) => t.table === 'votes')!.mode).toBe('incremental');
    // The dropped table's blocks would keep its old rows in the file: the snapshot is rebuilt (compaction.ts).
    expect(result.compactReason).toMatch(/tables rebuilt: fw_types/);
    const { postgres, warehouse: duck } = await compareWarehouse(db.pool, warehouse.dir, ['fw_types']);
    expect(duck).toEqual(postgres);
  });

  it('streams: the Node heap stays flat while a table far larger than it is exported', async () => {
    // ~60 MB of rows; the heap may not grow by a fraction of that.
    await db.pool.query(
      `insert into votes (conversation_id, vote, response) select 'big-' || g, 'up', repeat('x', 1000) || g from generate_series(1, 60000) g`,
    );
    global.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    try {
      const result = await exportNow(db.pool, warehouse.dir, {
        full: true,
        onProgress: () => (peak = Math.max(peak, process.memoryUsage().heapUsed)),
      });
      expect(result.tables.find((t) => t.table === 'votes')!.changed).toBeGreaterThan(60000);
    } finally {
      clearInterval(sample);
    }
    expect(peak - baseline).toBeLessThan(24 * 1024 * 1024);
  });
});

describe('an aborted export', () => {
  it('stops mid-copy, leaves the published warehouse as it was and no work files; the next export runs', async () => {
    const before = await compareWarehouse(db.pool, warehouse.dir);
    await db.pool.query(`insert into votes (conversation_id, vote) values ('after-abort', 'up')`);
    const controller = new AbortController();
    await expect(
      exportNow(db.pool, warehouse.dir, {
        full: true,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'rows' && p.rows > 0) controller.abort(new Error('stop here'));
        },
      }),
    ).rejects.toThrow(/stop here|abort/i);
    expect((await compareWarehouse(db.pool, warehouse.dir)).warehouse).toEqual(before.warehouse);
    expect(await readdir(path.join(warehouse.dir, '.export'))).toEqual([]);
    expect((await db.pool.query('select 1 as ok')).rows[0].ok).toBe(1);
    await exportNow(db.pool, warehouse.dir);
    await expectEqual();
  });
});
