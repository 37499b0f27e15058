-- rollup_state: one row, the hash of every rollup file that computed the snapshot's rollup tables, so an edit under
-- sql/rollups makes the next export recompute them in full (README "Rollups").
create table if not exists rollup_state (definitions VARCHAR);
