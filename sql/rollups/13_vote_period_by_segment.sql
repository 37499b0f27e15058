-- vote_period_by_segment: per granularity (day, ISO week, month), period and single segment value (capped, for each
-- key position; position 0, segment and value null: all votes), the votes, anonymous votes and the distinct
-- conversations and voters, exact by the single/multi rows of vote_segment_cube (sql/rollups/segments.sql).
-- GET /api/v1/rollups/votes reads it for the requests that name at most one value (no filter, one filter, or a
-- segment without filter); vote_segment_cube answers the others.
--
-- The select is a view kept in the snapshot, so that incremental/vote_period_by_segment.sql recomputes the affected
-- periods with the same definition (a changed definition changes the rollup hash: the next export runs this file).
create or replace view vote_period_by_segment_source as
with by_value as (
  select
    c.granularity, c.period, k.position, k.segment,
    case k.position when 0 then null when 1 then c.v1 when 2 then c.v2 when 3 then c.v3 when 4 then c.v4
         else c.v5 end as value,
    c.up, c.down, c.anonymous_votes, c.conversations, c.voters, c.multi_kind, c.multi_id
  from vote_segment_cube c
  cross join (select position, segment from vote_segment_keys union all select 0, null) as k
)
select
  granularity, period, position, segment, value,
  sum(up)::bigint as up, sum(down)::bigint as down, sum(anonymous_votes)::bigint as anonymous_votes,
  (sum(conversations) + count(distinct multi_id) filter (where multi_kind = 'conversation'))::bigint as conversations,
  (sum(voters) + count(distinct multi_id) filter (where multi_kind = 'voter'))::bigint as voters
from by_value
group by granularity, period, position, segment, value;
create or replace table vote_period_by_segment as
select * from vote_period_by_segment_source order by granularity, position, period;
