import { Type, type Static } from '@sinclair/typebox';
import { runAuditedQuery } from '../../warehouse/query/auditedQuery.ts';
import { QueryFailure } from '../../warehouse/query/queryFailure.ts';
import { resultCsv } from '../../warehouse/query/resultCsv.ts';
import { MAX_CONCURRENT_QUERIES, QUERY_PROCESS_MEMORY } from '../../warehouse/query/querySandbox.ts';
import { SANDBOX_SETTINGS } from '../../warehouse/query/sandbox.ts';
import { problems, type HttpProblem } from '../problem.ts';
import { defineRoutes } from '../routeDef.ts';

// POST /api/v1/query (docs/CONTRACT.md "Query endpoint"): governed read-only SQL over the published warehouse. The
// sandbox (src/warehouse/query/querySandbox.ts, a pool of query processes) decides what runs; this file maps its outcomes to
// HTTP.

/**
 * The largest QUERY_MAX_ROWS the configuration accepts (src/config.ts). The schema is built once for every
 * configuration, so the request's limit is checked against the configured value in the handler.
 */
const MAX_ROWS_CEILING = 10_000_000;

const QueryRequest = Type.Object(
  {
    sql: Type.String({
      minLength: 1,
      maxLength: 100_000,
      description:
        'One SELECT in DuckDB SQL (WITH, FROM-first, SUMMARIZE, DESCRIBE and EXPLAIN [ANALYZE] SELECT included) over ' +
        'the warehouse tables: votes, interview_sessions, interview_feedbacks, expert_profiles, expert_feedback, ' +
        'expert_faq_candidates, faq_entries, the rollups (latest_votes, vote_daily, expert_faq_conversion, ' +
        'interview_score_stats, ...) and export_runs',
    }),
    format: Type.Optional(
      Type.Unsafe<'json' | 'csv'>({
        type: 'string',
        enum: ['json', 'csv'],
        description: 'json (default) or csv (text/csv; the counts move to the X-Row-Count, X-Truncated headers)',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_ROWS_CEILING,
        description: 'Rows to return at most: lowers the server cap QUERY_MAX_ROWS (default 10,000), never raises it',
      }),
    ),
  },
  { additionalProperties: false },
);
type QueryRequest = Static<typeof QueryRequest>;

const QueryResult = Type.Object({
  columns: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.String({
        description: "DuckDB's type name: BIGINT, VARCHAR, TIMESTAMP WITH TIME ZONE, DECIMAL(10,2)...",
      }),
    }),
  ),
  rows: Type.Array(Type.Array(Type.Unknown()), {
    description:
      'One array per row, in column order. BIGINT/HUGEINT/UBIGINT: numbers when safe integers, else strings; DECIMAL: ' +
      'a number when it reads back exactly, else a string; DATE, TIMESTAMP, TIMESTAMPTZ: ISO 8601 strings (UTC with Z ' +
      'for TIMESTAMPTZ); LIST/ARRAY: arrays; STRUCT/MAP: objects; BLOB: base64; INTERVAL, TIME, UUID, JSON: strings; ' +
      'NaN and infinities: strings',
  }),
  row_count: Type.Integer({ minimum: 0, description: 'Rows in this answer' }),
  truncated: Type.Boolean({
    description: 'True when the result was cut at the row cap or the byte cap; only the first rows are here',
  }),
  truncated_reason: Type.Union([Type.Literal('rows'), Type.Literal('bytes'), Type.Null()], {
    description:
      'Which cap cut the result: rows (QUERY_MAX_ROWS or limit), bytes (QUERY_MAX_BYTES of JSON row text); null when whole',
  }),
  elapsed_ms: Type.Number({ minimum: 0, description: 'Wall-clock time of the query' }),
});

const countHeaders = {
  'X-Row-Count': { description: 'row_count', schema: Type.Integer({ minimum: 0 }) },
  'X-Truncated': { description: 'truncated: "true" or "false"', schema: Type.String({ enum: ['true', 'false'] }) },
  'X-Elapsed-Ms': { description: 'elapsed_ms', schema: Type.Number({ minimum: 0 }) },
  'X-Truncated-Reason': {
    description: 'truncated_reason: "rows" or "bytes", and "none" when the answer is whole',
    schema: Type.String({ enum: ['rows', 'bytes', 'none'] }),
  },
};

function problemFor(failure: QueryFailure, timeoutMs: number): HttpProblem {
  switch (failure.outcome) {
    case 'refused':
      return problems.queryRefused(failure.message);
    case 'error':
      return problems.queryError(failure.message);
    case 'timeout':
      return problems.queryTimeout(failure.message, timeoutMs);
    case 'busy':
      return problems.tooManyQueries(failure.message);
    case 'not_exported':
      return problems.warehouseNotExported(failure.message);
  }
}

export const queryRoutes = defineRoutes({
  operationId: 'runQuery',
  method: 'POST',
  path: '/api/v1/query',
  tag: 'query',
  summary: 'Run one read-only SQL statement over the published warehouse',
  description:
    'DuckDB SQL over the published warehouse (WAREHOUSE_DIR/warehouse.duckdb) in a sandbox outside the server ' +
    'process: one SELECT (or EXPLAIN SELECT) calling only functions on a reviewed allow-list; no file (the ' +
    "warehouse's own bytes included), network, extension, logging or settings access; a wall-clock timeout " +
    '(QUERY_TIMEOUT_MS, default 10 s: interrupted, and its process killed 1 s later); a row cap (QUERY_MAX_ROWS, ' +
    'default 10,000) and a byte cap (QUERY_MAX_BYTES, default 32 MB of JSON row text), both answered with ' +
    `truncated: true; each query process has memory_limit ${SANDBOX_SETTINGS.memory_limit}, ` +
    `${SANDBOX_SETTINGS.threads} threads and an OS memory limit of ${QUERY_PROCESS_MEMORY / 1024 ** 2} MB; at most ` +
    `${MAX_CONCURRENT_QUERIES} queries at once (429 beyond). Every query is audited in Postgres (query_audit: key ` +
    'name, SQL, start, duration, rows, outcome), refused and failed ones included. Days are UTC. An Idempotency-Key ' +
    'is accepted but nothing is replayed: the query writes nothing, and a repeat runs on the current snapshot.',
  scope: 'query',
  body: QueryRequest,
  writesNothing: true,
  responses: {
    200: {
      description: 'The result (JSON, or CSV with format: csv: a header line, then the rows, RFC 4180)',
      schema: QueryResult,
      content: {
        'text/csv': Type.String({
          description: 'RFC 4180: header line, CRLF line ends; NULL is empty, "" is an empty string',
        }),
      },
      headers: countHeaders,
    },
    409: {
      description: 'warehouse-not-exported: there is no published warehouse yet; run an export first',
      problem: true,
    },
    422: {
      description:
        'validation-error (errors[] names each path, /limit above QUERY_MAX_ROWS included); query-refused (not one ' +
        'SELECT, or a function, table function or table not on the allow-list, named in the detail); query-error ' +
        "(DuckDB's message: syntax, unknown table, failed cast; out of memory; the query engine stopped); " +
        'query-timeout (interrupted after QUERY_TIMEOUT_MS, or killed 1 s later; timeout_ms says the limit)',
      problem: true,
    },
    429: {
      description: 'too-many-queries: every query slot is busy; retry after Retry-After seconds',
      problem: true,
      headers: { 'Retry-After': { description: 'Seconds to wait', schema: Type.Integer({ minimum: 1 }) } },
    },
  },
  async handle({ ctx, services, apiKey, body }) {
    const { sql, format = 'json', limit } = body as QueryRequest;
    const { queryMaxRows, queryMaxBytes, queryTimeoutMs } = services.config;
    if (limit !== undefined && limit > queryMaxRows) {
      throw problems.validation([{ path: '/limit', message: `must be <= ${queryMaxRows} (QUERY_MAX_ROWS)` }]);
    }
    // Postgres text cannot hold NUL, so such SQL could not be audited; DuckDB would refuse it anyway.
    if (sql.includes('\u0000'))
      throw problems.validation([{ path: '/sql', message: 'must not contain NUL characters' }]);
    let answer;
    try {
      answer = await runAuditedQuery({
        pool: services.pool,
        sandbox: services.sandbox,
        caller: { apiKeyId: apiKey!.id, apiKeyName: apiKey!.name, source: 'api' },
        sql,
        limits: { maxRows: limit ?? queryMaxRows, maxBytes: queryMaxBytes, timeoutMs: queryTimeoutMs },
        observe: (outcome) => services.metrics.queries.inc({ outcome }),
      });
    } catch (error) {
      throw error instanceof QueryFailure ? problemFor(error, queryTimeoutMs) : error;
    }
    ctx.set('X-Row-Count', String(answer.rowCount));
    ctx.set('X-Truncated', String(answer.truncated));
    ctx.set('X-Elapsed-Ms', String(answer.elapsedMs));
    ctx.set('X-Truncated-Reason', answer.truncatedReason ?? 'none');
    if (format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8; header=present';
      return { status: 200, body: resultCsv(answer.columns, answer.rows) };
    }
    return {
      status: 200,
      body: {
        columns: answer.columns,
        rows: answer.rows,
        row_count: answer.rowCount,
        truncated: answer.truncated,
        truncated_reason: answer.truncatedReason,
        elapsed_ms: answer.elapsedMs,
      },
    };
  },
});
