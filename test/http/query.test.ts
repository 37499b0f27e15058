import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRoutes } from '../../src/http/routes/query.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { startProxiedApp, type ProxiedApp } from '../helpers/proxiedApp.ts';
import type { TcpProxy } from '../helpers/tcpProxy.ts';
import { exportNow, until } from '../warehouse/export/compare.ts';

// POST /api/v1/query (docs/CONTRACT.md "Query endpoint"): auth, the never-exported answer, JSON and CSV answers,
// what is refused, the row cap, the timeout, the concurrency cap, the audit table, and Postgres outages. The sandbox's
// own rules are tested in depth in test/warehouse/query/sandbox.test.ts.

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;
const validate200 = addFormats(new Ajv({ strict: false, allErrors: true })).compile(
  queryRoutes[0]!.responses[200]!.schema!,
);

// Long enough for every ordinary query of this file on a loaded CI machine; SLOW runs far longer.
const TIMEOUT_MS = 1500;
const MAX_ROWS = 50;
const SLOW = 'select count(*) from range(1000000000000)';

interface AuditRow {
  api_key_name: string;
  source: string;
  sql: string;
  max_rows: number;
  outcome: string;
  duration_ms: number | null;
  row_count: number | null;
  truncated: boolean | null;
  error: string | null;
}

let app: TestApp;
let queryKey: string;

beforeAll(async () => {
  app = await startTestApp({ QUERY_TIMEOUT_MS: String(TIMEOUT_MS), QUERY_MAX_ROWS: String(MAX_ROWS) });
  queryKey = await app.key('query');
});
afterAll(() => app.close());

const query = (body: unknown, key = queryKey) => app.request('POST', '/api/v1/query', { key, body });

async function lastAudit(): Promise<AuditRow> {
  const { rows } = await app.db.pool.query<AuditRow>(
    `select api_key_name, source, sql, max_rows, outcome, duration_ms, row_count, truncated, error
       from query_audit order by id desc limit 1`,
  );
  return rows[0]!;
}

describe('before the first export', () => {
  it('answers 409 warehouse-not-exported saying to run an export, and audits the attempt', async () => {
    const res = await query({ sql: 'select count(*) from votes' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ type: '/docs#problem-warehouse-not-exported', status: 409 });
    expect(res.json.detail).toMatch(/feedback-warehouse export/);
    expect(await lastAudit()).toMatchObject({
      api_key_name: 'test-query',
      source: 'api',
      sql: 'select count(*) from votes',
      outcome: 'not_exported',
      row_count: null,
    });
  });
});

describe('auth', () => {
  it('needs a key (401) with the query scope (403 for ingest or read); admin has every scope', async () => {
    const none = await app.request('POST', '/api/v1/query', { body: { sql: 'select 1' } });
    expect(none.status).toBe(401);
    for (const scope of ['ingest', 'read'] as const) {
      const res = await query({ sql: 'select 1' }, await app.key(scope));
      expect(res.status).toBe(403);
      expect(res.json.detail).toMatch(/"query" scope/);
    }
    expect((await query({ sql: 'select 1' }, await app.key('admin'))).status).not.toBe(403);
  });
});

describe('on an exported warehouse', () => {
  beforeAll(async () => {
    await app.db.pool.query(
      `insert into votes (conversation_id, vote, reasons, comment)
       values ('c1', 'up', '{}', null), ('c2', 'down', array['a, b'], 'say "hi"'), ('c3', 'down', '{}', E'two\\nlines'),
              ('c4', 'up', '{}', '')`,
    );
    await exportNow(app.db.pool, app.config.warehouseDir);
  });

  it('answers columns with DuckDB types, rows as JSON, the count, and the time; as documented', async () => {
    const res = await query({ sql: 'select id, conversation_id, vote, reasons, created_at from votes order by id' });
    expect(res.status).toBe(200);
    expect(validate200(res.json), JSON.stringify(validate200.errors)).toBe(true);
    expect(res.json.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'conversation_id', type: 'VARCHAR' },
      { name: 'vote', type: 'VARCHAR' },
      { name: 'reasons', type: 'VARCHAR[]' },
      { name: 'created_at', type: 'TIMESTAMP WITH TIME ZONE' },
    ]);
    const { rows: truth } = await app.db.pool.query(
      `select id, conversation_id, vote, reasons,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
         from votes order by id`,
    );
    expect(res.json.rows).toEqual(truth.map((r) => [r.id, r.conversation_id, r.vote, r.reasons, r.created_at]));
    expect(res.json).toMatchObject({ row_count: 4, truncated: false });
    expect(res.json.elapsed_ms).toBeGreaterThanOrEqual(0);
    expect(res.headers.get('x-row-count')).toBe('4');
    const audit = await lastAudit();
    expect(audit).toMatchObject({ api_key_name: 'test-query', outcome: 'ok', row_count: 4, truncated: false });
    expect(audit.duration_ms).toBeGreaterThanOrEqual(0);
    expect(audit.error).toBeNull();
  });

  it('answers text/csv with a header line and RFC 4180 quoting when format is csv; counts in headers', async () => {
    const res = await query({ sql: 'select conversation_id, reasons, comment from votes order by id', format: 'csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.text).toBe(
      'conversation_id,reasons,comment\r\n' +
        'c1,[],\r\n' +
        'c2,"[""a, b""]","say ""hi"""\r\n' +
        'c3,[],"two\nlines"\r\n' +
        'c4,[],""\r\n',
    );
    expect(res.headers.get('x-row-count')).toBe('4');
    expect(res.headers.get('x-truncated')).toBe('false');
    expect(Number(res.headers.get('x-elapsed-ms'))).toBeGreaterThanOrEqual(0);
  });

  it('caps rows at QUERY_MAX_ROWS, or at a lower limit, with truncated: true; a higher limit is 422', async () => {
    const capped = await query({ sql: 'select * from range(1000)' });
    expect(capped.status).toBe(200);
    expect(capped.json.rows).toHaveLength(MAX_ROWS);
    expect(capped.json).toMatchObject({ row_count: MAX_ROWS, truncated: true });
    expect((await lastAudit()).max_rows).toBe(MAX_ROWS);

    const limited = await query({ sql: 'select * from range(1000)', limit: 10 });
    expect(limited.json.rows).toEqual(Array.from({ length: 10 }, (_, i) => [i]));
    expect(limited.json).toMatchObject({ row_count: 10, truncated: true });
    expect(await lastAudit()).toMatchObject({ max_rows: 10, row_count: 10, truncated: true });

    const csv = await query({ sql: 'select * from range(1000)', limit: 3, format: 'csv' });
    expect(csv.text).toBe('range\r\n0\r\n1\r\n2\r\n');
    expect(csv.headers.get('x-truncated')).toBe('true');

    const whole = await query({ sql: 'select * from range(3)', limit: 3 });
    expect(whole.json).toMatchObject({ row_count: 3, truncated: false });

    const over = await query({ sql: 'select 1', limit: MAX_ROWS + 1 });
    expect(over.status).toBe(422);
    expect(over.json.errors).toEqual([{ path: '/limit', message: `must be <= ${MAX_ROWS} (QUERY_MAX_ROWS)` }]);
  });

  it.each([
    ["select * from read_csv('/etc/passwd')", /^Permission Error/],
    ["select * from read_text('/etc/passwd')", /^Permission Error/],
    ["copy (select 1) to '/tmp/fw-query-test.csv'", /^Permission Error/],
    ["attach '/tmp/fw-query-test.duckdb' as other", /^Permission Error|not ATTACH/],
    ['install httpfs', /not LOAD/],
    ['load httpfs', /not LOAD/],
    ["set memory_limit = '8GB'", /not SET/],
    ['pragma threads = 8', /not SET/],
    ['reset threads', /not SET/],
    ['call pragma_version()', /not CALL/],
    ["export database '/tmp/fw-query-test'", /^Permission Error/],
    ['create table x (a integer)', /not CREATE|read-only/],
    ["insert into votes (conversation_id, vote) values ('x', 'up')", /not INSERT|read-only/],
    ["update votes set vote = 'up'", /not UPDATE|read-only/],
    ['delete from votes', /not DELETE|read-only/],
    ['drop table votes', /not DROP|read-only/],
    ['select 1; select 2', /exactly one statement/],
    ['   ', /empty/],
  ])('refuses %j with 422 query-refused naming /sql, and audits it', async (sql, message) => {
    const res = await query({ sql });
    expect(res.status).toBe(422);
    expect(res.json.type).toBe('/docs#problem-query-refused');
    expect(res.json.detail).toMatch(message);
    expect(res.json.errors).toEqual([{ path: '/sql', message: res.json.detail }]);
    const audit = await lastAudit();
    expect(audit).toMatchObject({ sql, outcome: 'refused', row_count: null, api_key_name: 'test-query' });
    expect(audit.error).toMatch(message);
  });

  it("answers DuckDB's own message as 422 query-error for an unknown table or a syntax error, and audits it", async () => {
    const unknown = await query({ sql: 'select * from nope' });
    expect(unknown.status).toBe(422);
    expect(unknown.json.type).toBe('/docs#problem-query-error');
    expect(unknown.json.detail).toMatch(/^Catalog Error: Table with name nope does not exist!/);
    expect(await lastAudit()).toMatchObject({ outcome: 'error', error: expect.stringMatching(/^Catalog Error/) });
    const syntax = await query({ sql: 'selec 1' });
    expect(syntax.status).toBe(422);
    expect(syntax.json.detail).toMatch(/^Parser Error: syntax error at or near "selec"/);
    // The audit keeps the first line with quoted values scrubbed: a failed cast quotes row values.
    await query({ sql: 'select conversation_id::integer from votes' });
    expect((await lastAudit()).error).toBe(
      "Conversion Error: Could not convert string '…' to INT32 when casting from source column conversation_id",
    );
  });

  it('refuses bodies that break the schema with 422 naming the path (unknown fields included)', async () => {
    const cases: [unknown, string][] = [
      [{}, '/sql'],
      [{ sql: '' }, '/sql'],
      [{ sql: 'x'.repeat(100_001) }, '/sql'],
      [{ sql: 'select 1', format: 'xml' }, '/format'],
      [{ sql: 'select 1', limit: 0 }, '/limit'],
      [{ sql: 'select 1', limit: 1.5 }, '/limit'],
      [{ sql: 'select 1', timeout: 1 }, '/timeout'],
      [{ sql: 'select 1\u0000' }, '/sql'],
    ];
    for (const [body, path] of cases) {
      const res = await query(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(res.json.type).toBe('/docs#problem-validation-error');
      expect(res.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });

  it('interrupts a query at QUERY_TIMEOUT_MS with 422 query-timeout, and audits it', async () => {
    const started = Date.now();
    const res = await query({ sql: SLOW });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ type: '/docs#problem-query-timeout', timeout_ms: TIMEOUT_MS });
    expect(res.json.detail).toBe(`The query ran longer than ${TIMEOUT_MS} ms and was interrupted.`);
    expect(Date.now() - started).toBeLessThan(10_000);
    const audit = await lastAudit();
    expect(audit).toMatchObject({ sql: SLOW, outcome: 'timeout', row_count: null });
    expect(audit.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS);
  });

  it('answers 429 with Retry-After beyond the concurrent query cap, and audits each refusal as busy', async () => {
    const { rows: mark } = await app.db.pool.query('select coalesce(max(id), 0)::int as id from query_audit');
    const answers = await Promise.all(Array.from({ length: 8 }, () => query({ sql: SLOW })));
    const statuses = answers.map((a) => a.status);
    const timedOut = statuses.filter((s) => s === 422).length;
    const busy = statuses.filter((s) => s === 429).length;
    // At most 4 run at once, so at least 4 of the 8 are refused at once (each of the others holds its slot until the timeout).
    expect([timedOut + busy, busy >= 4]).toEqual([8, true]);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json.type).toBe('/docs#problem-too-many-queries');
    const { rows } = await app.db.pool.query(
      'select outcome, count(*)::int as n from query_audit where id > $1::bigint group by 1 order by 1',
      [mark[0].id],
    );
    expect(rows).toEqual([
      { outcome: 'busy', n: busy },
      { outcome: 'timeout', n: timedOut },
    ]);
  });

  it('accepts an Idempotency-Key but runs the query again: it writes nothing to replay', async () => {
    const headers = { 'Idempotency-Key': 'query-key-1' };
    const send = () => app.request('POST', '/api/v1/query', { key: queryKey, body: { sql: 'select 1' }, headers });
    for (const res of [await send(), await send()]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    const tooLong = await app.request('POST', '/api/v1/query', {
      key: queryKey,
      body: { sql: 'select 1' },
      headers: { 'Idempotency-Key': 'k'.repeat(256) },
    });
    expect(tooLong.status).toBe(400);
  });

  it('sees a new export at the next query', async () => {
    const count = async () => (await query({ sql: 'select count(*) as n from votes' })).json.rows[0][0];
    expect(await count()).toBe(4);
    await app.db.pool.query(
      `insert into votes (conversation_id, vote) select 'new-' || g, 'up' from generate_series(1, 5) g`,
    );
    await exportNow(app.db.pool, app.config.warehouseDir);
    expect(await count()).toBe(9);
  });

  it.each([
    ['select * from read_blob(:file)', 'read_blob'],
    ['select * from enable_logging()', 'enable_logging'],
    ['select * from duckdb_logs', 'duckdb_logs'],
    ["select * from query('select 1')", 'query'],
  ])('refuses %j with 422 query-refused naming %s, and audits it', async (template, name) => {
    const sql = template.replace(':file', `'${path.join(app.config.warehouseDir, 'warehouse.duckdb')}'`);
    const res = await query({ sql });
    expect(res.status).toBe(422);
    expect(res.json.type).toBe('/docs#problem-query-refused');
    expect(res.json.detail).toContain(` ${name} is not allowed here`);
    expect(await lastAudit()).toMatchObject({ sql, outcome: 'refused' });
  });

  it('answers 422 query-timeout for a call that ignores the interrupt (killed at the timeout + 1 s), and audits it', async () => {
    const sql = "select levenshtein(repeat('a', 50000), repeat('b', 50000))";
    const res = await query({ sql });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ type: '/docs#problem-query-timeout', timeout_ms: TIMEOUT_MS });
    expect(res.json.detail).toMatch(/did not stop when interrupted, and was killed/);
    expect(await lastAudit()).toMatchObject({ sql, outcome: 'timeout', row_count: null });
    expect((await query({ sql: 'select 1' })).status).toBe(200);
  });

  it('answers 422 query-error when the query process crashes; the server, ingestion and the next query carry on', async () => {
    const sql = 'select count(*) from range(1000000000000)';
    const running = query({ sql });
    await until(async () => app.services.sandbox.runningPids().length === 1, 'the query to be running');
    process.kill(app.services.sandbox.runningPids()[0]!, 'SIGSEGV');
    const res = await running;
    expect(res.status).toBe(422);
    expect(res.json.type).toBe('/docs#problem-query-error');
    expect(res.json.detail).toMatch(/the query engine stopped/i);
    expect(await lastAudit()).toMatchObject({ sql, outcome: 'error', error: expect.stringMatching(/stopped/) });
    expect((await app.request('GET', '/healthz')).status).toBe(200);
    const vote = await app.request('POST', '/api/v1/votes', {
      key: await app.key('ingest'),
      body: { conversation_id: 'after-crash', vote: 'up' },
    });
    expect(vote.status).toBe(201);
    expect((await query({ sql: 'select count(*) from votes' })).status).toBe(200);
  });

  it('says which cap cut a result: truncated_reason rows, or null when whole', async () => {
    const rows = await query({ sql: 'select * from range(1000)', limit: 10 });
    expect(rows.json).toMatchObject({ truncated: true, truncated_reason: 'rows' });
    expect(rows.headers.get('x-truncated-reason')).toBe('rows');
    expect((await query({ sql: 'select 1' })).json.truncated_reason).toBeNull();
  });

  it('is in the OpenAPI document with its schemas, and counted in /metrics by outcome', async () => {
    const doc = (await app.request('GET', '/openapi.json')).json;
    const op = doc.paths['/api/v1/query'].post;
    expect(op['x-scope']).toBe('query');
    const body = op.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.sql).toMatchObject({ minLength: 1, maxLength: 100_000 });
    expect(body.properties.format.enum).toEqual(['json', 'csv']);
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/csv']);
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['200', '401', '403', '409', '422', '429', '503']),
    );
    const metrics = (await app.request('GET', '/metrics')).text;
    expect(metrics).toMatch(/^fw_queries_total\{outcome="ok"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^fw_queries_total\{outcome="refused"\} [1-9]\d*$/m);
  });
});

describe('with the default timeout and byte cap', () => {
  let big: TestApp;
  let bigKey: string;
  beforeAll(async () => {
    big = await startTestApp();
    bigKey = await big.key('query');
    await exportNow(big.db.pool, big.config.warehouseDir);
  });
  afterAll(() => big.close());

  it('answers 60 rows of 10 MB with 200 and the rows that fit in QUERY_MAX_BYTES, truncated for bytes; audited as sent', async () => {
    const res = await big.request('POST', '/api/v1/query', {
      key: bigKey,
      body: { sql: "select repeat('x', 10000000) as v from range(60)" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ row_count: 3, truncated: true, truncated_reason: 'bytes' });
    expect(res.json.rows).toHaveLength(3);
    expect(res.headers.get('x-truncated-reason')).toBe('bytes');
    expect(validate200(res.json), JSON.stringify(validate200.errors)).toBe(true);
    const { rows: audit } = await big.db.pool.query(
      'select outcome, row_count, truncated from query_audit order by id desc limit 1',
    );
    expect(audit[0]).toEqual({ outcome: 'ok', row_count: 3, truncated: true });
  });
});

describe('when Postgres goes away', () => {
  let proxied: ProxiedApp;
  let db: TestDatabase;
  let proxy: TcpProxy;
  let down: TestApp;
  let key: string;

  beforeAll(async () => {
    proxied = await startProxiedApp({ QUERY_TIMEOUT_MS: '1500' });
    ({ db, proxy, app: down } = proxied);
    key = await down.key('query');
    await exportNow(db.pool, down.config.warehouseDir);
    expect((await down.request('POST', '/api/v1/query', { key, body: { sql: 'select 1' } })).status).toBe(200);
  });
  afterAll(() => proxied.close());

  it('answers 503 with Retry-After when the audit cannot be written, before or after the query ran', async () => {
    await proxy.cut();
    const before = await down.request('POST', '/api/v1/query', { key, body: { sql: 'select 1' } });
    expect(before.status).toBe(503);
    expect(before.headers.get('retry-after')).toBe('5');
    await proxy.restore();
    await until(
      async () => (await down.request('POST', '/api/v1/query', { key, body: { sql: 'select 1' } })).status === 200,
      'the pool to reconnect',
    );

    // The query is running (its audit row says so) when Postgres goes away: it is not answered unaudited.
    const running = down.request('POST', '/api/v1/query', { key, body: { sql: SLOW } });
    await until(async () => {
      const { rows } = await db.pool.query(`select 1 from query_audit where outcome = 'running'`);
      return rows.length > 0;
    }, 'the audit row of the running query');
    await proxy.cut();
    const after = await running;
    expect(after.status).toBe(503);
    expect(after.headers.get('retry-after')).toBe('5');
    await proxy.restore();
  });
});
