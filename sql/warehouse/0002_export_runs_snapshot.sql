-- The whole Postgres snapshot an export read (`xmin:xmax:xip,...`): the next export reads the rows at or after the
-- watermark that this snapshot could not see (docs/decisions/0001-txid-snapshot-watermark.md). Null in the rows of
-- exports made before it was recorded.
alter table export_runs add column if not exists snapshot VARCHAR;
