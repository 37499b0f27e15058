import { availableParallelism } from 'node:os';
import path from 'node:path';
import { closeSession, openSession, type DuckDBSession } from '../shared/duckdbSession.ts';

/**
 * DuckDB settings of the exporter's private instance, per phase, for a peak RSS under 300 MB (docs/decisions/0014; see
 * `npm run bench -- export`). DuckDB's memory_limit bounds its buffer pool, not the process: the Node runtime and the
 * DuckDB library take about 110 MB before any work, and the C allocator keeps part of what DuckDB frees, so the
 * limits sit well below the target.
 * - Loading reads one pipe, which DuckDB consumes on one thread whatever `threads` says; a small limit keeps the
 *   loading memory flat whatever the table size (DuckDB spills to the work directory beyond it).
 * - The rollups run on at most two threads (each aggregation thread builds its own hash tables) with 96 MB: over
 *   2 million votes, latest_votes (a group-by over every conversation, which cannot always spill) fits, 64 MB does
 *   not. A rollup that still runs out of memory is retried once with ROLLUP_FALLBACK (more memory and threads)
 *   rather than failing the export, and the memory a heavy rollup leaves behind is released before the next one
 *   (rollupMaintenance.ts).
 * Insertion order is not preserved: a table has none, and DuckDB needs less memory without it.
 */
export const PHASE_SETTINGS = {
  load: { memory_limit: '64MB', threads: '1' },
  rollups: { memory_limit: '96MB', threads: String(Math.min(2, availableParallelism())) },
} as const;

/** The rollup settings for a retry after an out-of-memory error: correctness over the memory target. */
export const ROLLUP_FALLBACK = {
  memory_limit: '512MB',
  threads: String(Math.max(1, Math.min(4, availableParallelism()))),
} as const;

/** Rows loaded above which the rollups get a fresh instance (see PHASE_SETTINGS). */
export const REOPEN_AFTER_ROWS = 100_000;

/** The snapshot being built: its own DuckDB instance and the one connection the export uses on it. */
export type Build = DuckDBSession;

/** Opens a DuckDB file read-write for the export; always closed by the caller in finally (closeBuild). */
export function openBuild(file: string, workDir: string, phase: keyof typeof PHASE_SETTINGS = 'load'): Promise<Build> {
  return openSession(file, {
    ...PHASE_SETTINGS[phase],
    preserve_insertion_order: 'false',
    temp_directory: path.join(workDir, 'tmp'),
  });
}

/** Closes the build connection and instance (each exactly once); null is a no-op. */
export const closeBuild = closeSession;
