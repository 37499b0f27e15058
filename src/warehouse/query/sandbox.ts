import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement, DuckDBResult } from '@duckdb/node-api';
import { toJsonValue, type JsonValue } from './jsonValue.ts';
import { QueryFailure, queryFailureFrom } from './queryFailure.ts';
import { WarehouseReader } from '../shared/reader.ts';
import { prepareReadOnly } from './statementCheck.ts';

/**
 * The query sandbox's DuckDB settings, in one place (docs/CONTRACT.md "Query endpoint": no file, network, extension
 * or settings access; memory and thread caps). They apply to a DuckDB instance of its own in each query process
 * (querySandbox.ts), opened READ_ONLY on the published file, so no query can change the file.
 * - enable_external_access=false: no file or network access from SQL (read_csv, glob, COPY ... TO, EXPORT DATABASE,
 *   ATTACH of a file, INSTALL, LOAD of anything not built in) and no changing temp_directory. DuckDB still lets a
 *   database read its own file (read_blob on the warehouse's path): the allow-list (sqlAllowList.ts) refuses those.
 * - autoload/autoinstall_known_extensions=false, allow_community_extensions=false: no extension arrives by itself.
 * - memory_limit 512MB and threads 2 per query process, which runs one query at a time. What DuckDB allocates
 *   outside memory_limit (a huge string built by repeat) is capped by the process's own OS limit (QUERY_PROCESS_MEMORY).
 * - max_temp_directory_size 0: nothing spills to disk (the default would write beside the published file); a query
 *   needing more than memory_limit fails with DuckDB's out-of-memory error.
 * TimeZone (UTC, so days are UTC days as everywhere in the product) and lock_configuration can only be SET, so they
 * are applied on each new instance by lockDown, lock_configuration last: from then on no SET, RESET or PRAGMA can
 * change any of the above.
 */
export const SANDBOX_SETTINGS = {
  enable_external_access: 'false',
  autoload_known_extensions: 'false',
  autoinstall_known_extensions: 'false',
  allow_community_extensions: 'false',
  memory_limit: '512MB',
  threads: '2',
  max_temp_directory_size: '0B',
} as const;

async function lockDown(instance: DuckDBInstance): Promise<void> {
  const conn = await instance.connect();
  try {
    await conn.run(`set global TimeZone = 'UTC'`);
    await conn.run('set global lock_configuration = true');
  } finally {
    conn.closeSync();
  }
}

/**
 * The sandbox's reader of the published file: every instance it opens has SANDBOX_SETTINGS and is locked down before
 * its first use. The query process runs checked statements on it; tests use it raw to show that the settings alone
 * block what they should.
 */
export function sandboxReader(warehouseDir: string): WarehouseReader {
  return new WarehouseReader(warehouseDir, { ...SANDBOX_SETTINGS }, lockDown);
}

export interface QueryLimits {
  /** Rows returned at most; more rows make `truncated` true (reason 'rows'). */
  readonly maxRows: number;
  /** Bytes of the rows' JSON text at most (QUERY_MAX_BYTES); past it `truncated` is true (reason 'bytes'). */
  readonly maxBytes: number;
  /** Wall-clock limit: interrupted (DuckDB's connection interrupt) then, its process killed 1 s later. */
  readonly timeoutMs: number;
}

export interface QueryColumn {
  readonly name: string;
  /** DuckDB's type name: BIGINT, VARCHAR, TIMESTAMP WITH TIME ZONE, DECIMAL(10,2), VARCHAR[]... */
  readonly type: string;
}

export interface SandboxResult {
  readonly columns: QueryColumn[];
  readonly rows: JsonValue[][];
  readonly truncated: boolean;
  /** Which cap cut the result; null when it is whole. */
  readonly truncatedReason: 'rows' | 'bytes' | null;
}

/**
 * Reads at most maxRows rows and maxBytes of their JSON text, chunk by chunk and value by value (a result is never
 * materialised whole, and a row past the byte cap is never converted), and says which cap cut it.
 */
async function readCapped(result: DuckDBResult, limits: QueryLimits): Promise<SandboxResult> {
  const types = result.columnTypes();
  // An alias is the name users know (JSON is an alias of VARCHAR; toString would say VARCHAR).
  const columns = result.columnNames().map((name, i) => ({ name, type: types[i]!.alias ?? types[i]!.toString() }));
  const rows: JsonValue[][] = [];
  // `[` and `]`, then each row's JSON text and its comma.
  let bytes = 2;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const vectors = columns.map((_, c) => chunk.getColumnVector(c));
    for (let r = 0; r < chunk.rowCount; r++) {
      if (rows.length >= limits.maxRows) return { columns, rows, truncated: true, truncatedReason: 'rows' };
      const row = vectors.map((vector, c) => toJsonValue(vector.getItem(r)!, types[c]!));
      bytes += Buffer.byteLength(JSON.stringify(row)) + 1;
      if (bytes > limits.maxBytes) return { columns, rows, truncated: true, truncatedReason: 'bytes' };
      rows.push(row);
    }
  }
  return { columns, rows, truncated: false, truncatedReason: null };
}

/**
 * Runs one query on a connection of the sandbox's reader: the statement check and allow-list (statementCheck.ts),
 * DuckDB's interrupt at the timeout, and the row and byte caps. Throws QueryFailure for what the client should hear.
 */
export async function runOnConnection(
  conn: DuckDBConnection,
  sql: string,
  limits: QueryLimits,
): Promise<SandboxResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, limits.timeoutMs);
  let prepared: DuckDBPreparedStatement | null = null;
  try {
    prepared = await prepareReadOnly(conn, sql);
    return await readCapped(await prepared.stream(), limits);
  } catch (error) {
    if (timedOut) {
      throw new QueryFailure('timeout', `The query ran longer than ${limits.timeoutMs} ms and was interrupted.`);
    }
    throw queryFailureFrom(error, 'run');
  } finally {
    clearTimeout(timer);
    prepared?.destroySync();
  }
}

/** Every setting of the instance as this connection sees it, as one comparable text (name=value lines). */
export async function settingsFingerprint(conn: DuckDBConnection): Promise<Map<string, string>> {
  const reader = await conn.runAndReadAll("select name, coalesce(value, '') from duckdb_settings() order by name");
  return new Map(reader.getRows().map(([name, value]) => [String(name), String(value)]));
}

/** The names of the settings whose values differ between two fingerprints. */
export function changedSettings(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}
