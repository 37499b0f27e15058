import fs from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '../../processAlive.ts';
import { renameDurably } from './snapshotFiles.ts';
import { LAKE_FORMAT, MANIFEST_FILE, type LakeManifest } from './lakeTypes.ts';

/** The lock file an export holds while it writes the lake (its pid inside). */
const LOCK_FILE = '.lake.lock';

/**
 * Reads DIR/_manifest.json; null when there is none, or when it is not a manifest of this format (the lake is then
 * rewritten whole, and every file the unreadable manifest might list is garbage to the next publication).
 */
export async function readManifest(lakeDir: string): Promise<LakeManifest | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(lakeDir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const manifest = JSON.parse(text) as LakeManifest;
    return manifest.format === LAKE_FORMAT && typeof manifest.tables === 'object' ? manifest : null;
  } catch {
    return null;
  }
}

/**
 * Publishes a manifest: written beside it under a dot name, fsynced, renamed over DIR/_manifest.json and the
 * directory fsynced. A reader sees the previous manifest or this one, whole; a crash before the rename leaves the
 * previous one valid (its files are untouched until after the rename).
 */
export async function publishManifest(lakeDir: string, manifest: LakeManifest): Promise<void> {
  const temp = path.join(lakeDir, `.${MANIFEST_FILE}.${process.pid}.tmp`);
  await fs.writeFile(temp, `${JSON.stringify(manifest, null, 1)}\n`);
  await renameDurably(temp, path.join(lakeDir, MANIFEST_FILE));
}

/**
 * Takes DIR's lock, so two exports never write one lake at once (exports of one warehouse are already serialised
 * by the job runner's advisory lock; this covers two warehouses pointed at one directory). A lock whose process is
 * gone (kill -9) is taken over. Returns the release function.
 */
export async function lockLake(lakeDir: string): Promise<() => Promise<void>> {
  const file = path.join(lakeDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return () => fs.rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await fs.readFile(file, 'utf8').catch(() => ''));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`the lake ${lakeDir} is being written by process ${holder}`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new Error(`could not lock the lake ${lakeDir}`);
}

/** Whether a lake-relative path names a lake data file (not the manifest, the lock or a temporary file). */
export function isListedName(relative: string): boolean {
  return !path.basename(relative).startsWith('.') && relative !== MANIFEST_FILE;
}
