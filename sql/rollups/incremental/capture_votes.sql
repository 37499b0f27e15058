-- capture_votes: runs on the snapshot being built BEFORE the staged changes of votes are merged into it. fw_new_rows
-- is the stage (the new versions of the votes written since the watermark), fw_gone_ids the ids deleted in Postgres.
-- It records in fw_work.votes_changed the conversation and UTC day of every vote version that enters or leaves the
-- votes rollups: the old version (still in votes at this point) of an updated or deleted vote, and the new version
-- of an inserted or updated one.
--
-- Why this is exact: every votes rollup (latest_votes, vote_daily, vote_reasons_daily and the segment rollups) is a
-- function of the columns id, conversation_id, vote, created_at, reasons, email_hash and metadata, grouped by
-- conversation or by day (the segment rollups by day, ISO week and month of the day recorded here). A rollup row can only change
-- if a vote of its conversation (or day) entered or left, and both the old and the new version of every changed vote
-- are recorded here. A version pair whose rollup columns are all equal (e.g. only `comment` changed) contributes the
-- same before and after, so it is skipped.
create or replace table fw_work.votes_changed as
with old_rowids as materialized (
  -- Two steps, for speed: the scan of the whole table reads the id column only; the few matching rows are then
  -- fetched by rowid (a scan projecting every rollup column would decompress them all).
  select rowid as row_id from votes where id in (select id from fw_new_rows union all select id from fw_gone_ids)
),
old_rows as (
  select id, conversation_id, vote, created_at, reasons, email_hash, metadata
  from votes
  where rowid in (select row_id from old_rowids)
),
new_rows as (
  select id, conversation_id, vote, created_at, reasons, email_hash, metadata from fw_new_rows
),
pairs as materialized (
  select
    o.id as old_id, o.conversation_id as old_conversation_id, o.vote as old_vote, o.created_at as old_created_at,
    n.id as new_id, n.conversation_id as new_conversation_id, n.vote as new_vote, n.created_at as new_created_at,
    o.metadata as old_metadata, n.metadata as new_metadata, o.email_hash as old_email_hash, n.email_hash as new_email_hash
  from old_rows o
  full join new_rows n on o.id = n.id
  where o.id is null or n.id is null
     or (o.conversation_id, o.vote, o.created_at, o.reasons, o.email_hash, o.metadata::varchar)
        is distinct from (n.conversation_id, n.vote, n.created_at, n.reasons, n.email_hash, n.metadata::varchar)
)
-- One row per version: `inserted` marks a new vote (no old version), which latest_votes can often fold in without
-- reading the other votes of its conversation (incremental/latest_votes.sql).
select
  'old' as version, false as inserted, old_id as id, old_conversation_id as conversation_id, old_vote::varchar as vote,
  old_created_at as created_at, make_timestamp(epoch_us(old_created_at))::date as day,
  old_metadata as metadata, old_email_hash as voter
from pairs where old_id is not null
union all
select
  'new', old_id is null, new_id, new_conversation_id, new_vote::varchar, new_created_at,
  make_timestamp(epoch_us(new_created_at))::date, new_metadata, new_email_hash
from pairs where new_id is not null;

-- For the delta maintenance of vote_segment_cube (incremental/vote_segment_cube.sql): the interval covering every
-- affected day, ISO week and month whole (from the first affected period's start to the end of the last one), and
-- the votes in it, still in their old versions, of the affected conversations and voters (those of a changed vote
-- version, old or new): their old contribution to the cube is computed from these after the merge.
create or replace table fw_work.segment_span as
select
  to_timestamp(epoch(min(least(date_trunc('week', day), date_trunc('month', day)))::timestamp)) as from_ts,
  to_timestamp(epoch(max(greatest(date_trunc('week', day) + interval 7 day,
                                  date_trunc('month', day) + interval 1 month))::timestamp)) as until_ts
from fw_work.votes_changed;
create or replace table fw_work.segment_votes_before as
select id, conversation_id, vote, created_at, reasons, email_hash, metadata
from votes
where created_at >= (select from_ts from fw_work.segment_span)
  and created_at < (select until_ts from fw_work.segment_span)
  and (conversation_id in (select conversation_id from fw_work.votes_changed)
       or email_hash in (select voter from fw_work.votes_changed where voter is not null));
