import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement, DuckDBResult } from '@duckdb/node-api';
import { toJsonValue, type JsonValue } from './jsonValue.ts';
import { QueryFailure, queryFailureFrom } from './queryFailure.ts';
import { WarehouseReader } from './reader.ts';
import { prepareReadOnly } from './statementCheck.ts';

/**
 * The DuckDB settings of the query sandbox, in one place (PRODUCT.md "Query endpoint": no file, network, extension
 * or settings access; memory and thread caps). They apply to a DuckDB instance of its own, opened READ_ONLY on the
 * published file, so no query can change the file (CREATE, INSERT, UPDATE, DELETE, DROP fail there).
 * - enable_external_access=false: no file or network access from SQL (read_csv, read_text, glob, COPY ... TO,
 *   EXPORT DATABASE, ATTACH of a file, INSTALL, LOAD of anything not built in) and no changing temp_directory.
 * - autoload/autoinstall_known_extensions=false, allow_community_extensions=false: no extension arrives by itself.
 * - memory_limit 512MB and threads 2 are shared by the concurrent queries of one instance (at most
 *   MAX_CONCURRENT_QUERIES), so the sandbox cannot starve the ingest path on a small machine.
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

/** Queries running at once per process; one more is refused (busy: HTTP 429) rather than queued behind them. */
export const MAX_CONCURRENT_QUERIES = 4;

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
 * its first use. QuerySandbox runs checked statements on it; tests use it raw to show that the settings alone block
 * what they should.
 */
export function sandboxReader(warehouseDir: string): WarehouseReader {
  return new WarehouseReader(warehouseDir, { ...SANDBOX_SETTINGS }, lockDown);
}

export interface QueryLimits {
  /** Rows returned at most; more rows make `truncated` true. */
  readonly maxRows: number;
  /** Wall-clock limit; the query is interrupted (DuckDB's connection interrupt) when it is reached. */
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
}

/** Reads at most maxRows rows chunk by chunk (a result is never materialised whole) and says whether there were more. */
async function readCapped(result: DuckDBResult, maxRows: number): Promise<SandboxResult> {
  const types = result.columnTypes();
  // An alias is the name users know (JSON is an alias of VARCHAR; toString would say VARCHAR).
  const columns = result.columnNames().map((name, i) => ({ name, type: types[i]!.alias ?? types[i]!.toString() }));
  const rows: JsonValue[][] = [];
  let truncated = false;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const take = Math.min(chunk.rowCount, maxRows - rows.length);
    if (take > 0) {
      const values = chunk.getColumns();
      for (let r = 0; r < take; r++) rows.push(values.map((column, c) => toJsonValue(column[r]!, types[c]!)));
    }
    if (take < chunk.rowCount) {
      truncated = true;
      break;
    }
  }
  return { columns, rows, truncated };
}

async function runOnConnection(conn: DuckDBConnection, sql: string, limits: QueryLimits): Promise<SandboxResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, limits.timeoutMs);
  let prepared: DuckDBPreparedStatement | null = null;
  try {
    prepared = await prepareReadOnly(conn, sql);
    return await readCapped(await prepared.stream(), limits.maxRows);
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

/**
 * Governed ad-hoc SQL over the published warehouse (PRODUCT.md "Query endpoint"): one read-only statement, on a
 * connection of its own, in a locked-down DuckDB instance (SANDBOX_SETTINGS), with a wall-clock timeout and a row
 * cap. It follows publications like the rollup reader does (a WarehouseReader of its own): the next query sees a
 * newly published snapshot, queries in flight finish on the old one.
 *
 * Example: `await sandbox.run('select count(*) from votes', { maxRows: 100, timeoutMs: 10_000 })`.
 */
export class QuerySandbox {
  readonly #reader: WarehouseReader;
  readonly #maxConcurrent: number;
  #running = 0;

  constructor(warehouseDir: string, options: { maxConcurrent?: number } = {}) {
    this.#reader = sandboxReader(warehouseDir);
    this.#maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_QUERIES;
  }

  /** Runs one query; throws QueryFailure when it is refused, fails, times out, or cannot run now. */
  async run(sql: string, limits: QueryLimits): Promise<SandboxResult> {
    if (this.#running >= this.#maxConcurrent) {
      throw new QueryFailure('busy', `${this.#maxConcurrent} queries are already running; retry shortly.`);
    }
    this.#running++;
    try {
      const result = await this.#reader.withConnection((conn) => runOnConnection(conn, sql, limits));
      if (result === null) {
        throw new QueryFailure(
          'not_exported',
          'The warehouse has not been exported yet: run `feedback-warehouse export` (or POST /api/v1/jobs/export/run) first.',
        );
      }
      return result;
    } finally {
      this.#running--;
    }
  }

  /** Closes the DuckDB instances once their queries are done. */
  close(): Promise<void> {
    return this.#reader.close();
  }
}
