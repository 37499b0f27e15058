import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * The warehouse's own tables (export_runs, rollup_state), as numbered SQL files under sql/warehouse, the DuckDB
 * counterpart of sql/migrations (README "Warehouse"). The feedback tables and the rollups are not here: the export
 * plans the first from the Postgres catalog and sql/rollups recomputes the second.
 *
 * Each file runs once per warehouse file, in the order of its number, in a transaction with the `schema_version` row
 * that records it. A file written before this runner existed has no `schema_version`: every file runs on it, which is
 * why each one is written to apply to the older shape as well (`if not exists`), bringing it up to date without
 * touching its rows.
 */
export const WAREHOUSE_SCHEMA_DIR = fileURLToPath(new URL('../../../sql/warehouse', import.meta.url));

const SCHEMA_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface SchemaFile {
  /** The number in the file name: `0002_export_runs_snapshot.sql` -> 2. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const cached = new Map<string, Promise<SchemaFile[]>>();

/** The schema files in run order; read once per directory and process. */
export function schemaFiles(dir = WAREHOUSE_SCHEMA_DIR): Promise<SchemaFile[]> {
  let files = cached.get(dir);
  if (!files) {
    files = readSchemaFiles(dir);
    files.catch(() => cached.delete(dir));
    cached.set(dir, files);
  }
  return files;
}

async function readSchemaFiles(dir: string): Promise<SchemaFile[]> {
  const names = (await readdir(dir)).filter((name) => SCHEMA_FILE.test(name)).sort();
  const files = await Promise.all(
    names.map(async (name) => ({
      version: Number(SCHEMA_FILE.exec(name)![1]),
      name,
      sql: await readFile(path.join(dir, name), 'utf8'),
    })),
  );
  const versions = new Set(files.map((f) => f.version));
  if (versions.size !== files.length) throw new Error(`two warehouse schema files share a number in ${dir}`);
  return files;
}

/**
 * Brings the warehouse file `conn` is open on up to the latest schema; returns the versions it applied (none when
 * already current). Run on the snapshot being built, never on the published file.
 */
export async function migrateWarehouse(conn: DuckDBConnection, dir = WAREHOUSE_SCHEMA_DIR): Promise<number[]> {
  const files = await schemaFiles(dir);
  await conn.run(
    `create table if not exists schema_version (
       version INTEGER not null, name VARCHAR not null, applied_at TIMESTAMPTZ not null default now())`,
  );
  const reader = await conn.runAndReadAll('select version from schema_version');
  const done = new Set(reader.getRowObjects().map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const file of files) {
    if (done.has(file.version)) continue;
    await conn.run('begin transaction');
    try {
      await conn.run(file.sql);
      await conn.run('insert into schema_version (version, name) values ($version::INTEGER, $name)', {
        version: String(file.version),
        name: file.name,
      });
      await conn.run('commit');
    } catch (error) {
      await conn.run('rollback');
      throw new Error(`warehouse schema ${file.name} failed: ${(error as Error).message}`, { cause: error });
    }
    applied.push(file.version);
  }
  return applied;
}
