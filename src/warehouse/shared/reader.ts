import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { publishedPath } from '../export/snapshotFiles.ts';

interface OpenSnapshot {
  /** Which file this is: a publication replaces the path with another inode. */
  readonly key: string;
  /** Opening order: a slower open of an older file never replaces a newer one. */
  readonly sequence: number;
  readonly instance: DuckDBInstance;
  /** Connections in flight on this instance. */
  inFlight: number;
  /** Replaced by a newer publication (or the reader closed): close once the last connection is done. */
  retired: boolean;
}

function fileKey(stat: { ino: number | bigint; dev: number | bigint; size: number | bigint; mtimeMs: number }): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

/**
 * Read access to the published warehouse (WAREHOUSE_DIR/warehouse.duckdb) for the rollup API, the query endpoint and
 * the dashboards. The file is opened READ_ONLY, so any number of processes may read it while an export builds the
 * next snapshot elsewhere. When a new snapshot is published (an atomic rename onto the path), the next call opens
 * the new file; calls still running on the old one finish on it, and the old instance is closed after the last.
 *
 * Example: `const n = await reader.withConnection(async (c) => (await c.runAndReadAll('select 1')).getRows())`.
 */
export class WarehouseReader {
  private readonly file: string;
  private readonly options: Record<string, string>;
  private readonly onOpen: ((instance: DuckDBInstance) => Promise<void>) | undefined;
  private current: OpenSnapshot | null = null;
  private opening: Promise<OpenSnapshot> | null = null;
  private openingKey: string | null = null;
  private closed = false;
  private sequence = 0;

  /**
   * `options` are extra DuckDB settings for the read-only instance (e.g. memory_limit, threads). `onOpen` runs once on
   * each newly opened instance before any call uses it, for settings that can only be changed with SET (the query
   * sandbox sets TimeZone there, then locks the configuration); when it throws, the instance is closed.
   */
  constructor(
    warehouseDir: string,
    options: Record<string, string> = {},
    onOpen?: (instance: DuckDBInstance) => Promise<void>,
  ) {
    this.file = publishedPath(warehouseDir);
    this.options = options;
    this.onOpen = onOpen;
  }

  /** The published file's path. */
  get path(): string {
    return this.file;
  }

  /**
   * Runs fn with a fresh connection to the current snapshot and closes the connection afterwards; null when the
   * warehouse was never exported. One connection per call, so concurrent calls never share one.
   */
  async withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T | null> {
    if (this.closed) throw new Error('the warehouse reader is closed');
    const snapshot = await this.acquire();
    if (snapshot === null) return null;
    try {
      const conn = await snapshot.instance.connect();
      try {
        return await fn(conn);
      } finally {
        conn.closeSync();
      }
    } finally {
      this.release(snapshot);
    }
  }

  /**
   * Readiness: the directory is writable (exports can publish) and, when a snapshot is published, it opens and
   * answers. A never-exported warehouse is ready.
   */
  async check(): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fsConstants.W_OK);
    await this.withConnection(async (conn) => {
      await conn.run('select 1');
    });
  }

  /** Closes every instance once its in-flight calls are done; further calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.opening) await this.opening.catch(() => null);
    const current = this.current;
    this.current = null;
    if (current) this.retire(current);
  }

  private async acquire(): Promise<OpenSnapshot | null> {
    let stat;
    try {
      stat = await fs.stat(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const key = fileKey(stat);
    if (this.current?.key === key) {
      this.current.inFlight++;
      return this.current;
    }
    if (!this.opening || this.openingKey !== key) {
      this.openingKey = key;
      this.opening = this.open(key, ++this.sequence);
    }
    const opening = this.opening;
    let snapshot: OpenSnapshot;
    try {
      snapshot = await opening;
    } finally {
      if (this.opening === opening) {
        this.opening = null;
        this.openingKey = null;
      }
    }
    snapshot.inFlight++;
    if (this.current !== snapshot) {
      const previous = this.current;
      if (!this.closed && (previous === null || previous.sequence < snapshot.sequence)) {
        this.current = snapshot;
        if (previous) this.retire(previous);
      } else {
        // Opened after a newer file was adopted (or after close): serve this call, then close it.
        snapshot.retired = true;
      }
    }
    return snapshot;
  }

  private async open(key: string, sequence: number): Promise<OpenSnapshot> {
    const instance = await DuckDBInstance.create(this.file, { ...this.options, access_mode: 'READ_ONLY' });
    if (this.onOpen) {
      try {
        await this.onOpen(instance);
      } catch (error) {
        instance.closeSync();
        throw error;
      }
    }
    return { key, sequence, instance, inFlight: 0, retired: false };
  }

  private release(snapshot: OpenSnapshot): void {
    snapshot.inFlight--;
    if (snapshot.retired && snapshot.inFlight === 0) snapshot.instance.closeSync();
  }

  private retire(snapshot: OpenSnapshot): void {
    if (snapshot.retired) return;
    snapshot.retired = true;
    if (snapshot.inFlight === 0) snapshot.instance.closeSync();
  }
}
