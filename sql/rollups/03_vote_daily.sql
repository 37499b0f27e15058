-- vote_daily: one row per UTC calendar day on which at least one vote was cast.
--
-- A day counts every vote cast that day (not only latest votes): a conversation that flips from down to up on
-- another day adds a down to the first day and an up to the second; flips on the same day add both. conversations
-- is the number of distinct conversations that voted that day. up_rate = up / (up + down), never null because a
-- day has at least one vote. Days are UTC: make_timestamp(epoch_us(ts)) is the UTC wall clock of ts whatever the
-- session TimeZone is (and far faster than `at time zone`, which goes through ICU).
create or replace table vote_daily as
with per_conversation as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    conversation_id,
    count(*) filter (where vote = 'up') as up,
    count(*) filter (where vote = 'down') as down
  from votes
  group by all
)
select
  day,
  sum(up)::bigint as up,
  sum(down)::bigint as down,
  count(*)::bigint as conversations,
  sum(up)::double / (sum(up) + sum(down))::double as up_rate
from per_conversation
group by day
order by day;
