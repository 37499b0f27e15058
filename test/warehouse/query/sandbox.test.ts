import { randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryFailure } from '../../../src/warehouse/query/queryFailure.ts';
import { QuerySandbox } from '../../../src/warehouse/query/querySandbox.ts';
import { sandboxReader } from '../../../src/warehouse/query/sandbox.ts';
import { fileExists, publishedPath } from '../../../src/warehouse/export/snapshotFiles.ts';
import { tempWarehouse } from '../export/compare.ts';

// The query sandbox (docs/CONTRACT.md "Query endpoint") on a real DuckDB file: what it refuses, what its settings block
// on their own, its limits, and how values become JSON. The HTTP route and the audit are in test/http/query.test.ts.

/** Builds a warehouse file with table t (`rows` rows) beside the published path and renames it over, as exports do. */
async function publish(dir: string, rows: number): Promise<void> {
  const next = path.join(dir, `next-${randomUUID()}.duckdb`);
  const instance = await DuckDBInstance.create(next);
  try {
    const conn = await instance.connect();
    try {
      await conn.run(`create table t as select range as id, 'row ' || range as label from range(${rows})`);
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  await rename(next, publishedPath(dir));
}

const MAX_BYTES = 32 * 1024 * 1024;
const LIMITS = { maxRows: 100, maxBytes: MAX_BYTES, timeoutMs: 5_000 };

/** Runs sql and returns how it failed (outcome and message); fails the test if it succeeded. */
async function failure(sandbox: QuerySandbox, sql: string, limits = LIMITS): Promise<QueryFailure> {
  try {
    await sandbox.run(sql, limits);
  } catch (error) {
    if (error instanceof QueryFailure) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(sql)} to fail`);
}

let warehouse: { dir: string; remove: () => Promise<void> };
let sandbox: QuerySandbox;

beforeAll(async () => {
  warehouse = await tempWarehouse();
  await publish(warehouse.dir, 10);
  sandbox = new QuerySandbox(warehouse.dir);
});
afterAll(async () => {
  await sandbox.close();
  await warehouse.remove();
});

describe('what the sandbox refuses', () => {
  const outside = () => path.join(warehouse.dir, 'outside');
  it.each([
    // Not exactly one statement.
    ['', /The SQL is empty/],
    ['  -- only a comment\n', /contains no statement/],
    ['select 1; select 2', /exactly one statement; this SQL has 2/],
    ['pivot t on label using count(*)', /PIVOT without an IN list/],
    // Not a SELECT: refused before it runs, whatever DuckDB would have done with it.
    ['create table x (a integer)', /read-only mode|not CREATE/],
    ['create temp table x as select 1', /not CREATE/],
    ['insert into t select * from t', /read-only mode|not INSERT/],
    ["update t set label = 'x'", /read-only mode|not UPDATE/],
    ['delete from t', /read-only mode|not DELETE/],
    ['drop table t', /read-only mode|not DROP/],
    ["set memory_limit = '4GB'", /not SET/],
    ['set threads = 8', /not SET/],
    ['pragma threads = 8', /not SET/],
    ['reset memory_limit', /not SET/],
    ['set variable x = 1', /not (SET|VARIABLE_SET)/],
    ['pragma enable_profiling', /not PRAGMA/],
    ['call pragma_version()', /not CALL/],
    ['checkpoint', /not CALL/],
    ['install httpfs', /not LOAD/],
    ['load httpfs', /not LOAD/],
    ["attach ':memory:' as m", /not ATTACH|read-only mode/],
    ['detach t', /not DETACH/],
    ['begin', /not TRANSACTION/],
    ['explain analyze create temp table x as select 1', /EXPLAIN is allowed for SELECT only, not CREATE/],
    ['/* first */ explain select 1', /EXPLAIN must start the SQL/],
    ['select * from t where id = $1', /has parameters/],
    // A SELECT (or statement) that reaches outside: blocked by enable_external_access.
    ["select * from read_csv('/etc/passwd')", /^Permission Error: .*file system operations are disabled/],
    ["select * from read_text('/etc/hostname')", /^Permission Error/],
    ["select * from glob('/etc/*')", /^Permission Error/],
    ["select * from 'https://example.com/data.csv'", /^Permission Error/],
    ['select * from duckdb_extensions()', /^Permission Error/],
  ])('%j', async (sql, message) => {
    const refused = await failure(sandbox, sql);
    expect(refused.outcome).toBe('refused');
    expect(refused.message).toMatch(message);
  });

  // Functions that change the instance from a SELECT, read other analysts' SQL or the log, read the warehouse file's
  // own bytes (which DuckDB allows a database even with external access off), or run SQL given as text: refused by
  // name before DuckDB binds anything, wherever they hide in the statement.
  it.each([
    ['select * from enable_logging()', 'enable_logging'],
    ["select * from enable_logging('QueryLog')", 'enable_logging'],
    ['from disable_logging()', 'disable_logging'],
    ['from truncate_duckdb_logs()', 'truncate_duckdb_logs'],
    ['select * from enable_profiling()', 'enable_profiling'],
    ['select * from enable_peg_parser()', 'enable_peg_parser'],
    ['select * from checkpoint()', 'checkpoint'],
    ["select write_log('x', level := 'error')", 'write_log'],
    ['select * from duckdb_logs()', 'duckdb_logs'],
    ['select * from duckdb_logs', 'duckdb_logs'],
    ['select message from system.main.duckdb_logs', 'duckdb_logs'],
    ["from duckdb_logs_parsed('QueryLog')", 'duckdb_logs_parsed'],
    ['select * from pg_catalog.pg_prepared_statements', 'pg_prepared_statements'],
    ['select * from duckdb_prepared_statements()', 'duckdb_prepared_statements'],
    ['select * from duckdb_settings()', 'duckdb_settings'],
    ['select * from pg_settings', 'pg_settings'],
    ["select current_setting('memory_limit')", 'current_setting'],
    ["select * from query('select 1')", 'query'],
    ["select * from query_table('t')", 'query_table'],
    ["from histogram_values('t', id)", 'histogram_values'],
    ["select json_serialize_plan('select 1')", 'json_serialize_plan'],
    ['select * from duckdb_secrets()', 'duckdb_secrets'],
    ['select * from duckdb_memory()', 'duckdb_memory'],
    ["select nextval('s')", 'nextval'],
    ['select setseed(0.5)', 'setseed'],
    // The warehouse file's own bytes, however it is named or nested.
    ['select * from read_blob(:file)', 'read_blob'],
    ['select content from read_text(:file)', 'read_text'],
    ['select * from "READ_BLOB"(:file)', 'read_blob'],
    ['select * from system.main.read_blob(:file)', 'read_blob'],
    ['with x as (select * from read_blob(:file)) select size from x', 'read_blob'],
    ['select (select size from read_blob(:file)) as s', 'read_blob'],
    ['select list_transform([1], lambda i: (select size from read_blob(:file)))', 'read_blob'],
    ['select * from t where id in (select size from read_blob(:file))', 'read_blob'],
    ['explain select * from read_blob(:file)', 'read_blob'],
    ['describe select * from read_blob(:file)', 'read_blob'],
    ['summarize select * from read_text(:file)', 'read_text'],
    ['select * from parquet_scan(:file)', 'parquet_scan'],
    ['select * from read_duckdb(:file)', 'read_duckdb'],
    ['select * from glob(:dir)', 'glob'],
    ['select * from :file', 'warehouse.duckdb'],
  ])('%j is refused, naming %s', async (template, name) => {
    const file = publishedPath(warehouse.dir);
    const sql = template.replace(':file', `'${file}'`).replace(':dir', `'${warehouse.dir}/*'`);
    const refused = await failure(sandbox, sql);
    expect(refused.outcome).toBe('refused');
    expect(refused.message).toContain(name);
    expect(refused.message).toMatch(/not allowed here/);
    // The process that refused it answers the next query as before.
    expect((await sandbox.run('select count(*) from t', LIMITS)).rows).toEqual([[10]]);
  });

  it('runs what analysts use: aggregates, windows, lambdas, list, text, date and JSON functions, catalog views', async () => {
    const result = await sandbox.run(
      `select count(*), max(label), list_transform([1, 2], lambda x: x * 2), upper('a') || lower('B'),
              date_trunc('month', date '2024-05-17')::date, json_extract_string('{"a": "b"}', '$.a'),
              (select count(*) from information_schema.tables), (select count(*) from duckdb_tables())
         from (select *, row_number() over (order by id) as n from t qualify n > 0)`,
      LIMITS,
    );
    expect(result.rows).toEqual([[10, 'row 9', [2, 4], 'Ab', '2024-05-01', 'b', 1, 1]]);
  });

  it('COPY ... TO, EXPORT DATABASE and ATTACH of a file write and open nothing', async () => {
    const target = outside();
    for (const sql of [
      `copy (select * from t) to '${target}.csv'`,
      `export database '${target}'`,
      `attach '${target}.duckdb' as other`,
    ]) {
      expect((await failure(sandbox, sql)).outcome).toBe('refused');
    }
    for (const file of [`${target}.csv`, target, `${target}.duckdb`]) expect(await fileExists(file)).toBe(false);
  });

  it('reports DuckDB errors in the SQL as errors, with DuckDB’s message', async () => {
    const unknown = await failure(sandbox, 'select * from nope');
    expect(unknown.outcome).toBe('error');
    expect(unknown.message).toMatch(/^Catalog Error: Table with name nope does not exist/);
    const syntax = await failure(sandbox, 'selec 1');
    expect(syntax.outcome).toBe('error');
    expect(syntax.message).toMatch(/^Parser Error: syntax error at or near "selec"/);
  });

  it('runs the read-only statements analysts use: WITH, FROM-first, VALUES, DESCRIBE, SUMMARIZE, EXPLAIN', async () => {
    const run = (sql: string) => sandbox.run(sql, LIMITS);
    expect((await run('with x as (select count(*) as n from t) select n from x')).rows).toEqual([[10]]);
    expect((await run('from t select label where id = 3')).rows).toEqual([['row 3']]);
    expect((await run('values (1), (2)')).rows).toEqual([[1], [2]]);
    expect((await run('describe t')).rows.map((r) => r.slice(0, 2))).toEqual([
      ['id', 'BIGINT'],
      ['label', 'VARCHAR'],
    ]);
    expect((await run('summarize t')).rows).toHaveLength(2);
    expect((await run("pivot (from t select label) on label in ('row 1', 'row 2') using count(*)")).rows).toEqual([
      [1, 1],
    ]);
    const plan = await run('explain select label from t where id > 3');
    expect(plan.columns.map((c) => c.name)).toEqual(['explain_key', 'explain_value']);
    expect(JSON.stringify(plan.rows)).toMatch(/SEQ_SCAN|TABLE_SCAN/);
    expect((await run('explain analyze select count(*) from t')).rows[0]![0]).toBe('analyzed_plan');
  });
});

describe('the settings alone, without the statement check', () => {
  it('lock every setting, block files, network and extensions, and keep the file read-only', async () => {
    const reader = sandboxReader(warehouse.dir);
    try {
      await reader.withConnection(async (conn) => {
        const settings = (
          await conn.runAndReadAll(
            `select name, value from duckdb_settings()
              where name in ('enable_external_access', 'autoload_known_extensions', 'autoinstall_known_extensions',
                             'allow_community_extensions', 'memory_limit', 'threads', 'max_temp_directory_size',
                             'lock_configuration', 'TimeZone', 'access_mode')
              order by name`,
          )
        ).getRowObjectsJson();
        expect(Object.fromEntries(settings.map((s) => [s.name, s.value]))).toEqual({
          access_mode: 'read_only',
          allow_community_extensions: 'false',
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
          enable_external_access: 'false',
          lock_configuration: 'true',
          max_temp_directory_size: '0 bytes',
          memory_limit: '488.2 MiB',
          threads: '2',
          TimeZone: 'UTC',
        });
        const blocked: [string, RegExp][] = [
          ["set memory_limit = '4GB'", /configuration has been locked/],
          ['set threads = 8', /configuration has been locked/],
          ['pragma threads = 8', /configuration has been locked/],
          ['reset memory_limit', /configuration has been locked/],
          ['set enable_external_access = true', /configuration has been locked/],
          ['set lock_configuration = false', /configuration has been locked/],
          ["set TimeZone = 'Europe/Rome'", /configuration has been locked/],
          ['install httpfs', /^Permission Error/],
          ['load httpfs', /disabled/],
          [`attach '${path.join(warehouse.dir, 'other.duckdb')}' as other`, /^Permission Error/],
          [`copy t to '${path.join(warehouse.dir, 'raw.csv')}'`, /^Permission Error/],
          [`export database '${path.join(warehouse.dir, 'raw-export')}'`, /^Permission Error/],
          ["select * from read_csv('/etc/passwd')", /^Permission Error/],
          ['create table x (a integer)', /read-only mode/],
          ['insert into t values (99, 99)', /read-only mode/],
          ['drop table t', /read-only mode/],
        ];
        for (const [sql, message] of blocked) await expect(conn.run(sql), sql).rejects.toThrow(message);
        expect(await fileExists(path.join(warehouse.dir, 'raw.csv'))).toBe(false);
      });
    } finally {
      await reader.close();
    }
  });

  it('do not block session-local statements, which is why only SELECT gets past the statement check', async () => {
    const reader = sandboxReader(warehouse.dir);
    try {
      await reader.withConnection(async (conn) => {
        // In memory, on this connection only, gone when it closes; the sandbox refuses all of them (above).
        await conn.run('create temp table scratch as select 1 as a');
        await conn.run('set variable x = 1');
        await conn.run("set search_path = 'main'");
      });
    } finally {
      await reader.close();
    }
    for (const sql of [
      'create temp table scratch as select 1 as a',
      'set variable x = 1',
      "set search_path = 'main'",
    ]) {
      expect((await failure(sandbox, sql)).outcome).toBe('refused');
    }
  });
});

describe('limits', () => {
  it('returns the first maxRows rows and says the result was truncated, across chunk boundaries', async () => {
    const capped = await sandbox.run('select * from range(5000) order by 1', {
      maxRows: 2049,
      maxBytes: MAX_BYTES,
      timeoutMs: 5_000,
    });
    expect(capped.rows).toHaveLength(2049);
    expect(capped.rows.at(-1)).toEqual([2048]);
    expect(capped.truncated).toBe(true);
    const exact = await sandbox.run('select * from range(2048)', {
      maxRows: 2048,
      maxBytes: MAX_BYTES,
      timeoutMs: 5_000,
    });
    expect([exact.rows.length, exact.truncated]).toEqual([2048, false]);
    const under = await sandbox.run('select * from t', { maxRows: 11, maxBytes: MAX_BYTES, timeoutMs: 5_000 });
    expect([under.rows.length, under.truncated]).toEqual([10, false]);
  });

  it('streams: a result of a trillion rows answers its first rows at once', async () => {
    const started = Date.now();
    const huge = await sandbox.run('select range as n from range(1000000000000)', {
      maxRows: 10,
      maxBytes: MAX_BYTES,
      timeoutMs: 5_000,
    });
    expect(huge.rows).toEqual(Array.from({ length: 10 }, (_, i) => [i]));
    expect(huge.truncated).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('interrupts a query at the timeout, and the next query runs', async () => {
    const started = Date.now();
    const slow = await failure(sandbox, 'select count(*) from range(10000000000)', {
      maxRows: 10,
      maxBytes: MAX_BYTES,
      timeoutMs: 300,
    });
    expect(slow.outcome).toBe('timeout');
    expect(slow.message).toBe('The query ran longer than 300 ms and was interrupted.');
    // Interrupted, not abandoned: the call returns once DuckDB has stopped (a count over 10^10 rows takes minutes).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await sandbox.run('select count(*) from t', LIMITS)).rows).toEqual([[10]]);
  });

  it('stops a query at memory_limit instead of spilling to disk', async () => {
    const big = await failure(sandbox, "select string_agg(repeat('x', 1000), '') from range(1000000)");
    expect(big.outcome).toBe('error');
    expect(big.message).toMatch(/^Out of Memory Error: .*488\.2 MiB/);
  });

  it('refuses a query beyond the concurrency cap as busy', async () => {
    const one = new QuerySandbox(warehouse.dir, { maxConcurrent: 1 });
    try {
      const running = one
        .run('select count(*) from range(10000000000)', { maxRows: 1, maxBytes: MAX_BYTES, timeoutMs: 500 })
        .catch((e) => e);
      const busy = await failure(one, 'select 1');
      expect(busy.outcome).toBe('busy');
      expect(busy.message).toMatch(/1 queries are already running/);
      expect(((await running) as QueryFailure).outcome).toBe('timeout');
      expect((await one.run('select 1', LIMITS)).rows).toEqual([[1]]);
    } finally {
      await one.close();
    }
  });

  it('says when there is no published warehouse, and sees a publication at the next query', async () => {
    const empty = await tempWarehouse();
    const fresh = new QuerySandbox(empty.dir);
    try {
      const none = await failure(fresh, 'select 1');
      expect(none.outcome).toBe('not_exported');
      expect(none.message).toMatch(/run `feedback-warehouse export`/);
      await publish(empty.dir, 3);
      expect((await fresh.run('select count(*) from t', LIMITS)).rows).toEqual([[3]]);
      await publish(empty.dir, 7);
      expect((await fresh.run('select count(*) from t', LIMITS)).rows).toEqual([[7]]);
    } finally {
      await fresh.close();
      await empty.remove();
    }
  });
});

describe('JSON values', () => {
  // [SQL expression, DuckDB type name, JSON value]: one row per rule of toJsonValue (src/warehouse/query/jsonValue.ts).
  it.each([
    ['42::tinyint', 'TINYINT', 42],
    ['4294967295::uinteger', 'UINTEGER', 4294967295],
    ['true', 'BOOLEAN', true],
    ['9007199254740991::bigint', 'BIGINT', 9007199254740991],
    ['9007199254740992::bigint', 'BIGINT', '9007199254740992'],
    ['-9007199254740993::bigint', 'BIGINT', '-9007199254740993'],
    ['18446744073709551615::ubigint', 'UBIGINT', '18446744073709551615'],
    ['12::hugeint', 'HUGEINT', 12],
    ['170141183460469231731687303715884105727::hugeint', 'HUGEINT', '170141183460469231731687303715884105727'],
    ['(select count(*) from range(3))', 'BIGINT', 3],
    ['1.50::decimal(4,2)', 'DECIMAL(4,2)', 1.5],
    ['0.1::decimal(3,2)', 'DECIMAL(3,2)', 0.1],
    ['-0.05::decimal(3,2)', 'DECIMAL(3,2)', -0.05],
    ['0::decimal(3,2)', 'DECIMAL(3,2)', 0],
    ['123456789012345678.12::decimal(38,2)', 'DECIMAL(38,2)', '123456789012345678.12'],
    ['9007199254740993::decimal(18,0)', 'DECIMAL(18,0)', '9007199254740993'],
    ['1.5::double', 'DOUBLE', 1.5],
    ["'NaN'::double", 'DOUBLE', 'NaN'],
    ["'-infinity'::double", 'DOUBLE', '-Infinity'],
    ['1.1::float', 'FLOAT', 1.1],
    ["date '2024-02-29'", 'DATE', '2024-02-29'],
    ["'0044-03-15 (BC)'::date", 'DATE', '-000043-03-15'],
    ["'infinity'::date", 'DATE', 'infinity'],
    ["timestamp '2024-01-02 03:04:05.123456'", 'TIMESTAMP', '2024-01-02T03:04:05.123456'],
    ["timestamp '1969-12-31 23:59:59.999999'", 'TIMESTAMP', '1969-12-31T23:59:59.999999'],
    ["timestamptz '2024-01-02 03:04:05.5+02'", 'TIMESTAMP WITH TIME ZONE', '2024-01-02T01:04:05.500000Z'],
    ["'-infinity'::timestamptz", 'TIMESTAMP WITH TIME ZONE', '-infinity'],
    ["'2024-01-02 03:04:05'::timestamp_s", 'TIMESTAMP_S', '2024-01-02T03:04:05'],
    ["'2024-01-02 03:04:05.123'::timestamp_ms", 'TIMESTAMP_MS', '2024-01-02T03:04:05.123'],
    ["'2024-01-02 03:04:05.123456789'::timestamp_ns", 'TIMESTAMP_NS', '2024-01-02T03:04:05.123456789'],
    ["time '12:34:56'", 'TIME', '12:34:56'],
    ['interval 3 day + interval 4 hour', 'INTERVAL', '3 days 04:00:00'],
    ["'8f0c1d2e-0000-4000-8000-000000000001'::uuid", 'UUID', '8f0c1d2e-0000-4000-8000-000000000001'],
    ['\'a,"b"\'', 'VARCHAR', 'a,"b"'],
    ['\'{"big": 12345678901234567890}\'::json', 'JSON', '{"big": 12345678901234567890}'],
    ["'\\xAA\\x00'::blob", 'BLOB', 'qgA='],
    ['[1, 2, null]', 'INTEGER[]', [1, 2, null]],
    ['[9007199254740993]::bigint[]', 'BIGINT[]', ['9007199254740993']],
    ['[1, 2]::integer[2]', 'INTEGER[2]', [1, 2]],
    ["{'a': 1, 'b': [date '2024-01-01']}", 'STRUCT(a INTEGER, b DATE[])', { a: 1, b: ['2024-01-01'] }],
    ["map {'k': 1.5::decimal(3,1)}", 'MAP(VARCHAR, DECIMAL(3,1))', { k: 1.5 }],
    ["map {1: 'one'}", 'MAP(INTEGER, VARCHAR)', { '1': 'one' }],
    ['union_value(n := 7)', 'UNION(n INTEGER)', 7],
    ['null::integer', 'INTEGER', null],
  ])('%s', async (expression, type, json) => {
    const result = await sandbox.run(`select ${expression} as v`, LIMITS);
    expect(result.columns).toEqual([{ name: 'v', type: expect.stringMatching(typePattern(type)) }]);
    expect(result.rows).toEqual([[json]]);
    // What clients parse is what we meant: JSON.stringify changes nothing (no bigint, no undefined, no NaN).
    expect(JSON.parse(JSON.stringify(result.rows))).toEqual([[json]]);
  });
});

/** DuckDB quotes STRUCT and UNION member names ("a" INTEGER); the table above writes them bare. */
function typePattern(type: string): RegExp {
  const escaped = type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\b([a-z]\w*) /g, '"?$1"? ');
  return new RegExp(`^${escaped}$`);
}
