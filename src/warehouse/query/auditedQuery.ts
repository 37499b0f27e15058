import { performance } from 'node:perf_hooks';
import type { Pool } from '../../db/pool.ts';
import { finishQueryAudit, startQueryAudit, type QueryCaller, type QueryEnd } from './queryAudit.ts';
import { QueryFailure, type QueryOutcome } from './queryFailure.ts';
import type { QuerySandbox } from './querySandbox.ts';
import type { QueryLimits, SandboxResult } from './sandbox.ts';
import { safeErrorMessage } from '../shared/safeError.ts';

export interface QueryAnswer extends SandboxResult {
  readonly rowCount: number;
  /** Wall-clock time of the query, to a tenth of a millisecond. */
  readonly elapsedMs: number;
}

export interface AuditedQuery {
  readonly pool: Pool;
  readonly sandbox: QuerySandbox;
  readonly caller: QueryCaller;
  readonly sql: string;
  readonly limits: QueryLimits;
  /** Told every outcome (the query metrics). */
  readonly observe?: (outcome: QueryOutcome) => void;
}

const elapsedSince = (started: number) => Math.round((performance.now() - started) * 10) / 10;

/** Completes the audit; a failure to do so (Postgres down) fails the request rather than going unrecorded. */
async function finish(pool: Pool, id: number, end: QueryEnd): Promise<void> {
  try {
    await finishQueryAudit(pool, id, end);
  } catch (error) {
    throw new Error('could not record the query in the audit table', { cause: error });
  }
}

/**
 * Runs one governed query for the HTTP endpoint and the CLI alike: audited in Postgres before it runs and when it
 * ends (refused, failed and timed-out queries included), then run in the sandbox. Throws QueryFailure for what the
 * caller should answer as a client error; a database error from the audit propagates (HTTP 503 when Postgres is
 * unreachable), so no query is ever answered without its audit row.
 */
export async function runAuditedQuery(query: AuditedQuery): Promise<QueryAnswer> {
  const { pool, sandbox, caller, sql, limits } = query;
  const id = await startQueryAudit(pool, caller, sql, limits.maxRows);
  const started = performance.now();
  let result: SandboxResult;
  try {
    result = await sandbox.run(sql, limits);
  } catch (error) {
    const outcome = error instanceof QueryFailure ? error.outcome : 'error';
    query.observe?.(outcome);
    // The stored message keeps DuckDB's first line with quoted values scrubbed: a failed cast quotes row values.
    await finish(pool, id, {
      outcome,
      durationMs: elapsedSince(started),
      rowCount: null,
      truncated: null,
      error: safeErrorMessage(error),
    });
    throw error;
  }
  const elapsedMs = elapsedSince(started);
  query.observe?.('ok');
  await finish(pool, id, {
    outcome: 'ok',
    durationMs: elapsedMs,
    rowCount: result.rows.length,
    truncated: result.truncated,
    error: null,
  });
  return { ...result, rowCount: result.rows.length, elapsedMs };
}
