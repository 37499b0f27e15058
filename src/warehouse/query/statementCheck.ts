import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { QueryFailure, queryFailureFrom } from './queryFailure.ts';
import {
  ALLOWED_INTERNAL_VIEWS,
  INTERNAL_FUNCTION_PREFIX,
  REFUSED_INTERNAL_VIEWS,
  refusalReason,
} from './sqlAllowList.ts';

/**
 * `EXPLAIN [ANALYZE] [(FORMAT x)]` at the very start of the text; what follows must itself be one SELECT. A text
 * where EXPLAIN is not at the start (after a comment, say) is refused rather than guessed at.
 */
const EXPLAIN_PREFIX = /^\s*explain\s+(?:analyze\s+)?(?:\(\s*format\s+\w+\s*\)\s*)?/i;

/** A table name DuckDB would read as a file (a replacement scan: 'x.csv', '/path/warehouse.duckdb', 'data/*'). */
const FILE_LIKE = /[./\\:*?]/;

function refuse(message: string): never {
  throw new QueryFailure('refused', message);
}

function typeName(type: StatementType): string {
  return (StatementType as unknown as Record<number, string>)[type] ?? `type ${type}`;
}

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => value !== null && typeof value === 'object';

/** Built-in view names of this DuckDB build, read once per process from the catalog. */
let builtInViews: Promise<ReadonlySet<string>> | null = null;
function internalViews(conn: DuckDBConnection): Promise<ReadonlySet<string>> {
  builtInViews ??= conn
    .runAndReadAll('select distinct lower(view_name) from duckdb_views() where internal')
    .then((reader) => new Set(reader.getRows().map(([name]) => String(name))));
  return builtInViews;
}

function refusedFunction(name: string, kind: 'table' | 'scalar'): string | null {
  const reason = name.toLowerCase().startsWith(INTERNAL_FUNCTION_PREFIX) ? 'internal' : refusalReason(name, kind);
  if (reason === null) return null;
  const what = kind === 'table' ? 'table function' : 'function';
  return `Permission Error: the ${what} ${name} is not allowed here (${reason}): the query sandbox runs only the functions on its allow-list.`;
}

/**
 * The first call in a parse tree (json_serialize_sql's) that the allow-list refuses, as a message; null when every
 * function, table function and table it names is allowed. Walks every node, so subqueries, CTEs, lambdas, window
 * clauses, PIVOT and DESCRIBE/SUMMARIZE bodies are all covered.
 */
function refusedCall(node: unknown, views: ReadonlySet<string>): string | null {
  if (Array.isArray(node)) {
    for (const item of node) {
      const refused = refusedCall(item, views);
      if (refused) return refused;
    }
    return null;
  }
  if (!isNode(node)) return null;
  let skip: unknown = null;
  if (node.type === 'TABLE_FUNCTION' && isNode(node.function) && typeof node.function.function_name === 'string') {
    const refused = refusedFunction(node.function.function_name, 'table');
    if (refused) return refused;
    // Its arguments are expressions like any other; its own name is not a scalar function's.
    const args = refusedCall(node.function.children, views);
    if (args) return args;
    skip = node.function;
  } else if ((node.class === 'FUNCTION' || node.class === 'WINDOW') && typeof node.function_name === 'string') {
    if (node.export_state === true)
      return 'Permission Error: EXPORT_STATE is not allowed here (aggregate state as bytes).';
    const refused = refusedFunction(node.function_name, 'scalar');
    if (refused) return refused;
  } else if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string') {
    const name = node.table_name.toLowerCase();
    const reason =
      REFUSED_INTERNAL_VIEWS[name] ??
      (views.has(name) && !ALLOWED_INTERNAL_VIEWS.has(name) ? 'not on the allow-list' : null) ??
      (FILE_LIKE.test(name) ? 'reads a file; file system operations are disabled' : null);
    if (reason) return `Permission Error: the table ${node.table_name} is not allowed here (${reason}).`;
  }
  for (const value of Object.values(node)) {
    if (value === skip) continue;
    const refused = refusedCall(value, views);
    if (refused) return refused;
  }
  return null;
}

/**
 * Checks a text of one statement against the allow-list before anything binds it: DuckDB's own parser gives the
 * tree (json_serialize_sql, which parses and never runs). Returns false when DuckDB cannot serialize it, which it
 * does for every statement but a SELECT.
 */
async function checkCalls(conn: DuckDBConnection, sql: string): Promise<boolean> {
  const reader = await conn.runAndReadAll('select json_serialize_sql($1::varchar)', [sql]);
  const parsed = JSON.parse(String(reader.getRows()[0]![0])) as { error?: boolean; statements?: unknown };
  if (parsed.error) return false;
  const refused = refusedCall(parsed.statements, await internalViews(conn));
  if (refused) refuse(refused);
  return true;
}

/** Splits the text with DuckDB's own parser and prepares its only statement; `check` runs before it binds. */
async function prepareOne(
  conn: DuckDBConnection,
  sql: string,
  check: () => Promise<void> = async () => {},
): Promise<DuckDBPreparedStatement> {
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
  await check();
  try {
    return await extracted.prepare(0);
  } catch (error) {
    throw queryFailureFrom(error, 'prepare');
  }
}

/**
 * Prepares `sql` when it is exactly one read-only statement: a SELECT (WITH, FROM-first, VALUES, SUMMARIZE, DESCRIBE,
 * SHOW and static PIVOT are SELECTs to DuckDB) or an EXPLAIN [ANALYZE] of one, which helps find why a query is slow,
 * and when every function, table function and built-in view it names is on the allow-list (sqlAllowList.ts), checked
 * on the parse tree before DuckDB binds anything. Anything else is refused before it runs (QueryFailure 'refused');
 * binding errors (unknown table) come from DuckDB as they are. The caller destroys the statement.
 *
 * The sandbox's settings (sandbox.ts) are the second fence: they block file, network, extension and settings access
 * even for a statement that got through here.
 */
export async function prepareReadOnly(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  let select = false;
  const explain = EXPLAIN_PREFIX.exec(sql);
  const prepared = await prepareOne(conn, sql, async () => {
    select = await checkCalls(conn, sql);
    if (!select && explain) {
      const inner = sql.slice(explain[0].length);
      if (!(await checkCalls(conn, inner))) {
        // Not a SELECT: prepared (never run) only to name what it is.
        const statement = await prepareOne(conn, inner);
        const type = statement.statementType;
        statement.destroySync();
        refuse(`EXPLAIN is allowed for SELECT only, not ${typeName(type)}.`);
      }
    }
  });
  try {
    if (prepared.statementType === StatementType.EXPLAIN) {
      if (!explain) refuse('EXPLAIN must start the SQL: EXPLAIN [ANALYZE] SELECT ...');
    } else if (prepared.statementType !== StatementType.SELECT || !select) {
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
