import fs from 'node:fs/promises';
import path from 'node:path';
import type { TablePlan } from './columns.ts';
import { lakeDayExpr, lakeFingerprint, lakeType } from './lakeColumns.ts';
import { filesOf, rel, removeEmptyDirs, removeFile, writeTableFiles } from './lakeFiles.ts';
import { lockLake, publishManifest, readManifest } from './lakeManifest.ts';
import {
  LAKE_FORMAT,
  MANIFEST_FILE,
  type LakeChange,
  type LakeFile,
  type LakeManifest,
  type LakeResult,
  type LakeTable,
  type RetiredFile,
} from './lakeTypes.ts';
import { closeSession, openSession } from '../shared/duckdbSession.ts';

export interface LakeWrite {
  /** The snapshot just published (read-only here). */
  readonly snapshotFile: string;
  readonly lakeDir: string;
  readonly plans: readonly TablePlan[];
  /** Per table, what the export changed (lakeCapture.ts); null for a full export (every table rewritten). */
  readonly changes: ReadonlyMap<string, LakeChange> | null;
  readonly exportId: number;
  readonly asOf: Date;
  readonly watermark: string;
  /** The watermark the export started from (null: full export). */
  readonly previousWatermark: string | null;
  /** The export it started from (null: full export). */
  readonly previousExportId: number | null;
  /** For DuckDB's spill files. */
  readonly workDir: string;
  readonly retentionMinutes: number;
  readonly now?: () => Date;
}

/** Why a table cannot be updated partition by partition, or null when it can. */
function wholeReason(
  w: LakeWrite,
  previous: LakeManifest | null,
  plan: TablePlan,
  change: LakeChange | undefined,
): string | null {
  if (w.changes === null || w.previousWatermark === null) return 'full export';
  if (previous === null) return 'no manifest';
  // Both: two exports in a row can have one watermark (an old transaction elsewhere held the cluster's xmin back).
  if (previous.export_id !== w.previousExportId || previous.watermark !== w.previousWatermark)
    return 'the lake does not reflect the previous export';
  const table = previous.tables[plan.table];
  if (!table) return 'not in the lake yet';
  if (table.fingerprint !== lakeFingerprint(plan)) return 'its columns or the lake mapping changed';
  if (!change || change.kind === 'whole') return 'reloaded';
  return null;
}

/**
 * `export --parquet DIR` / LAKE_DIR: brings the lake up to date with the snapshot just published and publishes its
 * manifest (lakeTypes.ts has the layout, docs/decisions/0018 the rules). Only the partitions the export's changes
 * touch are rewritten, when the lake's manifest is the previous export's; otherwise a table is rewritten whole.
 * Files the new manifest no longer lists are deleted after its publication: at once when they hold a row version
 * no longer in Postgres (erased or updated), after `retentionMinutes` otherwise. A crash anywhere leaves the
 * previous manifest and every file it lists in place; what the crash left (temporary files, unlisted parts) is
 * deleted by the next lake write.
 */
export async function writeLake(w: LakeWrite): Promise<LakeResult> {
  const started = performance.now();
  const now = w.now ?? (() => new Date());
  await fs.mkdir(w.lakeDir, { recursive: true });
  const unlock = await lockLake(w.lakeDir);
  try {
    const previous = await readManifest(w.lakeDir);
    const planned = new Set(w.plans.map((p) => p.table));
    const previousTables = Object.keys(previous?.tables ?? {});
    // Files a reader may know of: those the previous manifest lists or retains. Anything else under a table
    // directory was never published (a killed export's) and goes now, before it could be mistaken for data.
    const known = new Set<string>([
      ...Object.values(previous?.tables ?? {}).flatMap((t) => t.files.map((f) => f.path)),
      ...(previous?.retired ?? []).map((r) => r.path),
    ]);
    let filesDeleted = 0;
    for (const entry of await fs.readdir(w.lakeDir)) {
      // A manifest a killed export was writing (the lock says no other export is running).
      if (entry.startsWith(`.${MANIFEST_FILE}.`)) await fs.rm(path.join(w.lakeDir, entry), { force: true });
    }
    for (const table of new Set([...planned, ...previousTables])) {
      for (const file of await filesOf(w.lakeDir, table)) {
        if (!known.has(file) && (await removeFile(w.lakeDir, file))) filesDeleted++;
      }
    }
    const retiring: { path: string; erasing: boolean }[] = [];
    // Partitions this export erases from (`table/day=...`, or `table` for all of it): files retained there for
    // readers by an earlier export hold the erased rows too, so they go at once as well.
    const erased = new Set<string>();
    const tables: Record<string, LakeTable> = {};
    const rewrittenWhole: Record<string, string> = {};
    let filesWritten = 0;
    let bytesWritten = 0;
    let partitionsRewritten = 0;
    const session = await openSession(w.snapshotFile, {
      access_mode: 'READ_ONLY',
      memory_limit: '160MB',
      preserve_insertion_order: 'false',
      temp_directory: path.join(w.workDir, 'lake-tmp'),
    });
    try {
      for (const plan of w.plans) {
        const change = w.changes?.get(plan.table);
        const reason = wholeReason(w, previous, plan, change);
        const before = previous?.tables[plan.table]?.files ?? [];
        let files: LakeFile[];
        if (reason !== null) {
          rewrittenWhole[plan.table] = reason;
          erased.add(plan.table);
          // Nothing says which rows the old files hold that Postgres no longer has: they all go at once.
          for (const f of before) retiring.push({ path: f.path, erasing: true });
          files = await writeTableFiles(session.conn, w.lakeDir, plan, null, w.exportId);
          partitionsRewritten += lakeDayExpr(plan) === null ? 1 : new Set(files.map((f) => f.day)).size;
        } else if (change!.kind === 'single') {
          for (const f of before) retiring.push({ path: f.path, erasing: change!.erasing });
          if (change!.erasing) erased.add(plan.table);
          files = await writeTableFiles(session.conn, w.lakeDir, plan, null, w.exportId);
          partitionsRewritten++;
        } else if (change!.kind === 'days') {
          const days = change!.days;
          for (const [day, erasing] of days) if (erasing) erased.add(rel(plan.table, `day=${day}`));
          const kept = before.filter((f) => f.day === null || !days.has(f.day));
          for (const f of before)
            if (f.day !== null && days.has(f.day)) retiring.push({ path: f.path, erasing: days.get(f.day)! });
          files = [
            ...kept,
            ...(await writeTableFiles(session.conn, w.lakeDir, plan, [...days.keys()].sort(), w.exportId)),
          ];
          partitionsRewritten += days.size;
        } else {
          files = [...before];
        }
        const fresh = files.filter((f) => f.export_id === w.exportId && !before.some((b) => b.path === f.path));
        filesWritten += fresh.length;
        bytesWritten += fresh.reduce((n, f) => n + f.bytes, 0);
        files.sort((a, b) => a.path.localeCompare(b.path));
        tables[plan.table] = {
          partition_by: lakeDayExpr(plan) === null ? null : 'day',
          day_column: lakeDayExpr(plan) === null ? null : plan.dayColumn,
          fingerprint: lakeFingerprint(plan),
          columns: plan.columns.map((c) => ({ name: c.name, type: lakeType(plan.table, c) })),
          rows: files.reduce((n, f) => n + f.rows, 0),
          bytes: files.reduce((n, f) => n + f.bytes, 0),
          files,
        };
      }
    } finally {
      closeSession(session);
    }
    // A table gone from Postgres (or no longer exported) leaves the lake, at once: its rows are no longer there.
    for (const table of previousTables.filter((t) => !planned.has(t))) {
      erased.add(table);
      for (const f of previous!.tables[table]!.files) retiring.push({ path: f.path, erasing: true });
    }
    const inErased = (file: string) => {
      const [table, partition] = file.split('/');
      return erased.has(table!) || (partition?.startsWith('day=') === true && erased.has(rel(table!, partition)));
    };

    const publishedAt = now();
    const graceEnd = new Date(publishedAt.getTime() + w.retentionMinutes * 60_000).toISOString();
    const listed = new Set(Object.values(tables).flatMap((t) => t.files.map((f) => f.path)));
    const retired: RetiredFile[] = [
      ...(previous?.retired ?? []).filter(
        (r) => Date.parse(r.delete_after) > publishedAt.getTime() && !inErased(r.path),
      ),
      ...retiring
        .filter((r) => !r.erasing && w.retentionMinutes > 0)
        .map((r) => ({ path: r.path, delete_after: graceEnd })),
    ].filter((r) => !listed.has(r.path));
    const manifest: LakeManifest = {
      format: LAKE_FORMAT,
      export_id: w.exportId,
      as_of: w.asOf.toISOString(),
      watermark: w.watermark,
      published_at: publishedAt.toISOString(),
      tables,
      retired,
    };
    await publishManifest(w.lakeDir, manifest);
    // Published: whatever a reader could know of before and the new manifest neither lists nor retains goes now.
    const retained = new Set(retired.map((r) => r.path));
    for (const file of known) {
      if (!listed.has(file) && !retained.has(file) && (await removeFile(w.lakeDir, file))) filesDeleted++;
    }
    for (const table of new Set([...planned, ...previousTables])) await removeEmptyDirs(w.lakeDir, table);
    for (const table of previousTables.filter((t) => !planned.has(t)))
      await fs.rmdir(path.join(w.lakeDir, table)).catch(() => undefined);
    return {
      dir: w.lakeDir,
      filesWritten,
      bytesWritten,
      partitionsRewritten,
      rewrittenWhole,
      filesDeleted,
      filesRetained: retired.length,
      lakeBytes: Object.values(tables).reduce((n, t) => n + t.bytes, 0),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await unlock();
  }
}
