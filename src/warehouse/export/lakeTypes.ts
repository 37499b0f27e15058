/**
 * The Parquet lake (README "At scale", docs/decisions/0018): what `export --parquet DIR` (or LAKE_DIR) keeps in DIR.
 *
 *   DIR/_manifest.json                                   the published state: written last, atomically
 *   DIR/<table>/day=YYYY-MM-DD/part-<export id>.parquet  tables partitioned by the UTC day of created_at
 *   DIR/<table>/part-<export id>.parquet                 the small tables, one file
 *
 * A lake file is never rewritten in place: an export writes new files under new names (its export id) and publishes
 * a manifest listing them; the files the new manifest no longer lists are "retired", kept for the retention period
 * so that a reader of the previous manifest can finish, except those holding a row version that is no longer in
 * Postgres (an erased or updated row), which are deleted as soon as the new manifest is published.
 */

/** The manifest's format name; a lake in another format is rewritten whole. */
export const LAKE_FORMAT = 'feedback-warehouse-lake/1';

/** The manifest's file name inside the lake directory. */
export const MANIFEST_FILE = '_manifest.json';

/** One Parquet file the manifest lists. */
export interface LakeFile {
  /** Relative to the lake directory, with forward slashes: `votes/day=2025-01-31/part-12.parquet`. */
  readonly path: string;
  /** The partition (UTC day, YYYY-MM-DD), or null for a table written whole. */
  readonly day: string | null;
  readonly rows: number;
  readonly bytes: number;
  /** The export that wrote it. */
  readonly export_id: number;
}

export interface LakeTable {
  /** `day` (hive partitions `day=YYYY-MM-DD`, the UTC day of `day_column`) or null (one file). */
  readonly partition_by: 'day' | null;
  readonly day_column: string | null;
  /** The column set and lake mapping the files were written with; a change rewrites the table whole. */
  readonly fingerprint: string;
  /** Each column's lake type, as DuckDB names it (README "At scale" has the Parquet types). */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: number;
  readonly bytes: number;
  readonly files: readonly LakeFile[];
}

/** A file a manifest no longer lists, waiting for its deletion. */
export interface RetiredFile {
  readonly path: string;
  /** When it may be deleted (ISO 8601): the export's time for a file holding erased or replaced rows. */
  readonly delete_after: string;
}

export interface LakeManifest {
  readonly format: typeof LAKE_FORMAT;
  /** The export (export_runs.run_id) whose snapshot the lake reflects. */
  readonly export_id: number;
  /** The Postgres snapshot time the lake reflects. */
  readonly as_of: string;
  /** The export's watermark (xid8, decimal text). */
  readonly watermark: string;
  readonly published_at: string;
  readonly tables: Readonly<Record<string, LakeTable>>;
  readonly retired: readonly RetiredFile[];
}

/**
 * What one export changed in a table, for the lake (captured before the merge, src/warehouse/export/lakeCapture.ts):
 * `whole` (reloaded, or nothing is known: every file is rewritten and the old ones hold rows that may be gone),
 * `days` (the UTC days of the row versions that entered or left; true for a day a version left: an update or delete)
 * or `unchanged`.
 */
export type LakeChange =
  | { readonly kind: 'whole' }
  | { readonly kind: 'days'; readonly days: ReadonlyMap<string, boolean> }
  | { readonly kind: 'single'; readonly erasing: boolean }
  | { readonly kind: 'unchanged' };

/** What a lake write did, for the export result and the job record. */
export interface LakeResult {
  readonly dir: string;
  readonly filesWritten: number;
  readonly bytesWritten: number;
  /** Partitions (or whole small tables) rewritten. */
  readonly partitionsRewritten: number;
  /** Tables rewritten whole, with why. */
  readonly rewrittenWhole: Readonly<Record<string, string>>;
  /** Files deleted by this export (retired ones past their time, leftovers of killed exports). */
  readonly filesDeleted: number;
  /** Files retired and kept for LAKE_RETENTION_MINUTES. */
  readonly filesRetained: number;
  /** Total size of the files the new manifest lists. */
  readonly lakeBytes: number;
  readonly ms: number;
}
