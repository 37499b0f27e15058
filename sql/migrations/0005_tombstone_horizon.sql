-- Up Migration

-- Tombstones (one per deleted row, 0001_foundation.sql) are read by incremental exports in their txid window and are
-- no use below the watermark of every warehouse that exports from this database. The prune-tombstones job deletes
-- those and records here the xid8 below which tombstones are gone: an export whose watermark is below it (a warehouse
-- that stopped exporting for longer than the retention, or a warehouse file restored from an old backup) could miss
-- deletes, so it exports in full instead (src/warehouse/export/exporter.ts).
create table tombstone_horizon (
  singleton boolean primary key default true check (singleton),
  pruned_below xid8 not null,
  pruned_at timestamptz not null default now()
);

-- Down Migration
drop table tombstone_horizon;
