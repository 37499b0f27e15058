import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Pool } from '../../src/db/pool.ts';
import { canonicalJson } from '../../src/idempotency/store.ts';
import { EXPORTED_TABLES } from '../../src/warehouse/export/exportTypes.ts';
import { MANIFEST_FILE, type LakeManifest } from '../../src/warehouse/export/lakeTypes.ts';
import { literal } from '../../src/warehouse/shared/sqlText.ts';

/**
 * Postgres and a lake compared the way a user of another engine would: every column of every row, in one canonical
 * form both sides can produce. The lake widens integers to INT64 and writes UUIDs and JSON as text, so the canonical
 * form is by the Postgres column's kind: numbers as decimal text, timestamps as UTC text with microseconds, JSON
 * parsed (with sorted keys), lists as arrays. Then a count and one sha256 per table.
 */
export interface LakeDigest {
  readonly count: number;
  readonly checksum: string;
}

/** Postgres column kinds that need a conversion on the lake side. */
export type ColumnKind = 'timestamptz' | 'json' | 'other';

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Each column of a Postgres table and its kind. */
export async function pgColumnKinds(pool: Pool, table: string): Promise<Map<string, ColumnKind>> {
  const { rows } = await pool.query<{ column_name: string; udt_name: string }>(
    `select column_name, udt_name from information_schema.columns
      where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
    [table],
  );
  return new Map(
    rows.map((r) => [
      r.column_name,
      r.udt_name === 'timestamptz' ? 'timestamptz' : r.udt_name === 'json' || r.udt_name === 'jsonb' ? 'json' : 'other',
    ]),
  );
}

function canonicalValue(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalValue(v)]));
  }
  return value;
}

/** Digest of rows from any engine, given the Postgres kinds (JSON text is parsed, numbers become text). */
export function digestRows(
  rows: readonly Record<string, unknown>[],
  kinds: ReadonlyMap<string, ColumnKind>,
): LakeDigest {
  const lines = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const name of kinds.keys()) {
      let v = row[name];
      if (v === undefined) throw new Error(`column ${name} is missing from the lake row`);
      if (kinds.get(name) === 'json' && typeof v === 'string') v = JSON.parse(v);
      out[name] = canonicalValue(v);
    }
    return canonicalJson(out);
  });
  lines.sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return { count: lines.length, checksum: hash.digest('hex') };
}

/** Postgres's table in the canonical form. */
export async function pgLakeDigest(pool: Pool, table: string): Promise<LakeDigest> {
  const kinds = await pgColumnKinds(pool, table);
  const select = [...kinds]
    .map(([c, kind]) =>
      kind === 'timestamptz' ? `to_char(${q(c)} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ${q(c)}` : q(c),
    )
    .join(', ');
  const { rows } = await pool.query(`select ${select} from ${q(table)}`);
  return digestRows(rows as Record<string, unknown>[], kinds);
}

export async function readLakeManifest(lakeDir: string): Promise<LakeManifest> {
  return JSON.parse(await readFile(path.join(lakeDir, MANIFEST_FILE), 'utf8')) as LakeManifest;
}

/** The lake's tables as a reader of its manifest sees them, read with DuckDB (the files the manifest lists). */
export async function duckLakeDigests(pool: Pool, lakeDir: string): Promise<Record<string, LakeDigest>> {
  const manifest = await readLakeManifest(lakeDir);
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`set TimeZone = 'UTC'`);
      const out: Record<string, LakeDigest> = {};
      for (const [table, entry] of Object.entries(manifest.tables)) {
        const kinds = await pgColumnKinds(pool, table);
        if (entry.files.length === 0) {
          out[table] = digestRows([], kinds);
          continue;
        }
        const files = entry.files.map((f) => literal(path.join(lakeDir, f.path))).join(', ');
        const select = [...kinds]
          .map(([c, kind]) => (kind === 'timestamptz' ? `strftime(${q(c)}, '%Y-%m-%d %H:%M:%S.%f') as ${q(c)}` : q(c)))
          .join(', ');
        const reader = await conn.runAndReadAll(
          `select ${select} from read_parquet([${files}], hive_partitioning = false)`,
        );
        out[table] = digestRows(reader.getRowObjectsJson() as Record<string, unknown>[], kinds);
      }
      return out;
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Postgres's exported tables in the canonical form (those that exist). */
export async function pgLakeDigests(
  pool: Pool,
  tables: readonly string[] = EXPORTED_TABLES,
): Promise<Record<string, LakeDigest>> {
  const out: Record<string, LakeDigest> = {};
  for (const table of tables) {
    const { rows } = await pool.query(`select to_regclass($1) is not null as ok`, [table]);
    if (rows[0].ok) out[table] = await pgLakeDigest(pool, table);
  }
  return out;
}
