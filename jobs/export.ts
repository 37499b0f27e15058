import type { Config } from '../src/config.ts';
import { runExport } from '../src/warehouse/export/exporter.ts';
import type { ExportResult } from '../src/warehouse/export/exportTypes.ts';
import type { JobDefinition } from './definition.ts';

/** The JSON summary of an export stored in job_runs.detail (and printed by the CLI). */
export function exportDetail(result: ExportResult): Record<string, unknown> {
  return {
    mode: result.mode,
    reason: result.reason,
    as_of: result.asOf.toISOString(),
    watermark: result.watermark,
    previous_watermark: result.previousWatermark,
    system_identifier: result.systemIdentifier,
    rows_changed: result.rowsChanged,
    rows_deleted: result.rowsDeleted,
    compact_reason: result.compactReason,
    rollup_ms: result.rollupMs,
    phases_ms: result.phasesMs,
    duration_ms: result.finishedAt.getTime() - result.startedAt.getTime(),
    tables: result.tables.map((t) => ({
      table: t.table,
      mode: t.mode,
      changed: t.changed,
      deleted: t.deleted,
      rows: t.rows,
    })),
    published: result.publishedPath,
    parquet_dir: result.parquetDir,
    lake: result.lake && {
      dir: result.lake.dir,
      files_written: result.lake.filesWritten,
      bytes_written: result.lake.bytesWritten,
      partitions_rewritten: result.lake.partitionsRewritten,
      rewritten_whole: result.lake.rewrittenWhole,
      files_deleted: result.lake.filesDeleted,
      files_retained: result.lake.filesRetained,
      lake_bytes: result.lake.lakeBytes,
      ms: result.lake.ms,
    },
  };
}

/**
 * `export`: Postgres -> DuckDB (incremental unless `full`), rollups recomputed on the new snapshot, then published
 * (src/warehouse/export/exporter.ts). Scheduled by EXPORT_SCHEDULE.
 */
export function exportJob(config: Config): JobDefinition {
  return {
    name: 'export',
    description: 'Copy what changed in Postgres into the DuckDB warehouse, recompute the rollups, publish the snapshot',
    schedule: config.exportSchedule,
    async run({ pool, logger, runId, signal, options, onProgress }) {
      const result = await runExport(pool, config.warehouseDir, logger, {
        full: options.full === true,
        // `--parquet DIR` for one run; otherwise the scheduled export keeps LAKE_DIR's lake (README "At scale").
        parquetDir: options.parquetDir ?? config.lakeDir,
        lakeRetentionMinutes: config.lakeRetentionMinutes,
        runId,
        signal,
        onProgress,
      });
      return {
        rows: Object.fromEntries(result.tables.map((t) => [t.table, t.changed])),
        lagSeconds: result.lagSeconds,
        detail: exportDetail(result),
      };
    },
  };
}
