-- Up Migration

-- The query endpoint's audit (docs/CONTRACT.md "Query endpoint": every query audited: key name, SQL, duration,
-- rows, outcome). One row per query sent to POST /api/v1/query or `feedback-warehouse query`, refused and failed ones
-- included. The row is written before the query runs (outcome 'running') and completed when it ends, so a query that
-- brings the process down is still on record with who sent it. This table is the only place the SQL text is kept:
-- logs never carry it.
create table query_audit (
  id bigint generated always as identity primary key,
  -- null for the CLI, and once the key is deleted (its name stays).
  api_key_id uuid references api_keys (id) on delete set null,
  api_key_name text not null check (char_length(api_key_name) between 1 and 100),
  source text not null check (source in ('api', 'cli')),
  sql text not null check (char_length(sql) between 1 and 100000),
  -- The row cap in force (QUERY_MAX_ROWS, or the request's lower limit).
  max_rows integer not null check (max_rows > 0),
  started_at timestamptz not null default now(),
  duration_ms double precision check (duration_ms >= 0),
  row_count integer check (row_count >= 0),
  truncated boolean,
  outcome text not null
    check (outcome in ('running', 'ok', 'refused', 'error', 'timeout', 'busy', 'not_exported')),
  -- DuckDB's message with quoted values scrubbed (src/warehouse/shared/safeError.ts); null when the query succeeded.
  error text check (char_length(error) <= 4000),
  constraint query_audit_finished check ((outcome = 'running') = (duration_ms is null)),
  constraint query_audit_rows check ((outcome = 'ok') = (row_count is not null))
);
create index query_audit_started_at_idx on query_audit (started_at);

-- Down Migration
drop table query_audit;
