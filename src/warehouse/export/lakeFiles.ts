import fs from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TablePlan } from './columns.ts';
import { lakeDayExpr, lakeSelectList } from './lakeColumns.ts';
import { fileExists, renameDurably } from './snapshotFiles.ts';
import type { LakeFile } from './lakeTypes.ts';
import { ident, literal } from '../shared/sqlText.ts';

// The lake's files on disk: writing a table's partitions into place, listing and removing them (lake.ts decides
// which, lakeTypes.ts has the layout).

/** Lake-relative path with forward slashes. */
export const rel = (...parts: string[]) => parts.join('/');

/** Every file under DIR/<table>, lake-relative. */
export async function filesOf(lakeDir: string, table: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(path.join(lakeDir, table), { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(lakeDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function removeFile(lakeDir: string, relative: string): Promise<boolean> {
  try {
    await fs.rm(path.join(lakeDir, relative));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Removes the empty partition directories left by deletions (a reader globbing DIR/<table>/** sees no husk). */
export async function removeEmptyDirs(lakeDir: string, table: string): Promise<void> {
  const dir = path.join(lakeDir, table);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    await fs.rmdir(path.join(dir, entry.name)).catch(() => undefined); // ENOTEMPTY: still in use
  }
}

/** Rows of each Parquet file under `dir` (from the footers), by absolute path. */
async function rowCounts(conn: DuckDBConnection, dir: string): Promise<(file: string) => number> {
  const reader = await conn.runAndReadAll(
    `select file_name, num_rows::bigint::varchar as n from parquet_file_metadata(${literal(path.join(dir, '**', '*.parquet'))})`,
  );
  const counts = new Map(reader.getRowObjects().map((r) => [path.resolve(String(r.file_name)), Number(r.n)]));
  return (file) => {
    const n = counts.get(path.resolve(file));
    if (n === undefined) throw new Error(`no Parquet footer read for ${file}`);
    return n;
  };
}

/** Moves one fully written temporary file to a fresh final name (never one that exists) and returns its entry. */
async function placeFile(
  lakeDir: string,
  temp: string,
  rows: number,
  dirRel: string,
  day: string | null,
  exportId: number,
): Promise<LakeFile> {
  const dir = path.join(lakeDir, dirRel);
  await fs.mkdir(dir, { recursive: true });
  let name = `part-${exportId}.parquet`;
  for (let n = 1; await fileExists(path.join(dir, name)); n++) name = `part-${exportId}-${n}.parquet`;
  await renameDurably(temp, path.join(dir, name));
  const { size } = await fs.stat(path.join(dir, name));
  return { path: rel(dirRel, name), day, rows, bytes: size, export_id: exportId };
}

/**
 * Writes a table's rows (all, or those of `days`) to new files under DIR/<table>: one COPY into a dot-named staging
 * directory, then each file fsynced and renamed to its final name. Returns the new files.
 */
export async function writeTableFiles(
  conn: DuckDBConnection,
  lakeDir: string,
  plan: TablePlan,
  days: readonly string[] | null,
  exportId: number,
): Promise<LakeFile[]> {
  const select = lakeSelectList(plan);
  const dayExpr = lakeDayExpr(plan);
  const staging = path.join(lakeDir, plan.table, `.staging-${exportId}-${process.pid}`);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });
  try {
    if (dayExpr === null) {
      const temp = path.join(staging, 'part.parquet');
      await conn.run(
        `copy (select ${select} from ${ident(plan.table)}) to ${literal(temp)} (format parquet, compression zstd)`,
      );
      const rows = (await rowCounts(conn, staging))(temp);
      return [await placeFile(lakeDir, temp, rows, plan.table, null, exportId)];
    }
    if (days !== null && days.length === 0) return [];
    const where = days === null ? '' : `where ${dayExpr} in (${days.map((d) => `date ${literal(d)}`).join(', ')})`;
    await conn.run(
      `copy (select ${select}, strftime(${dayExpr}, '%Y-%m-%d') as day from ${ident(plan.table)} ${where})
         to ${literal(staging)} (format parquet, partition_by (day), compression zstd, overwrite_or_ignore)`,
    );
    const staged = (await fs.readdir(staging, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    if (staged.length === 0) return []; // no row on those days (or none at all)
    const rows = await rowCounts(conn, staging);
    const byDay = new Map<string, string[]>();
    for (const entry of staged) {
      const day = /^day=(\d{4}-\d{2}-\d{2})$/.exec(path.basename(entry.parentPath))?.[1];
      if (!day) throw new Error(`unexpected file in the lake staging directory: ${entry.name}`);
      byDay.set(day, [...(byDay.get(day) ?? []), path.join(entry.parentPath, entry.name)]);
    }
    // The days are placed side by side (their fsyncs overlap); a day's files (DuckDB may write several when many
    // partitions are open at once) one after the other, so each gets its own name.
    const placed = await Promise.all(
      [...byDay].map(async ([day, temps]) => {
        const out: LakeFile[] = [];
        for (const temp of temps.sort()) {
          const dirRel = rel(plan.table, `day=${day}`);
          out.push(await placeFile(lakeDir, temp, rows(temp), dirRel, day, exportId));
        }
        return out;
      }),
    );
    return placed.flat();
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
