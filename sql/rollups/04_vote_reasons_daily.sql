-- vote_reasons_daily: per UTC day and reason, the number of down votes cast that day that gave the reason.
--
-- A reason repeated inside one vote's array counts once for that vote. Only down votes count (reasons are what a
-- downvote sheet collects). Summing down_votes over a range of days is exact, which is how
-- GET /api/v1/rollups/votes answers "top downvote reasons" for any [from, to].
create or replace table vote_reasons_daily as
with down_votes as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    list_distinct(coalesce(reasons::varchar[], []::varchar[])) as reasons
  from votes
  where vote = 'down'
)
select day, reason, count(*)::bigint as down_votes
from (select day, unnest(reasons) as reason from down_votes)
where reason is not null
group by day, reason
order by day, reason;
