-- vote_reasons_daily, incremental (full version: ../04_vote_reasons_daily.sql, the same select): the days in
-- fw_work.votes_changed are deleted and recomputed from the merged down votes cast on just those days.
--
-- Why this is exact: a vote_reasons_daily row counts the down votes of one UTC day alone, and the day of every vote
-- version that entered or left (old and new) is in fw_work.votes_changed; every other day's votes are unchanged.
-- The affected days' span, as constants the scan of votes can prune row groups by (their created_at min/max): only
-- votes outside every affected day are skipped, so the result is the same. Days are UTC (epoch of a plain timestamp).
set variable fw_votes_from = (select to_timestamp(epoch(min(day)::timestamp)) from fw_work.votes_changed);
set variable fw_votes_until =
  (select to_timestamp(epoch(max(day)::timestamp + interval 1 day)) from fw_work.votes_changed);
delete from vote_reasons_daily where day in (select day from fw_work.votes_changed);
insert into vote_reasons_daily
with down_votes as (
  select
    make_timestamp(epoch_us(created_at))::date as day,
    list_distinct(coalesce(reasons::varchar[], []::varchar[])) as reasons
  from votes
  where vote = 'down'
    and created_at >= getvariable('fw_votes_from') and created_at < getvariable('fw_votes_until')
    and make_timestamp(epoch_us(created_at))::date in (select day from fw_work.votes_changed)
)
select day, reason, count(*)::bigint as down_votes
from (select day, unnest(reasons) as reason from down_votes)
where reason is not null
group by day, reason;
