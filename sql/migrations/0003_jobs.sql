-- Up Migration

-- The jobs system (docs/decisions/0015) and the export's bookkeeping in the system of record.
--
-- job_runs: one row per run of a scheduled or on-demand job (export, prune-idempotency). A run holds the job's
-- advisory lock for its whole life (jobs/runner.ts), so at most one run of a job is 'running' cluster-wide; the
-- partial unique index says the same at the database level (it also guards embedded PGlite, where every connection
-- shares one backend and advisory locks cannot exclude anybody). A process killed mid-run leaves its row
-- 'running'; the next run of that job, once it holds the lock, marks it 'abandoned'.
create table job_runs (
  id bigint generated always as identity primary key,
  job_name text not null check (job_name ~ '^[a-z][a-z0-9-]{0,62}$'),
  trigger text not null check (trigger in ('schedule', 'api', 'cli')),
  status text not null check (status in ('running', 'succeeded', 'failed', 'skipped', 'abandoned')),
  started_at timestamptz not null,
  finished_at timestamptz,
  -- Rows per table (export: rows copied into the warehouse; prune-idempotency: keys deleted).
  rows jsonb not null default '{}' check (jsonb_typeof(rows) = 'object'),
  -- Export lag: age in seconds of the oldest open write transaction when the export took its snapshot (it holds
  -- the watermark back); null when none was open or it could not be seen.
  lag_seconds double precision check (lag_seconds >= 0),
  -- Never row values: errors are reduced to a safe message before they are stored (src/warehouse/shared/safeError.ts).
  error text check (char_length(error) <= 4000),
  detail jsonb not null default '{}' check (jsonb_typeof(detail) = 'object'),
  host text not null check (char_length(host) between 1 and 255),
  pid integer not null,
  constraint job_runs_finished check ((status = 'running') = (finished_at is null))
);
create index job_runs_job_started_idx on job_runs (job_name, started_at desc, id desc);
create unique index job_runs_one_running_idx on job_runs (job_name) where status = 'running';

-- export_state: what each warehouse (a WAREHOUSE_DIR on a host) last published, written after the publication.
-- The warehouse file itself is authoritative (its export_runs table carries the watermark, atomically with the
-- data); this row is the operator's view from Postgres (`jobs list`, GET /api/v1/jobs) and survives the warehouse.
create table export_state (
  warehouse text primary key check (char_length(warehouse) between 1 and 2000),
  watermark xid8 not null,
  as_of timestamptz not null,
  mode text not null check (mode in ('full', 'incremental')),
  system_identifier text,
  last_run_id bigint references job_runs (id) on delete set null,
  updated_at timestamptz not null default now()
);

-- Down Migration
drop table export_state;
drop table job_runs;
