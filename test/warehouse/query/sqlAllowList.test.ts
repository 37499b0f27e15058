import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALLOWED_FUNCTIONS,
  ALLOWED_INTERNAL_VIEWS,
  ALLOWED_TABLE_FUNCTIONS,
  INTERNAL_FUNCTION_PREFIX,
  REFUSED_FUNCTIONS,
  REFUSED_INTERNAL_VIEWS,
  REFUSED_TABLE_FUNCTIONS,
} from '../../../src/warehouse/query/sqlAllowList.ts';

// The allow-list (src/warehouse/query/sqlAllowList.ts) against every function this DuckDB offers: a DuckDB upgrade that adds
// a function fails here until someone reviews it and puts it on one side, so an upgrade cannot widen the sandbox.

let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});
afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

async function rows(sql: string): Promise<string[][]> {
  return (await conn.runAndReadAll(sql)).getRows().map((row) => row.map(String));
}

/** json_serialize_sql's tree of one SELECT. */
async function parseTree(sql: string): Promise<{ error: boolean; statements: unknown }> {
  const reader = await conn.runAndReadAll('select json_serialize_sql($1::varchar)', [sql]);
  return JSON.parse(String(reader.getRows()[0]![0])) as { error: boolean; statements: unknown };
}

/** The function names a parse tree calls (the same nodes the sandbox's walker checks). */
function calledNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) calledNames(item, out);
  else if (node !== null && typeof node === 'object') {
    const n = node as Record<string, unknown>;
    if ((n.class === 'FUNCTION' || n.class === 'WINDOW') && typeof n.function_name === 'string') {
      out.add(n.function_name.toLowerCase());
    }
    for (const value of Object.values(n)) calledNames(value, out);
  }
  return out;
}

describe('the allow-list covers every function of duckdb_functions()', () => {
  it('classifies every table function and table macro as allowed or refused (with a reason), never both', async () => {
    const names = (
      await rows(
        `select distinct lower(function_name) from duckdb_functions()
          where function_type in ('table', 'table_macro') order by 1`,
      )
    ).map(([name]) => name!);
    const unreviewed = names.filter((n) => !ALLOWED_TABLE_FUNCTIONS.has(n) && !(n in REFUSED_TABLE_FUNCTIONS));
    expect(unreviewed, 'new table functions: add each to ALLOWED_TABLE_FUNCTIONS or REFUSED_TABLE_FUNCTIONS').toEqual(
      [],
    );
    expect(names.filter((n) => ALLOWED_TABLE_FUNCTIONS.has(n) && n in REFUSED_TABLE_FUNCTIONS)).toEqual([]);
    // Every reviewed name still exists: a stale entry would hide a rename.
    const offered = new Set(names);
    expect(
      [...ALLOWED_TABLE_FUNCTIONS, ...Object.keys(REFUSED_TABLE_FUNCTIONS)].filter((n) => !offered.has(n)),
    ).toEqual([]);
  });

  it('classifies every scalar, aggregate and window function and macro; pragmas are refused by the statement check', async () => {
    const functions = await rows(
      `select distinct lower(function_name), function_type from duckdb_functions()
        where function_type not in ('table', 'table_macro') order by 1`,
    );
    const types = new Set(functions.map(([, type]) => type));
    // A new kind of function needs its own rule before it can be reviewed.
    expect([...types].sort()).toEqual(['aggregate', 'macro', 'pragma', 'scalar']);
    const names = functions.filter(([, type]) => type !== 'pragma').map(([name]) => name!);
    const unreviewed = names.filter(
      (n) => !n.startsWith(INTERNAL_FUNCTION_PREFIX) && !ALLOWED_FUNCTIONS.has(n) && !(n in REFUSED_FUNCTIONS),
    );
    expect(unreviewed, 'new functions: add each to ALLOWED_FUNCTIONS or REFUSED_FUNCTIONS').toEqual([]);
    expect(names.filter((n) => ALLOWED_FUNCTIONS.has(n) && n in REFUSED_FUNCTIONS)).toEqual([]);
    const offered = new Set(names);
    expect([...ALLOWED_FUNCTIONS, ...Object.keys(REFUSED_FUNCTIONS)].filter((n) => !offered.has(n))).toEqual([]);
  });

  it('allows no macro whose body calls a refused function (a macro is expanded after the check)', async () => {
    const macros = await rows(
      `select function_name, function_type, macro_definition from duckdb_functions()
        where function_type in ('macro', 'table_macro') and macro_definition is not null`,
    );
    const leaks: string[] = [];
    for (const [name, type, definition] of macros) {
      const allowed = type === 'table_macro' ? ALLOWED_TABLE_FUNCTIONS : ALLOWED_FUNCTIONS;
      if (!allowed.has(name!.toLowerCase())) continue;
      const sql = type === 'table_macro' ? definition! : `select ${definition}`;
      const parsed = await parseTree(sql);
      expect(parsed.error, `${name}: ${sql}`).toBe(false);
      for (const called of calledNames(parsed.statements)) {
        if (!ALLOWED_FUNCTIONS.has(called) && !ALLOWED_TABLE_FUNCTIONS.has(called)) leaks.push(`${name} -> ${called}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('classifies every built-in view (they bind to table functions the parse tree does not show)', async () => {
    const views = (await rows(`select distinct lower(view_name) from duckdb_views() where internal order by 1`)).map(
      ([name]) => name!,
    );
    expect(views.filter((v) => !ALLOWED_INTERNAL_VIEWS.has(v) && !(v in REFUSED_INTERNAL_VIEWS))).toEqual([]);
    // The allowed ones call only allowed functions (their SQL is `CREATE TEMP VIEW x AS SELECT ...`).
    const definitions = await rows(`select view_name, sql from duckdb_views() where internal`);
    const leaks: string[] = [];
    for (const [name, sql] of definitions) {
      if (!ALLOWED_INTERNAL_VIEWS.has(name!.toLowerCase())) continue;
      const select = sql!.slice(sql!.search(/ AS \(?(SELECT|WITH) /i) + 4);
      const parsed = await parseTree(select);
      expect(parsed.error, `${name}: ${select}`).toBe(false);
      for (const called of calledNames(parsed.statements)) {
        if (!ALLOWED_FUNCTIONS.has(called) && !ALLOWED_TABLE_FUNCTIONS.has(called)) leaks.push(`${name} -> ${called}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('refuses the families the sandbox must never reach: files, logging, profiling, settings, parser, dynamic SQL', () => {
    for (const name of [
      'read_blob',
      'read_text',
      'read_csv',
      'read_parquet',
      'parquet_scan',
      'glob',
      'read_duckdb',
      'enable_logging',
      'duckdb_logs',
      'duckdb_logs_parsed',
      'enable_profiling',
      'duckdb_settings',
      'enable_peg_parser',
      'query',
      'query_table',
      'checkpoint',
      'duckdb_secrets',
    ]) {
      expect(ALLOWED_TABLE_FUNCTIONS.has(name), name).toBe(false);
      expect(REFUSED_TABLE_FUNCTIONS[name], name).toBeTruthy();
    }
    for (const name of ['current_setting', 'write_log', 'json_serialize_plan', 'setseed', 'nextval', 'combine']) {
      expect(ALLOWED_FUNCTIONS.has(name), name).toBe(false);
    }
  });
});
