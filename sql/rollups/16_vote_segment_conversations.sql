-- vote_segment_conversations: per UTC day, the distinct (conversation, tuple of capped segment values v1..v5,
-- sql/rollups/segments.sql) pairs of the votes cast that day. The number of distinct conversations of a segment
-- value over any range of days (GET /api/v1/rollups/votes `segments[].conversations`) cannot be summed from
-- periods: it is counted from these rows.
create or replace table vote_segment_conversations as
select distinct day, conversation_id, v1, v2, v3, v4, v5
from fw_capped_votes(null, null)
order by day;
