-- latest_votes: one row per conversation, with its authoritative (latest) vote.
--
-- "Latest" is the documented tie rule of the votes API (src/feedback/votes/service.ts): the later created_at wins,
-- and on equal created_at the higher id (inserted later) wins. arg_max over the struct (created_at, id) orders
-- lexicographically, so it picks exactly that row. voted_at is the latest vote's created_at (= max(created_at),
-- because created_at is the first key of the order). vote_count counts every vote the conversation ever received
-- (its history, flips included). segment_values are the raw segment values of the latest vote, in ROLLUP_SEGMENTS
-- order (sql/rollups/segments.sql), for latest_vote_segment_totals. Erased conversations have no votes left, so no row.
create or replace table latest_votes as
select
  conversation_id::varchar as conversation_id,
  arg_max(vote::varchar, (created_at, id)) as vote,
  max(created_at)::timestamptz as voted_at,
  count(*)::bigint as vote_count,
  fw_segment_values(arg_max(metadata, (created_at, id))) as segment_values
from votes
group by conversation_id;
