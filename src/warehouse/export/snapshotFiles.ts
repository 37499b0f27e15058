import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WAREHOUSE_FILE } from './exportTypes.ts';
import { isAlive } from '../../processAlive.ts';

/**
 * The files of a warehouse directory:
 *
 *   WAREHOUSE_DIR/warehouse.duckdb          the published snapshot; only ever replaced by an atomic rename
 *   WAREHOUSE_DIR/.export/<pid>-<tag>/      one export's private work: snapshot.duckdb being built, the row pipe,
 *                                           DuckDB's spill directory; removed when the export ends, and by the next
 *                                           export when its process died (kill -9, power loss)
 *
 * A DuckDB file has one writer and no readers in other processes while it is written, so an export never opens the
 * published file for writing: it copies it (a reflink where the filesystem can), changes the copy, checkpoints and
 * closes it, then renames it over the published path. Readers that had the old file open keep reading it until they
 * close it; a crash at any point leaves the published file as it was.
 */

export function publishedPath(warehouseDir: string): string {
  return path.join(warehouseDir, WAREHOUSE_FILE);
}

function workRoot(warehouseDir: string): string {
  return path.join(warehouseDir, '.export');
}

/** Removes the work directories of exports whose process is gone. */
async function removeStaleWork(root: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch {
    return;
  }
  await Promise.all(
    entries.map(async (entry) => {
      const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return; // still running (this process included)
      await fs.rm(path.join(root, entry), { recursive: true, force: true });
    }),
  );
}

/** Creates this export's private work directory (and clears the leftovers of dead exports). */
export async function createWorkDir(warehouseDir: string, tag: string): Promise<string> {
  const root = workRoot(warehouseDir);
  await fs.mkdir(root, { recursive: true });
  await removeStaleWork(root);
  const dir = path.join(root, `${process.pid}-${tag}`);
  await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
  return dir;
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Copies the published snapshot to `target` (a copy-on-write clone where the filesystem supports it). */
export async function copyPublished(warehouseDir: string, target: string): Promise<boolean> {
  try {
    await fs.copyFile(publishedPath(warehouseDir), target, fsConstants.COPYFILE_FICLONE);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** fsync a file (or, on Linux, a directory) by path. */
export async function fsync(file: string, flags = 'r'): Promise<void> {
  const handle = await fs.open(file, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so the renames in it survive a power loss; some platforms cannot, and the renames stay atomic. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsync(dir);
  } catch {
    // see above
  }
}

/**
 * Moves a fully written file into place for good: fsync it, rename it to `target` (atomic on POSIX: a reader opens
 * the old file or the new one, never a mix), fsync the directory so the rename survives a power loss. The published
 * snapshot, the lake's files and its manifest are all placed this way.
 */
export async function renameDurably(file: string, target: string): Promise<void> {
  await fsync(file);
  await fs.rename(file, target);
  await fsyncDir(path.dirname(target));
}

/**
 * Publishes a closed, checkpointed snapshot: fsync the file, rename it over WAREHOUSE_DIR/warehouse.duckdb (atomic on
 * POSIX: a reader opens either the old or the new file, never a mix), fsync the directory so the rename survives a
 * power loss. Refuses a snapshot that still has a write-ahead log, whose changes would be lost by the rename.
 */
export async function publishSnapshot(snapshotFile: string, warehouseDir: string): Promise<string> {
  if (await fileExists(`${snapshotFile}.wal`)) {
    throw new Error('the snapshot still has a write-ahead log after its checkpoint; not publishing it');
  }
  const target = publishedPath(warehouseDir);
  await renameDurably(snapshotFile, target);
  return target;
}
