import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS } from '../../config.ts';
import { withTransaction, type Pool } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import { migrateWarehouse } from '../shared/warehouseSchema.ts';
import { closeBuild, openBuild, PHASE_SETTINGS, REOPEN_AFTER_ROWS, type Build } from './buildInstance.ts';
import { planTables } from './columns.ts';
import { compactInto, compactionReason } from './compaction.ts';
import { makeRowPipe } from './copyStream.ts';
import {
  copyHistory,
  finishExportRun,
  insertExportRun,
  nextLocalRunId,
  readWarehouseState,
  type WarehouseState,
} from './exportRuns.ts';
import { recordExportState } from './exportState.ts';
import { captureLakeChange } from './lakeCapture.ts';
import { writeLake } from './lake.ts';
import type { LakeChange } from './lakeTypes.ts';
import { readSystemIdentifier, takeSnapshot, type SourceSnapshot } from './pgSnapshot.ts';
import { captureRollupChanges, refreshRollups, type SourceChange } from '../rollups/rollupMaintenance.ts';
import { copyPublished, createWorkDir, fileExists, publishSnapshot, publishedPath } from './snapshotFiles.ts';
import { ident } from '../shared/sqlText.ts';
import { tombstoneHorizon } from './tombstones.ts';
import { applyMerge, copyTable, tableCount, tableExists, type PendingMerge } from './tableCopy.ts';
import {
  EXPORTED_TABLES,
  type ExportMode,
  type ExportOptions,
  type ExportResult,
  type TableResult,
} from './exportTypes.ts';

/** Why this export must be full, or null when it can be incremental. */
function fullReason(
  options: ExportOptions,
  state: WarehouseState | null,
  stateError: string | null,
  snapshot: SourceSnapshot,
  systemIdentifier: string | null,
  horizon: string | null,
): string | null {
  if (options.full) return 'requested (--full)';
  if (stateError !== null) return `the published warehouse could not be read (${stateError})`;
  if (state === null) return 'first export';
  if (state.systemIdentifier !== null && systemIdentifier !== null && state.systemIdentifier !== systemIdentifier) {
    return 'the Postgres cluster changed (system_identifier differs)';
  }
  if (state.sourceDatabase !== null && state.sourceDatabase !== snapshot.database) return 'the source database changed';
  if (BigInt(state.watermark) > BigInt(snapshot.xmin))
    return 'the watermark is ahead of the source (restored or replaced cluster)';
  if (horizon !== null && BigInt(state.watermark) < BigInt(horizon))
    return 'tombstones were pruned past the watermark (the warehouse had not exported for a long time)';
  return null;
}

/** Milliseconds per phase of an export, for the job record and the benchmark. */
function phaseTimer(): { mark(phase: string): void; readonly phases: Record<string, number> } {
  const phases: Record<string, number> = {};
  let last = performance.now();
  return {
    phases,
    mark(phase) {
      const now = performance.now();
      phases[phase] = Math.round(now - last);
      last = now;
    },
  };
}

/**
 * One export: Postgres snapshot -> a new DuckDB snapshot beside the published one -> rollups -> atomic publication
 * -> export_state in Postgres -> optional Parquet lake (lake.ts). See src/warehouse/export/exportTypes.ts for the
 * vocabulary and the README's "Export model" for why it is correct. The published warehouse is untouched until the rename; any failure (or a
 * kill) leaves it as it was and the next export starts from its watermark again.
 */
export async function runExport(
  pool: Pool,
  warehouseDir: string,
  logger: Logger,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const startedAt = new Date();
  const timer = phaseTimer();
  const signal = options.signal;
  await fs.mkdir(warehouseDir, { recursive: true });
  const workDir = await createWorkDir(warehouseDir, randomBytes(4).toString('hex'));
  const buildFile = path.join(workDir, 'snapshot.duckdb');
  let build: Build | null = null;
  try {
    const systemIdentifier = await readSystemIdentifier(pool);
    const hadPublished = !options.full && (await copyPublished(warehouseDir, buildFile));
    let state: WarehouseState | null = null;
    let stateError: string | null = null;
    if (hadPublished) {
      try {
        build = await openBuild(buildFile, workDir);
        // An older published file gains the tables and columns of later versions here, in the copy.
        await migrateWarehouse(build.conn);
        state = await readWarehouseState(build.conn);
      } catch (error) {
        stateError = (error as Error).message.split('\n', 1)[0] ?? 'unknown error';
        logger.warn({ err: error }, 'the published warehouse could not be read; exporting in full');
      }
    }
    const pipe = await makeRowPipe(workDir);
    signal?.throwIfAborted();
    timer.mark('prepare');

    const phase = await withTransaction(
      pool,
      async (client) => {
        const snapshot = await takeSnapshot(client);
        const horizon = await tombstoneHorizon(client);
        const reason = fullReason(options, state, stateError, snapshot, systemIdentifier, horizon);
        const mode: ExportMode = reason === null ? 'incremental' : 'full';
        if (mode === 'full') {
          closeBuild(build);
          build = null;
          await fs.rm(buildFile, { force: true });
          await fs.rm(`${buildFile}.wal`, { force: true });
          build = await openBuild(buildFile, workDir);
        }
        if (!build) build = await openBuild(buildFile, workDir);
        await migrateWarehouse(build.conn);
        const plans = await planTables(client, options.tables ?? EXPORTED_TABLES);
        const merges: PendingMerge[] = [];
        const tableModes = new Map<string, ExportMode>();
        const copied = new Map<string, number>();
        for (const plan of plans) {
          signal?.throwIfAborted();
          const tableMode = await copyTable(
            client,
            build.conn,
            plan,
            mode === 'full' ? null : state,
            pipe,
            options,
            merges,
          );
          tableModes.set(plan.table, tableMode.mode);
          copied.set(plan.table, tableMode.copied);
        }
        return { snapshot, reason, mode, plans, merges, tableModes, copied };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    timer.mark('copy');
    // The Postgres snapshot is released; the rest is DuckDB only.
    const loadConn = (build as Build | null)!.conn;
    const results: (TableResult & { columns: string })[] = [];
    // What each table's changes mean for the rollups; the keys they affect are captured before each merge, while the
    // old row versions are still there (src/warehouse/rollups/rollupMaintenance.ts).
    const sourceChanges = new Map<string, SourceChange>();
    // Row versions this export removes from the copy of the published file: their bytes stay in it (compaction.ts).
    let replaced = 0;
    const rebuiltTables: string[] = [];
    // The lake partitions each table's changes touch, captured before the merge too (lakeCapture.ts).
    const lakeDir = options.parquetDir ? path.resolve(options.parquetDir) : null;
    const lakeChanges = new Map<string, LakeChange>();
    for (const plan of phase.plans) {
      signal?.throwIfAborted();
      const merge = phase.merges.find((m) => m.plan === plan);
      let changed = phase.copied.get(plan.table) ?? 0;
      let deleted = 0;
      if (lakeDir) lakeChanges.set(plan.table, merge ? await captureLakeChange(loadConn, merge) : { kind: 'whole' });
      if (merge) {
        sourceChanges.set(plan.table, await captureRollupChanges(loadConn, merge));
        const applied = await applyMerge(loadConn, merge);
        ({ changed, deleted } = applied);
        replaced += applied.replaced;
      } else {
        sourceChanges.set(plan.table, 'reloaded');
        if (phase.mode === 'incremental') rebuiltTables.push(plan.table);
      }
      results.push({
        table: plan.table,
        mode: phase.tableModes.get(plan.table)!,
        changed,
        deleted,
        rows: await tableCount(loadConn, plan.table),
        columns: plan.fingerprint,
      });
      options.onProgress?.({
        table: plan.table,
        phase: 'done',
        rows: changed,
        elapsedMs: Date.now() - startedAt.getTime(),
      });
    }
    // A table that is gone from Postgres (a migration was reverted) leaves the warehouse too.
    const planned = new Set(phase.plans.map((p) => p.table));
    const droppedTables: string[] = [];
    for (const table of options.tables ?? EXPORTED_TABLES) {
      if (planned.has(table) || !(await tableExists(loadConn, table))) continue;
      await loadConn.run(`drop table ${ident(table)}`);
      droppedTables.push(table);
    }
    // A full export builds a fresh file; an incremental one that removed rows from its copy must rebuild it.
    const compactReason =
      phase.mode === 'full'
        ? null
        : compactionReason({
            deleted: results.reduce((n, t) => n + t.deleted, 0),
            replaced,
            rebuiltTables: [...rebuiltTables, ...droppedTables],
          });
    if (phase.mode === 'full' && (await fileExists(publishedPath(warehouseDir)))) {
      if (!(await copyHistory(loadConn, publishedPath(warehouseDir)).catch(() => false)))
        logger.debug('export history not carried over');
    }
    timer.mark('merge');
    // A big load leaves DuckDB's allocator holding memory: reopen so the rollups start from a clean process heap.
    // A small increment just raises the limits, saving a checkpoint and a reopen.
    const loaded = results.reduce((n, t) => n + t.changed, 0);
    if (loaded > REOPEN_AFTER_ROWS) {
      await loadConn.run('checkpoint');
      closeBuild(build);
      build = null;
      build = await openBuild(buildFile, workDir, 'rollups');
    } else {
      for (const [name, value] of Object.entries(PHASE_SETTINGS.rollups))
        await loadConn.run(`set ${name} = '${value}'`);
    }
    const conn = (build as Build | null)!.conn;
    const runId = options.runId ?? (await nextLocalRunId(conn));
    await insertExportRun(conn, {
      runId,
      startedAt,
      asOf: phase.snapshot.asOf,
      mode: phase.mode,
      tables: results,
      watermark: phase.snapshot.xmin,
      snapshot: phase.snapshot.snapshot,
      previousWatermark: phase.mode === 'full' ? null : state!.watermark,
      systemIdentifier,
      sourceDatabase: phase.snapshot.database,
      reason: phase.reason,
      lagSeconds: phase.snapshot.lagSeconds,
    });
    timer.mark('record');
    const rollups = await refreshRollups(conn, phase.mode === 'full' ? null : sourceChanges);
    timer.mark('rollups');
    const finishedAt = new Date();
    await finishExportRun(conn, runId, finishedAt);
    let snapshotFile = buildFile;
    if (compactReason !== null) {
      // The copy, its WAL and DuckDB's spill files stay in the work directory, removed below.
      snapshotFile = path.join(workDir, 'compact.duckdb');
      await compactInto(conn, snapshotFile);
      // The copy is discarded: closing it need not checkpoint its WAL first.
      await conn.run('pragma disable_checkpoint_on_shutdown');
      closeBuild(build);
      build = null;
      timer.mark('compact');
    } else {
      await conn.run('checkpoint');
      closeBuild(build);
      build = null;
      timer.mark('checkpoint');
    }
    signal?.throwIfAborted();
    const publishedFile = await publishSnapshot(snapshotFile, warehouseDir);
    timer.mark('publish');
    try {
      await recordExportState(pool, warehouseDir, {
        watermark: phase.snapshot.xmin,
        asOf: phase.snapshot.asOf,
        mode: phase.mode,
        systemIdentifier,
        runId: options.runId ?? null,
      });
    } catch (error) {
      // Published already, and the file carries its own watermark: a lost bookkeeping row costs nothing but display.
      logger.warn({ err: error }, 'export published, but export_state could not be recorded');
    }
    const lake = lakeDir
      ? await writeLake({
          snapshotFile: publishedFile,
          lakeDir,
          plans: phase.plans,
          changes: phase.mode === 'full' ? null : lakeChanges,
          exportId: runId,
          asOf: phase.snapshot.asOf,
          watermark: phase.snapshot.xmin,
          previousWatermark: phase.mode === 'full' ? null : state!.watermark,
          previousExportId: phase.mode === 'full' ? null : state!.runId,
          workDir,
          retentionMinutes: options.lakeRetentionMinutes ?? Number(DEFAULTS.LAKE_RETENTION_MINUTES),
        })
      : null;
    if (lake) timer.mark('lake');
    const result: ExportResult = {
      runId,
      mode: phase.mode,
      reason: phase.reason,
      startedAt,
      finishedAt,
      asOf: phase.snapshot.asOf,
      watermark: phase.snapshot.xmin,
      previousWatermark: phase.mode === 'full' ? null : state!.watermark,
      systemIdentifier,
      tables: results.map(({ columns: _columns, ...t }) => t),
      compactReason,
      rowsChanged: results.reduce((n, t) => n + t.changed, 0),
      rowsDeleted: results.reduce((n, t) => n + t.deleted, 0),
      lagSeconds: phase.snapshot.lagSeconds,
      rollupMs: timer.phases.rollups ?? 0,
      rollups: rollups.tables,
      phasesMs: { ...timer.phases },
      publishedPath: publishedFile,
      parquetDir: lakeDir,
      lake,
    };
    logger.info(
      {
        runId,
        mode: result.mode,
        reason: result.reason,
        rowsChanged: result.rowsChanged,
        rowsDeleted: result.rowsDeleted,
        watermark: result.watermark,
        lagSeconds: result.lagSeconds,
        rollups: rollups.mode,
        compacted: compactReason !== null,
        lakeFilesWritten: lake?.filesWritten,
        lakeBytesWritten: lake?.bytesWritten,
      },
      'export published',
    );
    return result;
  } finally {
    closeBuild(build);
    await fs.rm(workDir, { recursive: true, force: true });
  }
}
