import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from '../../src/db/pool.ts';
import { digestRows, pgColumnKinds, readLakeManifest, type LakeDigest } from '../helpers/lakeDigest.ts';

/**
 * The real ClickHouse engine, in process (chdb, installed in test/lake/node_modules by `npm ci --prefix test/lake`;
 * vitest.config.ts runs test/lake only when it is there). Imported by a computed name so the main type check and
 * install never need it.
 */
interface Chdb {
  query(sql: string, format: string): string;
}

const CHDB = 'chdb';
let chdb: Promise<Chdb> | null = null;

/** Runs one ClickHouse query and returns its rows (JSONEachRow: 64-bit integers come as strings). */
export async function clickhouse(sql: string): Promise<Record<string, unknown>[]> {
  chdb ??= import(CHDB) as Promise<Chdb>;
  const text = (await chdb).query(sql, 'JSONEachRow');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const q = (name: string) => `\`${name.replace(/`/g, '\\`')}\``;
const str = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** ClickHouse's view of every table the lake's manifest lists, in the canonical form of test/helpers/lakeDigest.ts. */
export async function clickhouseLakeDigests(pool: Pool, lakeDir: string): Promise<Record<string, LakeDigest>> {
  const manifest = await readLakeManifest(lakeDir);
  const out: Record<string, LakeDigest> = {};
  for (const [table, entry] of Object.entries(manifest.tables)) {
    const kinds = await pgColumnKinds(pool, table);
    if (entry.files.length === 0) {
      out[table] = digestRows([], kinds);
      continue;
    }
    const select = [...kinds]
      .map(([c, kind]) =>
        kind === 'timestamptz' ? `formatDateTime(${q(c)}, '%Y-%m-%d %H:%i:%S.%f') as ${q(c)}` : q(c),
      )
      .join(', ');
    // A reader of the manifest: exactly its files, whatever else the directory holds.
    const files = `{${entry.files.map((f) => f.path.slice(table.length + 1)).join(',')}}`;
    const rows = await clickhouse(`select ${select} from file(${str(path.join(lakeDir, table, files))}, Parquet)`);
    out[table] = digestRows(rows, kinds);
  }
  return out;
}

/** One of sql/clickhouse/*.sql with the lake's path substituted, as the README shows. */
export async function clickhouseRollup(name: string, lakeDir: string): Promise<string> {
  const sql = await readFile(path.join(import.meta.dirname, '../../sql/clickhouse', `${name}.sql`), 'utf8');
  return sql.replaceAll('{lake}', lakeDir.replace(/\\/g, '\\\\').replace(/'/g, "\\'"));
}
