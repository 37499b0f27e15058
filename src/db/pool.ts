import pg from 'pg';
import type { Logger } from '../log.ts';

/**
 * The only module that creates a pg.Pool (docs/STYLE.md "SQL"). BIGINT (int8) arrives as a number when it is a
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

/** A database handle: a transaction's client, or the pool for a single autocommit statement. */
export type Db = Pool | PoolClient;

export interface PoolOptions {
  readonly connectionString: string;
  readonly max: number;
  readonly idleInTransactionTimeoutMs: number;
  /** How long a new connection (or a wait for a free one) may take before the request gets a 503 (default 5 s). */
  readonly connectTimeoutMs?: number;
  /**
   * `statement_timeout` of every session (0: none). The server cancels a statement that runs longer; the client gives
   * up one second later on its own (`query_timeout`), which is what answers when the server cannot: a frozen
   * (SIGSTOPped) or unreachable Postgres that keeps the TCP connection open.
   */
  readonly statementTimeoutMs?: number;
  readonly applicationName?: string;
  readonly logger: Logger;
}

/** How much longer than statement_timeout the client waits for an answer before it drops the connection itself. */
export const CLIENT_TIMEOUT_GRACE_MS = 1_000;

/** Set on a client once its connection failed; the client is destroyed at release instead of going back to the pool. */
const LOST = Symbol('connection lost');

/** Whether this client's connection was lost (an 'error' event), so it must not be used again. */
export function connectionLost(client: PoolClient): boolean {
  return (client as PoolClient & { [LOST]?: true })[LOST] === true;
}

export function createPool(options: PoolOptions): Pool {
  const startup = [
    // One stuck transaction must not hold the export watermark back for ever (README "Export model"). Sent as
    // startup options, so they are in force before the first query.
    options.idleInTransactionTimeoutMs > 0
      ? `-c idle_in_transaction_session_timeout=${Math.trunc(options.idleInTransactionTimeoutMs)}`
      : '',
    options.statementTimeoutMs ? `-c statement_timeout=${Math.trunc(options.statementTimeoutMs)}` : '',
  ].filter(Boolean);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'feedback-warehouse',
    ...(startup.length > 0 ? { options: startup.join(' ') } : {}),
    ...(options.statementTimeoutMs ? { query_timeout: options.statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS } : {}),
    // The kernel answers keepalive probes for a frozen server; they still find a peer that vanished.
    keepAlive: true,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener Node would crash. The pool
  // drops that client and the next checkout reconnects, which is how the service recovers by itself.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'idle postgres client lost'));
  // pg-pool removes its own 'error' listener while a client is checked out (for a transaction, a COPY, a keyed vote
  // group), so a connection lost between two statements of a transaction would be an unhandled 'error' event and
  // kill the process. Every client gets a listener of its own for its whole life: the error is recorded on the
  // client, the statement in flight (or the next one) fails with a connection error, which the error mapping answers
  // with 503, and release() destroys the client (withOwnTransaction passes the error on).
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      (client as PoolClient & { [LOST]?: true })[LOST] = true;
      options.logger.warn({ err: error }, 'postgres connection lost');
    });
  });
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
    // A lost connection has nothing to roll back (the server ended the transaction); finally destroys the client.
    if (!connectionLost(client)) {
      try {
        await client.query('rollback');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
    }
    throw error;
  } finally {
    client.release(broken ?? (connectionLost(client) ? new Error('connection lost') : undefined));
  }
}
