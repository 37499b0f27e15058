import pg from 'pg';
import type { Logger } from '../log.ts';

/**
 * The only module that creates a pg.Pool (STYLE.md "SQL"). BIGINT (int8) arrives as a JavaScript number when it is a
 * safe integer and as a string otherwise, so no id or count is ever silently rounded; NUMERIC arrives as a number,
 * because every NUMERIC column here is a small-range score (trust_score, confidence_score in 0..1).
 */
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
});
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value: string) => Number(value));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  readonly connectionString: string;
  readonly max: number;
  readonly idleInTransactionTimeoutMs: number;
  readonly applicationName?: string;
  readonly logger: Logger;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'feedback-warehouse',
    // Issue 4: one stuck transaction must not hold the export watermark back for ever. Sent as a startup option,
    // so it is in force before the first query.
    ...(options.idleInTransactionTimeoutMs > 0
      ? { options: `-c idle_in_transaction_session_timeout=${Math.trunc(options.idleInTransactionTimeoutMs)}` }
      : {}),
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener Node would crash. The pool
  // drops that client and the next checkout reconnects, which is how the service recovers by itself (issue 2, item 8).
  pool.on('error', (error) => options.logger.warn({ err: error }, 'idle postgres client lost'));
  return pool;
}

export interface TransactionOptions {
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readonly readOnly?: boolean;
}

/**
 * Runs fn inside BEGIN/COMMIT on one client; ROLLBACK on any error, release in finally. A client whose connection
 * broke is destroyed instead of returned to the pool. Example: `await withTransaction(pool, (c) => c.query(...))`.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return withOwnTransaction(pool, async (client) => {
    const mode = [options.isolation ? `isolation level ${options.isolation}` : '', options.readOnly ? 'read only' : '']
      .filter(Boolean)
      .join(' ');
    await client.query(mode ? `begin ${mode}` : 'begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  });
}

/**
 * For callers that send BEGIN and COMMIT themselves, batched with other statements to save round trips: fn runs on
 * one client; on any error ROLLBACK is sent, and a client whose connection broke is destroyed, not returned.
 */
export async function withOwnTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (error) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
