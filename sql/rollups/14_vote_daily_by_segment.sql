-- vote_daily_by_segment: per UTC day, segment key and capped value (its top 50 by volume, the rest as '(other)',
-- README "Rollups"): the votes cast, the distinct conversations that voted with that value, and
-- up_rate = up / (up + down). The day rows of vote_period_by_segment, so it is exactly what the API answers for
-- ?segment=KEY&granularity=day; a table for SQL readers (POST /api/v1/query). Recomputed whole (it is small).
create or replace table vote_daily_by_segment as
select
  period as day, segment, value, up, down, conversations, up::double / (up + down)::double as up_rate
from vote_period_by_segment
where granularity = 'day' and position > 0
order by day, position, value;
