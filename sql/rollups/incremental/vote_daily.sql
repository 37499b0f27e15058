-- vote_daily, incremental (full version: ../03_vote_daily.sql, the same select): the days in fw_work.votes_changed
-- are deleted and recomputed from the merged votes cast on just those days.
--
-- Why this is exact: a vote_daily row is a function of the votes cast on its UTC day alone (up, down and the distinct
-- conversations of that day). The day of every vote version that entered or left is in fw_work.votes_changed (the
-- old day of an updated or deleted vote too), so the votes of every other day are unchanged. A day left without
-- votes is deleted and not re-inserted, as the full version would leave it out.
-- The affected days' span, as constants the scan of votes can prune row groups by (their created_at min/max): only
-- votes outside every affected day are skipped, so the result is the same. Days are UTC (epoch of a plain timestamp).
set variable fw_votes_from = (select to_timestamp(epoch(min(day)::timestamp)) from fw_work.votes_changed);
set variable fw_votes_until =
  (select to_timestamp(epoch(max(day)::timestamp + interval 1 day)) from fw_work.votes_changed);
delete from vote_daily where day in (select day from fw_work.votes_changed);
insert into vote_daily
with per_conversation as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    conversation_id,
    count(*) filter (where vote = 'up') as up,
    count(*) filter (where vote = 'down') as down
  from votes
  where created_at >= getvariable('fw_votes_from') and created_at < getvariable('fw_votes_until')
    and make_timestamp(epoch_us(created_at))::date in (select day from fw_work.votes_changed)
  group by all
)
select
  day,
  sum(up)::bigint as up,
  sum(down)::bigint as down,
  count(*)::bigint as conversations,
  sum(up)::double / (sum(up) + sum(down))::double as up_rate
from per_conversation
group by day;
