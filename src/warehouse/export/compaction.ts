import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, literal } from '../shared/sqlText.ts';

/**
 * Erasure is physical (README "Privacy"): a DuckDB `delete` only marks rows in a row group's delete vector, and a
 * replaced or dropped table's blocks go to the file's free list; in both cases the old bytes stay in the file, and a
 * checkpoint does not overwrite them. An incremental export changes a copy of the published file, so every row ever
 * deleted or replaced would travel on, readable by anyone with the file (the DuckDB CLI, a backup, a hex editor).
 *
 * The cure is a rebuild: `COPY FROM DATABASE` writes the catalog and only the visible rows of every table into a
 * fresh file, which is then published in the old file's place. It costs about one read and one compressed write of
 * the warehouse, so an export pays it only when it removed a row version from the copy (compactionReason).
 */

/** What an incremental export did to the copy of the published file, as far as old bytes are concerned. */
export interface CopyChanges {
  /** Rows deleted by tombstones (erasures, deleted FAQ entries, cascades). */
  readonly deleted: number;
  /** Old row versions removed by the upsert of an updated row. */
  readonly replaced: number;
  /** Tables dropped and loaded again (their columns changed), or dropped because they left Postgres. */
  readonly rebuiltTables: readonly string[];
}

/** Why the snapshot must be rebuilt before it is published, or null when the copy holds no removed row. */
export function compactionReason(changes: CopyChanges): string | null {
  const why: string[] = [];
  if (changes.deleted > 0) why.push(`${changes.deleted} deleted`);
  if (changes.replaced > 0) why.push(`${changes.replaced} replaced`);
  if (changes.rebuiltTables.length > 0) why.push(`tables rebuilt: ${changes.rebuiltTables.join(', ')}`);
  return why.length === 0 ? null : `rows removed from the copy (${why.join('; ')})`;
}

/**
 * Writes everything `conn`'s database holds into the new file `target` and closes it (checkpointed, no WAL). The
 * source is left as it is; the caller discards it. Temporary tables are not copied.
 */
export async function compactInto(conn: DuckDBConnection, target: string): Promise<void> {
  const reader = await conn.runAndReadAll('select current_database() as name');
  const source = String(reader.getRowObjects()[0]!.name);
  const alias = ident('fw_compact');
  await conn.run(`attach ${literal(target)} as ${alias}`);
  try {
    await conn.run(`copy from database ${ident(source)} to ${alias}`);
    // Detaching checkpoints the new file: its data moves from the WAL into the file, and the WAL is removed.
    await conn.run(`checkpoint ${alias}`);
  } finally {
    await conn.run(`detach ${alias}`);
  }
}
