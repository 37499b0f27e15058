-- latest_votes, incremental (full version: ../01_latest_votes.sql, the same aggregates): brings the rows of the
-- conversations in fw_work.votes_changed up to date, in two ways.
--
-- Appended conversations: every change is a newly inserted vote, each strictly later (created_at) than the
-- conversation's current voted_at, or the conversation has no row yet (it had no votes). Then its latest vote is the
-- latest of the new votes (by (created_at, id), the documented tie rule), voted_at their max(created_at), and
-- vote_count grows by their number: the other votes need not be read. (Not strictly later, e.g. equal created_at, is
-- left to the second way: the tie would need the id of the current latest vote.)
--
-- Every other changed conversation (a vote updated, deleted or inserted in the past): its row is deleted and
-- recomputed from all its votes. Why this is exact: a latest_votes row is a function of the votes of its
-- conversation alone, and every conversation that gained, lost or changed a vote is in fw_work.votes_changed (old
-- and new versions), so every other row is unchanged. An erased conversation has no votes left: its row is deleted
-- and not re-inserted, as the full version would leave it out.
create or replace table fw_work.votes_appended as
with per_conversation as (
  select conversation_id, bool_and(inserted) as only_inserts, min(created_at) as first_new
  from fw_work.votes_changed
  group by conversation_id
)
select p.conversation_id, l.conversation_id is not null as has_row
from per_conversation p
left join latest_votes l on l.conversation_id = p.conversation_id
where p.only_inserts and (l.conversation_id is null or p.first_new > l.voted_at);

-- The appended conversations' new rows, read before any row changes: the new votes' latest, and their number added
-- to the current vote_count (0 for a new conversation). (An UPDATE in place is far slower in DuckDB than this.)
create or replace table fw_work.votes_appended_rows as
select
  a.conversation_id,
  a.vote,
  a.voted_at,
  (coalesce(l.vote_count, 0) + a.vote_count)::bigint as vote_count,
  a.segment_values
from (
  select
    conversation_id::varchar as conversation_id,
    arg_max(vote::varchar, (created_at, id)) as vote,
    max(created_at)::timestamptz as voted_at,
    count(*)::bigint as vote_count,
    fw_segment_values(arg_max(metadata, (created_at, id))) as segment_values
  from fw_work.votes_changed
  where conversation_id in (select conversation_id from fw_work.votes_appended)
  group by conversation_id
) a
left join latest_votes l on l.conversation_id = a.conversation_id;

-- Every other changed conversation is recomputed from all its votes.
create or replace table fw_work.votes_recompute as
select distinct conversation_id from fw_work.votes_changed
where conversation_id not in (select conversation_id from fw_work.votes_appended);

delete from latest_votes where conversation_id in (select conversation_id from fw_work.votes_changed);
insert into latest_votes by name
select conversation_id, vote, voted_at, vote_count, segment_values from fw_work.votes_appended_rows;
insert into latest_votes
select
  conversation_id::varchar as conversation_id,
  arg_max(vote::varchar, (created_at, id)) as vote,
  max(created_at)::timestamptz as voted_at,
  count(*)::bigint as vote_count,
  fw_segment_values(arg_max(metadata, (created_at, id))) as segment_values
from votes
where conversation_id in (select conversation_id from fw_work.votes_recompute)
group by conversation_id;
