import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { QueryFailure, queryFailureFrom } from './queryFailure.ts';

/**
 * `EXPLAIN [ANALYZE] [(FORMAT x)]` at the very start of the text; what follows must itself be one SELECT. A text
 * where EXPLAIN is not at the start (after a comment, say) is refused rather than guessed at.
 */
const EXPLAIN_PREFIX = /^\s*explain\s+(?:analyze\s+)?(?:\(\s*format\s+\w+\s*\)\s*)?/i;

function refuse(message: string): never {
  throw new QueryFailure('refused', message);
}

function typeName(type: StatementType): string {
  return (StatementType as unknown as Record<number, string>)[type] ?? `type ${type}`;
}

/** Splits the text with DuckDB's own parser and prepares its only statement. */
async function prepareOne(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  if (sql.trim() === '') refuse('The SQL is empty: send one SELECT statement.');
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A parse error says so; text with no statement at all (only comments or semicolons) fails in the binding
    // without a DuckDB message.
    if (/^Failed to extract statements: /.test(message)) throw queryFailureFrom(error, 'prepare');
    refuse('The SQL contains no statement: send one SELECT statement.');
  }
  if (extracted.count !== 1) {
    const pivot = /\bpivot\b/i.test(sql)
      ? ' (a PIVOT without an IN list runs as two: list its values with IN (...))'
      : '';
    refuse(`Send exactly one statement; this SQL has ${extracted.count}${pivot}.`);
  }
  try {
    return await extracted.prepare(0);
  } catch (error) {
    throw queryFailureFrom(error, 'prepare');
  }
}

/**
 * Prepares `sql` when it is exactly one read-only statement: a SELECT (WITH, FROM-first, VALUES, SUMMARIZE, DESCRIBE,
 * SHOW and static PIVOT are SELECTs to DuckDB) or an EXPLAIN [ANALYZE] of one, which helps find why a query is slow.
 * Anything else is refused before it runs (QueryFailure 'refused'); binding errors (unknown table, a blocked
 * read_csv) come from DuckDB as they are. The caller destroys the statement.
 *
 * This is the first of two fences: the sandbox's settings (sandbox.ts) block file, network, extension and settings
 * access even for a statement that got through here.
 */
export async function prepareReadOnly(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const prepared = await prepareOne(conn, sql);
  try {
    if (prepared.statementType === StatementType.EXPLAIN) {
      const prefix = EXPLAIN_PREFIX.exec(sql);
      if (!prefix) refuse('EXPLAIN must start the SQL: EXPLAIN [ANALYZE] SELECT ...');
      const inner = await prepareOne(conn, sql.slice(prefix[0].length));
      try {
        if (inner.statementType !== StatementType.SELECT) {
          refuse(`EXPLAIN is allowed for SELECT only, not ${typeName(inner.statementType)}.`);
        }
      } finally {
        inner.destroySync();
      }
    } else if (prepared.statementType !== StatementType.SELECT) {
      refuse(`Only SELECT statements run here, not ${typeName(prepared.statementType)}.`);
    }
    if (prepared.parameterCount > 0) {
      refuse('The SQL has parameters ($1, ?); write the values into the SQL instead.');
    }
    return prepared;
  } catch (error) {
    prepared.destroySync();
    throw error;
  }
}
