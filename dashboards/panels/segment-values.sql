-- title: Every segment value over the range
-- page: votes
-- chart: table
-- description: From vote_daily_by_segment (the top 50 values of each ROLLUP_SEGMENTS key, the rest as (other)).
select segment, value, sum(up + down) as votes, round(sum(up) / sum(up + down), 3) as up_rate,
       min(day) as first_day, max(day) as last_day
from vote_daily_by_segment
where day between {{from}} and {{to}}
group by segment, value
order by segment, votes desc
