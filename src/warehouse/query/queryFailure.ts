import { safeErrorMessage } from '../shared/safeError.ts';

/**
 * How a governed query ended, as the audit table records it (sql/migrations/0004_query_audit.sql):
 * - ok: answered;
 * - refused: not one SELECT (or EXPLAIN SELECT), or the sandbox blocked it (file, network, extension, settings);
 * - error: DuckDB could not run it (syntax, unknown table, a cast that failed, out of memory...);
 * - timeout: interrupted at the wall-clock limit;
 * - busy: too many queries were running;
 * - not_exported: there is no published warehouse yet.
 */
export type QueryOutcome = 'ok' | 'refused' | 'error' | 'timeout' | 'busy' | 'not_exported';

/** A query the sandbox did not answer; the message is for whoever sent the SQL (it may quote their SQL). */
export class QueryFailure extends Error {
  override name = 'QueryFailure';
  readonly outcome: Exclude<QueryOutcome, 'ok'>;

  constructor(outcome: Exclude<QueryOutcome, 'ok'>, message: string) {
    super(message);
    this.outcome = outcome;
  }
}

/** What the sandbox's settings answer when they block something: read_csv, COPY, ATTACH, INSTALL/LOAD, SET... */
const SANDBOX_REFUSALS = [/^Permission Error: /, /the configuration has been locked/, /in read-only mode/];

/**
 * DuckDB errors about the warehouse file or the library rather than the SQL, when a checked SELECT runs: the server's
 * fault, so a 500, and never shown to the client.
 */
const SERVER_SIDE = /^(?:INTERNAL|FATAL|Fatal|IO|Connection) Error: /;

/** DuckDB prefixes parse errors found while splitting statements with this. */
const EXTRACT_PREFIX = /^Failed to extract statements: /;

/**
 * A DuckDB error raised by a user's SQL, as a QueryFailure (refused or error) carrying DuckDB's message, which names
 * only what the SQL named (and values the key may read anyway). While the SQL is parsed and bound (`phase`
 * 'prepare') every error is the SQL's: whatever a client sends is never a 500. While a checked SELECT runs, errors
 * that are not the SQL's fault become a plain Error with a scrubbed message and no cause: the cause may quote the
 * SQL, and logs never carry it.
 */
export function queryFailureFrom(error: unknown, phase: 'prepare' | 'run'): QueryFailure | Error {
  if (error instanceof QueryFailure) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = raw.replace(EXTRACT_PREFIX, '');
  if (phase === 'run' && SERVER_SIDE.test(message)) {
    return new Error(`the warehouse query failed: ${safeErrorMessage(message)}`);
  }
  if (SANDBOX_REFUSALS.some((pattern) => pattern.test(message))) return new QueryFailure('refused', message);
  return new QueryFailure('error', message);
}
