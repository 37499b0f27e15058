import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Pool } from '../../../src/db/pool.ts';
import { canonicalJson } from '../../../src/idempotency/store.ts';
import { runExport } from '../../../src/warehouse/export/exporter.ts';
import { publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import { EXPORTED_TABLES, type ExportOptions, type ExportResult } from '../../../src/warehouse/export/exportTypes.ts';
import { quietLogger } from '../../helpers/db.ts';

/** A temporary WAREHOUSE_DIR, removed by the returned cleanup. */
export async function tempWarehouse(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fw-warehouse-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function exportNow(pool: Pool, dir: string, options: ExportOptions = {}): Promise<ExportResult> {
  return runExport(pool, dir, quietLogger, options);
}

/** Runs fn on the published warehouse opened READ_ONLY, as any reader would, and closes it. */
export async function onPublished<T>(dir: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(publishedPath(dir), { access_mode: 'READ_ONLY' });
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`set TimeZone = 'UTC'`);
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

export async function duckRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

export interface TableDigest {
  readonly count: number;
  /** sha256 over every row (all columns, in canonical form), rows ordered by their canonical text. */
  readonly checksum: string;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Every column in a canonical JSON form both engines can produce exactly: timestamps as UTC text with microseconds,
 * integers (bigint, xid8) as decimal text, numerics as float8, JSON as parsed values with sorted keys, arrays as
 * arrays, everything else as its JSON value. Then one sha256 per table.
 */
async function pgDigest(pool: Pool, table: string): Promise<TableDigest> {
  const { rows: columns } = await pool.query<{ column_name: string; udt_name: string; data_type: string }>(
    `select column_name, udt_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
    [table],
  );
  const select = columns
    .map(({ column_name: c, udt_name: t, data_type: dt }) => {
      if (dt === 'ARRAY') return `array_to_json(${q(c)}) as ${q(c)}`;
      if (t === 'timestamptz') return `to_char(${q(c)} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ${q(c)}`;
      if (t === 'int8' || t === 'xid8') return `${q(c)}::text as ${q(c)}`;
      if (t === 'numeric') return `${q(c)}::float8 as ${q(c)}`;
      if (t === 'bytea') return `encode(${q(c)}, 'base64') as ${q(c)}`;
      if (t === 'date') return `${q(c)}::text as ${q(c)}`;
      if (t === 'timestamp') return `to_char(${q(c)}, 'YYYY-MM-DD HH24:MI:SS.US') as ${q(c)}`;
      return q(c);
    })
    .join(', ');
  const { rows } = await pool.query(`select ${select} from ${q(table)}`);
  return digest(rows.map((r) => canonicalJson(r)));
}

async function duckDigest(conn: DuckDBConnection, table: string): Promise<TableDigest> {
  const columns = await duckRows(
    conn,
    `select column_name, data_type from information_schema.columns where table_name = '${table}' order by ordinal_position`,
  );
  const select = columns
    .map(({ column_name, data_type }) => {
      const c = String(column_name);
      const t = String(data_type);
      if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMP')
        return `strftime(${q(c)}, '%Y-%m-%d %H:%M:%S.%f') as ${q(c)}`;
      if (t === 'BIGINT' || t === 'UBIGINT') return `cast(${q(c)} as varchar) as ${q(c)}`;
      if (t.startsWith('DECIMAL') || t === 'DOUBLE' || t === 'FLOAT') return `cast(${q(c)} as double) as ${q(c)}`;
      if (t === 'BLOB') return `to_base64(${q(c)}) as ${q(c)}`;
      if (t === 'DATE') return `cast(${q(c)} as varchar) as ${q(c)}`;
      return q(c);
    })
    .join(', ');
  const jsonColumns = new Set(columns.filter((c) => c.data_type === 'JSON').map((c) => String(c.column_name)));
  const rows = await duckRows(conn, `select ${select} from ${q(table)}`);
  return digest(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row))
        out[k] = jsonColumns.has(k) && typeof v === 'string' ? JSON.parse(v) : v;
      return canonicalJson(out);
    }),
  );
}

function digest(rows: string[]): TableDigest {
  rows.sort();
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row).update('\n');
  return { count: rows.length, checksum: hash.digest('hex') };
}

/** Tables of `tables` that exist in Postgres. */
export async function existingTables(pool: Pool, tables: readonly string[] = EXPORTED_TABLES): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    `select table_name as t from information_schema.tables where table_schema = current_schema() and table_name = any($1::text[])`,
    [tables],
  );
  const present = new Set(rows.map((r) => r.t));
  return tables.filter((t) => present.has(t));
}

/** Postgres's tables, digested. */
export async function postgresDigests(pool: Pool, tables?: readonly string[]): Promise<Record<string, TableDigest>> {
  const out: Record<string, TableDigest> = {};
  for (const t of await existingTables(pool, tables)) out[t] = await pgDigest(pool, t);
  return out;
}

/** The published warehouse's tables, digested (the same table names). */
export async function warehouseDigests(dir: string, tables: readonly string[]): Promise<Record<string, TableDigest>> {
  return onPublished(dir, async (conn) => {
    const out: Record<string, TableDigest> = {};
    for (const t of tables) out[t] = await duckDigest(conn, t);
    return out;
  });
}

/** Postgres and the published warehouse, table by table: counts and checksums of all columns. */
export async function compareWarehouse(
  pool: Pool,
  dir: string,
  tables?: readonly string[],
): Promise<{ postgres: Record<string, TableDigest>; warehouse: Record<string, TableDigest> }> {
  const postgres = await postgresDigests(pool, tables);
  return { postgres, warehouse: await warehouseDigests(dir, Object.keys(postgres)) };
}

/** Waits for a condition that another process brings about (a child's progress), with a deadline. */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
