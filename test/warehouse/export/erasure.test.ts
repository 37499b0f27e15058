import { randomInt } from 'node:crypto';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal } from '../../../src/warehouse/shared/sqlText.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { readLakeManifest } from '../../helpers/lakeDigest.ts';
import { duckRows, exportNow, onPublished, tempWarehouse } from './compare.ts';
import {
  closeExportFixture,
  expectWarehouseEqual,
  insertVotes,
  openExportFixture,
  type ExportFixture,
} from './exportFixture.ts';

/**
 * Erasure is physical (README "Privacy"): after an export that applies a delete or replaces a text, no byte of the
 * old rows is left in any file under WAREHOUSE_DIR or the Parquet directory.
 *
 * Each marker is 2,000 random CJK characters (6,000 bytes of UTF-8, so a comment's 2,000-character limit allows it):
 * DuckDB keeps a string over 4 KB verbatim in an overflow block, where shorter ones may be FSST- or
 * dictionary-compressed beyond recognition, so a raw byte scan finds these markers wherever DuckDB wrote them (the
 * test checks that it does, before the erasure). Parquet pages are zstd-compressed: Parquet files are also read back
 * with DuckDB and searched value by value.
 */
const marker = (): string =>
  Array.from({ length: 2000 }, () => String.fromCodePoint(0x4e00 + randomInt(0x5000))).join('');

const MARKERS = {
  query: marker(),
  response: marker(),
  comment: marker(),
  // A reason and a metadata value reach the rollups (vote_reasons_daily keeps reasons as text).
  reason: marker(),
  metadata: marker(),
  interview: marker(),
  expert: marker(),
  faq: marker(),
};
type MarkerName = keyof typeof MARKERS;

/** A process id no process can have (Linux's pid_max is at most 2^22), for the leftovers of a "dead" export. */
const DEAD_PID = 4_194_305;

let fixture: ExportFixture | undefined;
let app: TestApp | undefined;
let lake: { dir: string; remove: () => Promise<void> } | undefined;

beforeAll(async () => {
  fixture = await openExportFixture();
  app = await startTestApp({}, fixture.db);
  lake = await tempWarehouse();
});
afterAll(async () => {
  await app?.close();
  await closeExportFixture(fixture);
  await lake?.remove();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** The markers whose UTF-8 bytes occur in some file under `dir`, with the files. */
async function markersInBytes(dir: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    for (const [name, text] of Object.entries(MARKERS)) {
      if (bytes.includes(Buffer.from(text))) (found[name] ??= []).push(path.relative(dir, file));
    }
  }
  return found;
}

/** The markers found in the values of some Parquet file under `dir`, read back with DuckDB. */
async function markersInParquet(dir: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const conn = await instance.connect();
    try {
      for (const file of (await filesUnder(dir)).filter((f) => f.endsWith('.parquet'))) {
        const reader = await conn.runAndReadAll(`select * from read_parquet(${literal(file)})`);
        const text = JSON.stringify(reader.getRowObjectsJson());
        for (const [name, value] of Object.entries(MARKERS)) {
          if (text.includes(value)) (found[name] ??= []).push(path.relative(dir, file));
        }
      }
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  return found;
}

/** Sets one text of a table's first row (by id) and returns the row's `key` column. Names are this file's constants. */
async function setFirst(table: string, column: string, text: string, key: string): Promise<string> {
  const { rows } = await fixture!.db.pool.query<{ key: string }>(
    `update ${table} set ${column} = $1 where id = (select id from ${table} order by id limit 1) returning ${key} as key`,
    [text],
  );
  return rows[0]!.key;
}

const ALL = Object.keys(MARKERS) as MarkerName[];

describe('erasure is physical', { timeout: 60_000 }, () => {
  let warehouseDir: string;
  let faqId: string;
  let interviewSession: string;
  let expertFeedback: string;

  it('the markers are in the warehouse file and the Parquet files once exported (the scan can see them)', async () => {
    const { pool } = fixture!.db;
    warehouseDir = app!.config.warehouseDir;
    await pool.query(
      `insert into votes (conversation_id, vote, query, response, reasons, comment, metadata)
       values ('erase-me', 'down', $1, $2, array['wrong', $4], $3, jsonb_build_object('app', 'chat', 'note', $5::text)),
              ('erase-me', 'up', 'second thoughts', null, '{}', null, '{}')`,
      [MARKERS.query, MARKERS.response, MARKERS.comment, MARKERS.reason, MARKERS.metadata],
    );
    interviewSession = await setFirst('interview_feedbacks', 'technical_feedback', MARKERS.interview, 'session_id');
    expertFeedback = await setFirst('expert_feedback', 'improved_answer', MARKERS.expert, 'id');
    faqId = await setFirst('faq_entries', 'answer', MARKERS.faq, 'id');
    const first = await exportNow(pool, warehouseDir, { parquetDir: lake!.dir });
    expect(first.mode).toBe('full');
    const inFile = await markersInBytes(warehouseDir);
    expect(Object.keys(inFile).sort()).toEqual([...ALL].sort());
    expect(inFile.query).toEqual(['warehouse.duckdb']);
    // The rollups hold the reason too (a table of their own, checked through DuckDB rather than the bytes).
    const rollup = await onPublished(warehouseDir, (conn) =>
      duckRows(conn, `select count(*)::int as n from vote_reasons_daily where reason = ${literal(MARKERS.reason)}`),
    );
    expect(rollup).toEqual([{ n: 1 }]);
    expect(Object.keys(await markersInParquet(lake!.dir)).sort()).toEqual([...ALL].sort());
  });

  it('an export with only new rows does not rebuild the file', async () => {
    const { pool } = fixture!.db;
    await insertVotes(pool, 20, 'erasure-new-');
    const result = await exportNow(pool, warehouseDir, { parquetDir: lake!.dir });
    expect(result.mode).toBe('incremental');
    expect(result.compactReason).toBeNull();
    expect(result.phasesMs.compact).toBeUndefined();
  });

  it('after an erasure, an updated text and a deleted FAQ entry, no file under WAREHOUSE_DIR or the lake holds a byte of them', async () => {
    const { pool } = fixture!.db;
    // What a killed export leaves behind: its work directory (a copy of the published file) and a retired Parquet
    // table directory, both holding the markers.
    const deadWork = path.join(warehouseDir, '.export', `${DEAD_PID}-00000000`);
    await mkdir(deadWork, { recursive: true });
    await cp(path.join(warehouseDir, 'warehouse.duckdb'), path.join(deadWork, 'snapshot.duckdb'));
    // And in the lake: a part file its manifest never listed (renamed into place just before the kill).
    for (const file of (await readLakeManifest(lake!.dir)).tables.votes!.files)
      await cp(path.join(lake!.dir, file.path), path.join(lake!.dir, path.dirname(file.path), 'part-999999.parquet'));
    expect((await markersInBytes(warehouseDir)).query).toHaveLength(2);
    // The listed file, the unlisted copy, and the file the insert-only export above retired and keeps for readers
    // of the previous manifest (LAKE_RETENTION_MINUTES): the erasure must not wait for that grace.
    expect((await markersInParquet(lake!.dir)).query).toHaveLength(3);

    const admin = await app!.key('admin');
    expect((await app!.request('DELETE', '/api/v1/conversations/erase-me', { key: admin })).status).toBe(204);
    expect((await app!.request('DELETE', `/api/v1/faq-entries/${faqId}`, { key: admin })).status).toBe(204);
    await pool.query(`update interview_feedbacks set technical_feedback = 'revised' where session_id = $1`, [
      interviewSession,
    ]);
    await pool.query(`update expert_feedback set improved_answer = 'revised' where id = $1`, [expertFeedback]);

    const result = await exportNow(pool, warehouseDir, { parquetDir: lake!.dir });
    expect(result.mode).toBe('incremental');
    expect(result.rowsDeleted).toBeGreaterThanOrEqual(3);
    expect(result.compactReason).toMatch(/deleted.*replaced/);
    expect(await markersInBytes(warehouseDir)).toEqual({});
    expect(await markersInBytes(lake!.dir)).toEqual({});
    expect(await markersInParquet(lake!.dir)).toEqual({});
    // Nothing but the published file is left: no WAL, no work directory, no spill file.
    expect((await filesUnder(warehouseDir)).map((f) => path.relative(warehouseDir, f))).toEqual(['warehouse.duckdb']);
    expect((await readdir(lake!.dir)).filter((e) => e.startsWith('.'))).toEqual([]);
    // The rebuilt file is the whole warehouse, and the next export goes on incrementally from it.
    await expectWarehouseEqual(pool, warehouseDir);
    await insertVotes(pool, 5, 'erasure-after-');
    const next = await exportNow(pool, warehouseDir);
    expect(next.mode).toBe('incremental');
    expect(next.compactReason).toBeNull();
    await expectWarehouseEqual(pool, warehouseDir);
  });
});
