import fs from 'node:fs/promises';
import path from 'node:path';
import type { TablePlan } from './columns.ts';
import { closeSession, openSession } from '../shared/duckdbSession.ts';
import { isAlive } from '../../processAlive.ts';
import { ident, literal } from '../shared/sqlText.ts';

/** `.<table>.<pid>.tmp` (being written) and `.<table>.<pid>.old` (being retired): one export's private directories. */
const PRIVATE_DIR = /^\.(.+)\.(\d+)\.(tmp|old)$/;

/**
 * Removes what exports whose process is gone (kill -9, power loss) left in DIR: a retired table directory holds the
 * rows of an older export, erased ones included, and nothing else would ever remove it.
 */
async function removeStaleDirs(parquetDir: string): Promise<void> {
  const entries = await fs.readdir(parquetDir);
  await Promise.all(
    entries.map(async (entry) => {
      const match = PRIVATE_DIR.exec(entry);
      if (!match) return;
      const pid = Number(match[2]);
      if (pid !== process.pid && isAlive(pid)) return;
      await fs.rm(path.join(parquetDir, entry), { recursive: true, force: true });
    }),
  );
}

/**
 * `export --parquet DIR`: every exported table as Parquet, read from the snapshot just published, for engines other
 * than this service's DuckDB (DuckDB elsewhere, Trino, Spark, ClickHouse):
 *
 *   DIR/votes/day=2025-01-31/data_0.parquet     tables with created_at: hive-partitioned by its UTC day (`day`)
 *   DIR/<table>/data_0.parquet                   tables without a timestamp: one file
 *
 * Each table is written to a hidden sibling directory and swapped in by renames, so a reader of DIR/<table> sees a
 * whole table: the previous one or the new one (the swap is two renames; a reader listing in between may find the
 * directory missing for an instant, never half-written). The retired directory is removed at once, and one left by
 * a killed export is removed by the next, so after an export no file in DIR holds a row the snapshot no longer has
 * (README "Privacy"); a table gone from Postgres (`dropped`) leaves DIR too.
 */
export async function writeParquet(
  snapshotFile: string,
  parquetDir: string,
  plans: readonly TablePlan[],
  workDir: string,
  dropped: readonly string[] = [],
): Promise<void> {
  await fs.mkdir(parquetDir, { recursive: true });
  await removeStaleDirs(parquetDir);
  for (const table of dropped) await fs.rm(path.join(parquetDir, table), { recursive: true, force: true });
  const session = await openSession(snapshotFile, {
    access_mode: 'READ_ONLY',
    memory_limit: '160MB',
    preserve_insertion_order: 'false',
    temp_directory: path.join(workDir, 'tmp'),
  });
  try {
    const conn = session.conn;
    for (const plan of plans) {
      const final = path.join(parquetDir, plan.table);
      const staging = path.join(parquetDir, `.${plan.table}.${process.pid}.tmp`);
      const retired = path.join(parquetDir, `.${plan.table}.${process.pid}.old`);
      await fs.rm(staging, { recursive: true, force: true });
      if (plan.dayColumn) {
        const column = plan.columns.find((c) => c.name === plan.dayColumn)!;
        const day =
          column.duckType === 'TIMESTAMP WITH TIME ZONE'
            ? `cast(timezone('UTC', ${ident(column.name)}) as DATE)`
            : `cast(${ident(column.name)} as DATE)`;
        await conn.run(
          `copy (select *, ${day} as day from ${ident(plan.table)}) to ${literal(staging)}
             (format parquet, partition_by (day), compression zstd)`,
        );
      } else {
        await fs.mkdir(staging, { recursive: true });
        await conn.run(
          `copy ${ident(plan.table)} to ${literal(path.join(staging, 'data_0.parquet'))} (format parquet, compression zstd)`,
        );
      }
      await fs.mkdir(staging, { recursive: true }); // an empty partitioned table writes no directory
      await fs.rm(retired, { recursive: true, force: true });
      try {
        await fs.rename(final, retired);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      await fs.rename(staging, final);
      await fs.rm(retired, { recursive: true, force: true });
    }
  } finally {
    closeSession(session);
  }
}
