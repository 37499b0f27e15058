import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULTS, parseRollupSegments } from '../../config.ts';
import { literal } from '../shared/sqlText.ts';

/** The rollup SQL: one `create or replace table ... as ...` per file, run in the order of the numeric prefix. */
export const ROLLUPS_DIR = fileURLToPath(new URL('../../../sql/rollups', import.meta.url));

const ROLLUP_FILE = /^(\d+)_([a-z0-9_]+)\.sql$/;

export interface RollupFile {
  /** The table the file creates, by convention its name without the prefix: `01_latest_votes.sql` -> latest_votes. */
  readonly table: string;
  readonly file: string;
  readonly sql: string;
}

/** The rollup files in run order. Example: `(await rollupFiles()).map((f) => f.table)` -> `['latest_votes', ...]`. */
export async function rollupFiles(dir = ROLLUPS_DIR): Promise<RollupFile[]> {
  const names = (await readdir(dir)).filter((name) => ROLLUP_FILE.test(name));
  names.sort((a, b) => Number(ROLLUP_FILE.exec(a)![1]) - Number(ROLLUP_FILE.exec(b)![1]) || a.localeCompare(b));
  return Promise.all(
    names.map(async (name) => ({
      table: ROLLUP_FILE.exec(name)![2]!,
      file: path.join(dir, name),
      sql: await readFile(path.join(dir, name), 'utf8'),
    })),
  );
}

/** The default segment keys (ROLLUP_SEGMENTS unset): `['app', 'model', 'release']`. */
export const DEFAULT_SEGMENT_KEYS: readonly string[] = Object.freeze(parseRollupSegments(DEFAULTS.ROLLUP_SEGMENTS));

/**
 * Prepares a build connection for the rollup SQL: sets fw_segment_keys to the segment keys and runs
 * sql/rollups/segments.sql (vote_segment_keys and the macros the segment rollups share). Every rollup run starts here.
 */
export async function prepareSegments(connection: DuckDBConnection, segmentKeys: readonly string[]): Promise<void> {
  await connection.run(`set variable fw_segment_keys = [${segmentKeys.map(literal).join(', ')}]::varchar[]`);
  try {
    await connection.run(await readFile(path.join(ROLLUPS_DIR, 'segments.sql'), 'utf8'));
  } catch (error) {
    throw new Error(`rollup segments.sql failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Recomputes the rollup tables on a warehouse snapshot that is being built, before it is published, so a reader
 * never sees new raw tables with old rollups (docs/decisions/0003). The exporter calls it on its own connection; it
 * neither opens a transaction nor changes a session setting (days and weeks are UTC whatever TimeZone is), so it
 * composes with whatever the exporter does around it. Throws, naming the file, when a rollup fails.
 */
export async function computeRollups(
  connection: DuckDBConnection,
  segmentKeys: readonly string[] = DEFAULT_SEGMENT_KEYS,
): Promise<{ table: string; ms: number }[]> {
  const timings: { table: string; ms: number }[] = [];
  await prepareSegments(connection, segmentKeys);
  for (const rollup of await rollupFiles()) {
    const started = performance.now();
    try {
      await connection.run(rollup.sql);
    } catch (error) {
      throw new Error(`rollup ${path.basename(rollup.file)} failed: ${(error as Error).message}`, { cause: error });
    }
    timings.push({ table: rollup.table, ms: Math.round(performance.now() - started) });
  }
  return timings;
}
