-- vote_segment_values_daily, incremental (full version: ../09_vote_segment_values_daily.sql, the same select): the
-- days in fw_work.votes_changed are deleted and recomputed from the merged votes cast on just those days.
--
-- Why this is exact: a row counts the votes of one UTC day alone, and the day of every vote version that entered or
-- left (old and new) is in fw_work.votes_changed; every other day's votes are unchanged. The span variables only
-- let the scan of votes skip row groups outside every affected day (as in vote_daily.sql).
set variable fw_votes_from = (select to_timestamp(epoch(min(day)::timestamp)) from fw_work.votes_changed);
set variable fw_votes_until =
  (select to_timestamp(epoch(max(day)::timestamp + interval 1 day)) from fw_work.votes_changed);
delete from vote_segment_values_daily where day in (select day from fw_work.votes_changed);
insert into vote_segment_values_daily
select v.day, k.segment, k.position, v.vals[k.position] as value, count(*)::bigint as votes
from (
  select make_timestamp(epoch_us(created_at))::date as day, fw_segment_values(metadata) as vals
  from votes
  where created_at >= getvariable('fw_votes_from') and created_at < getvariable('fw_votes_until')
) as v
cross join vote_segment_keys k
where v.day in (select day from fw_work.votes_changed)
group by all;
