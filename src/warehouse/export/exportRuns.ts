import type { DuckDBConnection } from '@duckdb/node-api';
import type { ExportMode, TableResult } from './exportTypes.ts';

/**
 * `export_runs`, inside the warehouse: one row per successful export, written into the snapshot it describes, so the
 * watermark is published atomically with the data it covers (a crash can never leave data and watermark apart).
 *
 *   run_id              BIGINT       the Postgres job_runs id of the run
 *   started_at          TIMESTAMPTZ  when the export started
 *   finished_at         TIMESTAMPTZ  when the snapshot was complete (rollups included)
 *   as_of               TIMESTAMPTZ  the Postgres snapshot time the data reflects (what readers show as "as of")
 *   mode                VARCHAR      'full' | 'incremental'
 *   rows_changed        BIGINT       rows inserted or replaced, all tables
 *   rows_deleted        BIGINT       rows deleted, all tables
 *   tables              JSON         {"votes": {"mode", "changed", "deleted", "rows", "columns"}, ...}: per table,
 *                                    rows copied, deleted, and in the warehouse after the run; columns fingerprint
 *   watermark           UBIGINT      the xid8 the next export starts from
 *   previous_watermark  UBIGINT      the one this export started from (null when full)
 *   system_identifier   VARCHAR      the source cluster (pg_control_system), null when unreadable
 *   source_database     VARCHAR      `name/oid` of the source database
 *   reason              VARCHAR      why the export was full (null when incremental)
 *   lag_seconds         DOUBLE       age of the oldest open write transaction at snapshot time
 *   snapshot            VARCHAR      the Postgres snapshot read (`xmin:xmax:xip,...`): the next export reads the rows
 *                                    at or after the watermark that this snapshot could not see
 *
 * The table is created and upgraded by the warehouse schema files (sql/warehouse, applied by migrateWarehouse in
 * src/warehouse/shared/warehouseSchema.ts) before any function here runs.
 */
export interface ExportRunRow {
  readonly runId: number;
  readonly startedAt: Date;
  readonly asOf: Date;
  readonly mode: ExportMode;
  readonly tables: readonly (TableResult & { columns: string })[];
  readonly watermark: string;
  readonly snapshot: string;
  readonly previousWatermark: string | null;
  readonly systemIdentifier: string | null;
  readonly sourceDatabase: string;
  readonly reason: string | null;
  readonly lagSeconds: number | null;
}

/** What the previous export left in the snapshot: where the next one starts from. */
export interface WarehouseState {
  readonly runId: number;
  readonly watermark: string;
  /** The previous export's Postgres snapshot; null when written by a version that did not record it. */
  readonly snapshot: string | null;
  readonly systemIdentifier: string | null;
  readonly sourceDatabase: string | null;
  /** table -> columns fingerprint of the table as exported. */
  readonly tableColumns: ReadonlyMap<string, string>;
}

const iso = (d: Date) => d.toISOString();

/**
 * The last export's state, or null when the snapshot has none (never exported, or written by something else). Run on
 * the writable copy being built, never on the published file.
 */
export async function readWarehouseState(conn: DuckDBConnection): Promise<WarehouseState | null> {
  const exists = await conn.runAndReadAll(
    `select count(*)::int as n from duckdb_tables() where schema_name = 'main' and table_name = 'export_runs'`,
  );
  if (Number(exists.getRowObjects()[0]?.n ?? 0) === 0) return null;
  const reader = await conn.runAndReadAll(
    `select run_id::varchar as run_id, watermark::varchar as watermark, snapshot,
            system_identifier, source_database,
            tables::varchar as tables
       from export_runs where finished_at is not null order by finished_at desc, run_id desc limit 1`,
  );
  const row = reader.getRowObjects()[0];
  if (!row) return null;
  const tables = JSON.parse(String(row.tables)) as Record<string, { columns?: string }>;
  return {
    runId: Number(row.run_id),
    watermark: String(row.watermark),
    snapshot: (row.snapshot as string | null) ?? null,
    systemIdentifier: (row.system_identifier as string | null) ?? null,
    sourceDatabase: (row.source_database as string | null) ?? null,
    tableColumns: new Map(
      Object.entries(tables).flatMap(([t, v]) => (typeof v.columns === 'string' ? [[t, v.columns] as const] : [])),
    ),
  };
}

/** The next run id when the caller has none (a direct call outside the job runner). */
export async function nextLocalRunId(conn: DuckDBConnection): Promise<number> {
  const reader = await conn.runAndReadAll(`select coalesce(max(run_id), 0)::varchar as id from export_runs`);
  return Number(reader.getRowObjects()[0]!.id) + 1;
}

/** Carries the history of a previous warehouse into a fresh (full) snapshot; best effort when columns differ. */
export async function copyHistory(conn: DuckDBConnection, previousFile: string): Promise<boolean> {
  const escaped = previousFile.replace(/'/g, "''");
  await conn.run(`attach '${escaped}' as previous (read_only)`);
  try {
    await conn.run(`insert into export_runs by name select * from previous.export_runs where finished_at is not null`);
    return true;
  } catch {
    return false;
  } finally {
    await conn.run('detach previous');
  }
}

/** Records this run in the snapshot being built (finished_at is set by finishExportRun, after the rollups). */
export async function insertExportRun(conn: DuckDBConnection, run: ExportRunRow): Promise<void> {
  const tables = Object.fromEntries(
    run.tables.map((t) => [
      t.table,
      { mode: t.mode, changed: t.changed, deleted: t.deleted, rows: t.rows, columns: t.columns },
    ]),
  );
  await conn.run(
    `insert into export_runs values ($run_id::BIGINT, $started_at::TIMESTAMPTZ, null, $as_of::TIMESTAMPTZ, $mode,
       $rows_changed::BIGINT, $rows_deleted::BIGINT, $tables::JSON, $watermark::UBIGINT, $previous::UBIGINT,
       $system_identifier, $source_database, $reason, $lag::DOUBLE, $snapshot)`,
    {
      run_id: String(run.runId),
      started_at: iso(run.startedAt),
      as_of: iso(run.asOf),
      mode: run.mode,
      rows_changed: String(run.tables.reduce((n, t) => n + t.changed, 0)),
      rows_deleted: String(run.tables.reduce((n, t) => n + t.deleted, 0)),
      tables: JSON.stringify(tables),
      watermark: run.watermark,
      previous: run.previousWatermark,
      system_identifier: run.systemIdentifier,
      source_database: run.sourceDatabase,
      reason: run.reason,
      lag: run.lagSeconds === null ? null : String(run.lagSeconds),
      snapshot: run.snapshot,
    },
  );
}

export async function finishExportRun(conn: DuckDBConnection, runId: number, finishedAt: Date): Promise<void> {
  await conn.run(
    `update export_runs set finished_at = $finished::TIMESTAMPTZ where run_id = $run_id::BIGINT and finished_at is null`,
    {
      finished: iso(finishedAt),
      run_id: String(runId),
    },
  );
}
