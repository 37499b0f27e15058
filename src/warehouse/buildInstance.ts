import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * DuckDB settings of the exporter's private instance, per phase. Loading reads one pipe, which DuckDB consumes on one
 * thread whatever `threads` says, so one thread and a small memory limit keep the loading memory flat whatever the
 * table size (DuckDB spills to the work directory beyond the limit). The rollups then run on a fresh instance (the
 * loading memory is returned first) with the machine's cores and room for their aggregates: a group-by over every
 * conversation cannot always spill, and must not fail the export. Measured in `npm run bench -- export`.
 * Insertion order is not preserved: a table has none, and DuckDB needs less memory without it.
 */
export const PHASE_SETTINGS = {
  load: { memory_limit: '96MB', threads: '1' },
  rollups: { memory_limit: '512MB', threads: String(Math.max(1, Math.min(4, availableParallelism()))) },
} as const;

/** Rows loaded above which the rollups get a fresh instance (see PHASE_SETTINGS). */
export const REOPEN_AFTER_ROWS = 100_000;

/** The snapshot being built: its own DuckDB instance and the one connection the export uses on it. */
export interface Build {
  readonly instance: DuckDBInstance;
  readonly conn: DuckDBConnection;
}

/** Opens a DuckDB file read-write for the export; always closed by the caller in finally. */
export async function openBuild(
  file: string,
  workDir: string,
  phase: keyof typeof PHASE_SETTINGS = 'load',
): Promise<Build> {
  const instance = await DuckDBInstance.create(file, {
    ...PHASE_SETTINGS[phase],
    preserve_insertion_order: 'false',
    temp_directory: path.join(workDir, 'tmp'),
  });
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`set TimeZone = 'UTC'`);
      return { instance, conn };
    } catch (error) {
      conn.closeSync();
      throw error;
    }
  } catch (error) {
    instance.closeSync();
    throw error;
  }
}

/** Closes the build connection and instance (each exactly once); null is a no-op. */
export function closeBuild(build: Build | null): void {
  if (!build) return;
  try {
    build.conn.closeSync();
  } finally {
    build.instance.closeSync();
  }
}
