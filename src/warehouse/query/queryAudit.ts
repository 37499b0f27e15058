import type { Pool } from '../../db/pool.ts';
import type { QueryOutcome } from './queryFailure.ts';

/** Who sent a query: an API key (HTTP) or the CLI (key name `cli`, no key id). */
export interface QueryCaller {
  readonly apiKeyId: string | null;
  readonly apiKeyName: string;
  readonly source: 'api' | 'cli';
}

export interface QueryEnd {
  readonly outcome: QueryOutcome;
  readonly durationMs: number;
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  /** A scrubbed message (safeErrorMessage), never row values; null when the query succeeded. */
  readonly error: string | null;
}

/** Records a query before it runs (outcome 'running'); returns the audit row's id. */
export async function startQueryAudit(pool: Pool, caller: QueryCaller, sql: string, maxRows: number): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `insert into query_audit (api_key_id, api_key_name, source, sql, max_rows, outcome)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::integer, 'running')
     returning id`,
    [caller.apiKeyId, caller.apiKeyName, caller.source, sql, maxRows],
  );
  return rows[0]!.id;
}

/** Completes the audit row of a query that ended. */
export async function finishQueryAudit(pool: Pool, id: number, end: QueryEnd): Promise<void> {
  await pool.query(
    `update query_audit
        set outcome = $2::text, duration_ms = $3::double precision, row_count = $4::integer,
            truncated = $5::boolean, error = $6::text
      where id = $1::bigint`,
    [id, end.outcome, end.durationMs, end.rowCount, end.truncated, end.error],
  );
}
