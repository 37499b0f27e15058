-- export_runs: one row per successful export, written into the snapshot it describes, so the watermark is published
-- atomically with the data it covers (README "Warehouse"; docs/decisions/0001-txid-snapshot-watermark.md).
-- The shape of the first version. `if not exists`: a warehouse file written before the schema runner existed already
-- has the table, and the runner applies this file to it as to a new one.
create table if not exists export_runs (
  run_id BIGINT not null,
  started_at TIMESTAMPTZ not null,
  finished_at TIMESTAMPTZ,
  as_of TIMESTAMPTZ not null,
  mode VARCHAR not null,
  rows_changed BIGINT not null,
  rows_deleted BIGINT not null,
  tables JSON not null,
  watermark UBIGINT not null,
  previous_watermark UBIGINT,
  system_identifier VARCHAR,
  source_database VARCHAR,
  reason VARCHAR,
  lag_seconds DOUBLE
);
