import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../jobs/clock.ts';
import { exportJob } from '../../../jobs/export.ts';
import { ConfigError, configFromEnv } from '../../../src/config.ts';
import { MANIFEST_FILE, type LakeManifest } from '../../../src/warehouse/export/lakeTypes.ts';
import { literal } from '../../../src/warehouse/shared/sqlText.ts';
import { duckLakeDigests, pgLakeDigests, readLakeManifest } from '../../helpers/lakeDigest.ts';
import { quietLogger } from '../../helpers/db.ts';
import { exportNow, tempWarehouse } from './compare.ts';
import { closeExportFixture, openExportFixture, type ExportFixture } from './exportFixture.ts';

/**
 * The Parquet lake (README "At scale"): hive partitions by UTC day, only the touched partitions rewritten, a
 * manifest published last, retired files kept for readers unless they hold erased rows, and types every engine
 * reads. Read back here with DuckDB from the manifest's file list; test/lake/ reads it with ClickHouse.
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

const exportLake = (options: { retention?: number; lake?: boolean } = {}) =>
  exportNow(fixture!.db.pool, fixture!.warehouse.dir, {
    parquetDir: options.lake === false ? null : lake!.dir,
    lakeRetentionMinutes: options.retention ?? 60,
  });

async function expectLakeEqualsPostgres(): Promise<void> {
  const postgres = await pgLakeDigests(fixture!.db.pool);
  expect(await duckLakeDigests(fixture!.db.pool, lake!.dir)).toEqual(postgres);
}

/** The lake's data files on disk, lake-relative. */
async function lakeFiles(): Promise<string[]> {
  const entries = await readdir(lake!.dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
    .map((e) => path.relative(lake!.dir, path.join(e.parentPath, e.name)))
    .sort();
}

const listed = (m: LakeManifest) =>
  Object.values(m.tables)
    .flatMap((t) => t.files.map((f) => f.path))
    .sort();

describe('the Parquet lake', { timeout: 120_000 }, () => {
  let first: LakeManifest;

  it('a full export writes hive partitions and publishes a manifest that lists exactly them, equal to Postgres', async () => {
    const result = await exportLake();
    expect(result.lake).toMatchObject({ dir: lake!.dir });
    expect(result.lake!.filesWritten).toBeGreaterThan(0);
    first = await readLakeManifest(lake!.dir);
    expect(first).toMatchObject({
      format: 'feedback-warehouse-lake/1',
      export_id: result.runId,
      as_of: result.asOf.toISOString(),
      watermark: result.watermark,
      retired: [],
    });
    expect(listed(first)).toEqual(await lakeFiles());
    for (const file of first.tables.votes!.files) {
      expect(file.path).toMatch(new RegExp(`^votes/day=\\d{4}-\\d{2}-\\d{2}/part-${result.runId}\\.parquet$`));
      expect(file.bytes).toBe((await stat(path.join(lake!.dir, file.path))).size);
    }
    expect(first.tables.expert_profiles!.files.map((f) => f.path)).toEqual([
      `expert_profiles/part-${result.runId}.parquet`,
    ]);
    const { rows } = await fixture!.db.pool.query('select count(*)::int as n from votes');
    expect(first.tables.votes!.rows).toBe(rows[0].n);
    await expectLakeEqualsPostgres();
  });

  it('writes types every engine reads: ids as text, text lists as LIST<STRING>, UTC micros, INT64, JSON as text', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    try {
      const conn = await instance.connect();
      try {
        const schemaOf = async (table: string) => {
          const file = path.join(lake!.dir, first.tables[table]!.files[0]!.path);
          const reader = await conn.runAndReadAll(
            `select name, type, logical_type::varchar as logical, converted_type::varchar as converted
               from parquet_schema(${literal(file)})`,
          );
          return Object.fromEntries(reader.getRowObjectsJson().map((r) => [String(r.name), r]));
        };
        const feedback = await schemaOf('interview_feedbacks');
        expect(feedback.id).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8', logical: null });
        expect(feedback.session_id).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8', logical: null });
        expect(feedback.knowledge_gaps).toMatchObject({ converted: 'LIST' });
        expect(feedback.learning_recommendations).toMatchObject({ converted: 'LIST' });
        expect(feedback.overall_score).toMatchObject({ type: 'INT64' });
        expect(feedback.created_at).toMatchObject({ type: 'INT64', converted: 'TIMESTAMP_MICROS' });
        expect(String(feedback.created_at!.logical)).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/);
        const votes = await schemaOf('votes');
        expect(votes.metadata).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8', logical: null });
        expect(votes.reasons).toMatchObject({ converted: 'LIST' });
        expect(votes.vote).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8' });
        expect(votes.txid).toMatchObject({ type: 'INT64', converted: 'INT_64' });
        // No column anywhere carries Parquet's UUID or JSON annotation.
        for (const table of Object.keys(first.tables)) {
          if (first.tables[table]!.files.length === 0) continue;
          for (const column of Object.values(await schemaOf(table))) {
            expect(String(column.logical), `${table}.${String(column.name)}`).not.toMatch(/UUID|Json/i);
          }
        }
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  });

  it('an incremental export rewrites only the days its inserts, updates and deletes touch', async () => {
    const { pool } = fixture!.db;
    const votes = first.tables.votes!.files;
    const days = votes.map((f) => f.day!);
    expect(days.length).toBeGreaterThan(5);
    // An insert on day A, an update moving a vote from day B to day C, an erased conversation's days.
    const [dayA, dayB, dayC] = [days[0]!, days[1]!, days[2]!];
    await pool.query(
      `insert into votes (conversation_id, vote, created_at) values ('lake-new', 'up', $1::date + time '10:00')`,
      [dayA],
    );
    const { rows: moved } = await pool.query<{ id: string }>(
      `update votes set created_at = $2::date + time '11:00'
        where id = (select id from votes where created_at >= $1::date and created_at < $1::date + 1 order by id limit 1)
        returning id`,
      [dayB, dayC],
    );
    expect(moved).toHaveLength(1);
    const { rows: erased } = await pool.query<{ conversation_id: string; days: string[] }>(
      `select conversation_id, array_agg(distinct to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')) as days
         from votes where conversation_id <> 'lake-new' group by conversation_id order by conversation_id desc limit 1`,
    );
    await pool.query('delete from votes where conversation_id = $1', [erased[0]!.conversation_id]);
    const touched = new Set([dayA, dayB, dayC, ...erased[0]!.days]);

    const result = await exportLake();
    expect(result.mode).toBe('incremental');
    expect(result.lake!.rewrittenWhole).not.toHaveProperty('votes');
    const next = await readLakeManifest(lake!.dir);
    expect(next.export_id).toBe(result.runId);
    const rewritten = next.tables.votes!.files.filter((f) => f.export_id === result.runId).map((f) => f.day);
    expect(new Set(rewritten)).toEqual(touched);
    // Untouched days keep their file, byte for byte the same entry.
    for (const file of votes.filter((f) => !touched.has(f.day!))) expect(next.tables.votes!.files).toContainEqual(file);
    // Tables without changes are not rewritten at all.
    expect(next.tables.expert_profiles).toEqual(first.tables.expert_profiles);
    // Days A and C only gained a row: their old files wait for the readers of the previous manifest. Day B and
    // the erased days lost a row version: their old files are gone already (privacy first).
    const oldFile = (day: string) => votes.find((f) => f.day === day)!.path;
    const erasing = new Set([dayB, ...erased[0]!.days]);
    const files = await lakeFiles();
    for (const day of [dayA, dayC].filter((d) => !erasing.has(d))) {
      const retired = next.retired.find((r) => r.path === oldFile(day));
      expect(retired, day).toBeDefined();
      expect(Date.parse(retired!.delete_after) - Date.parse(next.published_at)).toBe(60 * 60_000);
      expect(files).toContain(oldFile(day));
    }
    for (const day of erasing) {
      expect(files).not.toContain(oldFile(day));
      expect(next.retired.map((r) => r.path)).not.toContain(oldFile(day));
    }
    await expectLakeEqualsPostgres();
  });

  it('retired files are deleted by the first export after their grace period', async () => {
    const manifest = await readLakeManifest(lake!.dir);
    const waiting = manifest.retired.map((r) => r.path);
    expect(waiting.length).toBeGreaterThan(0);
    // The grace period passes (the manifest's own deadline is moved into the past).
    await writeFile(
      path.join(lake!.dir, MANIFEST_FILE),
      JSON.stringify({
        ...manifest,
        retired: manifest.retired.map((r) => ({ ...r, delete_after: '2000-01-01T00:00:00.000Z' })),
      }),
    );
    const result = await exportLake();
    expect(result.lake!.filesDeleted).toBeGreaterThanOrEqual(waiting.length);
    const files = await lakeFiles();
    for (const file of waiting) expect(files).not.toContain(file);
    expect(listed(await readLakeManifest(lake!.dir))).toEqual(files);
    await expectLakeEqualsPostgres();
  });

  it('a lake that missed an export is rewritten whole, and what a killed export left is removed', async () => {
    const { pool } = fixture!.db;
    await pool.query(`insert into votes (conversation_id, vote) values ('lake-missed', 'down')`);
    await exportLake({ lake: false });
    // What a killed lake write leaves: a staging file, a part file the manifest never listed, a manifest being written.
    const someDay = path.join(
      lake!.dir,
      path.dirname((await readLakeManifest(lake!.dir)).tables.votes!.files[0]!.path),
    );
    await writeFile(path.join(someDay, '.staging-x'), 'half');
    await writeFile(path.join(someDay, 'part-999999.parquet'), 'never listed');
    await writeFile(path.join(lake!.dir, `.${MANIFEST_FILE}.4194305.tmp`), '{');
    await pool.query(`insert into votes (conversation_id, vote) values ('lake-missed', 'up')`);
    const result = await exportLake();
    expect(result.mode).toBe('incremental');
    expect(result.lake!.rewrittenWhole.votes).toBe('the lake does not reflect the previous export');
    const files = await lakeFiles();
    expect(files).not.toContain(path.relative(lake!.dir, path.join(someDay, 'part-999999.parquet')));
    expect(listed(await readLakeManifest(lake!.dir))).toEqual(files);
    expect((await readdir(lake!.dir)).filter((e) => e.startsWith('.'))).toEqual([]);
    expect((await readdir(someDay)).filter((e) => e.startsWith('.'))).toEqual([]);
    await expectLakeEqualsPostgres();
  });

  it('a full export rewrites every table and deletes the previous files at once', async () => {
    const before = listed(await readLakeManifest(lake!.dir));
    const result = await exportNow(fixture!.db.pool, fixture!.warehouse.dir, { full: true, parquetDir: lake!.dir });
    const after = await readLakeManifest(lake!.dir);
    expect(Object.values(result.lake!.rewrittenWhole)).toEqual(Object.keys(after.tables).map(() => 'full export'));
    for (const file of before) expect(await lakeFiles()).not.toContain(file);
    expect(JSON.parse(await readFile(path.join(lake!.dir, MANIFEST_FILE), 'utf8')).export_id).toBe(result.runId);
    await expectLakeEqualsPostgres();
  });
});

describe('LAKE_DIR: the scheduled export keeps the lake', { timeout: 60_000 }, () => {
  it('reads LAKE_DIR and LAKE_RETENTION_MINUTES (default 60), refusing a bad value', () => {
    expect(configFromEnv({}).lakeDir).toBeNull();
    expect(configFromEnv({}).lakeRetentionMinutes).toBe(60);
    expect(configFromEnv({ LAKE_DIR: 'lake', LAKE_RETENTION_MINUTES: '0' })).toMatchObject({
      lakeDir: path.resolve('lake'),
      lakeRetentionMinutes: 0,
    });
    expect(() => configFromEnv({ LAKE_RETENTION_MINUTES: '-1' })).toThrow(ConfigError);
    expect(() => configFromEnv({ LAKE_RETENTION_MINUTES: 'soon' })).toThrow(
      /LAKE_RETENTION_MINUTES must be an integer/,
    );
  });

  it('the export job writes the lake of LAKE_DIR and records what it wrote; retention 0 keeps no retired file', async () => {
    const { pool } = fixture!.db;
    const own = await tempWarehouse();
    try {
      const config = configFromEnv({
        WAREHOUSE_DIR: fixture!.warehouse.dir,
        LAKE_DIR: own.dir,
        LAKE_RETENTION_MINUTES: '0',
      });
      const job = exportJob(config);
      const run = (runId: number) =>
        job.run({
          pool,
          config,
          logger: quietLogger,
          clock: systemClock,
          runId,
          signal: new AbortController().signal,
          options: {},
        });
      const first = await run(900_001);
      expect(first.detail).toMatchObject({ parquet_dir: own.dir, lake: { dir: own.dir } });
      expect((await readLakeManifest(own.dir)).export_id).toBe(900_001);
      await pool.query(`insert into votes (conversation_id, vote) values ('lake-job', 'up')`);
      const second = await run(900_002);
      expect(second.detail).toMatchObject({ lake: { files_written: 1, partitions_rewritten: 1 } });
      const manifest = await readLakeManifest(own.dir);
      expect(manifest.retired).toEqual([]);
      expect(manifest.tables.votes!.rows).toBe((await pool.query('select count(*)::int as n from votes')).rows[0].n);
    } finally {
      await own.remove();
    }
  });
});

describe('the lake mapping of every column type', { timeout: 60_000 }, () => {
  it('writes each as the README says, values intact', async () => {
    const { pool } = fixture!.db;
    await pool.query(`
      create type fw_lake_mood as enum ('happy', 'sad');
      create table fw_lake_types (
        id uuid primary key default gen_random_uuid(), i2 smallint, i4 integer, i8 bigint, ia integer[], ua uuid[],
        ta text[], j json, jb jsonb, e fw_lake_mood, n54 numeric(5,4), f8 double precision, b boolean, d date,
        by bytea, created_at timestamptz not null default now(), txid xid8 not null default pg_current_xact_id());
      insert into fw_lake_types (i2, i4, i8, ia, ua, ta, j, jb, e, n54, f8, b, d, by, created_at) values
        (-32768, 2147483647, 9007199254740993, array[1, null, 3], array['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid],
         array['x,y', null], '{"b": 1}', '{"a.b": 1, "a": {"b": null}}', 'happy', 0.9999, 0.1, true, '2024-12-31',
         '\\x00ff10', '2024-02-29 23:59:59.999999+00');`);
    const own = await tempWarehouse();
    try {
      await exportNow(pool, fixture!.warehouse.dir, { tables: ['fw_lake_types'], parquetDir: own.dir });
      const manifest = await readLakeManifest(own.dir);
      const entry = manifest.tables.fw_lake_types!;
      expect(entry.files.map((f) => f.path)).toEqual([expect.stringMatching(/^fw_lake_types\/day=2024-02-29\/part-/)]);
      expect(Object.fromEntries(entry.columns.map((c) => [c.name, c.type]))).toEqual({
        id: 'VARCHAR',
        i2: 'BIGINT',
        i4: 'BIGINT',
        i8: 'BIGINT',
        ia: 'BIGINT[]',
        ua: 'VARCHAR[]',
        ta: 'VARCHAR[]',
        j: 'VARCHAR',
        jb: 'VARCHAR',
        e: 'VARCHAR',
        n54: 'DECIMAL(5,4)',
        f8: 'DOUBLE',
        b: 'BOOLEAN',
        d: 'DATE',
        by: 'BLOB',
        created_at: 'TIMESTAMP WITH TIME ZONE',
        txid: 'BIGINT',
      });
      const { rows: pg } = await pool.query(
        `select id::text as id, txid::text as txid, jb::text as jb from fw_lake_types`,
      );
      const instance = await DuckDBInstance.create(':memory:');
      try {
        const conn = await instance.connect();
        try {
          await conn.run(`set TimeZone = 'UTC'`);
          const file = literal(path.join(own.dir, entry.files[0]!.path));
          const reader = await conn.runAndReadAll(
            `select id, i2, i4, i8::varchar as i8, ia, ua, ta, j, jb, e, n54::varchar as n54, f8, b, d::varchar as d,
                    hex("by") as "by", strftime(created_at, '%Y-%m-%d %H:%M:%S.%f') as created_at, txid::varchar as txid,
                    typeof(i2) as i2_type, typeof(ia) as ia_type
               from read_parquet(${file}, hive_partitioning = false)`,
          );
          expect(reader.getRowObjectsJson()).toEqual([
            {
              id: pg[0].id,
              i2: '-32768',
              i4: '2147483647',
              i8: '9007199254740993',
              ia: ['1', null, '3'],
              ua: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
              ta: ['x,y', null],
              j: '{"b": 1}',
              jb: pg[0].jb,
              e: 'happy',
              n54: '0.9999',
              f8: 0.1,
              b: true,
              d: '2024-12-31',
              by: '00FF10',
              created_at: '2024-02-29 23:59:59.999999',
              txid: pg[0].txid,
              i2_type: 'BIGINT',
              ia_type: 'BIGINT[]',
            },
          ]);
        } finally {
          conn.closeSync();
        }
      } finally {
        instance.closeSync();
      }
    } finally {
      await own.remove();
      await pool.query('drop table fw_lake_types; drop type fw_lake_mood');
    }
  });
});
