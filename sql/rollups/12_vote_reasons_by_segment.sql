-- vote_reasons_by_segment: vote_reasons_daily per tuple of capped segment values v1..v5 (sql/rollups/segments.sql):
-- per UTC day, tuple and reason, the down votes cast that day with those values that gave the reason (once per
-- vote). The top downvote reasons under segment filters are summed from it.
create or replace table vote_reasons_by_segment as
select day, v1, v2, v3, v4, v5, reason, count(*)::bigint as down_votes
from (
  select day, v1, v2, v3, v4, v5, unnest(list_distinct(coalesce(reasons::varchar[], []::varchar[]))) as reason
  from fw_capped_votes(null, null)
  where vote = 'down'
)
where reason is not null
group by all
order by day, reason;
