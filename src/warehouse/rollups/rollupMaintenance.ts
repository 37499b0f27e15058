import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ROLLUP_FALLBACK } from '../export/buildInstance.ts';
import { DEFAULT_SEGMENT_KEYS, ROLLUPS_DIR, prepareSegments, rollupFiles, type RollupFile } from './rollups.ts';
import { ident, literal } from '../shared/sqlText.ts';
import type { PendingMerge } from '../export/tableCopy.ts';

/**
 * Incremental rollup maintenance (docs/decisions/0003): an incremental export recomputes
 * only the rollup rows its changes affect, exactly, instead of every rollup table from the raw tables.
 *
 *   1. Before a source table's staged changes are merged, `captureRollupChanges` records the keys (conversation,
 *      session, UTC day) of every row version that enters or leaves the rollups: the old versions are still in the
 *      table at that point (sql/rollups/incremental/capture_*.sql).
 *   2. After the merge, `refreshRollups` deletes and recomputes just those keys (sql/rollups/incremental/<table>.sql,
 *      next to the full versions in sql/rollups, each saying why it is exact), recomputes the small rollups whole,
 *      and skips the groups whose sources did not change.
 *
 * The full path (every file of sql/rollups, as `computeRollups` runs them) runs instead on a full export, when a
 * rollup table is missing, and when the rollup SQL changed since the snapshot's rollups were computed (rollup_state
 * holds a hash of every rollup file, so a changed definition is never maintained on top of rows of the old one). A
 * group whose source table was reloaded whole (its columns changed) is recomputed whole.
 */

export const INCREMENTAL_DIR = path.join(ROLLUPS_DIR, 'incremental');

/** Work tables of one export (the captured keys); dropped before the snapshot is checkpointed and published. */
const WORK_SCHEMA = 'fw_work';

/** What happened to one source table in this export. */
export type SourceChange =
  | 'unchanged'
  /** Reloaded whole (or missing): its rollups are recomputed in full. */
  | 'reloaded'
  /** Merged incrementally; for tables with a capture file, the affected keys are in fw_work. */
  | 'merged';

interface RollupGroup {
  /** The raw tables the group reads. */
  readonly sources: readonly string[];
  /** The capture file (sql/rollups/incremental), for groups maintained incrementally; null: recomputed whole. */
  readonly capture: string | null;
  /** fw_work table the capture fills (its rows: the affected keys). */
  readonly captured: string | null;
  /** The rollup tables, in run order; true: an incremental file exists, false: recomputed whole (it is small). */
  readonly tables: readonly (readonly [string, boolean])[];
}

const GROUPS: readonly RollupGroup[] = [
  {
    sources: ['votes'],
    capture: 'capture_votes.sql',
    captured: 'votes_changed',
    // latest_vote_totals is one row over latest_votes (a row per conversation): cheap to recompute whole.
    // The segment rollups (README "Rollups", docs/decisions/0019): segment_top_values is recomputed whole (a copy
    // of the previous set is kept first, TOP_BEFORE); when the set changed, the capped tables are recomputed whole.
    tables: [
      ['latest_votes', true],
      ['latest_vote_totals', false],
      ['vote_daily', true],
      ['vote_reasons_daily', true],
      ['vote_segment_values_daily', true],
      ['segment_top_values', false],
      ['vote_segment_cube', true],
      ['vote_reasons_by_segment', true],
      ['vote_period_by_segment', true],
      ['vote_daily_by_segment', false],
      ['latest_vote_segment_totals', false],
      ['vote_segment_conversations', true],
    ],
  },
  {
    sources: ['expert_profiles', 'expert_feedback'],
    capture: null,
    captured: null,
    // One row per expert: recomputed whole whenever an expert or a verdict changed.
    tables: [['expert_faq_conversion', false]],
  },
  {
    sources: ['interview_feedbacks'],
    capture: 'capture_interview_feedbacks.sql',
    captured: 'interview_feedbacks_changed',
    tables: [
      ['interview_scores', true],
      ['interview_score_stats', true],
      ['knowledge_gap_daily', true],
    ],
  },
];

let definitionsCache: Promise<string> | null = null;

/**
 * A hash of every rollup file, full and incremental, and of the segment keys: a snapshot's rollups are only
 * maintained with the same SQL and the same ROLLUP_SEGMENTS.
 */
export async function rollupDefinitions(segmentKeys: readonly string[] = DEFAULT_SEGMENT_KEYS): Promise<string> {
  const files = await filesHash();
  return createHash('sha256')
    .update(`${files}\0${JSON.stringify(segmentKeys)}`)
    .digest('hex')
    .slice(0, 32);
}

function filesHash(): Promise<string> {
  definitionsCache ??= (async () => {
    const hash = createHash('sha256');
    for (const dir of [ROLLUPS_DIR, INCREMENTAL_DIR]) {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
      for (const name of names) hash.update(`${dir === ROLLUPS_DIR ? '' : 'incremental/'}${name}\0`);
      for (const name of names) hash.update(await readFile(path.join(dir, name), 'utf8'));
    }
    return hash.digest('hex').slice(0, 32);
  })();
  return definitionsCache;
}

/**
 * The top segment values before an incremental refresh, for incremental/vote_segment_cube.sql to tell whether the
 * set changed (then every capped segment row is recomputed).
 */
const TOP_BEFORE = `create or replace table ${WORK_SCHEMA}.segment_top_before as select position, value from segment_top_values`;

async function incrementalSql(name: string): Promise<string> {
  return readFile(path.join(INCREMENTAL_DIR, name), 'utf8');
}

const isOutOfMemory = (error: unknown) => /out of memory/i.test((error as Error).message);

/**
 * Runs one rollup file. An out-of-memory error is retried once with ROLLUP_FALLBACK (buildInstance.ts): the low
 * limits are there for the exporter's memory target, and must not fail an export. The retry runs `retrySql`, the
 * table's full file (`create or replace`, exact whatever state a failed attempt left the table in).
 */
async function runFile(conn: DuckDBConnection, label: string, sql: string, retrySql = sql): Promise<void> {
  try {
    try {
      await conn.run(sql);
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
      for (const [name, value] of Object.entries(ROLLUP_FALLBACK)) await conn.run(`set ${name} = '${value}'`);
      await conn.run(retrySql);
    }
  } catch (error) {
    throw new Error(`rollup ${label} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Returns the memory DuckDB kept after a heavy rollup. DuckDB keeps the blocks it read cached up to memory_limit and
 * the freed memory of a finished aggregation in the process; the next aggregation then adds its own on top. Lowering
 * the limit for a moment evicts the cache and frees that memory (measured with `npm run bench -- export`: the full
 * rollups' peak RSS fell from about 345 MB to under 300 MB). Best effort: DuckDB refuses a limit below what must stay
 * in memory, and then nothing is released, which costs memory, never correctness.
 */
async function releaseMemory(conn: DuckDBConnection): Promise<void> {
  const reader = await conn.runAndReadAll(`select current_setting('memory_limit') as v`);
  const limit = String(reader.getRowObjects()[0]!.v);
  try {
    await conn.run(`set memory_limit = '8MB'`);
  } catch {
    return; // refused (see above): the limit is unchanged
  }
  await conn.run(`set memory_limit = ${literal(limit)}`);
}

/**
 * Called for each incrementally merged table just BEFORE its merge (the old row versions are still in the table):
 * records the rollup keys its changes affect. Returns what happened to the table, for refreshRollups.
 */
export async function captureRollupChanges(conn: DuckDBConnection, merge: PendingMerge): Promise<SourceChange> {
  if (!merge.stage && !merge.gone) return 'unchanged';
  const group = GROUPS.find((g) => g.capture !== null && g.sources.includes(merge.plan.table));
  if (!group) return 'merged';
  const table = ident(merge.plan.table);
  await conn.run(`create schema if not exists ${WORK_SCHEMA}`);
  await conn.run(`create or replace temp view fw_new_rows as select * from ${merge.stage ?? `${table} limit 0`}`);
  await conn.run(
    merge.gone
      ? `create or replace temp view fw_gone_ids as select id from ${merge.gone}`
      : `create or replace temp view fw_gone_ids as select id from ${table} limit 0`,
  );
  try {
    await runFile(conn, `incremental/${group.capture}`, await incrementalSql(group.capture!));
  } finally {
    await conn.run('drop view if exists fw_new_rows');
    await conn.run('drop view if exists fw_gone_ids');
  }
  return 'merged';
}

async function existingTables(conn: DuckDBConnection): Promise<Set<string>> {
  const reader = await conn.runAndReadAll(`select table_name from duckdb_tables() where schema_name = 'main'`);
  return new Set(reader.getRowObjects().map((r) => String(r.table_name)));
}

async function storedDefinitions(conn: DuckDBConnection, tables: Set<string>): Promise<string | null> {
  if (!tables.has('rollup_state')) return null;
  const reader = await conn.runAndReadAll(`select max(definitions) as d from rollup_state`);
  const value = reader.getRowObjects()[0]?.d;
  return typeof value === 'string' ? value : null;
}

/**
 * Whether a published snapshot's rollups were computed by this version's rollup SQL and segment keys. False for a
 * snapshot an older version exported (an upgrade added or changed rollups, or ROLLUP_SEGMENTS changed): its rollup
 * tables may be missing or of another definition until the next export recomputes them.
 */
export async function rollupsAreCurrent(conn: DuckDBConnection, segmentKeys?: readonly string[]): Promise<boolean> {
  const stored = await storedDefinitions(conn, await existingTables(conn));
  return stored === (await rollupDefinitions(segmentKeys));
}

/** Records which rollup SQL computed the snapshot's rollup tables (see rollup_state above). */
export async function recordRollupDefinitions(
  conn: DuckDBConnection,
  segmentKeys: readonly string[] = DEFAULT_SEGMENT_KEYS,
): Promise<void> {
  // The table itself is created by the warehouse schema (sql/warehouse/0003_rollup_state.sql).
  await conn.run('delete from rollup_state');
  await conn.run('insert into rollup_state values ($definitions)', {
    definitions: await rollupDefinitions(segmentKeys),
  });
}

async function countRows(conn: DuckDBConnection, table: string): Promise<number> {
  const reader = await conn.runAndReadAll(`select count(*)::integer as n from ${WORK_SCHEMA}.${ident(table)}`);
  return Number(reader.getRowObjects()[0]!.n);
}

export interface RollupRefresh {
  /** 'full': every rollup recomputed (computeRollups); 'incremental': per table, as `tables` says. */
  readonly mode: 'full' | 'incremental';
  readonly reason: string | null;
  /** Per rollup table: how it was brought up to date. */
  readonly tables: Record<string, 'full' | 'incremental' | 'unchanged'>;
}

/**
 * Brings the rollup tables of the snapshot being built up to date with its raw tables. `changes` is null for a full
 * export (every rollup recomputed), else what happened to each exported table (captureRollupChanges, or 'reloaded').
 * Drops the work schema, so the snapshot it leaves holds no export internals.
 */
export async function refreshRollups(
  conn: DuckDBConnection,
  changes: ReadonlyMap<string, SourceChange> | null,
  segmentKeys: readonly string[] = DEFAULT_SEGMENT_KEYS,
): Promise<RollupRefresh> {
  try {
    await prepareSegments(conn, segmentKeys);
    const files = await rollupFiles();
    const tables = await existingTables(conn);
    let reason: string | null = null;
    if (changes === null) reason = 'full export';
    else if (files.some((f) => !tables.has(f.table))) reason = 'a rollup table is missing';
    else if ((await storedDefinitions(conn, tables)) !== (await rollupDefinitions(segmentKeys)))
      reason = 'the rollup SQL or ROLLUP_SEGMENTS changed';
    if (reason !== null) {
      // computeRollups, file by file through runFile for its out-of-memory retry.
      for (const file of files) {
        await runFile(conn, path.basename(file.file), file.sql);
        await releaseMemory(conn);
      }
      await recordRollupDefinitions(conn, segmentKeys);
      return { mode: 'full', reason, tables: Object.fromEntries(files.map((f) => [f.table, 'full'])) };
    }
    const byTable = new Map<string, RollupFile>(files.map((f) => [f.table, f]));
    await conn.run(`create schema if not exists ${WORK_SCHEMA}`);
    await conn.run(TOP_BEFORE);
    const done: Record<string, 'full' | 'incremental' | 'unchanged'> = {};
    for (const group of GROUPS) {
      // A source missing from the export's list (or dropped from Postgres) counts as reloaded: recompute whole.
      const states = group.sources.map((s) => changes!.get(s) ?? 'reloaded');
      const whole = states.includes('reloaded') || (group.capture === null && states.includes('merged'));
      let incremental = !whole && states.includes('merged');
      if (incremental && (await countRows(conn, group.captured!)) === 0) incremental = false; // nothing that counts
      for (const [table, hasIncremental] of group.tables) {
        const file = byTable.get(table);
        if (!file) throw new Error(`rollup ${table} has no file in sql/rollups`);
        if (whole || (incremental && !hasIncremental)) {
          await runFile(conn, path.basename(file.file), file.sql);
          if (whole) await releaseMemory(conn);
          done[table] = 'full';
        } else if (incremental) {
          await runFile(conn, `incremental/${table}.sql`, await incrementalSql(`${table}.sql`), file.sql);
          done[table] = 'incremental';
        } else {
          done[table] = 'unchanged';
        }
      }
    }
    return { mode: 'incremental', reason: null, tables: done };
  } finally {
    await conn.run(`drop schema if exists ${WORK_SCHEMA} cascade`);
  }
}
