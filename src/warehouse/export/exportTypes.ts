/**
 * The types of an export: what it is asked to do (ExportOptions), what it reports while running (ExportProgress) and
 * when done (ExportResult, TableResult). The words used here (export, snapshot, watermark, publication, rollup) are
 * defined in the glossary of docs/ARCHITECTURE.md.
 */
import type { LakeResult } from './lakeTypes.ts';

export type ExportMode = 'full' | 'incremental';

/** The seven feedback tables of docs/CONTRACT.md; tables that do not exist in Postgres yet are skipped. */
export const EXPORTED_TABLES = [
  'votes',
  'interview_sessions',
  'interview_feedbacks',
  'expert_profiles',
  'expert_feedback',
  'expert_faq_candidates',
  'faq_entries',
] as const;

/** The published warehouse's file name inside WAREHOUSE_DIR. */
export const WAREHOUSE_FILE = 'warehouse.duckdb';

export interface ExportOptions {
  /** Rebuild every table from scratch instead of applying the changes since the watermark. */
  readonly full?: boolean;
  /** Also keep the Parquet lake in this directory (`--parquet DIR`, LAKE_DIR; src/warehouse/export/lakeTypes.ts). */
  readonly parquetDir?: string | null;
  /** How long a lake file no longer listed, holding only current rows, is kept for readers (LAKE_RETENTION_MINUTES). */
  readonly lakeRetentionMinutes?: number;
  /** The Postgres job_runs id of this run; recorded as export_runs.run_id (a local counter when absent). */
  readonly runId?: number | null;
  /** Progress while rows stream (rows so far are approximate until the table is done). */
  readonly onProgress?: (progress: ExportProgress) => void;
  readonly signal?: AbortSignal;
  /** Tables to export (default EXPORTED_TABLES). Tests use it to export a table of every column type. */
  readonly tables?: readonly string[];
}

export interface ExportProgress {
  readonly table: string;
  readonly phase: 'rows' | 'deletes' | 'done';
  readonly rows: number;
  readonly elapsedMs: number;
}

export interface TableResult {
  readonly table: string;
  /** 'full' when this table was reloaded (first export, --full, changed columns, no primary key). */
  readonly mode: ExportMode;
  /** Rows copied into the warehouse (inserted or replaced). */
  readonly changed: number;
  /** Rows deleted from the warehouse (tombstones of rows that are gone in the snapshot). */
  readonly deleted: number;
  /** Rows in the warehouse table after the export. */
  readonly rows: number;
}

export interface ExportResult {
  readonly runId: number;
  readonly mode: ExportMode;
  /** Why the export was full (null when incremental). */
  readonly reason: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** The Postgres snapshot time the published data reflects. */
  readonly asOf: Date;
  /** The new watermark (xid8, decimal text). */
  readonly watermark: string;
  /** The watermark the increment started from (null for a full export). */
  readonly previousWatermark: string | null;
  readonly systemIdentifier: string | null;
  readonly tables: readonly TableResult[];
  readonly rowsChanged: number;
  readonly rowsDeleted: number;
  /**
   * Why the snapshot was rebuilt into a fresh file before publication (an incremental export that deleted or replaced
   * rows, so no byte of them stays in the published file; src/warehouse/export/compaction.ts), or null when it was not.
   */
  readonly compactReason: string | null;
  /** Age in seconds of the oldest open write transaction at snapshot time (it holds the watermark back). */
  readonly lagSeconds: number | null;
  /** Milliseconds spent in the rollups (part of the total). */
  readonly rollupMs: number;
  /**
   * How each rollup table was brought up to date: 'full' (recomputed from the raw tables), 'incremental' (only the
   * rows the changes affect) or 'unchanged' (its sources did not change). See src/warehouse/rollups/rollupMaintenance.ts.
   */
  readonly rollups: Readonly<Record<string, 'full' | 'incremental' | 'unchanged'>>;
  /**
   * Milliseconds per phase: prepare, copy (Postgres -> DuckDB), merge, record, rollups, checkpoint (or compact),
   * publish, lake.
   */
  readonly phasesMs: Readonly<Record<string, number>>;
  readonly publishedPath: string;
  readonly parquetDir: string | null;
  /** What the lake write did (null: no lake). */
  readonly lake: LakeResult | null;
}
