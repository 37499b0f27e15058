-- vote_daily_by_segment: per UTC day, segment key and capped value (its top 50 by volume, the rest as '(other)',
-- README "Rollups"): the votes cast, the distinct conversations that voted with that value, and
-- up_rate = up / (up + down). Summed from the day rows of vote_segment_cube, so it is exactly what the API answers
-- for ?segment=KEY&granularity=day; a table for SQL readers (POST /api/v1/query). Recomputed whole (it is small).
create or replace table vote_daily_by_segment as
with by_value as (
  select
    c.period as day, k.segment, k.position,
    case k.position when 1 then c.v1 when 2 then c.v2 when 3 then c.v3 when 4 then c.v4 else c.v5 end as value,
    c.up, c.down, c.conversations, c.multi_kind, c.multi_id
  from vote_segment_cube c cross join vote_segment_keys k
  where c.granularity = 'day'
)
select
  day, segment, value, sum(up)::bigint as up, sum(down)::bigint as down,
  (sum(conversations) + count(distinct multi_id) filter (where multi_kind = 'conversation'))::bigint as conversations,
  sum(up)::double / (sum(up) + sum(down))::double as up_rate
from by_value
group by day, segment, position, value
order by day, position, value;
